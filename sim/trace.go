package sim

import (
	"fmt"
	"slices"
)

// Invocation is one function invocation: it arrives, needs CPU nanoseconds of CPU and,
// if Waits > 0, blocks Waits times for a total of IO nanoseconds. The CPU demand is split
// into Waits+1 bursts separated by the waits: every burst but the last is CPU/(Waits+1)
// (integer division), the last takes the remainder; every wait but the last is
// IO/Waits, the last takes the remainder. An invocation is CPU-only when Waits == 0.
type Invocation struct {
	Arrival int64  // ns since the start of the trace
	CPU     int64  // total CPU demand, ns, > 0
	IO      int64  // total blocking time, ns (0 when Waits == 0)
	Func    uint32 // function id: index in Trace.Functions
	Waits   uint32 // number of I/O waits
}

// Trace is a workload: invocations sorted by arrival and the names of their functions
// (function id = index).
type Trace struct {
	Functions []string
	Inv       []Invocation
}

// Sort orders the invocations by arrival (stable: equal arrivals keep their order).
func (tr *Trace) Sort() {
	slices.SortStableFunc(tr.Inv, func(a, b Invocation) int {
		switch {
		case a.Arrival < b.Arrival:
			return -1
		case a.Arrival > b.Arrival:
			return 1
		}
		return 0
	})
}

// Validate checks what the simulator relies on.
func (tr *Trace) Validate() error {
	var last int64
	for i := range tr.Inv {
		in := &tr.Inv[i]
		switch {
		case in.Arrival < last:
			return fmt.Errorf("invocation %d: arrivals not sorted", i)
		case in.CPU <= 0:
			return fmt.Errorf("invocation %d: cpu demand must be > 0", i)
		case in.IO < 0:
			return fmt.Errorf("invocation %d: io time must be >= 0", i)
		case in.Waits == 0 && in.IO != 0:
			return fmt.Errorf("invocation %d: io time without waits", i)
		case int(in.Func) >= len(tr.Functions):
			return fmt.Errorf("invocation %d: function id %d out of range", i, in.Func)
		}
		last = in.Arrival
	}
	return nil
}

// TotalCPU is the sum of the CPU demands.
func (tr *Trace) TotalCPU() int64 {
	var s int64
	for i := range tr.Inv {
		s += tr.Inv[i].CPU
	}
	return s
}

// Span is the time from the first to the last arrival.
func (tr *Trace) Span() int64 {
	if len(tr.Inv) == 0 {
		return 0
	}
	return tr.Inv[len(tr.Inv)-1].Arrival - tr.Inv[0].Arrival
}

// Utilization is the offered load per core: total CPU demand / (span * cores). It is 0 for
// traces shorter than two arrivals.
func (tr *Trace) Utilization(cores int) float64 {
	sp := tr.Span()
	if sp <= 0 || cores <= 0 {
		return 0
	}
	return float64(tr.TotalCPU()) / (float64(sp) * float64(cores))
}

// burst returns the CPU length of burst k (0-based) of in.
func burst(in *Invocation, k uint32) int64 {
	n := int64(in.Waits) + 1
	b := in.CPU / n
	if int64(k) == n-1 {
		return in.CPU - b*(n-1)
	}
	return b
}

// wait returns the length of I/O wait k (0-based) of in.
func wait(in *Invocation, k uint32) int64 {
	n := int64(in.Waits)
	w := in.IO / n
	if int64(k) == n-1 {
		return in.IO - w*(n-1)
	}
	return w
}

// Record is what happened to one invocation in a simulation. Times are ns.
type Record struct {
	Arrival     int64
	Start       int64 // first time it ran
	End         int64 // completion
	CPU         int64 // CPU time received (its demand)
	Blocked     int64 // time spent in I/O waits
	Func        uint32
	Wakeups     uint32 // wake-ups after I/O
	Preemptions uint32 // times it was stopped while still runnable (not counting slice ends where nothing waited and it ran on)
}

// FCT is the flow completion time: End - Arrival.
func (r *Record) FCT() int64 { return r.End - r.Arrival }

// Wait is the time it was runnable but not running: FCT - CPU - Blocked.
func (r *Record) Wait() int64 { return r.End - r.Arrival - r.CPU - r.Blocked }

// Slowdown is FCT / (CPU + Blocked), >= 1.
func (r *Record) Slowdown() float64 { return float64(r.FCT()) / float64(r.CPU+r.Blocked) }

// totalWaits is the number of I/O waits of all invocations.
func (tr *Trace) totalWaits() int64 {
	var s int64
	for i := range tr.Inv {
		s += int64(tr.Inv[i].Waits)
	}
	return s
}
