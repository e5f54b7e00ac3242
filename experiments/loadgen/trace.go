package loadgen

import (
	"fmt"

	"github.com/alps-sched/alps/sim"
)

// FromTrace turns a simulator trace into a replay plan: same functions, arrivals and demands;
// an invocation's I/O time is split evenly over its waits.
func FromTrace(tr *sim.Trace) (Plan, error) {
	if err := tr.Validate(); err != nil {
		return Plan{}, fmt.Errorf("trace: %w", err)
	}
	p := Plan{Functions: append([]string(nil), tr.Functions...), Invocations: make([]Invocation, len(tr.Inv))}
	for i, in := range tr.Inv {
		inv := Invocation{ID: i, Function: in.Func, Arrival: in.Arrival, Demand: in.CPU}
		if in.Waits > 0 {
			inv.Blocks, inv.Sleep = int(in.Waits), in.IO/int64(in.Waits)
		}
		p.Invocations[i] = inv
	}
	return p, p.Validate()
}
