// Package analysis turns the experiment's measured runs (several per scheduler) and the
// simulator's prediction for the same trace into the summary the README quotes
// (experiments/results/latest.json), a side-by-side table, target checks and figures.
package analysis

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/alps-sched/alps/experiments/loadgen"
	"github.com/alps-sched/alps/experiments/plan"
	"github.com/alps-sched/alps/sim"
	"github.com/alps-sched/alps/sim/metrics"
)

// Scheduler is one scheduler's row of the summary: of one run, or the median over runs
// (Aggregate). The JSON names are an interface.
type Scheduler struct {
	Name            string  `json:"name"`
	Completed       int     `json:"completed"`
	Lost            int     `json:"lost"`
	Ejections       int     `json:"ejections"`
	MeanFCTMs       float64 `json:"mean_fct_ms"`
	ShortMeanFCTMs  float64 `json:"short_mean_fct_ms"`
	P99FCTMs        float64 `json:"p99_fct_ms"`
	LongP99Slowdown float64 `json:"long_p99_slowdown"`
	// Runs is how many runs the row aggregates and MeanFCTMsRuns their mean FCTs in run
	// order (MeanFCTMs is their median).
	Runs          int       `json:"runs,omitempty"`
	MeanFCTMsRuns []float64 `json:"mean_fct_ms_runs,omitempty"`
	// GuestUtilRuns is each run's measured utilisation of the guest's CPUs over the
	// arrivals' span (the counterpart of the trace's offered load; -1: not measured), and
	// HostLoadRuns the host's 1-minute load average when each run started.
	GuestUtilRuns []float64 `json:"guest_util_runs,omitempty"`
	HostLoadRuns  []float64 `json:"host_load_runs,omitempty"`
	// PredictedMeanFCTMsRuns is the simulator's mean FCT for each run, on the CPU speed
	// that run's boot measured (Model.Speed), and SpeedRuns those speeds.
	PredictedMeanFCTMsRuns []float64 `json:"predicted_mean_fct_ms_runs,omitempty"`
	SpeedRuns              []float64 `json:"speed_runs,omitempty"`
	// OnMeasuredCPUMeanFCTMsRuns is the simulator's mean FCT for each run with every
	// invocation costing the CPU it was measured to use (PredictMeasuredCPU): the
	// scheduling model's share of the prediction's error, apart from the cost model's.
	OnMeasuredCPUMeanFCTMsRuns []float64 `json:"on_measured_cpu_mean_fct_ms_runs,omitempty"`
	// DeliveredRuns is, per run, the emulator's host CPU time per second the guest was busy
	// during the replay: about 1 (a little more: the emulator's own threads) when the host
	// gave the guest a whole core, less when other work took part of it (the guest's clock
	// runs on, so its CPU looks slower).
	DeliveredRuns []float64 `json:"delivered_runs,omitempty"`
}

// Median is the median of xs (the mean of the middle two for an even count), 0 if empty.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if n := len(s); n%2 == 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return s[len(s)/2]
}

// Aggregate is the row of one scheduler's runs: each figure the median over the runs,
// invocations lost and ejections summed (any is a failure), MeanFCTMsRuns the runs' mean
// FCTs. Runs' utilisation and host load are carried over from the runs' own slices.
func Aggregate(name string, runs []Scheduler) Scheduler {
	out := Scheduler{Name: name, Runs: len(runs)}
	var completed, mean, short, p99, long []float64
	for _, r := range runs {
		completed = append(completed, float64(r.Completed))
		mean = append(mean, r.MeanFCTMs)
		short = append(short, r.ShortMeanFCTMs)
		p99 = append(p99, r.P99FCTMs)
		long = append(long, r.LongP99Slowdown)
		out.Lost += r.Lost
		out.Ejections += r.Ejections
		out.GuestUtilRuns = append(out.GuestUtilRuns, r.GuestUtilRuns...)
		out.HostLoadRuns = append(out.HostLoadRuns, r.HostLoadRuns...)
		out.DeliveredRuns = append(out.DeliveredRuns, r.DeliveredRuns...)
	}
	out.Completed = int(Median(completed))
	out.MeanFCTMs, out.ShortMeanFCTMs, out.P99FCTMs, out.LongP99Slowdown = Median(mean), Median(short), Median(p99), Median(long)
	out.MeanFCTMsRuns = mean
	return out
}

// Frontend is the daemon's cost during the alps run.
type Frontend struct {
	CPUPercent  float64 `json:"cpu_percent"`
	UpdateP99Ms float64 `json:"update_p99_ms"` // over every update, the first included (frontend.Stats)
	// UpdateFirstMs is the first update, apart: it runs the code for the first time (under
	// TCG, translates it). 0 when the daemon did not report it.
	UpdateFirstMs float64 `json:"update_first_ms,omitempty"`
	// Records and Updates are how many invocation records the daemon received and how many
	// learner updates it ran (frontend.Stats): both above 0 means the loop closed (kernel
	// records -> window -> learner -> policy -> kernel).
	Records uint64 `json:"records"`
	Updates uint64 `json:"updates"`
}

// Summary is experiments/results/latest.json (and, with the prediction's rows only,
// prediction.json).
type Summary struct {
	// Trace describes the replayed trace: its invocations, functions and offered load.
	Trace      *plan.Summary `json:"trace,omitempty"`
	Schedulers []Scheduler   `json:"schedulers"`
	Frontend   Frontend      `json:"frontend"`
	// Model is the machine the prediction simulated, from the calibration.
	Model *Model `json:"model,omitempty"`
	// Warm: the invocations were requests to one long-lived worker per function (alps-bench
	// run --warm), not processes.
	Warm bool `json:"warm,omitempty"`
}

// Model is what the simulator was told about the machine for the prediction.
type Model struct {
	Cores int `json:"cores"`
	// CFSSliceMs and CFSSwitchUs are the default scheduler's slice and the cost of each
	// slice when tasks share a CPU (sim.cfs_latency_ms = sim.cfs_min_granularity_ms,
	// sim.cfs_context_switch_us).
	CFSSliceMs  float64 `json:"cfs_slice_ms"`
	CFSSwitchUs float64 `json:"cfs_switch_us"`
	// SpawnMs is a payload process's cost, part of every invocation's demand, and
	// ProcessOverheadMs what each costs the machine outside the payload (added to each
	// invocation's CPU in the simulation).
	SpawnMs           float64 `json:"spawn_ms"`
	ProcessOverheadMs float64 `json:"process_overhead_ms"`
	// Speed is the CPU time a unit of work took during a run relative to the plan's
	// calibration (each boot calibrates again around its replay: the emulated CPU's speed
	// moves with the host's other work), and SpawnPlanMs the payload process cost the plan
	// took off each demand when it converted it to work units. 0: as planned.
	Speed       float64 `json:"speed"`
	SpawnPlanMs float64 `json:"spawn_plan_ms,omitempty"`
}

// Warm is m for warm invocations: requests to a long-lived worker, which burns an
// invocation's whole demand and starts no process (no spawn cost, no process overhead).
func (m Model) Warm() Model {
	m.SpawnMs, m.SpawnPlanMs, m.ProcessOverheadMs = 0, 0, 0
	return m
}

// MedianModel is the median of each figure of ms (the model the summary states when every
// run had its own).
func MedianModel(ms []Model) Model {
	pick := func(f func(Model) float64) float64 {
		xs := make([]float64, len(ms))
		for i, m := range ms {
			xs[i] = f(m)
		}
		return Median(xs)
	}
	return Model{Cores: ms[0].Cores,
		CFSSliceMs:        pick(func(m Model) float64 { return m.CFSSliceMs }),
		CFSSwitchUs:       pick(func(m Model) float64 { return m.CFSSwitchUs }),
		SpawnMs:           pick(func(m Model) float64 { return m.SpawnMs }),
		ProcessOverheadMs: pick(func(m Model) float64 { return m.ProcessOverheadMs }),
		Speed:             pick(func(m Model) float64 { return m.Speed }),
		SpawnPlanMs:       pick(func(m Model) float64 { return m.SpawnPlanMs }),
	}
}

// Outcome is what happened to one invocation, measured or simulated: the common ground of
// the metrics. Times are nanoseconds.
type Outcome struct {
	Function string
	Arrival  int64
	CPU      int64 // CPU demand the invocation asked for
	IO       int64 // blocking time it asked for
	CPUUsed  int64 // CPU its process used, where measured (0: not measured)
	FCT      int64 // completion - arrival
	Lost     bool
}

// Demand is the time the invocation needs alone on a core: CPU + I/O.
func (o Outcome) Demand() int64 { return o.CPU + o.IO }

// Slowdown is FCT / demand.
func (o Outcome) Slowdown() float64 {
	if o.Demand() <= 0 {
		return 1
	}
	return float64(o.FCT) / float64(o.Demand())
}

// FromResults converts load generator results.
func FromResults(rs []loadgen.Result) []Outcome {
	out := make([]Outcome, len(rs))
	for i, r := range rs {
		out[i] = Outcome{Function: r.Function, Arrival: r.Arrival, CPU: r.Demand, IO: r.IO, CPUUsed: r.CPU, FCT: r.FCT(), Lost: r.Lost}
	}
	return out
}

// FromSimulation converts the simulator's records of trace tr.
func FromSimulation(tr *sim.Trace, recs []sim.Record) []Outcome {
	out := make([]Outcome, len(recs))
	for i := range recs {
		r := &recs[i]
		out[i] = Outcome{Function: tr.Functions[r.Func], Arrival: r.Arrival, CPU: tr.Inv[i].CPU, IO: tr.Inv[i].IO,
			FCT: r.FCT(), Lost: r.End < 0}
	}
	return out
}

// Summarize computes a scheduler's row with the simulator's metric definitions
// (sim/metrics): the figures are over the completed invocations, the demand of an invocation
// is the CPU it asked for (not what it used, so every scheduler is judged on the same
// classes), its slowdown FCT / (CPU + I/O asked for).
func Summarize(name string, os []Outcome, ejections int) Scheduler {
	recs := make([]sim.Record, len(os))
	lost := 0
	for i, o := range os {
		recs[i] = sim.Record{Arrival: o.Arrival, End: o.Arrival + o.FCT, CPU: o.CPU, Blocked: o.IO}
		if o.Lost {
			recs[i].End = -1
			lost++
		}
	}
	m := metrics.Summarize(recs, 0)
	return Scheduler{Name: name, Completed: m.Completed, Lost: lost, Ejections: ejections, MeanFCTMs: m.MeanFCT,
		ShortMeanFCTMs: m.ShortMeanFCT, P99FCTMs: m.P99FCT, LongP99Slowdown: m.LongP99Slowdown}
}

// Find returns the row named name.
func Find(rows []Scheduler, name string) (Scheduler, bool) {
	for _, r := range rows {
		if r.Name == name {
			return r, true
		}
	}
	return Scheduler{}, false
}

// Targets are the experiment's pass marks (issue 5).
type Targets struct {
	MeanFCTRatio      float64 // alps mean FCT <= this x default's
	ShortMeanFCTRatio float64 // alps short-class mean FCT <= this x default's
	LongSlowdownRatio float64 // alps long-class p99 slowdown <= this x default's
	FrontendCPU       float64 // frontend CPU % of one vCPU
	UpdateP99Ms       float64
}

// FullTargets are the targets of the full experiment.
var FullTargets = Targets{MeanFCTRatio: 0.6, ShortMeanFCTRatio: 0.5, LongSlowdownRatio: 1.5, FrontendCPU: 2, UpdateP99Ms: 10}

// BasicTargets are what gates the full run (make demo): nothing lost, nothing ejected, the
// loop closed, alps faster than default (mean FCT at least 1% lower: a tie is not faster).
var BasicTargets = Targets{MeanFCTRatio: 0.99}

// SmokeTargets gate the short run (make demo-short, which CI runs): nothing lost, nothing
// ejected, the loop closed (every Check asks that). Its 25 s
// are too short for the learner to pay off reliably (the simulator predicts alps/default
// 0.86-1.05 on it, with the plan shaped by each calibration), so whether alps beats the
// default there is measurement noise and is reported, not gated.
var SmokeTargets = Targets{}

// Check returns one line per missed target (none: all met).
func Check(s Summary, t Targets) []string {
	var fails []string
	for _, r := range s.Schedulers {
		if r.Lost > 0 {
			fails = append(fails, fmt.Sprintf("%s lost %d invocations", r.Name, r.Lost))
		}
		if r.Ejections > 0 {
			fails = append(fails, fmt.Sprintf("%s was ejected %d times", r.Name, r.Ejections))
		}
	}
	if s.Frontend.Records == 0 || s.Frontend.Updates == 0 {
		fails = append(fails, fmt.Sprintf("the loop did not close: the frontend received %d records and ran %d updates",
			s.Frontend.Records, s.Frontend.Updates))
	}
	def, ok1 := Find(s.Schedulers, "default")
	alps, ok2 := Find(s.Schedulers, "alps")
	if !ok1 || !ok2 {
		return append(fails, "the default and alps runs are both needed")
	}
	ratio := func(what string, a, d, max float64) {
		if max > 0 && d > 0 && a/d > max {
			fails = append(fails, fmt.Sprintf("alps %s is %.2f x default's (target <= %.2f)", what, a/d, max))
		}
	}
	ratio("mean FCT", alps.MeanFCTMs, def.MeanFCTMs, t.MeanFCTRatio)
	ratio("short-class mean FCT", alps.ShortMeanFCTMs, def.ShortMeanFCTMs, t.ShortMeanFCTRatio)
	ratio("long-class p99 slowdown", alps.LongP99Slowdown, def.LongP99Slowdown, t.LongSlowdownRatio)
	if t.FrontendCPU > 0 && s.Frontend.CPUPercent > t.FrontendCPU {
		fails = append(fails, fmt.Sprintf("frontend CPU %.2f%% (target <= %.1f%%)", s.Frontend.CPUPercent, t.FrontendCPU))
	}
	if t.UpdateP99Ms > 0 && s.Frontend.UpdateP99Ms > t.UpdateP99Ms {
		fails = append(fails, fmt.Sprintf("frontend update p99 %.2f ms (target <= %.0f ms)", s.Frontend.UpdateP99Ms, t.UpdateP99Ms))
	}
	return fails
}

// WriteJSON writes s to path.
func WriteJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}

// PredictionFactor is how far (as a factor either way) a scheduler's median measured mean
// FCT may be from its prediction (issue 12).
const PredictionFactor = 1.25

// CheckPrediction returns one line per scheduler whose median measured mean FCT is further
// than factor from its prediction, and one if the schedulers' order by mean FCT differs.
func CheckPrediction(measured, predicted []Scheduler, factor float64) []string {
	var fails []string
	for _, m := range measured {
		p, ok := Find(predicted, m.Name)
		if !ok || p.MeanFCTMs <= 0 || m.MeanFCTMs <= 0 {
			continue
		}
		if r := m.MeanFCTMs / p.MeanFCTMs; r > factor || r < 1/factor {
			fails = append(fails, fmt.Sprintf("%s: measured mean FCT %.1f ms is %.2f x its prediction %.1f ms (target within %.2fx)",
				m.Name, m.MeanFCTMs, r, p.MeanFCTMs, factor))
		}
	}
	if mo, po := order(measured), order(predicted); mo != po {
		fails = append(fails, fmt.Sprintf("order by mean FCT: measured %s, predicted %s", mo, po))
	}
	return fails
}

// order lists the rows by mean FCT, best first ("alps < vtime < default").
func order(rows []Scheduler) string {
	s := slices.Clone(rows)
	slices.SortStableFunc(s, func(a, b Scheduler) int {
		switch {
		case a.MeanFCTMs < b.MeanFCTMs:
			return -1
		case a.MeanFCTMs > b.MeanFCTMs:
			return 1
		}
		return 0
	})
	names := make([]string, len(s))
	for i, r := range s {
		names[i] = r.Name
	}
	return strings.Join(names, " < ")
}

// spread formats a run figure's median and range: "850.1 [760.2-901.0]" (the median alone
// for one run).
func spread(median float64, runs []float64) string {
	if len(runs) < 2 {
		return fmt.Sprintf("%.1f", median)
	}
	return fmt.Sprintf("%.1f [%.1f-%.1f]", median, slices.Min(runs), slices.Max(runs))
}

// perRun lists, per scheduler that has them, a per-run figure: "default 0.84 0.94; vtime ...".
func perRun(rows []Scheduler, format string, runs func(Scheduler) []float64) string {
	var out []string
	for _, r := range rows {
		xs := runs(r)
		if len(xs) == 0 {
			continue
		}
		u := make([]string, len(xs))
		for i, x := range xs {
			u[i] = fmt.Sprintf(format, x)
		}
		out = append(out, r.Name+" "+strings.Join(u, " "))
	}
	return strings.Join(out, "; ")
}

// WriteTable prints the measured rows (medians over runs, the mean FCT with its range)
// beside the simulator's prediction.
func WriteTable(w io.Writer, measured, predicted []Scheduler, fe Frontend) {
	fmt.Fprintf(w, "%-20s %4s %5s %5s %24s %24s %9s %12s %12s %10s\n", "scheduler", "runs", "lost", "eject",
		"mean_fct_ms [min-max]", "predicted [min-max]", "meas/pred", "short_fct_ms", "p99_fct_ms", "long_p99_sd")
	for _, r := range measured {
		pred, ratio := "", ""
		if p, ok := Find(predicted, r.Name); ok && p.MeanFCTMs > 0 {
			pred, ratio = spread(p.MeanFCTMs, r.PredictedMeanFCTMsRuns), fmt.Sprintf("%.2f", r.MeanFCTMs/p.MeanFCTMs)
		}
		fmt.Fprintf(w, "%-20s %4d %5d %5d %24s %24s %9s %12.1f %12.1f %10.2f\n", r.Name+" (measured)", max(r.Runs, 1), r.Lost, r.Ejections,
			spread(r.MeanFCTMs, r.MeanFCTMsRuns), pred, ratio, r.ShortMeanFCTMs, r.P99FCTMs, r.LongP99Slowdown)
	}
	for _, r := range predicted {
		fmt.Fprintf(w, "%-20s %4s %5d %5d %24.1f %24s %9s %12.1f %12.1f %10.2f\n", r.Name+" (simulated)", "", r.Lost, r.Ejections,
			r.MeanFCTMs, "", "", r.ShortMeanFCTMs, r.P99FCTMs, r.LongP99Slowdown)
	}
	md, ok1 := Find(measured, "default")
	ma, ok2 := Find(measured, "alps")
	pd, ok3 := Find(predicted, "default")
	pa, ok4 := Find(predicted, "alps")
	if ok1 && ok2 && md.MeanFCTMs > 0 {
		fmt.Fprintf(w, "alps/default mean FCT: measured %.2f", ma.MeanFCTMs/md.MeanFCTMs)
		if len(md.MeanFCTMsRuns) > 1 && len(md.MeanFCTMsRuns) == len(ma.MeanFCTMsRuns) {
			var rs []float64
			for i := range md.MeanFCTMsRuns {
				rs = append(rs, ma.MeanFCTMsRuns[i]/md.MeanFCTMsRuns[i])
			}
			fmt.Fprintf(w, " (medians; round by round %.2f-%.2f)", slices.Min(rs), slices.Max(rs))
		}
		if ok3 && ok4 && pd.MeanFCTMs > 0 {
			fmt.Fprintf(w, ", simulated %.2f", pa.MeanFCTMs/pd.MeanFCTMs)
		}
		fmt.Fprintln(w)
	}
	if len(predicted) > 0 {
		fmt.Fprintf(w, "order by mean FCT: measured %s; simulated %s\n", order(measured), order(predicted))
	}
	var onCPU []string
	for _, r := range measured {
		if len(r.OnMeasuredCPUMeanFCTMsRuns) == len(r.MeanFCTMsRuns) && len(r.MeanFCTMsRuns) > 0 {
			if m := Median(r.OnMeasuredCPUMeanFCTMsRuns); m > 0 {
				onCPU = append(onCPU, fmt.Sprintf("%s %.1f ms (measured %.2fx)", r.Name, m, r.MeanFCTMs/m))
			}
		}
	}
	if len(onCPU) > 0 {
		fmt.Fprintf(w, "simulated on each invocation's measured CPU (the scheduling model alone, medians): %s\n", strings.Join(onCPU, "; "))
	}
	for _, l := range []struct {
		what, format string
		runs         func(Scheduler) []float64
	}{
		{"CPU busy over the arrivals, per run", "%.2f", func(r Scheduler) []float64 { return r.GuestUtilRuns }},
		{"host load (1 min) at each run's start", "%.1f", func(r Scheduler) []float64 { return r.HostLoadRuns }},
		{"CPU time per unit of work, relative to the calibration (probed around each replay)", "%.2f", func(r Scheduler) []float64 { return r.SpeedRuns }},
		{"host CPU the emulator got per busy guest second", "%.2f", func(r Scheduler) []float64 { return r.DeliveredRuns }},
	} {
		if line := perRun(measured, l.format, l.runs); line != "" {
			fmt.Fprintf(w, "%s: %s\n", l.what, line)
		}
	}
	if _, ok := Find(measured, "alps"); !ok {
		return
	}
	fmt.Fprintf(w, "frontend: %d records, %d updates, cpu %.2f%% of one vCPU, update p99 %.2f ms",
		fe.Records, fe.Updates, fe.CPUPercent, fe.UpdateP99Ms)
	if fe.UpdateFirstMs > 0 {
		fmt.Fprintf(w, " (every update counted; the first took %.2f ms)", fe.UpdateFirstMs)
	}
	fmt.Fprintln(w)
}
