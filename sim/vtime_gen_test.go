package sim_test

import (
	"fmt"
	"testing"

	"github.com/alps-sched/alps/sim"
	"github.com/alps-sched/alps/sim/trace"
)

// TestVtimeForwardGenerated: on traces of the workload generator (the benchmark's kind, with
// and without I/O-bound functions, Poisson and Azure-like bursty arrivals), vtime with its
// fast-forward gives exactly the schedule played slice by slice.
func TestVtimeForwardGenerated(t *testing.T) {
	p := sim.TestParams(t, 1).Knobs
	cases := []trace.GenOptions{
		{Functions: 200, Invocations: 20_000, Cores: 16, Load: 0.85, Seed: 7},
		{Functions: 200, Invocations: 20_000, Cores: 16, Load: 0.85, IOFraction: 0.3, Seed: 8},
		{Functions: 200, Invocations: 20_000, Cores: 4, Load: 0.95, IOFraction: 0.1, Seed: 9, Arrivals: trace.ArrivalsAzure, Burstiness: 1, Batch: 4},
		{Functions: 100, Invocations: 10_000, Cores: 1, Load: 0.7, Seed: 10},
	}
	for _, o := range cases {
		name := fmt.Sprintf("%d cores/load %g/io %g/arrivals %d", o.Cores, o.Load, o.IOFraction, o.Arrivals)
		tr, err := trace.Generate(o)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, err := sim.Run(tr, sim.NewVtime(p), sim.Options{Cores: o.Cores})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want, err := sim.Run(tr, sim.NewVtimeStepwise(p), sim.Options{Cores: o.Cores})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := sim.SameSchedule(got, want); err != nil {
			t.Fatalf("%s: fast-forwarded vs slice by slice: %v", name, err)
		}
		if want.Preemptions == 0 {
			t.Fatalf("%s: no slice ends: the comparison is empty", name)
		}
	}
}
