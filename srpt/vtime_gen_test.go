package srpt_test

import (
	"fmt"
	"testing"

	"github.com/alps-sched/alps/configs"
	"github.com/alps-sched/alps/srpt"
	"github.com/alps-sched/alps/srpt/trace"
)

// TestVtimeForwardGenerated: on traces of the workload generator (the benchmark's kind, with
// and without I/O-bound functions, Poisson and Azure-like bursty arrivals), vtime with its
// fast-forward gives exactly the schedule played slice by slice.
func TestVtimeForwardGenerated(t *testing.T) {
	l, err := configs.NewLoader()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := l.Load()
	if err != nil {
		t.Fatal(err)
	}
	p := srpt.Params{Config: cfg}.Order()
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
		got, err := srpt.Run(tr, srpt.NewVtime(p), srpt.Options{Cores: o.Cores})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want, err := srpt.Run(tr, srpt.NewVtimeStepwise(p), srpt.Options{Cores: o.Cores})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for i := range got.Records {
			if got.Records[i] != want.Records[i] {
				t.Fatalf("%s: invocation %d: %+v fast-forwarded, %+v slice by slice", name, i, got.Records[i], want.Records[i])
			}
		}
		if got.Busy != want.Busy || got.ContextSwitches != want.ContextSwitches || got.Preemptions != want.Preemptions {
			t.Fatalf("%s: busy/switches/preemptions %d/%d/%d fast-forwarded, %d/%d/%d slice by slice", name,
				got.Busy, got.ContextSwitches, got.Preemptions, want.Busy, want.ContextSwitches, want.Preemptions)
		}
		if want.Preemptions == 0 {
			t.Fatalf("%s: no slice ends: the comparison is empty", name)
		}
	}
}
