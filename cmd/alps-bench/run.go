package main

import (
	"github.com/spf13/cobra"

	"github.com/alps-sched/alps/cmd/internal/cli"
)

func runCmd(app *cli.App) *cobra.Command {
	return &cobra.Command{Use: "run", Short: "The whole experiment in the VM (not yet)", Hidden: true}
}
