// Package analysis turns the experiment's measured runs (one per scheduler) and the
// simulator's prediction for the same trace into the summary the README quotes
// (experiments/results/latest.json), a side-by-side table, target checks and figures.
package analysis

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/alps-sched/alps/experiments/loadgen"
	"github.com/alps-sched/alps/sim"
	"github.com/alps-sched/alps/sim/metrics"
)

// Scheduler is one scheduler's row of the summary. The JSON names are an interface.
type Scheduler struct {
	Name            string  `json:"name"`
	Completed       int     `json:"completed"`
	Lost            int     `json:"lost"`
	Ejections       int     `json:"ejections"`
	MeanFCTMs       float64 `json:"mean_fct_ms"`
	ShortMeanFCTMs  float64 `json:"short_mean_fct_ms"`
	P99FCTMs        float64 `json:"p99_fct_ms"`
	LongP99Slowdown float64 `json:"long_p99_slowdown"`
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

// Summary is experiments/results/latest.json.
type Summary struct {
	Schedulers []Scheduler `json:"schedulers"`
	Frontend   Frontend    `json:"frontend"`
}

// Outcome is what happened to one invocation, measured or simulated: the common ground of
// the metrics. Times are nanoseconds.
type Outcome struct {
	Function string
	Arrival  int64
	CPU      int64 // CPU demand the invocation asked for
	IO       int64 // blocking time it asked for
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
		out[i] = Outcome{Function: r.Function, Arrival: r.Arrival, CPU: r.Demand, IO: r.IO, FCT: r.FCT(), Lost: r.Lost}
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

// WriteTable prints the measured rows beside the simulator's prediction.
func WriteTable(w io.Writer, measured, predicted []Scheduler, fe Frontend) {
	fmt.Fprintf(w, "%-22s %9s %5s %5s %12s %12s %12s %10s\n", "scheduler", "completed", "lost", "eject",
		"mean_fct_ms", "short_fct_ms", "p99_fct_ms", "long_p99_sd")
	row := func(label string, r Scheduler) {
		fmt.Fprintf(w, "%-22s %9d %5d %5d %12.1f %12.1f %12.1f %10.2f\n", label, r.Completed, r.Lost, r.Ejections,
			r.MeanFCTMs, r.ShortMeanFCTMs, r.P99FCTMs, r.LongP99Slowdown)
	}
	for _, r := range measured {
		row(r.Name+" (measured)", r)
	}
	for _, r := range predicted {
		row(r.Name+" (simulated)", r)
	}
	md, ok1 := Find(measured, "default")
	ma, ok2 := Find(measured, "alps")
	pd, ok3 := Find(predicted, "default")
	pa, ok4 := Find(predicted, "alps")
	if ok1 && ok2 && md.MeanFCTMs > 0 {
		fmt.Fprintf(w, "alps/default mean FCT: measured %.2f", ma.MeanFCTMs/md.MeanFCTMs)
		if ok3 && ok4 && pd.MeanFCTMs > 0 {
			fmt.Fprintf(w, ", simulated %.2f", pa.MeanFCTMs/pd.MeanFCTMs)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "frontend: %d records, %d updates, cpu %.2f%% of one vCPU, update p99 %.2f ms",
		fe.Records, fe.Updates, fe.CPUPercent, fe.UpdateP99Ms)
	if fe.UpdateFirstMs > 0 {
		fmt.Fprintf(w, " (every update counted; the first took %.2f ms)", fe.UpdateFirstMs)
	}
	fmt.Fprintln(w)
}
