package loadgen

import (
	"fmt"
	"math"
	"time"

	"github.com/alps-sched/alps/sim"
)

// Shape fits an Azure-like trace to a machine whose invocations cannot be shorter than what a
// process costs, and to an experiment of a given length:
//
//   - every demand d becomes clamp(s*d, minDemand, maxDemand), with the scale s chosen so
//     that the total demand is load * cores * span (found by bisection: the total grows with s);
//   - I/O time is scaled by the same factor as its invocation's CPU;
//   - arrivals are stretched so that they span exactly span: the offered load is load per core.
//
// The order of arrivals, the functions and the relative order of demands are kept; the tail is
// compressed only where the clamps bind.
func Shape(tr *sim.Trace, cores int, load float64, span, minDemand, maxDemand int64) (*sim.Trace, error) {
	switch {
	case len(tr.Inv) < 2:
		return nil, fmt.Errorf("shape: need at least 2 invocations")
	case cores <= 0 || !(load > 0) || span <= 0:
		return nil, fmt.Errorf("shape: cores, load and span must be > 0")
	case minDemand <= 0 || maxDemand < minDemand:
		return nil, fmt.Errorf("shape: need 0 < min demand <= max demand")
	}
	target := load * float64(cores) * float64(span)
	n := float64(len(tr.Inv))
	if target < n*float64(minDemand) || target > n*float64(maxDemand) {
		return nil, fmt.Errorf("shape: %d invocations cannot offer load %.2f on %d cores over %v with demands in [%v, %v]",
			len(tr.Inv), load, cores, time.Duration(span), time.Duration(minDemand), time.Duration(maxDemand))
	}
	clamp := func(s float64, d int64) int64 {
		return int64(math.Min(math.Max(s*float64(d), float64(minDemand)), float64(maxDemand)))
	}
	total := func(s float64) float64 {
		var t float64
		for _, in := range tr.Inv {
			t += float64(clamp(s, in.CPU))
		}
		return t
	}
	lo, hi := 1e-12, 1e12
	for i := 0; i < 200 && hi/lo > 1+1e-9; i++ {
		mid := math.Sqrt(lo * hi)
		if total(mid) < target {
			lo = mid
		} else {
			hi = mid
		}
	}
	s := math.Sqrt(lo * hi)
	out := &sim.Trace{Functions: append([]string(nil), tr.Functions...), Inv: make([]sim.Invocation, len(tr.Inv))}
	first, last := tr.Inv[0].Arrival, tr.Inv[len(tr.Inv)-1].Arrival
	stretch := float64(span) / float64(max(last-first, 1))
	for i, in := range tr.Inv {
		d := clamp(s, in.CPU)
		o := sim.Invocation{Arrival: int64(float64(in.Arrival-first) * stretch), CPU: d, Func: in.Func, Waits: in.Waits}
		if in.Waits > 0 {
			o.IO = int64(float64(in.IO) * float64(d) / float64(in.CPU))
		}
		out.Inv[i] = o
	}
	return out, out.Validate()
}
