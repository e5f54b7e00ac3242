package sim

import (
	"fmt"
	"time"

	"github.com/alps-sched/alps/model"
	"github.com/alps-sched/alps/policy"
)

// ALPSv1 is the learned alps policy under the first ordering rule, kept for the ablation
// (alps-sim's alps-v1; experiments/ablation.md): one shared
// queue ordered by vtime shifted by the function's rank offset, the function's slice as the
// quantum, no wake-up preemption, lag clamped on wake-up only, keys bounded by the maximum
// penalty) with ranks and slices from a model.Learner that is fed every completed invocation
// and relearns every update interval of simulated time. It never reads an invocation's
// demand before the invocation completes.
type ALPSv1 struct {
	learning
	p V1Knobs

	v    []int64 // per task vtime
	att  []int64 // per task CPU used so far in its invocation (the attained service)
	vnow int64
	q    keyHeap
}

// V1Knobs are the knobs of the first ordering rule, in ns.
type V1Knobs struct {
	RankStep     int64 // vtime offset per rank
	MaxPenalty   int64 // the most offset, and the most a key sits ahead of vnow
	WakeLag      int64
	DefaultSlice int64
}

// MaxV1Penalty bounds policy.max_penalty_ms.
const MaxV1Penalty = int64(time.Hour)

// Validate reports the first rule-v1 knob out of range, named by its configuration key.
func (k V1Knobs) Validate() error {
	if k.MaxPenalty <= 0 || k.MaxPenalty > MaxV1Penalty {
		return fmt.Errorf("policy.max_penalty_ms: must be in (0, %d], got %g", MaxV1Penalty/1e6, float64(k.MaxPenalty)/1e6)
	}
	return nil
}

// newALPSv1 returns the rule-v1 alps policy learning with l.
func newALPSv1(l *model.Learner, k V1Knobs) *ALPSv1 {
	return &ALPSv1{learning: learning{learner: l, interval: l.Config().UpdateInterval}, p: k}
}

// Name implements Policy.
func (a *ALPSv1) Name() string { return "alps-v1" }

// Start implements Policy.
func (a *ALPSv1) Start(env *Env) {
	a.start(env)
	a.v = make([]int64, env.Tasks())
	a.att = make([]int64, env.Tasks())
	a.q = keyHeap{}
}

// Runnable implements Policy: rule steps 1-3 (the lag clamp on every enqueue). With
// attained-service steps in the table the rank is the step of the CPU the task has used so
// far in its invocation (what the kernel knows), never its demand.
func (a *ALPSv1) Runnable(t TaskID, why Reason) {
	e, ranked := a.table.LookupOrDefault(a.env.Func(t))
	a.enqueue(t, why, ranked, e.RankAt(a.att[t]))
}

// enqueue applies rule steps 1-3 to task t made runnable for why, with the given rank: an
// arrival starts at the global vtime, the lag is clamped, and the key is queued.
func (a *ALPSv1) enqueue(t TaskID, why Reason, ranked bool, rank uint32) {
	if why == Arrived {
		a.v[t] = a.vnow
	}
	a.v[t] = policy.ClampLag(a.v[t], a.vnow, a.p.WakeLag)
	a.q.push(keyV1(a.v[t], a.vnow, ranked, rank, a.p), t)
}

// Pick implements Policy: the smallest key runs for its function's slice (steps 4, 5).
func (a *ALPSv1) Pick(core int) (TaskID, int64, bool) {
	if a.q.len() == 0 {
		return NoTask, 0, false
	}
	t := a.q.pop().t
	a.vnow = policy.AdvanceNow(a.vnow, a.v[t])
	e, ranked := a.table.LookupOrDefault(a.env.Func(t))
	return t, sliceV1(ranked, e.Slice, a.p), true
}

// Stopped implements Policy: charge the run (step 6).
func (a *ALPSv1) Stopped(t TaskID, core int, ran int64, why StopReason) {
	a.v[t] = policy.Charge(a.v[t], ran, policy.NiceZeroWeight)
	a.att[t] += ran
	a.vnow = policy.AdvanceNow(a.vnow, a.v[t])
}

// keyV1 is step 3 of rule v1: the key of a task with vtime v is v pushed back by its rank's
// offset, at most MaxPenalty, and never more than MaxPenalty ahead of vnow.
func keyV1(v, vnow int64, ranked bool, rank uint32, k V1Knobs) int64 {
	var off int64
	if ranked {
		off = min(int64(rank)*k.RankStep, k.MaxPenalty)
	}
	return min(v+off, vnow+k.MaxPenalty)
}

// sliceV1 is step 4 of rule v1: the function's slice when ranked and set, else the default.
func sliceV1(ranked bool, slice int64, k V1Knobs) int64 {
	if ranked && slice > 0 {
		return slice
	}
	return k.DefaultSlice
}
