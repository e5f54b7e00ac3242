// Command alps-bench runs the end-to-end experiment of alps: it calibrates the workload,
// shapes a trace, replays it with real processes, boots the VM once per scheduler, and
// analyses the runs beside the simulator's prediction.
//
//	alps-bench calibrate --payload PATH --out cal.json
//	alps-bench plan      --calibration cal.json --invocations N --span 40s --out plan.csv
//	alps-bench loadgen   --trace plan.csv --calibration cal.json --payload PATH --out results.csv
//	alps-bench analyze   --dir RUNS --out experiments/results [--short]
//	alps-bench run       [--short] --out experiments/results      (the whole experiment, in the VM)
//	alps-bench experiment --runs DIR --out experiments/results     (run at several loads and seeds)
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/alps-sched/alps/cmd/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	app, err := cli.New("alps-bench", "The alps end-to-end experiment: default vs vtime vs alps on real processes")
	if err != nil {
		os.Stderr.WriteString("alps-bench: " + err.Error() + "\n")
		os.Exit(cli.ExitFailure)
	}
	root := app.Root()
	root.AddCommand(calibrateCmd(app), planCmd(app), loadgenCmd(app), analyzeCmd(app), runCmd(app), experimentCmd(app))
	os.Exit(app.Execute(ctx, os.Args[1:]))
}
