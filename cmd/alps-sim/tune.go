package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/alps-sched/alps/cmd/internal/cli"
	"github.com/alps-sched/alps/cmd/internal/outfile"
	"github.com/alps-sched/alps/configs"
	"github.com/alps-sched/alps/sim"
	"github.com/alps-sched/alps/sim/metrics"
)

type tuneFlags struct {
	trace     runFlags // trace selection, as for run
	space     string
	trials    int
	objective string
	out       string
	json      bool
	seed      uint64
	top       int
	parallel  int
	refine    int
}

// objectives of alps-sim tune; lower is better.
var objectives = map[string]string{
	"mean_fct":     "mean FCT of alps (ms)",
	"p99_slowdown": "p99 slowdown of alps",
	"weighted":     "alps mean FCT / srpt's + alps long-class p99 slowdown / cfs's (the two target ratios)",
}

func newTuneCmd(app *cli.App) (*cobra.Command, error) {
	var fl tuneFlags
	cmd := &cobra.Command{
		Use:   "tune (--trace FILE | --azure DIR ...) --cores N --space FILE --trials T --out best.yaml",
		Short: "Search the learner and policy parameters of alps on a trace",
		Long: `Random search of the alps learner and policy parameters: each trial draws a value for every
key of the space file (format in configs/tune.yaml) over the configuration given by --config
(or the defaults), simulates the trace under alps and scores it by --objective (lower is
better). Trials run in parallel. The best configurations are printed as a table (or JSON with
--json) and the best is written to --out as a config file loadable with --config. On SIGINT
the trials finished so far are kept: the table and the file are written from them
and the exit code is 130.
Objectives: mean_fct, p99_slowdown, weighted (alps mean FCT / srpt's + alps long-class p99
slowdown / cfs's). With --refine N, the best trial is then refined by up to N steps of a
(1+1) evolution strategy over the space's ranges (its choices kept).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			base := ""
			if f := cmd.Flag("config"); f != nil {
				base = f.Value.String()
			}
			return runTune(cmd.Context(), app, base, &fl)
		},
	}
	f := cmd.Flags()
	t := &fl.trace
	f.StringVar(&t.tracePath, "trace", "", "CSV trace (header arrival_ms,function,cpu_ms[,io_ms[,io_waits]])")
	f.StringVar(&t.azureDir, "azure", "", "directory with the Azure Functions 2019 trace files")
	f.IntVar(&t.day, "day", 1, "Azure trace day (1..14)")
	f.StringVar(&t.minutes, "minutes", "1-60", "Azure trace minutes A-B of the day (1..1440)")
	f.Float64Var(&t.downscale, "downscale", 1, "keep 1/F of the Azure invocations")
	f.Uint64Var(&t.seed, "azure-seed", 1, "seed for the Azure sampling")
	f.IntVar(&t.cores, "cores", 16, "number of simulated cores")
	f.StringVar(&fl.space, "space", "", "search space file (default: the built-in space, configs/tune.yaml)")
	f.IntVar(&fl.trials, "trials", 32, "number of trials")
	f.StringVar(&fl.objective, "objective", "weighted", "mean_fct, p99_slowdown or weighted")
	f.StringVar(&fl.out, "out", "best.yaml", "where to write the best configuration")
	f.BoolVar(&fl.json, "json", false, "print one JSON object instead of a table")
	f.Uint64Var(&fl.seed, "seed", 1, "seed of the random search")
	f.IntVar(&fl.top, "top", 5, "configurations shown in the table")
	f.IntVar(&fl.parallel, "parallel", 0, "trials run at once (0: GOMAXPROCS)")
	f.IntVar(&fl.refine, "refine", 0, "after the random search, up to this many local-search steps from the best trial over the space's ranges")
	return cmd, nil
}

// Limits of alps-sim tune's flags.
const (
	maxTrials   = 1_000_000 // --trials and --refine
	maxParallel = 256       // --parallel
)

// trial is one evaluated configuration.
type trial struct {
	ID        int             `json:"id"`
	Params    map[string]any  `json:"params"`
	Objective float64         `json:"objective"`
	Summary   metrics.Summary `json:"summary"`
	Err       string          `json:"error,omitempty"`
	cfg       configs.Config
}

// TuneOutput is the JSON document of alps-sim tune --json.
type TuneOutput struct {
	Objective   string                     `json:"objective"`
	Trials      int                        `json:"trials"`
	Completed   int                        `json:"completed"`
	Interrupted bool                       `json:"interrupted"`
	Baselines   map[string]metrics.Summary `json:"baselines"`
	Best        []trial                    `json:"best"`
	Out         string                     `json:"out"`
}

func (fl *tuneFlags) validate() error {
	switch {
	case fl.trials <= 0 || fl.trials > maxTrials:
		return cli.Usagef("--trials: must be in [1, %d], got %d", maxTrials, fl.trials)
	case fl.top <= 0:
		return cli.Usagef("--top: must be > 0, got %d", fl.top)
	case fl.parallel < 0 || fl.parallel > maxParallel:
		return cli.Usagef("--parallel: must be in [0, %d], got %d", maxParallel, fl.parallel)
	case fl.refine < 0 || fl.refine > maxTrials:
		return cli.Usagef("--refine: must be in [0, %d], got %d", maxTrials, fl.refine)
	case fl.out == "":
		return cli.Usagef("--out: a file name is required")
	}
	if _, ok := objectives[fl.objective]; !ok {
		return cli.Usagef("--objective: %q is not one of mean_fct, p99_slowdown, weighted", fl.objective)
	}
	return checkCores(fl.trace.cores)
}

// runTune tunes over the configuration file base ("" for the defaults).
func runTune(ctx context.Context, app *cli.App, base string, fl *tuneFlags) error {
	if err := fl.validate(); err != nil {
		return err
	}
	if err := outfile.Check(fl.out); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	sp, err := loadSpace(fl.space)
	if err != nil {
		return err
	}
	// The base configuration is read once: every trial starts from the same file contents.
	var baseFile configFile
	if base != "" {
		data, err := configs.ReadFile(base)
		if err != nil {
			return fmt.Errorf("config %s: %w", base, err)
		}
		baseFile = configFile{name: base, data: data}
	}
	baseCfg, err := configWith(baseFile, nil)
	if err != nil {
		return err
	}
	tr, err := loadTrace(&fl.trace)
	if err != nil {
		return err
	}
	cores := fl.trace.cores
	log := app.Log()
	log.Info().Int("invocations", len(tr.Inv)).Int("trials", fl.trials).Str("objective", fl.objective).Msg("tuning")

	// Baselines the weighted objective is relative to (and that the table shows).
	baselines := map[string]metrics.Summary{}
	if fl.objective == "weighted" {
		for _, name := range []string{"srpt", "cfs"} {
			s, err := simulate(ctx, tr, name, baseCfg, cores)
			if ctx.Err() != nil {
				return interruptedError{fmt.Sprintf("interrupted during the %s baseline, before any trial: nothing written", name)}
			}
			if err != nil {
				return err
			}
			baselines[name] = s
		}
	}

	tn := &tuner{tr: tr, cores: cores, base: baseFile, space: sp, objective: fl.objective, baselines: baselines}
	results, interrupted := tn.search(ctx, fl.trials, fl.seed, fl.parallel, app.Stderr())
	ok := succeeded(results)
	if fl.refine > 0 && !interrupted && len(ok) > 0 {
		log.Info().Int("evaluations", fl.refine).Msg("refining the best trial")
		more := tn.refine(ctx, ok[0], fl.refine, fl.trials, fl.seed)
		results = append(results, more...)
		interrupted = ctx.Err() != nil
		ok = succeeded(results)
	}
	if len(ok) == 0 {
		if len(results) > 0 {
			return fmt.Errorf("no trial succeeded; first error: %s", results[0].Err)
		}
		return interruptedError{"interrupted before any trial completed: nothing written"}
	}
	// The table first: a file that cannot be written loses nothing that was computed.
	best := ok[:min(fl.top, len(ok))]
	if fl.json {
		enc := json.NewEncoder(app.Stdout())
		enc.SetIndent("", "  ")
		if err := enc.Encode(TuneOutput{Objective: fl.objective, Trials: fl.trials, Completed: len(results),
			Interrupted: interrupted, Baselines: baselines, Best: best, Out: fl.out}); err != nil {
			return err
		}
	} else if err := writeTuneTable(app.Stdout(), best, sp, fl.objective); err != nil {
		return err
	}
	if err := writeBest(fl.out, ok[0], fl.objective); err != nil {
		return err
	}
	if interrupted {
		return interruptedError{fmt.Sprintf("interrupted: best of the %d trials finished written to %s", len(results), fl.out)}
	}
	fmt.Fprintf(app.Stderr(), "best of %d trials written to %s\n", len(results), fl.out)
	return nil
}

// interruptedError ends an interrupted search after its results were written: exit code 130,
// as for a process ended by SIGINT.
type interruptedError struct{ msg string }

func (e interruptedError) Error() string { return e.msg }
func (e interruptedError) ExitCode() int { return 130 }

// succeeded returns the trials without error, best (lowest objective) first.
func succeeded(results []trial) []trial {
	var ok []trial
	for _, t := range results {
		if t.Err == "" {
			ok = append(ok, t)
		}
	}
	sort.SliceStable(ok, func(i, j int) bool { return ok[i].Objective < ok[j].Objective })
	return ok
}

func simulate(ctx context.Context, tr *sim.Trace, name string, cfg configs.Config, cores int) (metrics.Summary, error) {
	p, err := sim.New(name, configs.SimParams(cfg, cores))
	if err != nil {
		return metrics.Summary{}, err
	}
	res, err := sim.Run(tr, p, sim.Options{Cores: cores, Context: ctx})
	if err != nil {
		return metrics.Summary{}, fmt.Errorf("%s: %w", name, err)
	}
	return metrics.FromResult(res), nil
}

// tuner runs trials.
type tuner struct {
	tr        *sim.Trace
	cores     int
	base      configFile
	space     space
	objective string
	baselines map[string]metrics.Summary
}

// search runs trials random trials on parallel workers and returns those that finished, in
// trial order, and whether ctx ended the search early. Trials still running when ctx ends are
// abandoned.
func (tn *tuner) search(ctx context.Context, trials int, seed uint64, parallel int, progressTo io.Writer) ([]trial, bool) {
	if parallel <= 0 {
		parallel = runtime.GOMAXPROCS(0)
	}
	r := rand.New(rand.NewPCG(seed, 0x74756e65))
	type job struct {
		id     int
		params map[string]any
	}
	// Trials are drawn as they are handed out, in trial order (the same draws as drawing
	// them all first), so memory does not grow with --trials.
	jobs := make(chan job)
	done := make(chan trial, parallel)
	go func() {
		defer close(jobs)
		for i := range trials {
			params := make(map[string]any, len(tn.space))
			for _, p := range tn.space {
				params[p.key] = p.sample(r)
			}
			select {
			case jobs <- job{i, params}:
			case <-ctx.Done():
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for range min(parallel, trials) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				t := tn.run(ctx, j.id, j.params)
				if ctx.Err() != nil && t.Err != "" {
					return // stopped by the interruption: not a result
				}
				select {
				case done <- t:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	allDone := make(chan struct{})
	go func() { wg.Wait(); close(allDone) }()

	bar := newTuneBar(progressTo, trials)
	var out []trial
	interrupted := false
loop:
	for len(out) < trials {
		select {
		case t := <-done:
			out = append(out, t)
			bar.Add(1)
		case <-allDone:
			// Drain what finished with the last worker.
			for len(done) > 0 {
				out = append(out, <-done)
				bar.Add(1)
			}
			interrupted = len(out) < trials
			break loop
		case <-ctx.Done():
			for len(done) > 0 {
				out = append(out, <-done)
			}
			interrupted = true
			break loop
		}
	}
	bar.Finish()
	slices.SortFunc(out, func(a, b trial) int { return a.ID - b.ID })
	return out, interrupted
}

func (tn *tuner) run(ctx context.Context, id int, params map[string]any) trial {
	t := trial{ID: id, Params: params}
	cfg, err := configWith(tn.base, params)
	if err != nil {
		// A combination of valid values can still be invalid (min_slice_ms > slice_cap_ms).
		t.Err = err.Error()
		return t
	}
	t.cfg = cfg
	s, err := simulate(ctx, tn.tr, "alps", cfg, tn.cores)
	if err != nil {
		t.Err = err.Error()
		return t
	}
	t.Summary = s
	t.Objective = objective(tn.objective, s, tn.baselines)
	return t
}

func objective(name string, s metrics.Summary, base map[string]metrics.Summary) float64 {
	switch name {
	case "mean_fct":
		return s.MeanFCT
	case "p99_slowdown":
		return s.P99Slowdown
	}
	return ratio(s.MeanFCT, base["srpt"].MeanFCT) + ratio(s.LongP99Slowdown, base["cfs"].LongP99Slowdown)
}

func ratio(a, b float64) float64 {
	if b <= 0 {
		return math.Inf(1)
	}
	return a / b
}

// tuneBar is a progress bar on a terminal, nothing otherwise.
type tuneBar struct{ bar *progressbar.ProgressBar }

func newTuneBar(w io.Writer, total int) tuneBar {
	if !cli.IsTerminal(w) {
		return tuneBar{}
	}
	return tuneBar{progressbar.NewOptions(total, progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription("trials"), progressbar.OptionShowCount(),
		progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish())}
}

func (b tuneBar) Add(n int) {
	if b.bar != nil {
		b.bar.Add(n)
	}
}

func (b tuneBar) Finish() {
	if b.bar != nil {
		b.bar.Finish()
	}
}

func writeTuneTable(w io.Writer, best []trial, sp space, obj string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := []string{"#", "trial", obj, "mean_fct_ms", "p99_slowdown", "long_p99_slowdown"}
	for _, p := range sp {
		head = append(head, p.key)
	}
	fmt.Fprintln(tw, strings.Join(head, "\t")+"\t")
	for i, t := range best {
		row := []string{fmt.Sprint(i + 1), fmt.Sprint(t.ID), fmt.Sprintf("%.4g", t.Objective),
			fmt.Sprintf("%.1f", t.Summary.MeanFCT), fmt.Sprintf("%.2f", t.Summary.P99Slowdown),
			fmt.Sprintf("%.2f", t.Summary.LongP99Slowdown)}
		for _, p := range sp {
			row = append(row, formatValue(t.Params[p.key]))
		}
		fmt.Fprintln(tw, strings.Join(row, "\t")+"\t")
	}
	return tw.Flush()
}

func formatValue(v any) string {
	if f, ok := v.(float64); ok {
		return fmt.Sprintf("%.4g", f)
	}
	return fmt.Sprint(v)
}

// writeBest writes the learner and policy sections of the best trial's configuration as a
// config file (every key of the two sections, so it does not depend on the defaults).
func writeBest(path string, best trial, obj string) error {
	var l, p map[string]any
	if err := mapstructure.Decode(best.cfg.Learner, &l); err != nil {
		return fmt.Errorf("best config: %w", err)
	}
	if err := mapstructure.Decode(best.cfg.Policy, &p); err != nil {
		return fmt.Errorf("best config: %w", err)
	}
	body, err := yaml.Marshal(map[string]any{"learner": l, "policy": p})
	if err != nil {
		return fmt.Errorf("best config: %w", err)
	}
	head := fmt.Sprintf("# Written by alps-sim tune: trial %d, %s = %.6g (mean FCT %.1f ms, p99 slowdown %.2f).\n",
		best.ID, obj, best.Objective, best.Summary.MeanFCT, best.Summary.P99Slowdown)
	if err := outfile.WriteBytes(path, 0o644, append([]byte(head), body...)); err != nil {
		return fmt.Errorf("--out %s: %w", path, err)
	}
	return nil
}
