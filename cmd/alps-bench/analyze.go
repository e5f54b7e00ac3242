package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/alps-sched/alps/cmd/internal/cli"
	"github.com/alps-sched/alps/experiments/analysis"
	"github.com/alps-sched/alps/experiments/loadgen"
	"github.com/alps-sched/alps/experiments/workload"
	"github.com/alps-sched/alps/frontend"
	"github.com/alps-sched/alps/sim/trace"
)

// schedulers are the experiment's runs, in table order.
var schedulers = []string{"default", "vtime", "alps"}

// Layout of a runs directory (what the runner brings back from the VMs):
//
//	DIR/plan.csv                  the trace replayed by every run
//	DIR/<scheduler>/results.csv   the load generator's results
//	DIR/<scheduler>/ejections     how many times the kernel ejected the scheduler
//	DIR/alps/frontend.json        the daemon's figures (alps-frontend --stats-file)
const (
	planFile      = "plan.csv"
	resultsFile   = "results.csv"
	ejectionsFile = "ejections"
	frontendFile  = "frontend.json"
)

func analyzeCmd(app *cli.App) *cobra.Command {
	var dir, out string
	var short bool
	cmd := &cobra.Command{
		Use:   "analyze",
		Short: "Summarise the runs beside the simulator's prediction, write latest.json and figures, check the targets",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dir == "" {
				return cli.Usagef("--dir is required")
			}
			return analyze(app, dir, out, short)
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "dir", "", "runs directory (see alps-bench run)")
	f.StringVar(&out, "out", "experiments/results", "where latest.json, prediction.json and the figures go")
	f.BoolVar(&short, "short", false, "the short run: gate only on 0 lost, 0 ejections and the loop closing (its ratios are reported, too noisy to gate)")
	return cmd
}

func analyze(app *cli.App, dir, out string, short bool) error {
	tr, err := trace.ReadCSVFile(filepath.Join(dir, planFile))
	if err != nil {
		return err
	}
	var sum analysis.Summary
	var series []analysis.Series
	for _, name := range schedulers {
		path := filepath.Join(dir, name, resultsFile)
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("run %s: %w", name, err)
		}
		rs, err := loadgen.ReadResults(f, path)
		f.Close()
		if err != nil {
			return err
		}
		ej, err := readCount(filepath.Join(dir, name, ejectionsFile))
		if err != nil {
			return err
		}
		o := analysis.FromResults(rs)
		sum.Schedulers = append(sum.Schedulers, analysis.Summarize(name, o, ej))
		series = append(series, analysis.Series{Name: name, Outcomes: o})
	}
	fe, err := readFrontendStats(filepath.Join(dir, "alps", frontendFile))
	if err != nil {
		return err
	}
	sum.Frontend = analysis.Frontend{CPUPercent: fe.CPUPercent, UpdateP99Ms: fe.UpdateP99Ms, UpdateFirstMs: fe.UpdateFirstMs,
		Records: fe.Records, Updates: fe.Updates}
	cores, coresNote, err := simulatedCores(filepath.Join(dir, "cal.json"))
	if err != nil {
		return err
	}
	predicted, outs, err := analysis.Predict(tr, cores, app.Config())
	if err != nil {
		return err
	}
	var nominal []analysis.Scheduler // on the vCPU count, when that is not what was simulated
	if cores != guestCPUs {
		if nominal, _, err = analysis.Predict(tr, guestCPUs, app.Config()); err != nil {
			return err
		}
	}
	for _, p := range predicted {
		series = append(series, analysis.Series{Name: p.Name, Outcomes: outs[p.Name], Dashed: true})
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	if err := analysis.WriteJSON(filepath.Join(out, "latest.json"), sum); err != nil {
		return err
	}
	if err := analysis.WriteJSON(filepath.Join(out, "prediction.json"), analysis.Summary{Schedulers: predicted}); err != nil {
		return err
	}
	if err := analysis.PlotAll(out, series); err != nil {
		return fmt.Errorf("figures: %w", err)
	}
	var table bytes.Buffer
	fmt.Fprintf(&table, "trace: %d invocations, %d functions, %.1fs, load %.2f on %d simulated CPUs (%s)\n",
		len(tr.Inv), len(tr.Functions), float64(tr.Span())/1e9, tr.Utilization(cores), cores, coresNote)
	analysis.WriteTable(&table, sum.Schedulers, predicted, sum.Frontend)
	if pd, ok := analysis.Find(nominal, "default"); ok && pd.MeanFCTMs > 0 {
		pa, _ := analysis.Find(nominal, "alps")
		fmt.Fprintf(&table, "simulated on the %d vCPUs instead: default mean FCT %.1f ms, alps/default %.2f (the guest cannot run them at once)\n",
			guestCPUs, pd.MeanFCTMs, pa.MeanFCTMs/pd.MeanFCTMs)
	}
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

// simulatedCores is how many CPUs the simulator gets for the prediction: the CPUs the guest
// delivers at once, as the calibration measured them (under single-threaded TCG the 2 vCPUs
// take turns on one host thread: about 1), rounded, within 1..guestCPUs. A calibration
// without that measurement gives the vCPU count.
func simulatedCores(calPath string) (int, string, error) {
	cal, err := workload.ReadCalibration(calPath)
	if errors.Is(err, os.ErrNotExist) {
		return guestCPUs, fmt.Sprintf("the %d vCPUs; no calibration in the runs", guestCPUs), nil
	}
	if err != nil {
		return 0, "", err
	}
	if cal.EffectiveCPUs <= 0 {
		return guestCPUs, fmt.Sprintf("the %d vCPUs; the calibration did not measure how many run at once", guestCPUs), nil
	}
	n := min(max(int(math.Round(cal.EffectiveCPUs)), 1), guestCPUs)
	return n, fmt.Sprintf("the %d vCPUs deliver %.2f CPUs at once, measured by calibrate", guestCPUs, cal.EffectiveCPUs), nil
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
