package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/alps-sched/alps/cmd/internal/cli"
	"github.com/alps-sched/alps/configs"
	"github.com/alps-sched/alps/experiments/analysis"
	"github.com/alps-sched/alps/experiments/loadgen"
	"github.com/alps-sched/alps/experiments/plan"
	"github.com/alps-sched/alps/experiments/workload"
	"github.com/alps-sched/alps/frontend"
	"github.com/alps-sched/alps/sim/trace"
)

// schedulers are the experiment's runs, in table order.
var schedulers = []string{"default", "vtime", "alps"}

// Layout of a runs directory (what the runner brings back from the VMs):
//
//	DIR/plan.csv                      the trace replayed by every run
//	DIR/cal.json                      the calibration of the first boot (the plan's units)
//	DIR/<scheduler>/<round>/results.csv  the load generator's results
//	DIR/<scheduler>/<round>/replay.json  the guest's CPU utilisation during the replay
//	DIR/<scheduler>/<round>/ejections how many times the kernel ejected the scheduler
//	DIR/<scheduler>/<round>/host.json the host's load and the emulator's CPU around the boot
//	DIR/alps/<round>/frontend.json    the daemon's figures (alps-frontend --stats-file)
const (
	planFile      = "plan.csv"
	resultsFile   = "results.csv"
	ejectionsFile = "ejections"
	frontendFile  = "frontend.json"
	replayFile    = "replay.json"
	hostFile      = "host.json"
)

func analyzeCmd(app *cli.App) *cobra.Command {
	var dir, out string
	var short bool
	var only []string
	cmd := &cobra.Command{
		Use:   "analyze",
		Short: "Summarise the runs (medians over rounds) beside the simulator's prediction, write latest.json and figures, check the targets",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dir == "" {
				return cli.Usagef("--dir is required")
			}
			scheds, err := selectSchedulers(only)
			if err != nil {
				return err
			}
			if len(scheds) < len(schedulers) {
				return analyzeSome(app, dir, out, scheds)
			}
			return analyze(app, dir, out, short)
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "dir", "", "runs directory (see alps-bench run)")
	f.StringVar(&out, "out", "experiments/results", "where latest.json, prediction.json and the figures go")
	f.BoolVar(&short, "short", false, "the short run: gate only on 0 lost, 0 ejections and the loop closing (its ratios are reported, too noisy to gate)")
	f.StringSliceVar(&only, "schedulers", schedulers, "analyse only these runs: measured against predicted, no targets but nothing lost (e.g. default alone, the native check)")
	return cmd
}

// rounds lists the round directories of one scheduler's runs, in round order.
func rounds(dir, sched string) ([]string, error) {
	ents, err := os.ReadDir(filepath.Join(dir, sched))
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", sched, err)
	}
	var rs []int
	for _, e := range ents {
		if n, err := strconv.Atoi(e.Name()); err == nil && e.IsDir() && exists(filepath.Join(dir, sched, e.Name(), resultsFile)) {
			rs = append(rs, n)
		}
	}
	if len(rs) == 0 {
		return nil, fmt.Errorf("run %s: no %s in %s/<round>/", sched, resultsFile, filepath.Join(dir, sched))
	}
	slices.Sort(rs)
	out := make([]string, len(rs))
	for i, n := range rs {
		out[i] = filepath.Join(dir, sched, strconv.Itoa(n))
	}
	return out, nil
}

// readRun reads one run's results into its summary row and outcomes.
func readRun(name, dir string) (analysis.Scheduler, []analysis.Outcome, error) {
	path := filepath.Join(dir, resultsFile)
	f, err := os.Open(path)
	if err != nil {
		return analysis.Scheduler{}, nil, fmt.Errorf("run %s: %w", name, err)
	}
	rs, err := loadgen.ReadResults(f, path)
	f.Close()
	if err != nil {
		return analysis.Scheduler{}, nil, err
	}
	ej, err := readCount(filepath.Join(dir, ejectionsFile))
	if err != nil {
		return analysis.Scheduler{}, nil, err
	}
	o := analysis.FromResults(rs)
	row := analysis.Summarize(name, o, ej)
	var st loadgen.Stats
	okStats, err := readJSON(filepath.Join(dir, replayFile), &st)
	if err != nil {
		return row, nil, err
	}
	if okStats {
		row.GuestUtilRuns = []float64{st.UtilSpan}
	}
	var h hostInfo
	if ok, err := readJSON(filepath.Join(dir, hostFile), &h); err != nil {
		return row, nil, err
	} else if ok {
		row.HostLoadRuns = []float64{h.LoadBefore}
		// The emulator's host CPU per second the guest was busy during the replay: 1 when
		// the host gave the guest a whole core whenever it had work.
		if busy := st.UtilWall * st.WallS; okStats && busy > 0 && h.ReplayQemuCPUS > 0 {
			row.DeliveredRuns = []float64{h.ReplayQemuCPUS / busy}
		}
	}
	return row, o, nil
}

// readJSON reads path into v; a missing file is not an error (false).
func readJSON(path string, v any) (bool, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return false, fmt.Errorf("%s: %w", path, err)
	}
	return true, nil
}

// collected is what analyze gathers from a runs directory: the measured rows (medians over
// rounds), each scheduler's prediction (median over its runs' predictions), the figures'
// series and the daemon's figures.
type collected struct {
	sum       analysis.Summary
	predicted []analysis.Scheduler
	model     analysis.Model
	cores     int
	coresNote string
}

// collect reads the runs of scheds in dir, predicts each run on the machine it measured,
// and writes latest.json, prediction.json and the figures into out.
func collect(cfg configs.Config, dir, out string, scheds []string) (*collected, error) {
	tr, err := trace.ReadCSVFile(filepath.Join(dir, planFile))
	if err != nil {
		return nil, err
	}
	cores, coresNote, err := simulatedCores(filepath.Join(dir, "cal.json"))
	if err != nil {
		return nil, err
	}
	cal, err := workload.ReadCalibration(filepath.Join(dir, "cal.json"))
	haveCal := err == nil
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	// The plan's machine (the first boot's calibration); each run is predicted on its own.
	model := analysis.Model{Cores: cores, CFSSliceMs: cfg.Sim.CFSMinGranularityMs, CFSSwitchUs: cfg.Sim.CFSContextSwitchUs}
	if haveCal {
		_, model = analysis.MachineModel(cfg, cal, cores)
	}
	warm := exists(filepath.Join(dir, warmMarker))
	if warm {
		model = model.Warm()
	}
	sum := analysis.Summary{Warm: warm}
	var predicted []analysis.Scheduler
	var series, predSeries []analysis.Series
	var fes []frontend.Stats
	// models are every run's machine; cfsModels the default runs', the ones whose probes
	// measured sharing under the kernel's fair scheduler (the others' under sched_ext).
	var models, cfsModels []analysis.Model
	for _, name := range scheds {
		dirs, err := rounds(dir, name)
		if err != nil {
			return nil, err
		}
		var rows, preds []analysis.Scheduler
		var pooled, predPooled []analysis.Outcome
		var speeds, onCPUs []float64
		for _, d := range dirs {
			row, o, err := readRun(name, d)
			if err != nil {
				return nil, err
			}
			rows = append(rows, row)
			pooled = append(pooled, o...)
			if name == "alps" {
				fe, err := readFrontendStats(filepath.Join(d, frontendFile))
				if err != nil {
					return nil, err
				}
				fes = append(fes, fe)
			}
			// The run's prediction, on the machine its boot measured.
			rcfg, m := cfg, model
			if haveCal {
				if rcfg, m, err = runModel(cfg, d, cal, cores); err != nil {
					return nil, err
				}
			}
			if warm {
				m = m.Warm()
			}
			speeds = append(speeds, max(m.Speed, 0))
			models = append(models, m)
			if name == "default" {
				cfsModels = append(cfsModels, m)
			}
			p, po, err := analysis.PredictOne(tr, m, rcfg, name)
			if err != nil {
				return nil, err
			}
			onCPU, err := analysis.PredictMeasuredCPU(tr, o, m, rcfg, name)
			if err != nil {
				return nil, err
			}
			onCPUs = append(onCPUs, onCPU.MeanFCTMs)
			preds = append(preds, p)
			predPooled = append(predPooled, po...)
		}
		agg := analysis.Aggregate(name, rows)
		pred := analysis.Aggregate(name, preds)
		agg.PredictedMeanFCTMsRuns, agg.SpeedRuns, agg.OnMeasuredCPUMeanFCTMsRuns = pred.MeanFCTMsRuns, speeds, onCPUs
		sum.Schedulers = append(sum.Schedulers, agg)
		// prediction.json keeps its form: the median prediction's figures only.
		pred.Runs, pred.MeanFCTMsRuns = 0, nil
		predicted = append(predicted, pred)
		series = append(series, analysis.Series{Name: name, Outcomes: pooled})
		predSeries = append(predSeries, analysis.Series{Name: name, Outcomes: predPooled, Dashed: true})
	}
	series = append(series, predSeries...)
	sum.Frontend = frontendOf(fes)
	if len(models) > 0 {
		model = analysis.MedianModel(models)
	}
	if len(cfsModels) > 0 {
		c := analysis.MedianModel(cfsModels)
		model.CFSSliceMs, model.CFSSwitchUs = c.CFSSliceMs, c.CFSSwitchUs
	}
	sum.Model = &model
	ts := plan.Summarize(tr, cores)
	sum.Trace = &ts
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, err
	}
	if err := analysis.WriteJSON(filepath.Join(out, "latest.json"), sum); err != nil {
		return nil, err
	}
	if err := analysis.WriteJSON(filepath.Join(out, "prediction.json"), analysis.Summary{Schedulers: predicted}); err != nil {
		return nil, err
	}
	if err := analysis.PlotAll(out, series); err != nil {
		return nil, fmt.Errorf("figures: %w", err)
	}
	return &collected{sum: sum, predicted: predicted, model: model, cores: cores, coresNote: coresNote}, nil
}

func analyze(app *cli.App, dir, out string, short bool) error {
	c, err := collect(app.Config(), dir, out, schedulers)
	if err != nil {
		return err
	}
	sum, predicted := c.sum, c.predicted
	var table bytes.Buffer
	writeHead(&table, c)
	analysis.WriteTable(&table, sum.Schedulers, predicted, sum.Frontend)
	targets, which := analysis.FullTargets, "full"
	if short {
		targets, which = analysis.SmokeTargets, "smoke"
	}
	fails := analysis.Check(sum, targets)
	if len(fails) == 0 {
		fmt.Fprintf(&table, "targets (%s): all met\n", which)
	} else {
		fmt.Fprintf(&table, "targets (%s): %d missed\n", which, len(fails))
		for _, f := range fails {
			fmt.Fprintf(&table, "  - %s\n", f)
		}
	}
	writePrediction(&table, c)
	app.Stdout().Write(table.Bytes())
	if err := os.WriteFile(filepath.Join(out, "table.txt"), table.Bytes(), 0o644); err != nil {
		return err
	}
	if len(fails) > 0 {
		if !short {
			// The full run reports its misses and gates on the basics.
			basic := analysis.Check(sum, analysis.BasicTargets)
			if len(basic) == 0 {
				return nil
			}
			fails = basic
		}
		return errors.New("targets missed: " + strings.Join(fails, "; "))
	}
	return nil
}

// writeHead prints the trace and the model the prediction used.
func writeHead(w io.Writer, c *collected) {
	m := c.model
	fmt.Fprintf(w, "trace: %s on %d simulated CPU(s) (%s)\n", c.sum.Trace, c.cores, c.coresNote)
	fmt.Fprintf(w, "model (calibrated around each run, medians): CPU %.2fx as slow as planned; cfs slice %.2f ms costing %.0f us when tasks share the CPU (default runs); a payload process %.2f ms of CPU, %.2f ms more outside it\n",
		m.Speed, m.CFSSliceMs, m.CFSSwitchUs, m.SpawnMs, m.ProcessOverheadMs)
}

// analyzeSome analyses the runs of some of the schedulers (the native check runs only the
// default): measured against predicted, failing only if an invocation was lost or the
// scheduler ejected.
func analyzeSome(app *cli.App, dir, out string, scheds []string) error {
	c, err := collect(app.Config(), dir, out, scheds)
	if err != nil {
		return err
	}
	var table bytes.Buffer
	writeHead(&table, c)
	analysis.WriteTable(&table, c.sum.Schedulers, c.predicted, c.sum.Frontend)
	var fails []string
	for _, r := range c.sum.Schedulers {
		if r.Lost > 0 || r.Ejections > 0 {
			fails = append(fails, fmt.Sprintf("%s lost %d invocations and was ejected %d times", r.Name, r.Lost, r.Ejections))
		}
	}
	writePrediction(&table, c)
	app.Stdout().Write(table.Bytes())
	if err := os.WriteFile(filepath.Join(out, "table.txt"), table.Bytes(), 0o644); err != nil {
		return err
	}
	if len(fails) > 0 {
		return errors.New(strings.Join(fails, "; "))
	}
	return nil
}

// writePrediction prints how far each median is from its prediction.
func writePrediction(w io.Writer, c *collected) {
	if pf := analysis.CheckPrediction(c.sum.Schedulers, c.predicted, analysis.PredictionFactor); len(pf) == 0 {
		fmt.Fprintf(w, "prediction: every median within %.2fx of its prediction, same order\n", analysis.PredictionFactor)
	} else {
		fmt.Fprintf(w, "prediction: %d missed (reported)\n", len(pf))
		for _, f := range pf {
			fmt.Fprintf(w, "  - %s\n", f)
		}
	}
}

// Files of a run with the machine calibrated just before and just after its replay.
const (
	probeBeforeFile = "probe-before.json"
	probeAfterFile  = "probe-after.json"
)

// runModel is the machine a run met: its probes' calibrations averaged (CPU time per unit
// and per process, sharing overhead, the slice), on which the run's prediction is made,
// relative to the plan's calibration cal (Model.Speed, Model.SpawnPlanMs). A run without
// probes is predicted on cal.
func runModel(cfg configs.Config, dir string, cal workload.Calibration, cores int) (configs.Config, analysis.Model, error) {
	var probes []workload.Calibration
	for _, f := range []string{probeBeforeFile, probeAfterFile} {
		var c workload.Calibration
		ok, err := readJSON(filepath.Join(dir, f), &c)
		if err != nil {
			return cfg, analysis.Model{}, err
		}
		if ok {
			if err := c.Validate(); err != nil {
				return cfg, analysis.Model{}, fmt.Errorf("%s: %w", filepath.Join(dir, f), err)
			}
			probes = append(probes, c)
		}
	}
	machine := cal
	if len(probes) > 0 {
		machine = workload.Average(probes)
	}
	cfg, m := analysis.MachineModel(cfg, machine, cores)
	m.Speed, m.SpawnPlanMs = cal.UnitsPerMs/machine.UnitsPerMs, cal.SpawnMs
	return cfg, m, nil
}

// frontendOf combines the daemon's figures of the alps runs: the loop closed only if it did
// in every run (the fewest records and updates), the costs are medians.
func frontendOf(fes []frontend.Stats) analysis.Frontend {
	if len(fes) == 0 {
		return analysis.Frontend{}
	}
	out := analysis.Frontend{Records: fes[0].Records, Updates: fes[0].Updates}
	var cpu, p99, first []float64
	for _, fe := range fes {
		out.Records, out.Updates = min(out.Records, fe.Records), min(out.Updates, fe.Updates)
		cpu, p99, first = append(cpu, fe.CPUPercent), append(p99, fe.UpdateP99Ms), append(first, fe.UpdateFirstMs)
	}
	out.CPUPercent, out.UpdateP99Ms, out.UpdateFirstMs = analysis.Median(cpu), analysis.Median(p99), analysis.Median(first)
	return out
}

// simulatedCores is how many CPUs the simulator gets for the prediction: the machine's, as
// the calibration counted them (the guest's one vCPU; the host's CPUs for the native check).
// The note gives how many the calibration found working at once, which on a shared host is
// often fewer: the prediction assumes the machine's CPUs are its own. Without a calibration,
// the guest's vCPU count.
func simulatedCores(calPath string) (int, string, error) {
	cal, err := workload.ReadCalibration(calPath)
	if errors.Is(err, os.ErrNotExist) {
		return guestCPUs, fmt.Sprintf("the guest's %d vCPU(s); no calibration in the runs", guestCPUs), nil
	}
	if err != nil {
		return 0, "", err
	}
	n := cal.CPUs
	if n <= 0 {
		n = guestCPUs
	}
	if cal.EffectiveCPUs <= 0 {
		return n, fmt.Sprintf("%d CPU(s); the calibration did not measure how many work at once", n), nil
	}
	return n, fmt.Sprintf("%d CPU(s), %.2f of them working at once when calibrated", n, cal.EffectiveCPUs), nil
}

func readCount(path string) (int, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		return 0, fmt.Errorf("%s: %q is not a count", path, strings.TrimSpace(string(data)))
	}
	return n, nil
}

func readFrontendStats(path string) (frontend.Stats, error) {
	var s frontend.Stats
	data, err := os.ReadFile(path)
	if err != nil {
		return s, fmt.Errorf("frontend figures: %w", err)
	}
	if err := json.Unmarshal(data, &s); err != nil {
		return s, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}
