package sim

import (
	"fmt"

	"github.com/alps-sched/alps/model"
	"github.com/alps-sched/alps/policy"
)

// ALPS is the learned alps policy: the ordering rule of policy/ORDERING.md with the policy
// tables of a model.Learner that is fed every completed invocation and relearns every update
// interval of simulated time. A task's level is its function's step at the CPU it has used
// in its current invocation (what the kernel knows); levels are strict priorities (0 first),
// vtime orders a level, a task that has waited MaxWait runs before any level, and a task
// runs to its next step (then it is queued again at its new level). It never reads an
// invocation's demand before the invocation completes.
type ALPS struct {
	learner  *model.Learner
	interval int64
	table    *policy.Table
	k        policy.Knobs

	env   *Env
	v     []int64 // per task vtime
	att   []int64 // per task CPU used so far in its invocation (the attained service)
	enq   []int64 // when it was last queued
	level []uint8 // its level while queued or running
	vnow  int64
	q     [policy.MaxLevels]keyHeap
	runL  []int // per core: the level of its task, -1 when idle
	// entry is the policy entry of task t's function (diagnostics replace the table's).
	entry func(t TaskID) (policy.Entry, bool)

	// Tables counts the policy tables installed during the run.
	Tables int
}

// NewALPS returns the alps policy learning with l (fresh: its window should be empty) and
// relearning every l.Config().UpdateInterval ns of simulated time (never if it is <= 0: the
// policy then stays the plain vtime rule). A policy value serves one Run.
func NewALPS(l *model.Learner) *ALPS {
	a := &ALPS{learner: l, interval: l.Config().UpdateInterval, k: l.Config().Knobs}
	a.entry = func(t TaskID) (policy.Entry, bool) { return a.table.LookupOrDefault(a.env.Func(t)) }
	return a
}

// newALPSFromParams builds the alps policy from p's learner configuration and ordering
// knobs; a learner Cores of 0 means the simulated cores.
func newALPSFromParams(p Params) (Policy, error) {
	l, err := newLearner(p)
	if err != nil {
		return nil, err
	}
	return NewALPS(l), nil
}

func newLearner(p Params) (*model.Learner, error) {
	cfg := p.Learner
	cfg.Knobs = p.Knobs
	if cfg.Cores == 0 {
		cfg.Cores = p.Cores
	}
	l, err := model.NewLearner(cfg)
	if err != nil {
		return nil, fmt.Errorf("alps: %w", err)
	}
	return l, nil
}

// Name implements Policy.
func (a *ALPS) Name() string { return "alps" }

// Start implements Policy.
func (a *ALPS) Start(env *Env) {
	a.env = env
	n := env.Tasks()
	a.v = make([]int64, n)
	a.att = make([]int64, n)
	a.enq = make([]int64, n)
	a.level = make([]uint8, n)
	a.runL = make([]int, env.Cores())
	for c := range a.runL {
		a.runL[c] = -1
	}
	for i := range a.q {
		a.q[i] = keyHeap{}
	}
	a.table = nil
	if a.interval > 0 {
		env.SetTimer(env.Now() + a.interval)
	}
}

// Table is the policy table in use (nil before the first update).
func (a *ALPS) Table() *policy.Table { return a.table }

// Runnable implements Policy: the task is queued at the level of its attained CPU.
func (a *ALPS) Runnable(t TaskID, why Reason) {
	e, ranked := a.entry(t)
	a.enqueue(t, why, policy.Level(&e, ranked, a.att[t]))
}

// enqueue applies rule steps 1-3 to task t made runnable for why at the given level: an
// arrival starts at the global vtime, the lag is clamped, the task joins its level's queue
// and, with no idle core, preempts the lowest-priority running task of a lower level.
func (a *ALPS) enqueue(t TaskID, why Reason, level uint32) {
	if why == Arrived {
		a.v[t] = a.vnow
	}
	a.v[t] = policy.ClampLag(a.v[t], a.vnow, a.k.WakeLag)
	l := min(level, policy.MaxLevels-1)
	a.level[t] = uint8(l)
	a.enq[t] = a.env.Now()
	a.q[l].push(a.v[t], t)
	if !a.k.Preempt || a.env.Idle() > 0 {
		return
	}
	victim, worst := -1, int(l)
	for c, rl := range a.runL {
		if rl > worst && !a.env.StopsNow(c) {
			victim, worst = c, rl
		}
	}
	if victim >= 0 {
		a.env.Preempt(victim, a.env.Now())
		a.runL[victim] = -1 // it stops now: not a victim twice
	}
}

// Pick implements Policy: a task that has waited MaxWait runs first (the oldest such head),
// else the head of the first non-empty level, until its next step (steps 4, 5).
func (a *ALPS) Pick(core int) (TaskID, int64, bool) {
	now := a.env.Now()
	best := -1
	for l := range a.q {
		if a.q[l].len() == 0 {
			continue
		}
		h := a.q[l].peek().t
		if policy.Aged(a.enq[h], now, a.k) && (best < 0 || a.enq[h] < a.enq[a.q[best].peek().t]) {
			best = l
		}
	}
	if best < 0 {
		for l := range a.q {
			if a.q[l].len() > 0 {
				best = l
				break
			}
		}
	}
	if best < 0 {
		return NoTask, 0, false
	}
	t := a.q[best].pop().t
	a.vnow = policy.AdvanceNow(a.vnow, a.v[t])
	a.runL[core] = best
	e, ranked := a.entry(t)
	return t, policy.Quantum(&e, ranked, a.att[t], a.k), true
}

// Stopped implements Policy: charge the run (step 6).
func (a *ALPS) Stopped(t TaskID, core int, ran int64, why StopReason) {
	a.v[t] = policy.Charge(a.v[t], ran, policy.NiceZeroWeight)
	a.att[t] += ran
	a.vnow = policy.AdvanceNow(a.vnow, a.v[t])
	a.runL[core] = -1
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
