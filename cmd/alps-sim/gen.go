package main

import (
	"bufio"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/alps-sched/alps/cmd/internal/cli"
	"github.com/alps-sched/alps/srpt/trace"
)

func newGenCmd(app *cli.App) (*cobra.Command, error) {
	var o trace.GenOptions
	var out string
	cmd := &cobra.Command{
		Use:   "gen",
		Short: "Generate a synthetic Azure-like trace (CSV)",
		Long: `Generate a synthetic trace shaped by the published Azure Functions 2019 distributions
(log-normal function durations, log-normal popularity, Poisson arrivals) whose CPU demand is
--load of --cores cores. Writes the CSV trace format alps-sim run --trace reads.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tr, err := trace.Generate(o)
			if err != nil {
				return cli.UsageError(err)
			}
			w := app.Stdout()
			if out != "" && out != "-" {
				f, err := os.Create(out)
				if err != nil {
					return fmt.Errorf("--out: %w", err)
				}
				defer f.Close()
				w = f
			}
			bw := bufio.NewWriterSize(w, 1<<20)
			if err := trace.WriteCSV(bw, tr); err != nil {
				return fmt.Errorf("writing %s: %w", out, err)
			}
			if err := bw.Flush(); err != nil {
				return fmt.Errorf("writing %s: %w", out, err)
			}
			app.Log().Info().Int("invocations", len(tr.Inv)).Int("functions", len(tr.Functions)).
				Float64("utilization", tr.Utilization(o.Cores)).Str("out", out).Msg("generated")
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
	f.StringVar(&out, "out", "-", "output CSV file (- for stdout)")
	return cmd, nil
}
