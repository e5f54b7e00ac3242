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
// vtime orders a level, a task that has waited MaxWait runs before every level, a task runs
// until its next step (then it is queued again at its new level), and a task queued above a
// running one preempts it. It never reads an invocation's demand before the invocation
// completes.
type ALPS struct {
	learning
	k policy.Knobs

	v    []int64 // per task vtime
	att  []int64 // per task CPU used so far in its invocation (the attained service)
	enq  []int64 // when it was last queued
	vnow int64
	q    alpsQueue
	runL []int // per core: the level of its task, -1 when idle
	// With learner.censored: live lists the invocations arrived and not completed; pos[t] is
	// t's index, -1 if none (nil without).
	live []TaskID
	pos  []int32
	runs []model.Running
	// entry is the policy entry of task t's function (diagnostics replace the table's).
	entry func(t TaskID) (policy.Entry, bool)
}

// learning is what alps shares under both rules: a model.Learner fed every completed
// invocation (Completed) that installs a new table every interval of simulated time (Timer).
type learning struct {
	learner  *model.Learner
	interval int64
	table    *policy.Table
	env      *Env

	// running, when set, lists the invocations in flight for the learner's censored samples.
	running func() []model.Running

	// Tables counts the policy tables installed during the run.
	Tables int
}

// start begins a run: no table until the first update, one interval from now.
func (l *learning) start(env *Env) {
	l.env = env
	l.table = nil
	if l.interval > 0 {
		env.SetTimer(env.Now() + l.interval)
	}
}

// Table is the policy table in use (nil before the first update).
func (l *learning) Table() *policy.Table { return l.table }

// Completed implements Completer: the learner sees what the backend would report.
func (l *learning) Completed(t TaskID, r *Record) {
	l.learner.Observe(policy.Record{
		Function: r.Func,
		Start:    r.Arrival,
		End:      r.End,
		CPU:      r.CPU,
		RunDelay: r.End - r.Arrival - r.CPU - r.Blocked,
		Nvcsw:    uint64(r.Wakeups),
	})
}

// Timer implements Timed: relearn and install a new table.
func (l *learning) Timer(now int64) {
	if l.running != nil {
		l.learner.SetRunning(l.running())
	}
	l.table = l.learner.Update(now)
	l.Tables++
	l.env.SetTimer(now + l.interval)
}

// NewALPS returns the alps policy learning with l (fresh: its window should be empty) and
// relearning every l.Config().UpdateInterval ns of simulated time (never if it is <= 0: the
// policy then stays the plain vtime rule). A policy value serves one Run.
func NewALPS(l *model.Learner) *ALPS {
	a := &ALPS{learning: learning{learner: l, interval: l.Config().UpdateInterval}, k: l.Config().Knobs}
	a.entry = func(t TaskID) (policy.Entry, bool) { return a.table.LookupOrDefault(a.env.Func(t)) }
	if l.Config().Censored {
		a.running = a.inFlight
	}
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
	a.start(env)
	n := env.Tasks()
	a.v = make([]int64, n)
	a.att = make([]int64, n)
	a.enq = make([]int64, n)
	a.q = alpsQueue{tok: make([]uint64, n)}
	a.live, a.pos = a.live[:0], nil
	if a.running != nil {
		a.pos = make([]int32, n)
		for t := range a.pos {
			a.pos[t] = -1
		}
	}
	a.runL = make([]int, env.Cores())
	for c := range a.runL {
		a.runL[c] = -1
	}
}

// Runnable implements Policy: the task is queued at the level of its attained CPU.
func (a *ALPS) Runnable(t TaskID, why Reason) {
	if why == Arrived && a.pos != nil {
		a.pos[t] = int32(len(a.live))
		a.live = append(a.live, t)
	}
	e, ranked := a.entry(t)
	a.enqueue(t, why, policy.Level(&e, ranked, a.att[t]))
}

// enqueue applies rule steps 1-4 and 9 to task t made runnable for why at the given level:
// an arrival starts at the global vtime, the lag is clamped, the task is queued by its key
// and, with no idle core, preempts the running task of the lowest level below its own.
func (a *ALPS) enqueue(t TaskID, why Reason, level uint32) {
	if why == Arrived {
		a.v[t] = a.vnow
	}
	a.v[t] = policy.ClampLag(a.v[t], a.vnow, a.k.WakeLag)
	a.enq[t] = a.env.Now()
	a.q.push(policy.Key(level, a.v[t]), t)
	if a.env.Idle() > 0 {
		return
	}
	l := min(level, policy.MaxLevels-1)
	victim, worst := -1, l
	for c, rl := range a.runL {
		if rl >= 0 && policy.Preempts(worst, uint32(rl), a.k) && !a.env.StopsNow(c) {
			victim, worst = c, uint32(rl)
		}
	}
	if victim >= 0 {
		a.env.Preempt(victim, a.env.Now())
		a.runL[victim] = -1 // it stops now: not a victim twice
	}
}

// Pick implements Policy: the task queued longest runs if it has waited MaxWait (step 8),
// else the smallest key; it runs until its next step (steps 5, 6).
func (a *ALPS) Pick(core int) (TaskID, int64, bool) {
	t, ok := a.q.oldest()
	if !ok {
		return NoTask, 0, false
	}
	aged := policy.Aged(a.enq[t], a.env.Now(), a.k)
	if !aged {
		t = a.q.first()
	}
	a.q.take(t)
	a.vnow = policy.AdvanceNow(a.vnow, a.v[t])
	e, ranked := a.entry(t)
	a.runL[core] = int(policy.Level(&e, ranked, a.att[t]))
	if aged {
		a.runL[core] = 0 // it runs its quantum as level 0: not preempted at once
	}
	return t, policy.Quantum(&e, ranked, a.att[t], a.k), true
}

// alpsQueue holds the queued tasks both by key and in queueing order; an entry whose token
// is not its task's current one is stale (the task was taken through the other order).
type alpsQueue struct {
	h    minHeap[alpsItem]
	fifo []alpsItem
	head int
	tok  []uint64 // per task: the token of its entry, 0 when not queued
	next uint64
}

type alpsItem struct {
	key uint64
	tok uint64 // increasing: the queueing order, and the tie-break of equal keys
	t   TaskID
}

func (a alpsItem) less(b alpsItem) bool { return a.key < b.key || (a.key == b.key && a.tok < b.tok) }

func (q *alpsQueue) push(key uint64, t TaskID) {
	q.next++
	q.tok[t] = q.next
	it := alpsItem{key: key, tok: q.next, t: t}
	q.h.push(it)
	q.fifo = append(q.fifo, it)
}

// first is the queued task of the smallest key; the queue must not be empty.
func (q *alpsQueue) first() TaskID {
	for q.h[0].tok != q.tok[q.h[0].t] {
		q.h.pop()
	}
	return q.h[0].t
}

// oldest is the task queued longest.
func (q *alpsQueue) oldest() (TaskID, bool) {
	for q.head < len(q.fifo) && q.fifo[q.head].tok != q.tok[q.fifo[q.head].t] {
		q.head++
	}
	if q.head == len(q.fifo) {
		q.fifo, q.head = q.fifo[:0], 0
		return NoTask, false
	}
	if q.head > 4096 && 2*q.head > len(q.fifo) {
		q.fifo, q.head = append(q.fifo[:0], q.fifo[q.head:]...), 0
	}
	return q.fifo[q.head].t, true
}

// take removes t from the queue (its entries become stale).
func (q *alpsQueue) take(t TaskID) { q.tok[t] = 0 }

// Completed implements Completer: the learner sees the record; t is no longer in flight.
func (a *ALPS) Completed(t TaskID, r *Record) {
	a.learning.Completed(t, r)
	if a.pos == nil {
		return
	}
	if i := a.pos[t]; i >= 0 {
		last := a.live[len(a.live)-1]
		a.live[i], a.pos[last] = last, i
		a.live = a.live[:len(a.live)-1]
		a.pos[t] = -1
	}
}

// inFlight lists the invocations in flight with the CPU each has used by its last stop (what
// the kernel reports), for the learner's censored samples.
func (a *ALPS) inFlight() []model.Running {
	a.runs = a.runs[:0]
	for _, t := range a.live {
		a.runs = append(a.runs, model.Running{Function: a.env.Func(t), Start: a.env.Arrival(t), CPU: a.att[t]})
	}
	return a.runs
}

// Stopped implements Policy: charge the run (step 6).
func (a *ALPS) Stopped(t TaskID, core int, ran int64, why StopReason) {
	a.v[t] = policy.Charge(a.v[t], ran, policy.NiceZeroWeight)
	a.att[t] += ran
	a.vnow = policy.AdvanceNow(a.vnow, a.v[t])
	a.runL[core] = -1
}
