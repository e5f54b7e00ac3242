package sim

import (
	"fmt"
	"math"
)

// PS is the ps policy of alps-sim: Linux's fair scheduler idealised as egalitarian processor
// sharing (PS) across all C cores at once, i.e. the per-core cfs (CoreCFS) with perfect load
// balancing: any runnable task may use any idle core instantly and all runnable tasks share
// all cores equally. It is the bound the per-core model is compared with, and the model the
// queueing-theory tests check (M/G/1-PS and M/G/c sharing). It is simulated by its own event
// loop whose events are arrivals, ends of CPU bursts and I/O wake-ups only, so its cost per
// invocation does not grow with demand / granularity (a 10 s invocation at a 3 ms
// granularity would otherwise be over 3,000 slice events).
//
// Model: with n runnable tasks, each receives CPU at rate 1 when n <= C; when n > C the
// cores time-slice with slice g = max(latency * C / n, min_granularity) and every slice
// costs a context switch cs, so each task progresses at rate (C / n) * g / (g + cs).
// Simplifications against the kernel: perfect load balancing (one global share); no
// vruntime placement or wake-up preemption (a new or waking task starts sharing at once,
// which is what wake-up preemption and sleeper credit approximate at time scales above
// the granularity); preemptions are counted as the slices a task received while sharing
// (floor of its shared service / g); context switches as the slices the cores ran.
// PS has no run segments: an Observer is an error. The slice-level cfs-global (GlobalCFS,
// sfs's second class) is the reference it is tested against.
type PS struct {
	p CFSParams
}

// NewPS returns the global processor-sharing model (only Latency, MinGranularity and
// ContextSwitch of p are used).
func NewPS(p CFSParams) *PS { return &PS{p: p} }

func (*PS) Name() string { return "ps" }

// PS is simulated by simulate; the Policy methods are never called.
func (*PS) Start(*Env)                             {}
func (*PS) Runnable(TaskID, Reason)                {}
func (*PS) Pick(int) (TaskID, int64, bool)         { return NoTask, 0, false }
func (*PS) Stopped(TaskID, int, int64, StopReason) {}

func (c *PS) simulate(tr *Trace, o Options) (*Result, error) {
	if o.Observer != nil {
		return nil, fmt.Errorf("policy %s is simulated as processor sharing and has no run segments to observe", c.Name())
	}
	n := len(tr.Inv)
	rec := make([]Record, n)
	join := make([]float64, n) // slice counter P when the task joined the share
	var run minHeap[tagged]
	wakes := make(eventHeap, 0, 64)
	cores := float64(o.Cores)
	var (
		now       int64
		S, P      float64 // virtual service per task; slices per task while sharing
		switches  float64
		next      int
		completed int
	)
	enter := func(t TaskID) {
		in := &tr.Inv[t]
		run.push(tagged{S + float64(burst(in, rec[t].Wakeups)), t})
		join[t] = P
	}
	for i := range tr.Inv {
		rec[i] = Record{Arrival: tr.Inv[i].Arrival, Start: -1, End: -1, Func: tr.Inv[i].Func}
	}
	for completed < n {
		r, g := c.p.share(len(run), o.Cores)
		tNext := int64(math.MaxInt64)
		if len(run) > 0 {
			tNext = now + int64(math.Ceil((run[0].f-S)/r))
		}
		if len(wakes) > 0 && wakes[0].t < tNext {
			tNext = wakes[0].t
		}
		if next < n && tr.Inv[next].Arrival < tNext {
			tNext = tr.Inv[next].Arrival
		}
		if tNext == math.MaxInt64 {
			return nil, fmt.Errorf("policy %s: %d invocations unfinished", c.Name(), n-completed)
		}
		if err := o.poll(); err != nil {
			return nil, err
		}
		if dt := float64(tNext - now); dt > 0 && len(run) > 0 {
			S += r * dt
			if g > 0 {
				P += r * dt / g
				switches += cores * dt / (g + float64(c.p.ContextSwitch))
			}
		}
		now = tNext
		// Bursts whose tag is reached end now (tolerating float rounding of one ns of service).
		for len(run) > 0 && run[0].f <= S+r {
			t := run.pop().t
			rr := &rec[t]
			in := &tr.Inv[t]
			rr.Preemptions += uint32(P - join[t])
			if rr.Wakeups < in.Waits {
				w := wait(in, rr.Wakeups)
				rr.Blocked += w
				wakes.push(event{t: now + w, key: uint64(t)})
				continue
			}
			rr.End, rr.CPU = now, in.CPU
			completed++
			if err := o.tick(completed); err != nil {
				return nil, err
			}
		}
		for len(wakes) > 0 && wakes[0].t == now {
			t := TaskID(wakes.pop().key)
			rec[t].Wakeups++
			enter(t)
		}
		for ; next < n && tr.Inv[next].Arrival == now; next++ {
			rec[next].Start = now
			enter(TaskID(next))
		}
	}
	if o.Progress != nil {
		o.Progress(completed)
	}
	var pre int64
	for i := range rec {
		pre += int64(rec[i].Preemptions)
	}
	return &Result{
		Policy:          c.Name(),
		Cores:           o.Cores,
		Records:         rec,
		Busy:            tr.TotalCPU(),
		ContextSwitches: int64(switches) + int64(n) + int64(tr.totalWaits()),
		Preemptions:     pre,
	}, nil
}
