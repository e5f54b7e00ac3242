package analysis

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/plot"

	"github.com/alps-sched/alps/configs"
	"github.com/alps-sched/alps/experiments/workload"
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
	if !reflect.DeepEqual(s, want) {
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
		// The warm log's medians: 0.44 x default's, but above vtime's.
		{"warm, above vtime", Summary{Schedulers: []Scheduler{{Name: "default", MeanFCTMs: 1101.2}, {Name: "vtime", MeanFCTMs: 471.5}, {Name: "alps", MeanFCTMs: 479.9}}, Frontend: fe}, WarmTargets, []string{"479.9 ms is not below vtime's 471.5 ms"}},
		{"warm, all met", Summary{Schedulers: []Scheduler{def, {Name: "vtime", MeanFCTMs: 60}, {Name: "alps", MeanFCTMs: 55}}, Frontend: fe}, WarmTargets, nil},
		{"warm, above 0.8 x default", Summary{Schedulers: []Scheduler{def, {Name: "vtime", MeanFCTMs: 95}, {Name: "alps", MeanFCTMs: 85}}, Frontend: fe}, WarmTargets, []string{"mean FCT is 0.85 x default's (target <= 0.80)"}},
		{"warm, no vtime", Summary{Schedulers: []Scheduler{def, good}, Frontend: fe}, WarmTargets, []string{"vtime runs are needed"}},
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

// defaults is the default configuration.
func defaults(t *testing.T) configs.Config {
	t.Helper()
	l, err := configs.NewLoader()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := l.Load()
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestPredictAndPlot(t *testing.T) {
	cfg := defaults(t)
	tr := testTrace()
	rows, outs, err := Predict(tr, Model{Cores: 1}, cfg)
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

func TestMedian(t *testing.T) {
	tests := []struct {
		in   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5}}
	for _, tt := range tests {
		if got := Median(tt.in); got != tt.want {
			t.Errorf("Median(%v) = %g, want %g", tt.in, got, tt.want)
		}
	}
}

// TestAggregate: figures are medians over the runs, losses and ejections add up, the runs'
// mean FCTs, utilisations and host loads are kept in run order.
func TestAggregate(t *testing.T) {
	runs := []Scheduler{
		{Completed: 10, MeanFCTMs: 300, ShortMeanFCTMs: 30, P99FCTMs: 900, LongP99Slowdown: 3, GuestUtilRuns: []float64{0.7}, HostLoadRuns: []float64{2}},
		{Completed: 9, Lost: 1, MeanFCTMs: 100, ShortMeanFCTMs: 10, P99FCTMs: 700, LongP99Slowdown: 5, Ejections: 1, GuestUtilRuns: []float64{0.8}, HostLoadRuns: []float64{3}},
		{Completed: 10, MeanFCTMs: 200, ShortMeanFCTMs: 50, P99FCTMs: 800, LongP99Slowdown: 4, GuestUtilRuns: []float64{0.75}, HostLoadRuns: []float64{1}},
	}
	got := Aggregate("x", runs)
	want := Scheduler{Name: "x", Completed: 10, Lost: 1, Ejections: 1, MeanFCTMs: 200, ShortMeanFCTMs: 30, P99FCTMs: 800,
		LongP99Slowdown: 4, Runs: 3, MeanFCTMsRuns: []float64{300, 100, 200}, GuestUtilRuns: []float64{0.7, 0.8, 0.75},
		HostLoadRuns: []float64{2, 3, 1}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Aggregate = %+v\nwant        %+v", got, want)
	}
}

func TestCheckPrediction(t *testing.T) {
	pred := []Scheduler{{Name: "default", MeanFCTMs: 400}, {Name: "vtime", MeanFCTMs: 300}, {Name: "alps", MeanFCTMs: 200}}
	tests := []struct {
		name     string
		measured []float64 // default, vtime, alps
		fails    []string
	}{
		{"close and same order", []float64{480, 250, 180}, nil},
		{"one far", []float64{600, 290, 190}, []string{"default: measured mean FCT 600.0 ms is 1.50 x"}},
		{"one far below", []float64{390, 250, 150}, []string{"alps: measured mean FCT 150.0 ms is 0.75 x"}},
		{"order differs", []float64{350, 360, 210}, []string{"order by mean FCT: measured alps < default < vtime, predicted alps < vtime < default"}},
	}
	for _, tt := range tests {
		var m []Scheduler
		for i, name := range []string{"default", "vtime", "alps"} {
			m = append(m, Scheduler{Name: name, MeanFCTMs: tt.measured[i]})
		}
		got := CheckPrediction(m, pred, PredictionFactor)
		if len(got) != len(tt.fails) {
			t.Errorf("%s: CheckPrediction = %q, want %d lines", tt.name, got, len(tt.fails))
			continue
		}
		for i := range got {
			if !strings.Contains(got[i], tt.fails[i]) {
				t.Errorf("%s: %q lacks %q", tt.name, got[i], tt.fails[i])
			}
		}
	}
}

// TestDemandBuckets: edges are increasing (every bucket has a width), log-spaced from the
// smallest to the largest demand, and a narrow or single-valued range still gives buckets.
func TestDemandBuckets(t *testing.T) {
	ds := []float64{3e6, 3.2e6, 5e6, 40e6, 700e6, 3000e6}
	e := DemandBuckets(ds, 8)
	if len(e) != 9 || e[0] != 3e6 || e[len(e)-1] != 3000e6 {
		t.Fatalf("edges %v: want 9 from 3 ms to 3000 ms", e)
	}
	for i := 1; i < len(e); i++ {
		if !(e[i] > e[i-1]) {
			t.Fatalf("edges %v not increasing", e)
		}
		if r := e[i] / e[i-1]; i < len(e)-1 && (r < 2 || r > 3) {
			t.Errorf("edges %v: ratio %.2f at %d, want about 10^(3/8) = 2.37", e, r, i)
		}
	}
	if e := DemandBuckets([]float64{5e6, 5e6}, 8); len(e) != 2 || !(e[1] > e[0]) {
		t.Errorf("one demand: edges %v", e)
	}
	if e := DemandBuckets([]float64{10e6, 10.5e6}, 8); len(e) < 2 {
		t.Errorf("narrow demands: edges %v", e)
	}
}

// TestMachineModel: the calibration's slice becomes the cfs slice and its sharing overhead
// the cost per slice; what it did not measure keeps the configuration's value.
func TestMachineModel(t *testing.T) {
	cfg := defaults(t)
	got, m := MachineModel(cfg, workload.Calibration{UnitsPerMs: 1, SliceMs: 0.7, ShareOverhead: 0.2, SwitchUs: 50, SpawnMs: 2, ProcessOverheadMs: 4}, 1)
	if got.Sim.CFSLatencyMs != 0.7 || got.Sim.CFSMinGranularityMs != 0.7 || math.Abs(got.Sim.CFSContextSwitchUs-140) > 1e-9 {
		t.Errorf("sim keys %+v", got.Sim)
	}
	if m.Cores != 1 || m.CFSSliceMs != 0.7 || math.Abs(m.CFSSwitchUs-140) > 1e-9 || m.SpawnMs != 2 || m.ProcessOverheadMs != 4 {
		t.Errorf("model %+v", m)
	}
	got, m = MachineModel(cfg, workload.Calibration{UnitsPerMs: 1, SwitchUs: 50}, 2)
	if got.Sim.CFSLatencyMs != cfg.Sim.CFSLatencyMs || got.Sim.CFSContextSwitchUs != 50 || m.CFSSliceMs != cfg.Sim.CFSMinGranularityMs {
		t.Errorf("without a slice: sim keys %+v, model %+v", got.Sim, m)
	}
	if got, _ := MachineModel(cfg, workload.Calibration{UnitsPerMs: 1}, 1); got.Sim != cfg.Sim {
		t.Errorf("an empty calibration changed the sim keys: %+v", got.Sim)
	}
}

// TestPredictProcessOverhead: the process overhead is CPU every invocation costs on top of
// its demand: a single invocation alone takes its demand plus the overhead, and the
// outcome's demand stays the trace's.
func TestPredictProcessOverhead(t *testing.T) {
	cfg := defaults(t)
	tr := &sim.Trace{Functions: []string{"f"}, Inv: []sim.Invocation{{Arrival: 0, CPU: 10e6}, {Arrival: 1e9, CPU: 20e6}}}
	rows, outs, err := Predict(tr, Model{Cores: 1, ProcessOverheadMs: 5}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if math.Abs(r.MeanFCTMs-20) > 0.01 {
			t.Errorf("%s: mean FCT %.3f ms, want 20 (15 and 25 ms alone)", r.Name, r.MeanFCTMs)
		}
		if o := outs[r.Name]; o[0].CPU != 10e6 || o[1].CPU != 20e6 {
			t.Errorf("%s: outcome demands %d, %d; want the trace's", r.Name, o[0].CPU, o[1].CPU)
		}
	}
	if tr.Inv[0].CPU != 10e6 {
		t.Error("Predict changed the trace")
	}
}

// TestModelCPU: a planned demand costs the run's process cost plus its work at the run's
// speed, plus the process overhead; without a speed, the demand plus the overhead.
func TestModelCPU(t *testing.T) {
	tests := []struct {
		m    Model
		d    float64
		want float64
	}{
		{Model{}, 10, 10},
		{Model{ProcessOverheadMs: 2}, 10, 12},
		{Model{Speed: 1, SpawnMs: 2, SpawnPlanMs: 2}, 10, 10},
		{Model{Speed: 1.5, SpawnMs: 3, SpawnPlanMs: 2, ProcessOverheadMs: 1}, 10, 3 + 8*1.5 + 1},
		{Model{Speed: 2, SpawnMs: 3, SpawnPlanMs: 5}, 4, 3}, // no work units at all
	}
	for _, tt := range tests {
		if got := tt.m.cpuMs(tt.d); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("%+v: cpuMs(%g) = %g, want %g", tt.m, tt.d, got, tt.want)
		}
	}
}

// TestPredictMeasuredCPU: on the measured CPU each invocation costs what its process used
// (the demand where nothing was measured) plus the process overhead.
func TestPredictMeasuredCPU(t *testing.T) {
	cfg := defaults(t)
	tr := &sim.Trace{Functions: []string{"f"}, Inv: []sim.Invocation{{Arrival: 0, CPU: 10e6}, {Arrival: 1e9, CPU: 20e6}}}
	os := []Outcome{{CPU: 10e6, CPUUsed: 14e6}, {CPU: 20e6}}
	row, err := PredictMeasuredCPU(tr, os, Model{Cores: 1, ProcessOverheadMs: 1}, cfg, "default")
	if err != nil {
		t.Fatal(err)
	}
	if want := (15.0 + 21) / 2; math.Abs(row.MeanFCTMs-want) > 0.01 {
		t.Errorf("mean FCT %.3f ms, want %.1f", row.MeanFCTMs, want)
	}
	if _, err := PredictMeasuredCPU(tr, os[:1], Model{Cores: 1}, cfg, "default"); err == nil {
		t.Error("one outcome for two invocations accepted")
	}
}

func TestRatioAndLoadTicks(t *testing.T) {
	labels := func(ts []plot.Tick) []string {
		var ls []string
		for _, tk := range ts {
			if tk.Label != "" {
				ls = append(ls, tk.Label)
			}
		}
		return ls
	}
	for _, c := range []struct {
		lo, hi float64
		want   []string
	}{
		{0.63, 1.84, []string{"0.67", "0.8", "1", "1.25", "1.5"}},
		{0.7, 1.45, []string{"0.8", "1", "1.25"}},
		{0.4, 6, []string{"0.5", "0.67", "0.8", "1", "1.25", "1.5", "2", "3", "5"}},
	} {
		if got := labels(ratioTicks{}.Ticks(c.lo, c.hi)); !slices.Equal(got, c.want) {
			t.Errorf("ratio ticks on [%g, %g]: %v, want %v", c.lo, c.hi, got, c.want)
		}
	}
	series := []LoadSeries{
		{Name: "a", Points: []LoadPoint{{Load: 0.95}, {Load: 0.5}}},
		{Name: "b", Points: []LoadPoint{{Load: 0.7}, {Load: 0.5}, {Load: 0.85}}},
	}
	if got := labels(loadTicks(series)); !slices.Equal(got, []string{"0.50", "0.70", "0.85", "0.95"}) {
		t.Errorf("load ticks: %v", got)
	}
}
