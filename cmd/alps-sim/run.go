package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/alps-sched/alps/cmd/internal/cli"
	"github.com/alps-sched/alps/cmd/internal/outfile"
	"github.com/alps-sched/alps/configs"
	"github.com/alps-sched/alps/sim"
	"github.com/alps-sched/alps/sim/metrics"
	"github.com/alps-sched/alps/sim/trace"
)

type runFlags struct {
	tracePath string
	azureDir  string
	day       int
	minutes   string
	downscale float64
	seed      uint64
	cores     int
	policies  string
	json      bool
	out       string
}

// Output is the JSON document of alps-sim run --json. Its key names are an interface.
type Output struct {
	Trace   TraceInfo         `json:"trace"`
	Cores   int               `json:"cores"`
	Results []metrics.Summary `json:"results"`
	// Interrupted is true when SIGINT or SIGTERM ended the run early: Results holds the
	// policies that finished.
	Interrupted bool `json:"interrupted,omitempty"`
}

// TraceInfo describes the simulated trace.
type TraceInfo struct {
	Invocations int `json:"invocations"`
	Functions   int `json:"functions"`
	// Utilization is the offered load: CPU demand / (span * cores), above 1 when the trace
	// asks for more than the cores supply (the key keeps its name).
	Utilization float64 `json:"utilization"`
}

func newRunCmd(app *cli.App) (*cobra.Command, error) {
	var fl runFlags
	cmd := &cobra.Command{
		Use:   "run (--trace FILE | --azure DIR ...) --cores N --policies LIST",
		Short: "Simulate a trace under scheduling policies and report completion times",
		Long: `Simulate a trace under each policy and print one row of figures per policy (or one JSON
object with --json). Policies: ` + strings.Join(sim.Names(), ", ") + `.
With --out DIR, also write DIR/<policy>.csv (one row per invocation) and PNG figures
(fct_cdf.png, slowdown_by_demand.png).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runRun(cmd, app, &fl) },
	}
	f := cmd.Flags()
	f.StringVar(&fl.tracePath, "trace", "", "CSV trace (header arrival_ms,function,cpu_ms[,io_ms[,io_waits]])")
	f.StringVar(&fl.azureDir, "azure", "", "directory with the Azure Functions 2019 trace files")
	f.IntVar(&fl.day, "day", 1, "Azure trace day (1..14)")
	f.StringVar(&fl.minutes, "minutes", "1-60", "Azure trace minutes A-B of the day (1..1440)")
	f.Float64Var(&fl.downscale, "downscale", 1, "keep 1/F of the Azure invocations")
	f.Uint64Var(&fl.seed, "seed", 1, "seed for the Azure sampling")
	f.IntVar(&fl.cores, "cores", 16, "number of simulated cores")
	f.StringVar(&fl.policies, "policies", "srpt,fifo,cfs,sfs,vtime", "comma-separated policies to run")
	f.BoolVar(&fl.json, "json", false, "print one JSON object instead of a table")
	f.StringVar(&fl.out, "out", "", "directory for per-invocation CSVs and PNG figures")
	return cmd, nil
}

func loadTrace(fl *runFlags) (*sim.Trace, error) {
	switch {
	case fl.tracePath != "" && fl.azureDir != "":
		return nil, cli.Usagef("--trace and --azure: give one, not both")
	case fl.tracePath != "":
		return trace.ReadCSVFile(fl.tracePath)
	case fl.azureDir != "":
		from, to, err := trace.ParseMinutes(fl.minutes)
		if err != nil {
			return nil, cli.UsageError(err)
		}
		o := trace.AzureOptions{Day: fl.day, From: from, To: to, Downscale: fl.downscale, Seed: fl.seed}
		if err := o.Validate(); err != nil {
			return nil, cli.UsageError(err)
		}
		return trace.ReadAzure(fl.azureDir, o)
	}
	return nil, cli.Usagef("give a trace: --trace FILE or --azure DIR")
}

func parsePolicies(s string) ([]string, error) {
	var names []string
	for _, n := range strings.Split(s, ",") {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		if _, err := sim.New(n, sim.Params{Cores: 1}); errors.Is(err, sim.ErrUnknownPolicy) {
			return nil, cli.Usagef("--policies: %v", err)
		}
		if slices.Contains(names, n) {
			return nil, cli.Usagef("--policies: %s is listed twice", n)
		}
		names = append(names, n)
	}
	if len(names) == 0 {
		return nil, cli.Usagef("--policies: empty list (valid: %s)", strings.Join(sim.Names(), ", "))
	}
	return names, nil
}

// checkCores validates a --cores flag.
func checkCores(cores int) error {
	if cores <= 0 || cores > sim.MaxCores {
		return cli.Usagef("--cores: must be in [1, %d], got %d", sim.MaxCores, cores)
	}
	return nil
}

// runRun simulates the policies one after the other. Each policy's records are summarized
// (and, with --out, written and reduced to what the figures need) as soon as it finishes and
// then dropped, so memory stays near the trace's whatever the number of policies. The
// figures of every policy that finished are printed even when a later one is interrupted or
// fails, or a file cannot be written; files are written whole or not at all.
func runRun(cmd *cobra.Command, app *cli.App, fl *runFlags) error {
	if err := checkCores(fl.cores); err != nil {
		return err
	}
	names, err := parsePolicies(fl.policies)
	if err != nil {
		return err
	}
	if fl.out != "" {
		if err := outfile.CheckDir(fl.out); err != nil {
			return fmt.Errorf("--out: %w", err)
		}
	}
	tr, err := loadTrace(fl)
	if err != nil {
		return err
	}
	log := app.Log()
	ctx := cmd.Context()
	log.Info().Int("invocations", len(tr.Inv)).Int("functions", len(tr.Functions)).
		Float64("offered_load", tr.Utilization(fl.cores)).Msg("trace loaded")
	out := Output{
		Trace:   TraceInfo{Invocations: len(tr.Inv), Functions: len(tr.Functions), Utilization: tr.Utilization(fl.cores)},
		Cores:   fl.cores,
		Results: make([]metrics.Summary, 0, len(names)),
	}
	var figs *figures
	if fl.out != "" {
		figs = newFigures(tr)
	}
	var sum metrics.Summarizer
	var stopErr, fileErr error // why the loop stopped early; the first file that failed
	params := configs.SimParams(app.Config(), fl.cores)
	for _, name := range names {
		if ctx.Err() != nil {
			stopErr = ctx.Err()
			break
		}
		p, err := sim.New(name, params)
		if err != nil {
			stopErr = fmt.Errorf("policy %s: %w", name, err)
			break
		}
		start := time.Now()
		prog := newProgress(app.Stderr(), name, len(tr.Inv))
		res, err := sim.Run(tr, p, sim.Options{Cores: fl.cores, Progress: prog.update, ProgressEvery: 4096, Context: ctx})
		prog.finish()
		if err != nil {
			stopErr = fmt.Errorf("policy %s: %w", name, err)
			break
		}
		out.Results = append(out.Results, sum.FromResult(res))
		log.Debug().Str("policy", name).Dur("took", time.Since(start)).Msg("simulated")
		if figs != nil && fileErr == nil {
			fileErr = writeRecords(filepath.Join(fl.out, name+".csv"), tr, res)
			figs.add(res)
		}
		// The next policy reuses this one's memory instead of growing the heap beside it.
		res = nil
		runtime.GC()
	}
	interrupted := stopErr != nil && ctx.Err() != nil
	out.Interrupted = interrupted
	if len(out.Results) > 0 {
		if err := printResults(app.Stdout(), &out, fl.json); err != nil {
			return err
		}
		if figs != nil && fileErr == nil {
			if fileErr = figs.write(fl.out); fileErr == nil {
				log.Info().Str("dir", fl.out).Msg("wrote per-invocation CSVs and figures")
			}
		}
	}
	if fileErr != nil {
		fileErr = fmt.Errorf("--out: %w", fileErr)
	}
	switch {
	case interrupted:
		msg := fmt.Sprintf("interrupted: the %d policies that finished are reported", len(out.Results))
		if len(out.Results) == 0 {
			msg = "interrupted before a policy finished"
		}
		if fileErr != nil {
			msg += "; " + fileErr.Error()
		}
		return interruptedError{msg}
	case stopErr != nil && fileErr != nil:
		return fmt.Errorf("%w; %v", stopErr, fileErr)
	case stopErr != nil:
		return stopErr
	}
	return fileErr
}

func printResults(w io.Writer, out *Output, asJSON bool) error {
	if asJSON {
		return json.NewEncoder(w).Encode(out)
	}
	return writeTable(w, out)
}

// overload notes an offered load above 1: the trace asks for more CPU than the cores have,
// so no schedule keeps up and what piles up is set by the trace's length.
func overload(load float64) string {
	if load > 1 {
		return " (overloaded: more CPU asked for than the cores supply)"
	}
	return ""
}

func writeTable(w io.Writer, o *Output) error {
	fmt.Fprintf(w, "trace: %d invocations, %d functions, offered load %.3f on %d cores%s\n",
		o.Trace.Invocations, o.Trace.Functions, o.Trace.Utilization, o.Cores, overload(o.Trace.Utilization))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "policy\tcompleted\tmean_fct_ms\tp50_fct_ms\tp99_fct_ms\tmean_slowdown\tp99_slowdown\tshort_mean_fct_ms\tlong_p99_slowdown\tpreemptions\tctx_switches\t")
	for _, s := range o.Results {
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%.1f\t%.1f\t%.2f\t%.2f\t%.1f\t%.2f\t%d\t%d\t\n",
			s.Policy, s.Completed, s.MeanFCT, s.P50FCT, s.P99FCT, s.MeanSlowdown, s.P99Slowdown,
			s.ShortMeanFCT, s.LongP99Slowdown, s.Preemptions, s.ContextSwitches)
	}
	return tw.Flush()
}

// progress shows a bar on a terminal stderr once a run has lasted a second.
type progress struct {
	w     io.Writer
	name  string
	total int
	start time.Time
	tty   bool
	bar   *progressbar.ProgressBar
}

func newProgress(w io.Writer, name string, total int) *progress {
	return &progress{w: w, name: name, total: total, start: time.Now(), tty: cli.IsTerminal(w)}
}

func (p *progress) update(done int) {
	if !p.tty {
		return
	}
	if p.bar == nil {
		if time.Since(p.start) < time.Second {
			return
		}
		p.bar = progressbar.NewOptions(p.total, progressbar.OptionSetWriter(p.w),
			progressbar.OptionSetDescription(p.name), progressbar.OptionShowCount(),
			progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish())
	}
	p.bar.Set(done)
}

func (p *progress) finish() {
	if p.bar != nil {
		p.bar.Finish()
	}
}
