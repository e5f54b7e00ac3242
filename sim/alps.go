package sim

import (
	"fmt"

	"github.com/alps-sched/alps/model"
	"github.com/alps-sched/alps/policy"
)

// ALPS is the learned alps policy: the ordering rule of policy/ORDERING.md (one shared
// queue ordered by vtime shifted by the function's rank offset, the function's slice as the
// quantum, no wake-up preemption, lag clamped on wake-up only, keys bounded by the maximum
// penalty) with ranks and slices from a model.Learner that is fed every completed invocation
// and relearns every update interval of simulated time. It never reads an invocation's
// demand before the invocation completes.
type ALPS struct {
	learner  *model.Learner
	interval int64
	table    *policy.Table
	p        policy.Knobs

	env  *Env
	v    []int64 // per task vtime
	att  []int64 // per task CPU used so far in its invocation (the attained service)
	vnow int64
	q    keyHeap

	// Tables counts the policy tables installed during the run.
	Tables int
}

// NewALPS returns the alps policy learning with l (fresh: its window should be empty) and
// relearning every l.Config().UpdateInterval ns of simulated time (never if it is <= 0: the
// policy then stays the plain vtime rule). A policy value serves one Run.
func NewALPS(l *model.Learner) *ALPS {
	k := l.Config().Knobs
	return &ALPS{
		learner:  l,
		interval: l.Config().UpdateInterval,
		p:        policy.Knobs{RankStep: k.RankStep, MaxPenalty: k.MaxPenalty, WakeLag: k.WakeLag, DefaultSlice: k.DefaultSlice},
	}
}

// newALPSFromParams builds the alps policy from p's learner configuration and ordering
// knobs; a learner Cores of 0 means the simulated cores.
func newALPSFromParams(p Params) (Policy, error) {
	cfg := p.Learner
	cfg.Knobs = p.Knobs
	if cfg.Cores == 0 {
		cfg.Cores = p.Cores
	}
	l, err := model.NewLearner(cfg)
	if err != nil {
		return nil, fmt.Errorf("alps: %w", err)
	}
	return NewALPS(l), nil
}

// Name implements Policy.
func (a *ALPS) Name() string { return "alps" }

// Start implements Policy.
func (a *ALPS) Start(env *Env) {
	a.env = env
	a.v = make([]int64, env.Tasks())
	a.att = make([]int64, env.Tasks())
	a.q = keyHeap{}
	a.table = nil
	if a.interval > 0 {
		env.SetTimer(env.Now() + a.interval)
	}
}

// Table is the policy table in use (nil before the first update).
func (a *ALPS) Table() *policy.Table { return a.table }

// Runnable implements Policy: rule steps 1-3 (the lag clamp on every enqueue). With
// attained-service steps in the table the rank is the step of the CPU the task has used so
// far in its invocation (what the kernel knows), never its demand.
func (a *ALPS) Runnable(t TaskID, why Reason) {
	e, ranked := a.table.LookupOrDefault(a.env.Func(t))
	a.enqueue(t, why, ranked, e.RankAt(a.att[t]))
}

// enqueue applies rule steps 1-3 to task t made runnable for why, with the given rank: an
// arrival starts at the global vtime, the lag is clamped, and the key is queued.
func (a *ALPS) enqueue(t TaskID, why Reason, ranked bool, rank uint32) {
	if why == Arrived {
		a.v[t] = a.vnow
	}
	a.v[t] = policy.ClampLag(a.v[t], a.vnow, a.p.WakeLag)
	a.q.push(policy.Key(a.v[t], a.vnow, ranked, rank, a.p), t)
}

// Pick implements Policy: the smallest key runs for its function's slice (steps 4, 5).
func (a *ALPS) Pick(core int) (TaskID, int64, bool) {
	if a.q.len() == 0 {
		return NoTask, 0, false
	}
	t := a.q.pop().t
	a.vnow = policy.AdvanceNow(a.vnow, a.v[t])
	e, ranked := a.table.LookupOrDefault(a.env.Func(t))
	return t, policy.Slice(ranked, e.Slice, a.p), true
}

// Stopped implements Policy: charge the run (step 6).
func (a *ALPS) Stopped(t TaskID, core int, ran int64, why StopReason) {
	a.v[t] = policy.Charge(a.v[t], ran, policy.NiceZeroWeight)
	a.att[t] += ran
	a.vnow = policy.AdvanceNow(a.vnow, a.v[t])
}

// Completed implements Completer: the learner sees what the backend would report.
func (a *ALPS) Completed(t TaskID, r *Record) {
	a.learner.Observe(policy.Record{
		Function: r.Func,
		Start:    r.Arrival,
		End:      r.End,
		CPU:      r.CPU,
		RunDelay: r.End - r.Arrival - r.CPU - r.Blocked,
		Nvcsw:    uint64(r.Wakeups),
	})
}

// Timer implements Timed: relearn and install a new table.
func (a *ALPS) Timer(now int64) {
	a.table = a.learner.Update(now)
	a.Tables++
	a.env.SetTimer(now + a.interval)
}
