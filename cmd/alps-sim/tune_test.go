package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alps-sched/alps/configs"
	"github.com/alps-sched/alps/sim/trace"
)

const goodSpace = `learner.predictor: [mean, ewma]
learner.alpha: {min: 0.5, max: 2}
policy.max_penalty_ms: {min: 100, max: 1000, log: true}
learner.rank_levels: {min: 4, max: 16, int: true}
`

// TestTuneBadInput: a bad space, flag or value is one line naming the key, non-zero exit.
func TestTuneBadInput(t *testing.T) {
	dir := t.TempDir()
	tr := writeFile(t, dir, "t.csv", goodTrace)
	tests := []struct {
		name, space string
		args        []string
		want        string // in the one-line error
	}{
		{"negative window", "learner.window_size: {min: -5, max: 10, int: true}", nil, "learner.window_size"},
		{"zero interval", "learner.update_interval_ms: [0, 100]", nil, "learner.update_interval_ms"},
		{"alpha below zero", "learner.alpha: {min: -1, max: 2}", nil, "learner.alpha"},
		{"unknown predictor", "learner.predictor: [mean, forest]", nil, "learner.predictor"},
		{"empty range", "learner.beta: {min: 2, max: 1}", nil, "learner.beta: empty range"},
		{"empty list", "learner.predictor: []", nil, "learner.predictor: empty range"},
		{"no integer", "learner.rank_levels: {min: 4.2, max: 4.8, int: true}", nil, "learner.rank_levels: empty range"},
		{"log of zero", "policy.wake_lag_ms: {min: 0, max: 5, log: true}", nil, "policy.wake_lag_ms"},
		{"unknown key", "learner.windowsize: [5]", nil, "learner.windowsize: unknown config key"},
		{"other section", "sim.cfs_latency_ms: [5]", nil, "sim.cfs_latency_ms: not a learner"},
		{"missing max", "learner.alpha: {min: 1}", nil, "learner.alpha: a range needs both"},
		{"unknown field", "learner.alpha: {min: 1, max: 2, step: 1}", nil, `unknown field "step"`},
		{"scalar", "learner.alpha: 3", nil, "learner.alpha: want a list"},
		{"empty space", "", nil, "empty"},
		{"not yaml", "learner.alpha: [1, 2", nil, "space"},
		{"listed twice", "learner.alpha: [1]\nlearner.alpha: [2]\n", nil, "listed twice"},
		{"too many values", "learner.alpha: [" + strings.Repeat("1,", 64) + "1]\n", nil, "learner.alpha: 65 values, more than 64"},
		{"unknown objective", goodSpace, []string{"--objective", "speed"}, "--objective"},
		{"zero trials", goodSpace, []string{"--trials", "0"}, "--trials"},
		{"zero cores", goodSpace, []string{"--cores", "0"}, "--cores"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sp := writeFile(t, t.TempDir(), "space.yaml", tc.space)
			args := append([]string{"tune", "--trace", tr, "--space", sp, "--trials", "2", "--out", filepath.Join(dir, "b.yaml")}, tc.args...)
			code, _, stderr := execute(t, args...)
			if code == 0 {
				t.Fatalf("exit 0, want an error")
			}
			lines := strings.Split(strings.TrimSpace(stderr), "\n")
			last := lines[len(lines)-1]
			if !strings.Contains(last, tc.want) || strings.Contains(stderr, "goroutine") {
				t.Fatalf("stderr %q, want one line containing %q", stderr, tc.want)
			}
		})
	}
}

// TestTuneWritesLoadableBest: tune runs, prints the table and writes a config the loader
// accepts, whose values are those of the best trial.
func TestTuneWritesLoadableBest(t *testing.T) {
	dir := t.TempDir()
	tr, err := trace.Generate(trace.GenOptions{Functions: 30, Invocations: 600, Cores: 2, Load: 0.8, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	tp := filepath.Join(dir, "t.csv")
	f, err := createFile(tp)
	if err != nil {
		t.Fatal(err)
	}
	if err := trace.WriteCSV(f, tr); err != nil {
		t.Fatal(err)
	}
	f.Close()
	sp := writeFile(t, dir, "space.yaml", goodSpace)
	out := filepath.Join(dir, "best.yaml")
	code, stdout, stderr := execute(t, "tune", "--trace", tp, "--cores", "2", "--space", sp, "--trials", "6", "--out", out, "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var res TuneOutput
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("bad JSON %q: %v", stdout, err)
	}
	if res.Completed != 6 || len(res.Best) == 0 || res.Interrupted {
		t.Fatalf("completed %d best %d interrupted %v", res.Completed, len(res.Best), res.Interrupted)
	}
	for i := 1; i < len(res.Best); i++ {
		if res.Best[i].Objective < res.Best[i-1].Objective {
			t.Fatalf("best trials not sorted by objective")
		}
	}
	l, err := configs.NewLoader()
	if err != nil {
		t.Fatal(err)
	}
	if err := l.ReadFile(out); err != nil {
		t.Fatalf("best config does not load: %v", err)
	}
	c, err := l.Load()
	if err != nil {
		t.Fatalf("best config invalid: %v", err)
	}
	b := res.Best[0].Params
	if c.Learner.Predictor != b["learner.predictor"] || c.Learner.RankLevels != int(b["learner.rank_levels"].(float64)) {
		t.Errorf("written config %+v does not hold the best trial's params %v", c.Learner, b)
	}
	// The file reproduces the best trial's objective.
	s, err := simulate(context.Background(), tr, "alps", c, 2)
	if err != nil {
		t.Fatal(err)
	}
	if s.MeanFCT != res.Best[0].Summary.MeanFCT {
		t.Errorf("rerun of the written config: mean FCT %g, tune reported %g", s.MeanFCT, res.Best[0].Summary.MeanFCT)
	}
	// Table output.
	code, stdout, _ = execute(t, "tune", "--trace", tp, "--cores", "2", "--space", sp, "--trials", "3", "--out", out, "--objective", "mean_fct")
	if code != 0 || !strings.Contains(stdout, "mean_fct") || !strings.Contains(stdout, "learner.predictor") {
		t.Errorf("table output %q", stdout)
	}
}

// TestTuneInterruptKeepsResults: a cancelled search returns the trials it finished and
// reports the interruption.
func TestTuneInterruptKeepsResults(t *testing.T) {
	tr, err := trace.Generate(trace.GenOptions{Functions: 20, Invocations: 300, Cores: 2, Load: 0.8, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	sp, err := parseSpace("test", []byte(goodSpace))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	tn := &tuner{tr: tr, cores: 2, space: sp, objective: "mean_fct"}
	first := tn.run(context.Background(), 0, map[string]any{"learner.predictor": "mean"})
	if first.Err != "" {
		t.Fatal(first.Err)
	}
	cancel()
	got, interrupted := tn.search(ctx, 1000, 1, 1, nil)
	if !interrupted {
		t.Fatal("cancelled search not reported as interrupted")
	}
	if len(got) >= 1000 {
		t.Fatalf("cancelled search ran all %d trials", len(got))
	}
	for _, tt := range got {
		if tt.Err != "" {
			t.Errorf("trial %d failed: %s", tt.ID, tt.Err)
		}
	}
}

func createFile(p string) (*os.File, error) { return os.Create(p) }

// TestTuneRefine: the local search continues the trial numbering, keeps the best trial's
// choices and never makes the best objective worse.
func TestTuneRefine(t *testing.T) {
	tr, err := trace.Generate(trace.GenOptions{Functions: 20, Invocations: 400, Cores: 2, Load: 0.9, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	sp, err := parseSpace("test", []byte(goodSpace))
	if err != nil {
		t.Fatal(err)
	}
	tn := &tuner{tr: tr, cores: 2, space: sp, objective: "mean_fct"}
	got, _ := tn.search(context.Background(), 4, 1, 2, nil)
	best := succeeded(got)[0]
	more := tn.refine(context.Background(), best, 6, 4, 1)
	if len(more) != 6 || more[0].ID != 4 {
		t.Fatalf("refine returned %d trials starting at %d, want 6 from 4", len(more), more[0].ID)
	}
	for _, m := range more {
		if m.Params["learner.predictor"] != best.Params["learner.predictor"] {
			t.Fatalf("refine changed a choice: %v", m.Params)
		}
		for _, p := range sp.numeric() {
			u := sp[p].unit(m.Params[sp[p].key])
			if u < -1e-9 || u > 1+1e-9 {
				t.Fatalf("%s = %v outside its range", sp[p].key, m.Params[sp[p].key])
			}
		}
	}
	if all := succeeded(append(got, more...)); all[0].Objective > best.Objective {
		t.Fatalf("best objective got worse: %g > %g", all[0].Objective, best.Objective)
	}
}
