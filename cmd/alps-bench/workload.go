package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/alps-sched/alps/cmd/internal/cli"
	"github.com/alps-sched/alps/experiments/loadgen"
	"github.com/alps-sched/alps/experiments/plan"
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
			fmt.Fprintf(app.Stdout(), "calibration: %.1f units/ms, payload process %.2f ms of CPU (+%.2f ms outside it), sharing +%.1f%% CPU (%.1f us per preemption), %d CPUs delivering %.2f at once, base slice %.2f ms (%.2f ms run per preemption)\n",
				c.UnitsPerMs, c.SpawnMs, c.ProcessOverheadMs, 100*c.ShareOverhead, c.SwitchUs, c.CPUs, c.EffectiveCPUs, c.SliceMs, c.RunMs)
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
	plan.Options
	calibration string
	out         string
}

func planCmd(app *cli.App) *cobra.Command {
	var o planOptions
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Generate the experiment's trace (tens of functions, demands over decades, bursts; a CSV trace)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tr, err := makePlan(o)
			if err != nil {
				return err
			}
			f, err := os.Create(o.out)
			if err != nil {
				return err
			}
			defer f.Close()
			if err := trace.WriteCSV(f, tr); err != nil {
				return fmt.Errorf("%s: %w", o.out, err)
			}
			fmt.Fprintf(app.Stdout(), "plan: %s on %d cores\n", plan.Summarize(tr, o.Cores), o.Cores)
			return f.Close()
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.calibration, "calibration", "", "calibration file: demands stay above 1.5x its payload process cost")
	f.DurationVar(&o.Span, "span", 40*time.Second, "time over which the invocations arrive (their number follows)")
	f.IntVar(&o.Invocations, "invocations", 0, "if > 0: this many invocations, the span following from the load")
	f.IntVar(&o.Functions, "functions", plan.DefaultFunctions, "distinct functions (each invoked at least twice)")
	f.IntVar(&o.Cores, "cores", 1, "cores the load is relative to")
	f.Float64Var(&o.Load, "load", 0.7, "offered CPU load per core")
	f.DurationVar(&o.MinDemand, "min-demand", 3*time.Millisecond, "smallest demand (raised to 1.5x the payload process cost)")
	f.DurationVar(&o.MaxDemand, "max-demand", 3*time.Second, "largest demand")
	f.Float64Var(&o.Decades, "decades", plan.DefaultDecades, "function medians spread over this many decades above the smallest demand")
	f.Float64Var(&o.HeavyFraction, "heavy", plan.DefaultHeavyFraction, "fraction of functions with heavy-tailed (Pareto) demands")
	f.Float64Var(&o.IOShare, "io-share", plan.DefaultIOShare, "share of invocations that are I/O-bound")
	f.Uint64Var(&o.Seed, "seed", 1, "random seed")
	f.StringVar(&o.out, "out", "plan.csv", "trace CSV to write")
	return cmd
}

// makePlan generates the trace, its demands below 1.5x the payload process cost of the
// calibration, if any, raised to it (below that an invocation would be mostly process start)
// and its arrivals stretched by the CPU that added, so that the offered load stays the
// requested one. The draw itself does not depend on the calibration: a plan is the same
// invocations of the same functions in the same order whatever the guest measured, only its
// smallest demands and its span move.
func makePlan(o planOptions) (*sim.Trace, error) {
	var floor int64
	if o.calibration != "" {
		c, err := workload.ReadCalibration(o.calibration)
		if err != nil {
			return nil, err
		}
		floor = int64(1.5 * c.SpawnMs * float64(time.Millisecond))
	}
	tr, err := plan.Generate(o.Options)
	if err != nil {
		return nil, cli.Usagef("plan: %v", err)
	}
	raiseFloor(tr, floor)
	return tr, nil
}

// raiseFloor raises every demand below floor to it and stretches the arrivals in proportion
// to the CPU added.
func raiseFloor(tr *sim.Trace, floor int64) {
	var before, after float64
	for i := range tr.Inv {
		in := &tr.Inv[i]
		before += float64(in.CPU)
		in.CPU = max(in.CPU, floor)
		after += float64(in.CPU)
	}
	if after <= before {
		return
	}
	k := after / before
	for i := range tr.Inv {
		tr.Inv[i].Arrival = int64(float64(tr.Inv[i].Arrival) * k)
	}
}

func loadgenCmd(app *cli.App) *cobra.Command {
	var tracePath, calPath, out, statsPath string
	var rt int
	var warm bool
	var cfg loadgen.WarmConfig
	cmd := &cobra.Command{
		Use:   "loadgen",
		Short: "Replay a trace with real payload processes (or warm workers), each in its function's cgroup under its function's name",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if tracePath == "" || calPath == "" || (!warm && cfg.Payload == "") || (warm && cfg.Worker == "") {
				return cli.Usagef("--trace, --calibration and --payload (with --warm: --worker) are required")
			}
			if cfg.Threads < 1 || cfg.Threads > 4096 {
				return cli.Usagef("--worker-threads: must be in [1, 4096], got %d", cfg.Threads)
			}
			if rt < 0 || rt > 99 {
				return cli.Usagef("--realtime: must be in [0, 99], got %d", rt)
			}
			if rt > 0 {
				if err := becomeRealtime(rt); err != nil {
					return err
				}
			}
			tr, err := trace.ReadCSVFile(tracePath)
			if err != nil {
				return err
			}
			p, err := loadgen.FromTrace(tr)
			if err != nil {
				return fmt.Errorf("%s: %w", tracePath, err)
			}
			if cfg.Calibration, err = workload.ReadCalibration(calPath); err != nil {
				return err
			}
			run := func(ctx context.Context) ([]loadgen.Result, loadgen.Stats, error) {
				return loadgen.Run(ctx, p, cfg.Config)
			}
			if warm {
				run = func(ctx context.Context) ([]loadgen.Result, loadgen.Stats, error) {
					return loadgen.RunWarm(ctx, p, cfg)
				}
			}
			return replay(cmd.Context(), app, run, out, statsPath)
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
	f.StringVar(&statsPath, "stats", "", "also write the machine's utilisation during the replay here (JSON)")
	f.BoolVar(&warm, "warm", false, "warm mode: one long-lived worker per function (--worker) serves its invocations as requests, marking their boundaries")
	f.StringVar(&cfg.Worker, "worker", "", "alps-worker binary (--warm)")
	f.StringVar(&cfg.Map, "invocation-map", "", "with --warm: the workers register their threads in the alps invocation map pinned here (empty: unregistered)")
	f.IntVar(&cfg.Threads, "worker-threads", 64, "with --warm: the most invocations one worker serves at once")
	f.IntVar(&rt, "realtime", 0, "if > 0, run at this SCHED_FIFO priority (root) so that arrivals are on time whatever the scheduler under test does; the payloads return to the normal class at their first instruction")
	return cmd
}

// replay runs a replay and writes its results and stats.
func replay(ctx context.Context, app *cli.App, run func(context.Context) ([]loadgen.Result, loadgen.Stats, error), out, statsPath string) error {
	t0 := time.Now()
	rs, st, err := run(ctx)
	if err != nil {
		return err
	}
	if statsPath != "" {
		data, err := json.MarshalIndent(st, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(statsPath, append(data, '\n'), 0o644); err != nil {
			return err
		}
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
	fmt.Fprintf(app.Stdout(), "loadgen: %d invocations, %d lost, in %.1fs; CPUs %.0f%% busy over the arrivals, %.0f%% until the last end\n",
		len(rs), lost, time.Since(t0).Seconds(), 100*st.UtilSpan, 100*st.UtilWall)
	if w := st.StartWait; w != nil {
		fmt.Fprintf(app.Stdout(), "loadgen: requests waited for their start mark p50 %.2f, p90 %.2f, p99 %.2f, max %.2f ms\n", w.P50, w.P90, w.P99, w.Max)
	}
	return f.Close()
}

// becomeRealtime makes this process SCHED_FIFO at priority prio: it sets the policy of the
// calling thread and re-executes the program from it, so that every thread of the new image
// (the Go runtime's included) inherits the policy, and so does every process it starts. It
// returns at once if the process already runs SCHED_FIFO.
func becomeRealtime(prio int) error {
	if a, err := unix.SchedGetAttr(0, 0); err == nil && a.Policy == unix.SCHED_FIFO {
		return nil
	}
	runtime.LockOSThread()
	attr := &unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_FIFO, Priority: uint32(prio)}
	if err := unix.SchedSetAttr(0, attr, 0); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("--realtime: SCHED_FIFO: %w (needs root or CAP_SYS_NICE)", err)
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("--realtime: %w", err)
	}
	return fmt.Errorf("--realtime: re-executing %s: %w", exe, syscall.Exec(exe, os.Args, os.Environ()))
}
