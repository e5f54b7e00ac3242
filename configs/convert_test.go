package configs

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"runtime"
	"testing"

	"github.com/alps-sched/alps/policy"
	"github.com/alps-sched/alps/sim"
)

var update = flag.Bool("update", false, "rewrite the golden files of the defaults (TestDefaultsGolden)")

func defaults(t *testing.T) Config {
	t.Helper()
	l, err := NewLoader()
	if err != nil {
		t.Fatal(err)
	}
	c, err := l.Load()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestConvert checks the unit conversions and the rules for learner.cores = 0.
func TestConvert(t *testing.T) {
	c := defaults(t)
	c.Policy.RankStepMs, c.Policy.MaxPenaltyMs, c.Policy.WakeLagMs, c.Policy.DefaultSliceMs = 0.5, 250, 3, 20
	c.Policy.MaxWaitMs, c.Policy.Preempt = 1500, true
	c.Sim.CFSContextSwitchUs, c.Sim.CFSMigrationCostUs, c.Sim.CFSLatencyMs = 2.5, 500, 24
	c.Sim.SFSInitialSliceMs, c.Sim.SFSUpdateEvery = 6, 100
	c.Learner.SliceCapMs, c.Learner.WindowSpanMs, c.Learner.Cores = 1.5, 60_000, 0

	knobs := policy.Knobs{WakeLag: 3_000_000, DefaultSlice: 20_000_000, MaxWait: 1_500_000_000, Preempt: true}
	if got := OrderKnobs(c.Policy); got != knobs {
		t.Errorf("OrderKnobs: %+v, want %+v", got, knobs)
	}
	p := SimParams(c, 16)
	switch {
	case p.Cores != 16 || p.Knobs != knobs:
		t.Errorf("SimParams: cores %d, knobs %+v", p.Cores, p.Knobs)
	case p.CFS.ContextSwitch != 2500 || p.CFS.MigrationCost != 500_000 || p.CFS.Latency != 24_000_000:
		t.Errorf("CFS params %+v", p.CFS)
	case p.SFS.InitialSlice != 6_000_000 || p.SFS.UpdateEvery != 100 || p.SFS.CFS != p.CFS:
		t.Errorf("SFS params %+v", p.SFS)
	case p.Learner.Cores != 0:
		t.Errorf("SimParams: learner cores %d, want 0 (the simulated cores)", p.Learner.Cores)
	case p.Learner.SliceCap != 1_500_000 || p.Learner.WindowSpan != 60_000_000_000 || p.Learner.Knobs != knobs ||
		p.Learner.RankStep != 500_000:
		t.Errorf("learner config %+v", p.Learner)
	case p.V1 != sim.V1Knobs{RankStep: 500_000, MaxPenalty: 250_000_000, WakeLag: 3_000_000, DefaultSlice: 20_000_000}:
		t.Errorf("rule v1 knobs %+v", p.V1)
		t.Errorf("learner config %+v", p.Learner)
	}
	if lc := LearnerConfig(c); lc.Cores != runtime.NumCPU() {
		t.Errorf("LearnerConfig: cores %d, want the host's %d", lc.Cores, runtime.NumCPU())
	}
	c.Learner.Cores = 3
	if lc, sp := LearnerConfig(c), SimParams(c, 16); lc.Cores != 3 || sp.Learner.Cores != 3 {
		t.Errorf("learner.cores 3: LearnerConfig %d, SimParams %d", lc.Cores, sp.Learner.Cores)
	}
}

// TestDefaultsGolden: sim's and model's tests cannot import configs (it imports them), so
// they read the documented defaults, converted, from testdata files; these must be the
// conversion of alps.yaml. After changing a default or a parameter struct:
// go test ./configs -run TestDefaultsGolden -update.
func TestDefaultsGolden(t *testing.T) {
	c := defaults(t)
	for _, g := range []struct {
		path string
		v    any
	}{
		{"../sim/testdata/default_params.json", SimParams(c, 0)},
		{"../model/testdata/default_config.json", learnerConfig(c)},
	} {
		want, err := json.MarshalIndent(g.v, "", "\t")
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, '\n')
		if *update {
			if err := os.WriteFile(g.path, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(g.path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is not the conversion of the defaults (go test ./configs -run TestDefaultsGolden -update)", g.path)
		}
	}
}
