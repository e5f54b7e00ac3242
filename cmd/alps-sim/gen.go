package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/alps-sched/alps/cmd/internal/cli"
	"github.com/alps-sched/alps/cmd/internal/outfile"
	"github.com/alps-sched/alps/sim/trace"
)

func newGenCmd(app *cli.App) (*cobra.Command, error) {
	o := trace.GenOptions{Arrivals: trace.ArrivalsAzure}
	var out, pareto string
	cmd := &cobra.Command{
		Use:   "gen",
		Short: "Generate a synthetic Azure-like trace (CSV)",
		Long: `Generate a synthetic trace shaped by the published Azure Functions 2019 distributions
(log-normal function durations, log-normal popularity) whose CPU demand averaged over the span
is exactly --load of --cores cores. Writes the CSV trace format alps-sim run --trace reads.

Arrivals (--arrivals azure, the default) are bursty as in the Azure trace: each function has a
trigger with the published shares (% functions / % invocations: HTTP 55/36, queue 15/34,
event 2/25, timer 16/2, other 12/3); a function's rate varies minute to minute by gamma
multipliers whose coefficient of variation is --burstiness (0: steady); queue and event
invocations arrive in batches of mean size --batch; timers fire periodically at a fixed second
of the minute (half of them at second 0); HTTP and other invocations arrive at uniform seconds
within their minute. --arrivals poisson spreads all invocations uniformly over the span.
--pareto-shape A:B makes each function's demand Pareto (shape uniform in [A, B], the same
mean) instead of log-normal: heavy tails within functions.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if pareto != "" {
				a, b, ok := strings.Cut(pareto, ":")
				x, err1 := strconv.ParseFloat(a, 64)
				y, err2 := strconv.ParseFloat(b, 64)
				if !ok || err1 != nil || err2 != nil {
					return cli.UsageError(fmt.Errorf("--pareto-shape: %q is not A:B", pareto))
				}
				o.ParetoShape = [2]float64{x, y}
			}
			toFile := out != "" && out != "-"
			if toFile {
				if err := outfile.Check(out); err != nil {
					return fmt.Errorf("--out: %w", err)
				}
			}
			tr, err := trace.Generate(o)
			if err != nil {
				return cli.UsageError(err)
			}
			write := func(w io.Writer) error { return trace.WriteCSV(w, tr) }
			if toFile {
				// Written whole or not at all: a full disk leaves no truncated trace.
				err = outfile.Write(out, 0o644, write)
			} else {
				err = write(app.Stdout())
			}
			if err != nil {
				return fmt.Errorf("--out %s: %w", out, err)
			}
			app.Log().Info().Int("invocations", len(tr.Inv)).Int("functions", len(tr.Functions)).
				Float64("offered_load", tr.Utilization(o.Cores)).Str("out", out).Msg("generated")
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.Functions, "functions", 200, "number of distinct functions")
	f.Float64Var(&o.Minutes, "minutes", 10, "span of the arrivals (minutes)")
	f.IntVar(&o.Cores, "cores", 16, "cores the load is relative to")
	f.Float64Var(&o.Load, "load", 0.85, "offered CPU load per core, in (0, 1.5]")
	f.Float64Var(&o.IOFraction, "io-fraction", 0, "fraction of functions that block on I/O, in [0, 1]")
	f.Uint64Var(&o.Seed, "seed", 1, "random seed")
	f.Var(&o.Arrivals, "arrivals", "arrival model: azure (triggers, bursts, batches, timers) or poisson")
	f.Float64Var(&o.Burstiness, "burstiness", trace.DefaultBurstiness,
		"azure arrivals: coefficient of variation of a function's per-minute rate, in [0, 5]")
	f.Float64Var(&o.Batch, "batch", trace.DefaultBatch, "azure arrivals: mean batch size of queue and event triggers, in [1, 1000]")
	f.StringVar(&pareto, "pareto-shape", "", "A:B: Pareto demand within each function, shape uniform in [A, B] (1 < A <= B <= 10)")
	f.StringVar(&out, "out", "-", "output CSV file (- for stdout)")
	return cmd, nil
}
