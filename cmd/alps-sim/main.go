// Command alps-sim is alps's offline scheduling simulator: it runs traces (alps CSV, the
// Azure Functions 2019 trace, or synthetic ones it generates) through the policies of
// package sim and reports completion-time figures.
//
//	alps-sim run --trace FILE --cores 16 --policies srpt,fifo,cfs,sfs,vtime [--json] [--out DIR]
//	alps-sim run --azure DIR --day 1 --minutes 1-60 --downscale 10 --seed 1 --cores 16
//	alps-sim gen --functions 200 --minutes 10 --cores 16 --load 0.85 --out trace.csv
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/alps-sched/alps/cmd/internal/cli"
)

// subcommands of alps-sim; adding one is one line here.
var subcommands = []func(*cli.App) (*cobra.Command, error){
	newRunCmd,
	newGenCmd,
	newTuneCmd,
}

func newApp() (*cli.App, error) {
	app, err := cli.New("alps-sim", "Offline scheduling simulator for serverless invocations")
	if err != nil {
		return nil, err
	}
	for _, sub := range subcommands {
		cmd, err := sub(app)
		if err != nil {
			return nil, err
		}
		app.Root().AddCommand(cmd)
	}
	return app, nil
}

func main() {
	app, err := newApp()
	if err != nil {
		fmt.Fprintf(os.Stderr, "alps-sim: %v\n", err)
		os.Exit(cli.ExitInternal)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// The first signal stops the work and keeps what was computed; a second one kills.
	context.AfterFunc(ctx, stop)
	code := app.Execute(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}
