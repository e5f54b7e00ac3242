package srpt

import (
	"github.com/alps-sched/alps/model"
)

// ALPS is the learned alps policy: the ordering rule of backend/ORDERING.md (one shared
// queue ordered by vtime shifted by the function's rank offset, the function's slice as the
// quantum, no wake-up preemption, lag clamped on wake-up only, keys bounded by the maximum
// penalty) with ranks and slices from a model.Learner that is fed every completed invocation
// and relearns every update interval of simulated time. It never reads an invocation's
// demand before the invocation completes.
type ALPS struct {
	learner  *model.Learner
	interval int64
	table    *model.Table
	p        OrderParams

	env  *Env
	v    []int64 // per task vtime
	vnow int64
	q    keyQueue

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
		p:        OrderParams{RankStep: k.RankStep, MaxPenalty: k.MaxPenalty, WakeLag: k.WakeLag, DefaultSlice: k.DefaultSlice},
	}
}

// Name implements Policy.
func (a *ALPS) Name() string { return "alps" }

// Start implements Policy.
func (a *ALPS) Start(env *Env) {
	a.env = env
	a.v = make([]int64, env.Tasks())
	a.q = keyQueue{}
	a.table = nil
	if a.interval > 0 {
		env.SetTimer(env.Now() + a.interval)
	}
}

// Table is the policy table in use (nil before the first update).
func (a *ALPS) Table() *model.Table { return a.table }

// Runnable implements Policy: rule steps 1-3.
func (a *ALPS) Runnable(t TaskID, why Reason) {
	switch why {
	case Arrived:
		a.v[t] = a.vnow
	case Woke:
		a.v[t] = WakeVtime(a.v[t], a.vnow, a.p.WakeLag)
	}
	e, ranked := a.table.Lookup(a.env.Func(t))
	a.q.push(Key(a.v[t], a.vnow, ranked, e.Rank, a.p), t)
}

// Pick implements Policy: the smallest key runs for its function's slice (steps 4, 5).
func (a *ALPS) Pick(core int) (TaskID, int64, bool) {
	if a.q.len() == 0 {
		return NoTask, 0, false
	}
	t := a.q.pop()
	a.vnow = AdvanceNow(a.vnow, a.v[t])
	e, ranked := a.table.Lookup(a.env.Func(t))
	return t, Slice(ranked, e.Slice, a.p), true
}

// Stopped implements Policy: charge the run (step 6).
func (a *ALPS) Stopped(t TaskID, core int, ran int64, why StopReason) {
	a.v[t] = Charge(a.v[t], ran, NiceZeroWeight)
	a.vnow = AdvanceNow(a.vnow, a.v[t])
}

// Completed implements Completer: the learner sees what the backend would report.
func (a *ALPS) Completed(t TaskID, r *Record) {
	a.learner.Observe(model.Record{
		Function: r.Func,
		Arrival:  r.Arrival,
		CPU:      r.CPU,
		Wall:     r.End - r.Arrival,
		Blocked:  r.Blocked,
		Wakeups:  r.Wakeups,
	})
}

// Timer implements Timed: relearn and install a new table.
func (a *ALPS) Timer(now int64) {
	a.table = a.learner.Update(now)
	a.Tables++
	a.env.SetTimer(now + a.interval)
}

// keyQueue is a min-heap of tasks by key; equal keys leave in insertion order.
type keyQueue struct {
	h   []keyItem
	seq uint64
}

type keyItem struct {
	key int64
	seq uint64
	t   TaskID
}

func (q *keyQueue) len() int { return len(q.h) }

func (q *keyQueue) less(i, j int) bool {
	a, b := &q.h[i], &q.h[j]
	return a.key < b.key || a.key == b.key && a.seq < b.seq
}

func (q *keyQueue) push(key int64, t TaskID) {
	q.seq++
	q.h = append(q.h, keyItem{key: key, seq: q.seq, t: t})
	i := len(q.h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !q.less(i, p) {
			break
		}
		q.h[i], q.h[p] = q.h[p], q.h[i]
		i = p
	}
}

func (q *keyQueue) pop() TaskID {
	h := q.h
	top := h[0].t
	n := len(h) - 1
	h[0] = h[n]
	q.h = h[:n]
	i := 0
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && q.less(r, l) {
			m = r
		}
		if !q.less(m, i) {
			break
		}
		q.h[i], q.h[m] = q.h[m], q.h[i]
		i = m
	}
	return top
}
