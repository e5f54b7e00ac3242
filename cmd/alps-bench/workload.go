package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/alps-sched/alps/cmd/internal/cli"
	"github.com/alps-sched/alps/experiments/loadgen"
	"github.com/alps-sched/alps/experiments/workload"
	"github.com/alps-sched/alps/sim"
	"github.com/alps-sched/alps/sim/trace"
)

func calibrateCmd(app *cli.App) *cobra.Command {
	var payload, out string
	var target time.Duration
	var rounds int
	cmd := &cobra.Command{
		Use:   "calibrate",
		Short: "Measure work units per millisecond of CPU and the cost of a payload process on this machine",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if rounds <= 0 || target <= 0 {
				return cli.Usagef("--rounds and --target must be > 0")
			}
			c, err := workload.Calibrate(target, rounds, payload)
			if err != nil {
				return err
			}
			fmt.Fprintf(app.Stdout(), "calibration: %.1f units/ms, payload process %.2f ms of CPU\n", c.UnitsPerMs, c.SpawnMs)
			if out != "" {
				return workload.WriteCalibration(out, c)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&payload, "payload", "", "alps-payload binary whose process cost to measure (empty: skip)")
	f.StringVar(&out, "out", "", "write the calibration as JSON here")
	f.DurationVar(&target, "target", 50*time.Millisecond, "CPU time of one measuring round")
	f.IntVar(&rounds, "rounds", 5, "rounds (the median is kept)")
	return cmd
}

// planOptions shape the experiment's trace.
type planOptions struct {
	calibration string
	invocations int
	functions   int
	cores       int
	load        float64
	ioFraction  float64
	span        time.Duration
	minDemand   time.Duration
	maxDemand   time.Duration
	seed        uint64
	out         string
}

func planCmd(app *cli.App) *cobra.Command {
	var o planOptions
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Generate the experiment's Azure-like trace, shaped to this machine (write a CSV trace)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.invocations < 2 {
				return cli.Usagef("--invocations: must be >= 2, got %d", o.invocations)
			}
			tr, note, err := makePlan(o)
			if err != nil {
				return err
			}
			if note != "" {
				fmt.Fprintln(app.Stderr(), "plan: "+note)
			}
			f, err := os.Create(o.out)
			if err != nil {
				return err
			}
			defer f.Close()
			if err := trace.WriteCSV(f, tr); err != nil {
				return fmt.Errorf("%s: %w", o.out, err)
			}
			lo, hi := demandRange(tr)
			fmt.Fprintf(app.Stdout(), "plan: %d invocations of %d functions over %.1fs, load %.2f on %d cores, demand %.1f..%.1f ms\n",
				len(tr.Inv), invokedFunctions(tr), float64(tr.Span())/1e9, tr.Utilization(o.cores), o.cores, lo, hi)
			return f.Close()
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.calibration, "calibration", "", "calibration file: demands are kept above 1.5x the payload process cost")
	f.IntVar(&o.invocations, "invocations", 600, "invocations")
	f.IntVar(&o.functions, "functions", 24, "distinct functions")
	f.IntVar(&o.cores, "cores", 2, "cores the load is relative to")
	f.Float64Var(&o.load, "load", 0.85, "offered CPU load per core")
	f.Float64Var(&o.ioFraction, "io-fraction", 0.1, "fraction of I/O-bound functions")
	f.DurationVar(&o.span, "span", 40*time.Second, "time over which the invocations arrive")
	f.DurationVar(&o.minDemand, "min-demand", 5*time.Millisecond, "smallest demand (raised to 1.5x the process cost)")
	f.DurationVar(&o.maxDemand, "max-demand", 3*time.Second, "largest demand")
	f.Uint64Var(&o.seed, "seed", 1, "random seed")
	f.StringVar(&o.out, "out", "plan.csv", "trace CSV to write")
	return cmd
}

// invokedFunctions counts the functions of tr that have at least one invocation (the CSV
// names only those).
func invokedFunctions(tr *sim.Trace) int {
	seen := map[uint32]bool{}
	for _, in := range tr.Inv {
		seen[in.Func] = true
	}
	return len(seen)
}

// demandRange returns the smallest and largest CPU demand of tr in ms.
func demandRange(tr *sim.Trace) (lo, hi float64) {
	lo = math.Inf(1)
	for _, in := range tr.Inv {
		lo, hi = math.Min(lo, float64(in.CPU)/1e6), math.Max(hi, float64(in.CPU)/1e6)
	}
	return lo, hi
}

// minDemandShare is the most of the offered CPU the invocations' smallest demands may take
// together: past it most demands sit on the floor and the trace loses its heavy tail.
const minDemandShare = 1 / 1.5

// makePlan generates and shapes the trace. Demands stay above 1.5x the payload process cost,
// and when the machine is so slow (a loaded host under emulation) that the invocations at
// that floor would take more than minDemandShare of the offered CPU, the span is stretched
// (note says so) rather than the trace refused: the load and the invocation count are what
// the experiment is about.
func makePlan(o planOptions) (tr *sim.Trace, note string, err error) {
	min := o.minDemand
	if o.calibration != "" {
		c, err := workload.ReadCalibration(o.calibration)
		if err != nil {
			return nil, "", err
		}
		if d := time.Duration(1.5 * c.SpawnMs * float64(time.Millisecond)); d > min {
			min = d
		}
	}
	span := o.span
	floor := float64(o.invocations) * float64(min) / (o.load * float64(o.cores))
	if need := time.Duration(floor / minDemandShare).Round(time.Second); float64(span)*minDemandShare < floor {
		note = fmt.Sprintf("the smallest demand is %v here (1.5x the payload process cost or --min-demand): the invocations span %v instead of %v to offer load %.2f",
			min.Round(100*time.Microsecond), need, span, o.load)
		span = need
	}
	raw, err := trace.Generate(trace.GenOptions{Functions: o.functions, Invocations: o.invocations, Cores: o.cores,
		Load: o.load, IOFraction: o.ioFraction, Seed: o.seed})
	if err != nil {
		return nil, "", err
	}
	tr, err = loadgen.Shape(raw, o.cores, o.load, int64(span), int64(min), int64(o.maxDemand))
	return tr, note, err
}

func loadgenCmd(app *cli.App) *cobra.Command {
	var tracePath, calPath, out string
	var cfg loadgen.Config
	cmd := &cobra.Command{
		Use:   "loadgen",
		Short: "Replay a trace with real payload processes, each in its function's cgroup under its function's name",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if tracePath == "" || calPath == "" || cfg.Payload == "" {
				return cli.Usagef("--trace, --calibration and --payload are required")
			}
			tr, err := trace.ReadCSVFile(tracePath)
			if err != nil {
				return err
			}
			plan, err := loadgen.FromTrace(tr)
			if err != nil {
				return fmt.Errorf("%s: %w", tracePath, err)
			}
			if cfg.Calibration, err = workload.ReadCalibration(calPath); err != nil {
				return err
			}
			return replay(cmd.Context(), app, plan, cfg, out)
		},
	}
	f := cmd.Flags()
	f.StringVar(&tracePath, "trace", "", "CSV trace to replay")
	f.StringVar(&calPath, "calibration", "", "calibration file (alps-bench calibrate)")
	f.StringVar(&cfg.Payload, "payload", "", "alps-payload binary")
	f.StringVar(&cfg.LinkDir, "links", os.TempDir()+"/alps-functions", "directory for the per-function links to the payload")
	f.StringVar(&cfg.CgroupRoot, "cgroup-root", "", "cgroup v2 directory for the per-function cgroups (empty: none)")
	f.DurationVar(&cfg.Drain, "drain", time.Minute, "wait this long after the last arrival before killing what runs (lost)")
	f.StringVar(&out, "out", "results.csv", "results CSV to write")
	return cmd
}

func replay(ctx context.Context, app *cli.App, plan loadgen.Plan, cfg loadgen.Config, out string) error {
	t0 := time.Now()
	rs, err := loadgen.Run(ctx, plan, cfg)
	if err != nil {
		return err
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := loadgen.WriteResults(f, rs); err != nil {
		return fmt.Errorf("%s: %w", out, err)
	}
	lost := 0
	for _, r := range rs {
		if r.Lost {
			lost++
		}
	}
	fmt.Fprintf(app.Stdout(), "loadgen: %d invocations, %d lost, in %.1fs\n", len(rs), lost, time.Since(t0).Seconds())
	return f.Close()
}
