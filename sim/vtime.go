package sim

import (
	"math"
	"math/bits"
	"slices"

	"github.com/alps-sched/alps/policy"
)

// Vtime is the sched_ext fair-vtime baseline: the ordering rule of policy/ORDERING.md
// (policy/ordering.go) with every task unranked. One shared queue ordered by key; an idle core
// takes the smallest key and runs it for the default slice; a task keeps its core until its
// slice ends, it blocks or it completes (no wake-up preemption); the lag clamp is applied on
// every enqueue.
//
// To avoid one event per slice when nothing waits, a task picked while the queue is empty
// runs with an open quantum: slice by slice it would be stopped, requeued and re-picked at
// every slice boundary with the same outcome. Three rules keep this exactly the
// slice-by-slice schedule (TestTickOracle checks it against a 1 ms-tick simulator):
//   - whenever a task is enqueued, the open runs are first charged for the whole slices they
//     completed, so vnow is what the slice-by-slice schedule has;
//   - a run is open only if its task's vtime is within the wake lag L of the largest vtime
//     any task has (charged or not): every vtime grows at most at wall-clock rate, so the
//     lag clamp can then not move it at any of its boundaries;
//   - when a task is left waiting (more queued tasks than idle cores), the open runs stop at
//     their next boundary, and one exactly at a boundary is requeued at once, in task order
//     with the other stops of that instant, as the slice-by-slice schedule did.
//
// One residue: when wake-ups, arrivals and boundaries of several cores fall on the very same
// nanosecond, ties may be ordered differently (on whole-millisecond test traces with I/O the
// mean FCT differs by under 0.02%; with nanosecond times the schedules are identical).
//
// When tasks do wait, every slice end is an event (a heavy-tailed trace at 85% load has
// about 140 per invocation). Vtime is a Forwarder: between two arrivals, wake-ups or ends of
// bursts it computes the round-robin phases of the slice-by-slice schedule in closed form
// and skips over them, identically (sim/vtime_forward.go; TestVtimeForward compares
// record by record with the schedule played slice by slice).
type Vtime struct {
	env  *Env
	p    policy.Knobs
	v    []int64
	q    keyHeap
	vnow int64
	open openRuns
	// opens is the set of cores in open.open, to visit only those.
	opens coreSet
	// runV is, per core, the vtime of its running task when the run began (v minus
	// open.settled, which the charges during the run do not change), or noRun: maxV reads
	// no task data.
	runV []int64
	// closed disables open runs and stepwise the fast-forward of round-robin phases
	// (Forward); tests compare the schedules.
	closed, stepwise bool
	ff               forward
	// nextB is at most the next boundary of an open run (0: unknown).
	nextB int64
	// Tasks of open runs requeued exactly at a boundary: the engine's Stopped/Requeued
	// calls for them must not charge or enqueue again.
	early      []bool // per core
	nEarly     int
	skip       []bool // per task
	atBoundary []TaskID
}

// NewVtime returns a vtime policy with the given ordering knobs (only WakeLag and
// DefaultSlice matter: every task is unranked).
func NewVtime(p policy.Knobs) *Vtime { return &Vtime{p: p} }

func (*Vtime) Name() string { return "vtime" }

func (s *Vtime) Start(e *Env) {
	s.env = e
	s.v = make([]int64, e.Tasks())
	s.skip = make([]bool, e.Tasks())
	s.early = make([]bool, e.Cores())
	s.open.init(e.Cores())
	s.opens = newCoreSet(e.Cores())
	s.runV = make([]int64, e.Cores())
	for c := range s.runV {
		s.runV[c] = noRun
	}
	s.ff.init(e.Cores(), s.p.DefaultSlice)
	if s.p.DefaultSlice <= 0 || s.p.WakeLag < 0 {
		s.stepwise = true // Forward's proof assumes these
	}
}

func (s *Vtime) Runnable(t TaskID, why Reason) {
	if s.skip[t] {
		s.skip[t] = false
		return
	}
	if !s.closeOpen(t, why) {
		s.enqueue(t, why)
	}
}

func (s *Vtime) enqueue(t TaskID, why Reason) {
	if why == Arrived {
		s.v[t] = s.vnow // join at vnow (rule step 1)
	}
	s.v[t] = policy.ClampLag(s.v[t], s.vnow, s.p.WakeLag) // step 2: every enqueue
	s.q.push(s.v[t], t)                                   // unranked: level 0, the key is the vtime (rule step 4)
}

// closeOpen brings the open runs up to date before task t is enqueued (see Vtime). It
// reports whether it enqueued t itself, to order it among the stops of the same instant.
func (s *Vtime) closeOpen(t TaskID, why Reason) (placed bool) {
	if s.open.n == 0 {
		return false
	}
	if s.env.Now() < s.nextB && s.q.len()+1 <= s.env.Idle()+s.nEarly {
		return false // no open run is at or past a boundary, and none is to be closed
	}
	slice := s.p.DefaultSlice
	s.ff.valid = false // open runs are charged or stopped
	e, now, vt, vnow, nextB := s.env, s.env.Now(), s.v, s.vnow, int64(never)
	open := s.open.open
	settled, running, runStart := s.open.settled[:len(open)], e.running[:len(open)], e.runStart[:len(open)]
	for w, word := range s.opens {
		for ; word != 0; word &= word - 1 {
			c := w<<6 | bits.TrailingZeros64(word)
			x := running[c]
			r := max(now-runStart[c], 0) // ran
			k := settled[c]              // whole slices done: charged at their boundaries
			if r >= k+slice {
				if r < k+2*slice { // the usual case; a division is slow
					k += slice
				} else {
					k = s.floorSlice(r)
				}
			}
			if d := k - settled[c]; d > 0 {
				vt[x] += d // Charge at nice 0 (without its division)
				vnow = policy.AdvanceNow(vnow, vt[x])
				settled[c] = k
			}
			nextB = min(nextB, runStart[c]+k+slice)
			if k > 0 && k == r { // at a boundary this instant
				if e.StopsNow(c) {
					nextB = 0 // open: look again at the next enqueue
				} else {
					// Slice by slice, it was stopped and requeued.
					open[c] = false
					s.opens.remove(c)
					s.open.n--
					s.early[c] = true
					s.nEarly++
					s.skip[x] = true
					s.atBoundary = append(s.atBoundary, x)
					e.Preempt(c, now)
				}
			}
		}
	}
	s.vnow, s.nextB = vnow, nextB
	// Stops of one instant are handled in task order: a requeued t goes among them.
	if len(s.atBoundary) > 1 {
		slices.Sort(s.atBoundary)
	}
	for _, x := range s.atBoundary {
		if why == Requeued && !placed && t < x {
			s.enqueue(t, why)
			placed = true
		}
		s.enqueue(x, Requeued)
	}
	s.atBoundary = s.atBoundary[:0]
	pending := 1
	if placed {
		pending = 0
	}
	if s.open.n == 0 || s.q.len()+pending <= s.env.Idle()+s.nEarly {
		return placed
	}
	for w, word := range s.opens {
		for ; word != 0; word &= word - 1 {
			c := w<<6 | bits.TrailingZeros64(word)
			s.open.open[c] = false
			s.open.n--
			s.env.Preempt(c, s.env.RunStart(c)+s.open.settled[c]+slice)
		}
		s.opens[w] = 0
	}
	return placed
}

func (s *Vtime) Pick(core int) (TaskID, int64, bool) {
	if s.q.len() == 0 {
		return NoTask, 0, false
	}
	t := s.q.pop().t
	s.vnow = policy.AdvanceNow(s.vnow, s.v[t])
	s.ff.touch(core)
	open := s.q.len() == 0 && !s.closed && s.maxV()-s.v[t] <= s.p.WakeLag
	s.open.start(core, open)
	s.runV[core] = s.v[t]
	if open {
		s.opens.add(core)
		s.nextB = min(s.nextB, s.env.RunStart(core)+s.p.DefaultSlice)
		return t, 0, true
	}
	return t, s.p.DefaultSlice, true
}

// floorSlice is r rounded down to whole slices, r >= 0.
func (s *Vtime) floorSlice(r int64) int64 {
	if sl := s.p.DefaultSlice; sl > 0 {
		return s.ff.div(r) * sl // a multiply: integer division is slow
	}
	return r / s.p.DefaultSlice * s.p.DefaultSlice
}

// maxV is the largest vtime of any task, counting the uncharged part of running ones.
func (s *Vtime) maxV() int64 {
	m, now := s.vnow, s.env.Now()
	runStart := s.env.runStart[:len(s.runV)]
	for c, w := range s.runV {
		if w != noRun {
			m = max(m, w+max(now-runStart[c], 0))
		}
	}
	return m
}

func (s *Vtime) Stopped(t TaskID, core int, ran int64, _ StopReason) {
	s.ff.touch(core)
	s.v[t] += s.open.stop(core, ran) // Charge at nice 0 (without its division)
	s.opens.remove(core)
	s.runV[core] = noRun
	s.vnow = policy.AdvanceNow(s.vnow, s.v[t])
	if s.early[core] {
		s.early[core] = false
		s.nEarly--
	}
}

// noRun marks an idle core in Vtime.runV.
const noRun = math.MinInt64

// coreSet is a set of cores, a bit each; the loops over it visit them in increasing order.
type coreSet []uint64

func newCoreSet(cores int) coreSet { return make(coreSet, (cores+63)/64) }

func (s coreSet) add(c int)    { s[c>>6] |= 1 << (c & 63) }
func (s coreSet) remove(c int) { s[c>>6] &^= 1 << (c & 63) }
