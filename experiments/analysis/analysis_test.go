package analysis

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alps-sched/alps/configs"
	"github.com/alps-sched/alps/sim"
)

func outcomes(demandFCT ...int64) []Outcome {
	var os []Outcome
	for i := 0; i+1 < len(demandFCT); i += 2 {
		os = append(os, Outcome{CPU: demandFCT[i] * 1e6, FCT: demandFCT[i+1] * 1e6})
	}
	return os
}

func TestSummarize(t *testing.T) {
	// Demands 1..10 ms: median 5 (short: 1..5), p90 9 (long: 9, 10).
	var os []Outcome
	for d := int64(1); d <= 10; d++ {
		os = append(os, outcomes(d, 2*d)...)
	}
	os[9].FCT = 50e6 // the longest waited: slowdown 5
	s := Summarize("x", os, 1)
	want := Scheduler{Name: "x", Completed: 10, Ejections: 1, MeanFCTMs: (2*45.0 + 50) / 10, ShortMeanFCTMs: 6,
		P99FCTMs: 50, LongP99Slowdown: 5}
	if s != want {
		t.Errorf("Summarize = %+v\nwant        %+v", s, want)
	}
	// Classes are over the completed invocations: demands 2..10, median 6, short FCTs 4..12.
	os[0].Lost = true
	if s := Summarize("x", os, 0); s.Lost != 1 || s.Completed != 9 || math.Abs(s.ShortMeanFCTMs-8) > 1e-9 {
		t.Errorf("with a lost short invocation: %+v", s)
	}
	if s := Summarize("empty", nil, 0); s.MeanFCTMs != 0 || s.Completed != 0 {
		t.Errorf("empty: %+v", s)
	}
}

func TestCheck(t *testing.T) {
	def := Scheduler{Name: "default", Completed: 10, MeanFCTMs: 100, ShortMeanFCTMs: 40, LongP99Slowdown: 4}
	good := Scheduler{Name: "alps", Completed: 10, MeanFCTMs: 50, ShortMeanFCTMs: 10, LongP99Slowdown: 5}
	fe := Frontend{CPUPercent: 1, UpdateP99Ms: 2, Records: 10, Updates: 5}
	tests := []struct {
		name  string
		s     Summary
		t     Targets
		fails []string
	}{
		{"all met", Summary{Schedulers: []Scheduler{def, good}, Frontend: fe}, FullTargets, nil},
		{"slow alps", Summary{Schedulers: []Scheduler{def, {Name: "alps", MeanFCTMs: 90, ShortMeanFCTMs: 10, LongP99Slowdown: 4}}, Frontend: fe}, FullTargets, []string{"mean FCT is 0.90"}},
		{"slow alps, smoke run", Summary{Schedulers: []Scheduler{def, {Name: "alps", MeanFCTMs: 120}}, Frontend: fe}, SmokeTargets, nil},
		{"lost and ejected", Summary{Schedulers: []Scheduler{def, {Name: "alps", Lost: 2, Ejections: 1, MeanFCTMs: 50}}, Frontend: fe}, BasicTargets, []string{"lost 2", "ejected 1"}},
		{"lost, smoke run", Summary{Schedulers: []Scheduler{def, {Name: "alps", Lost: 1, MeanFCTMs: 120}}, Frontend: fe}, SmokeTargets, []string{"lost 1"}},
		{"costly frontend", Summary{Schedulers: []Scheduler{def, good}, Frontend: Frontend{CPUPercent: 3, UpdateP99Ms: 20, Records: 10, Updates: 5}}, FullTargets, []string{"frontend CPU", "update p99"}},
		{"no records", Summary{Schedulers: []Scheduler{def, good}, Frontend: Frontend{Updates: 5}}, SmokeTargets, []string{"received 0 records and ran 5 updates"}},
		{"no updates", Summary{Schedulers: []Scheduler{def, good}, Frontend: Frontend{Records: 10}}, BasicTargets, []string{"received 10 records and ran 0 updates"}},
		{"missing run", Summary{Schedulers: []Scheduler{def}, Frontend: fe}, BasicTargets, []string{"both needed"}},
	}
	for _, tt := range tests {
		got := Check(tt.s, tt.t)
		if len(got) != len(tt.fails) {
			t.Errorf("%s: Check = %q, want %d failures", tt.name, got, len(tt.fails))
			continue
		}
		for i := range got {
			if !strings.Contains(got[i], tt.fails[i]) {
				t.Errorf("%s: failure %q lacks %q", tt.name, got[i], tt.fails[i])
			}
		}
	}
}

// TestSummaryJSONKeys pins the key names of latest.json.
func TestSummaryJSONKeys(t *testing.T) {
	data, err := json.Marshal(Summary{Schedulers: []Scheduler{{Name: "alps"}}})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"schedulers":[{"name":"alps","completed":0,"lost":0,"ejections":0,"mean_fct_ms":0,"short_mean_fct_ms":0,"p99_fct_ms":0,"long_p99_slowdown":0}],"frontend":{"cpu_percent":0,"update_p99_ms":0,"records":0,"updates":0}}`
	if string(data) != want {
		t.Errorf("JSON\n%s\nwant\n%s", data, want)
	}
}

func testTrace() *sim.Trace {
	tr := &sim.Trace{Functions: []string{"short", "long"}}
	for i := 0; i < 200; i++ {
		in := sim.Invocation{Arrival: int64(i) * 10e6, CPU: 4e6, Func: 0}
		if i%5 == 0 {
			in.CPU, in.Func = 60e6, 1
		}
		tr.Inv = append(tr.Inv, in)
	}
	return tr
}

func TestPredictAndPlot(t *testing.T) {
	l, err := configs.NewLoader()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := l.Load()
	if err != nil {
		t.Fatal(err)
	}
	tr := testTrace()
	rows, outs, err := Predict(tr, 1, cfg)
	if err != nil {
		t.Skipf("simulator policies not all available yet: %v", err)
	}
	if len(rows) != 3 || rows[0].Name != "default" || rows[0].Completed != len(tr.Inv) {
		t.Fatalf("rows %+v", rows)
	}
	dir := t.TempDir()
	var series []Series
	for _, r := range rows {
		series = append(series, Series{Name: r.Name, Outcomes: outs[r.Name], Dashed: true})
	}
	if err := PlotAll(dir, series); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"fct_cdf.png", "slowdown_by_demand.png"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() < 1000 {
			t.Errorf("%s: %v", f, err)
		}
	}
	var b strings.Builder
	WriteTable(&b, rows, rows, Frontend{})
	if !strings.Contains(b.String(), "alps (simulated)") || !strings.Contains(b.String(), "alps/default mean FCT") {
		t.Errorf("table:\n%s", b.String())
	}
}
