// Package srpt is alps's discrete-event simulator of C identical cores running function
// invocations under a scheduling policy. It is the engine of the offline tool alps-sim and
// of the frontend's learner, which simulates SRPT over its window of recent invocations.
//
// Run drives one Policy from one event loop. Events are arrivals, ends of CPU bursts,
// quantum ends and requested preemptions, I/O wake-ups and policy timers; there are no
// ticks. The loop allocates nothing per event: task state lives in flat slices indexed by
// TaskID and pending events in a binary heap of plain structs.
package srpt

import (
	"errors"
	"fmt"
	"math"
)

// Options configure a simulation.
type Options struct {
	// Cores is the number of identical cores, > 0.
	Cores int
	// Observer, if not nil, receives every uninterrupted run segment.
	Observer Observer
	// Progress, if not nil, is called with the number of completed invocations every
	// ProgressEvery completions (default 65536) and at the end.
	Progress      func(completed int)
	ProgressEvery int
}

// Result is the outcome of a simulation.
type Result struct {
	Policy          string
	Cores           int
	Records         []Record // indexed by TaskID, in trace order
	Busy            int64    // core-ns spent running invocations (equals the total demand)
	ContextSwitches int64    // dispatches of a task other than the core's previous one
	Preemptions     int64    // stops of a still-runnable task
}

// task locations (loc); values >= 0 are the core a task runs on.
const (
	locPending  int32 = -1 // not arrived yet
	locRunnable int32 = -2
	locBlocked  int32 = -3
	locDone     int32 = -4
)

const never = math.MaxInt64

// Env is the simulation as a policy sees it. Its methods are valid during the policy's
// callbacks.
type Env struct {
	inv   []Invocation
	rec   []Record
	rem   []int64 // remaining CPU of the current burst (as of the last stop)
	loc   []int32
	cores int

	running   []TaskID
	runStart  []int64
	stopAt    []int64
	preemptAt []int64
	gen       []uint32
	last      []TaskID // previous task of each core
	idle      int

	events  eventHeap
	stopNow []int32
	timer   int64
	now     int64
	dirty   bool // something may be dispatched

	pol  Policy
	obs  Observer
	comp Completer
	err  error

	busy, switches, preemptions int64
	switchCost                  int64
}

// Now is the current simulated time, ns.
func (e *Env) Now() int64 { return e.now }

// Cores is the number of cores.
func (e *Env) Cores() int { return e.cores }

// Tasks is the number of invocations in the trace (TaskIDs are 0..Tasks()-1).
func (e *Env) Tasks() int { return len(e.inv) }

// Arrival is task t's arrival time.
func (e *Env) Arrival(t TaskID) int64 { return e.inv[t].Arrival }

// Func is task t's function id.
func (e *Env) Func(t TaskID) uint32 { return e.inv[t].Func }

// Running returns the task running on core, or NoTask.
func (e *Env) Running(core int) TaskID { return e.running[core] }

// RunStart is when core's running task started (or, during a context switch, will start)
// its current run.
func (e *Env) RunStart(core int) int64 { return e.runStart[core] }

// Idle is the number of idle cores.
func (e *Env) Idle() int { return e.idle }

// Preempt asks that core's running task stop at time at (now or later; the earlier of at
// and its current stop time wins). The task is stopped with reason Preempted and requeued.
// It does nothing on an idle core.
func (e *Env) Preempt(core int, at int64) {
	if e.running[core] == NoTask {
		return
	}
	if at <= e.now {
		if e.preemptAt[core] != e.now || e.stopAt[core] != e.now {
			e.preemptAt[core] = e.now
			e.stopAt[core] = e.now
			e.gen[core]++
			e.stopNow = append(e.stopNow, int32(core))
		}
		return
	}
	if at < e.stopAt[core] {
		e.preemptAt[core] = at
		e.stopAt[core] = at
		e.gen[core]++
		e.events.push(coreEvent(at, core, e.running[core], e.gen[core]))
	}
}

// SetTimer asks for a call of the policy's Timer method at time at (> now); it replaces an
// earlier request. A policy must implement Timed to use it.
func (e *Env) SetTimer(at int64) {
	if at <= e.now {
		at = e.now + 1
	}
	e.timer = at
}

// Remaining is task t's remaining CPU demand over all its bursts (the Oracle of
// clairvoyant policies; Env is not itself exposed to policies as an Oracle).
type oracle struct{ e *Env }

func (o oracle) Remaining(t TaskID) int64 {
	e := o.e
	r := e.rem[t]
	if c := e.loc[t]; c >= 0 && e.now > e.runStart[c] {
		r -= e.now - e.runStart[c]
	}
	in := &e.inv[t]
	for k := e.rec[t].Wakeups + 1; k <= in.Waits; k++ {
		r += burst(in, k)
	}
	return r
}

// event kinds are in the high bits of key: core stops sort before wake-ups at equal times.
const kindWake = uint64(1) << 32

// coreEvent is the stop event of core c running task t.
func coreEvent(at int64, c int, t TaskID, gen uint32) event {
	return event{t: at, key: uint64(t), gen: gen, core: int32(c)}
}

// Core events at equal times are ordered by the running task's id, not the core's index, so
// that simultaneous stops are handled in an order that does not depend on which core a task
// happens to run on.
type event struct {
	t    int64
	key  uint64 // kind<<32 | task
	gen  uint32 // core events: valid while it equals the core's gen
	core int32  // core events: the core
}

func (a event) less(b event) bool { return a.t < b.t || (a.t == b.t && a.key < b.key) }

type eventHeap = minHeap[event]

// Run simulates trace tr under policy p. The trace must be sorted and valid
// (Trace.Validate); the policy must be fresh (policies keep per-run state).
func Run(tr *Trace, p Policy, o Options) (*Result, error) {
	if o.Cores <= 0 {
		return nil, fmt.Errorf("cores must be > 0, got %d", o.Cores)
	}
	if err := tr.Validate(); err != nil {
		return nil, fmt.Errorf("trace: %w", err)
	}
	if sim, ok := p.(simulator); ok {
		return sim.simulate(tr, o)
	}
	n := len(tr.Inv)
	e := &Env{
		inv:       tr.Inv,
		rec:       make([]Record, n),
		rem:       make([]int64, n),
		loc:       make([]int32, n),
		cores:     o.Cores,
		running:   make([]TaskID, o.Cores),
		runStart:  make([]int64, o.Cores),
		stopAt:    make([]int64, o.Cores),
		preemptAt: make([]int64, o.Cores),
		gen:       make([]uint32, o.Cores),
		last:      make([]TaskID, o.Cores),
		idle:      o.Cores,
		events:    make(eventHeap, 0, 2*o.Cores+64),
		timer:     never,
		pol:       p,
		obs:       o.Observer,
	}
	for c := range e.running {
		e.running[c], e.last[c] = NoTask, NoTask
	}
	for i := range tr.Inv {
		in := &tr.Inv[i]
		e.rec[i] = Record{Arrival: in.Arrival, Start: -1, End: -1, Func: in.Func}
		e.rem[i] = burst(in, 0)
		e.loc[i] = locPending
	}
	if cv, ok := p.(Clairvoyant); ok {
		cv.UseOracle(oracle{e})
	}
	e.comp, _ = p.(Completer)
	if sc, ok := p.(SwitchCoster); ok {
		e.switchCost = sc.SwitchCost()
	}
	timed, _ := p.(Timed)
	every := o.ProgressEvery
	if every <= 0 {
		every = 1 << 16
	}
	p.Start(e)

	next, completed := 0, 0
	for completed < n {
		t := int64(never)
		if len(e.events) > 0 {
			t = e.events[0].t
		}
		if next < n && tr.Inv[next].Arrival < t {
			t = tr.Inv[next].Arrival
		}
		if timed != nil && e.timer < t {
			t = e.timer
		}
		if t == never {
			return nil, fmt.Errorf("policy %s: %d invocations runnable but no core runs them", p.Name(), n-completed)
		}
		e.now = t
		for len(e.events) > 0 && e.events[0].t == t {
			ev := e.events.pop()
			if ev.key >= kindWake {
				e.wake(TaskID(ev.key - kindWake))
				continue
			}
			c := int(ev.core)
			if ev.gen == e.gen[c] && e.running[c] != NoTask {
				if e.stop(c) {
					completed++
					if o.Progress != nil && completed%every == 0 {
						o.Progress(completed)
					}
				}
			}
		}
		for next < n && tr.Inv[next].Arrival == t {
			e.loc[next] = locRunnable
			e.dirty = true
			p.Runnable(TaskID(next), Arrived)
			next++
		}
		if timed != nil && e.timer == t {
			e.timer = never
			timed.Timer(t)
		}
		for len(e.stopNow) > 0 || e.dirty {
			for i := 0; i < len(e.stopNow); i++ {
				c := int(e.stopNow[i])
				if e.running[c] != NoTask && e.stopAt[c] == t {
					if e.stop(c) {
						completed++
					}
				}
			}
			e.stopNow = e.stopNow[:0]
			e.dispatch()
		}
		if e.err != nil {
			return nil, e.err
		}
	}
	if o.Progress != nil {
		o.Progress(completed)
	}
	return &Result{
		Policy:          p.Name(),
		Cores:           o.Cores,
		Records:         e.rec,
		Busy:            e.busy,
		ContextSwitches: e.switches,
		Preemptions:     e.preemptions,
	}, nil
}

// stop ends the run on core c at e.now and reports whether the task completed.
func (e *Env) stop(c int) bool {
	t := e.running[c]
	ran := e.now - e.runStart[c]
	if ran < 0 { // stopped during its context switch
		ran = 0
		e.runStart[c] = e.now
	}
	e.rem[t] -= ran
	e.busy += ran
	e.running[c] = NoTask
	e.gen[c]++
	e.idle++
	e.dirty = true
	r := &e.rec[t]
	in := &e.inv[t]
	var why StopReason
	switch {
	case e.rem[t] == 0 && r.Wakeups < in.Waits:
		why = Blocked
		w := wait(in, r.Wakeups)
		r.Blocked += w
		e.loc[t] = locBlocked
		e.events.push(event{t: e.now + w, key: kindWake | uint64(t)})
	case e.rem[t] == 0:
		why = Completed
		r.End = e.now
		r.CPU = in.CPU
		e.loc[t] = locDone
	case e.preemptAt[c] <= e.now:
		why = Preempted
	default:
		why = QuantumExpired
	}
	if e.obs != nil {
		e.obs.Segment(t, c, e.runStart[c], e.now, why)
	}
	e.pol.Stopped(t, c, ran, why)
	switch why {
	case Completed:
		if e.comp != nil {
			e.comp.Completed(t, r)
		}
		return true
	case Preempted, QuantumExpired:
		r.Preemptions++
		e.preemptions++
		e.loc[t] = locRunnable
		e.pol.Runnable(t, Requeued)
	}
	return false
}

func (e *Env) wake(t TaskID) {
	r := &e.rec[t]
	r.Wakeups++
	e.rem[t] = burst(&e.inv[t], r.Wakeups)
	e.loc[t] = locRunnable
	e.dirty = true
	e.pol.Runnable(t, Woke)
}

// dispatch offers every idle core to the policy.
func (e *Env) dispatch() {
	e.dirty = false
	if e.idle == 0 {
		return
	}
	for c := 0; c < e.cores && e.idle > 0; c++ {
		if e.running[c] != NoTask {
			continue
		}
		t, q, ok := e.pol.Pick(c)
		if !ok {
			continue
		}
		if t < 0 || int(t) >= len(e.inv) || e.loc[t] != locRunnable {
			if e.err == nil {
				e.err = fmt.Errorf("policy %s picked task %d, which is not runnable", e.pol.Name(), t)
			}
			continue
		}
		e.start(c, t, q)
	}
}

func (e *Env) start(c int, t TaskID, q int64) {
	e.running[c] = t
	e.loc[t] = int32(c)
	e.idle--
	e.runStart[c] = e.now
	if e.last[c] != t {
		e.switches++
		e.last[c] = t
		e.runStart[c] += e.switchCost
	}
	if e.rec[t].Start < 0 {
		e.rec[t].Start = e.runStart[c]
	}
	end := e.runStart[c] + e.rem[t]
	if q > 0 && q < e.rem[t] { // the quantum is run time: it starts after the context switch
		end = e.runStart[c] + q
	}
	e.stopAt[c] = end
	e.preemptAt[c] = never
	e.gen[c]++
	e.events.push(coreEvent(end, c, t, e.gen[c]))
}

// ErrUnknownPolicy is wrapped by New for a name not in the registry.
var ErrUnknownPolicy = errors.New("unknown policy")
