package main

import (
	"bytes"
	"cmp"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/alps-sched/alps/cmd/internal/cli"
	"github.com/alps-sched/alps/experiments/analysis"
)

// experimentOptions are alps-bench experiment's flags.
type experimentOptions struct {
	runOptions
	loads       []float64
	seeds       []uint
	analyzeOnly bool
}

// pointDir is the runs directory of one load and seed: DIR/load-0.70/seed-1.
func pointDir(runs string, load float64, seed uint) string {
	return filepath.Join(runs, fmt.Sprintf("load-%.2f", load), "seed-"+strconv.FormatUint(uint64(seed), 10))
}

func experimentCmd(app *cli.App) *cobra.Command {
	var o experimentOptions
	cmd := &cobra.Command{
		Use:   "experiment",
		Short: "The experiment over loads and seeds: alps-bench run at each load and seed (a plan each), then a table and figures against load",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(o.loads) == 0 || len(o.seeds) == 0 {
				return cli.Usagef("--loads and --seeds: need at least one each")
			}
			for _, l := range o.loads {
				if !(l > 0 && l <= 2) {
					return cli.Usagef("--loads: %g is not in (0, 2]", l)
				}
			}
			if o.rounds < 1 {
				return cli.Usagef("--rounds: must be >= 1, got %d", o.rounds)
			}
			if o.runs == "" {
				return cli.Usagef("--runs is required (the experiment resumes from it)")
			}
			if !o.analyzeOnly {
				env, err := shellEnv(o.feEnv)
				if err != nil {
					return err
				}
				bins, err := buildGuestBinaries(false)
				if err != nil {
					return err
				}
				for _, l := range o.loads {
					for _, s := range o.seeds {
						po := o.runOptions
						po.load, po.seed, po.runs = l, uint64(s), pointDir(o.runs, l, s)
						if err := os.MkdirAll(po.runs, 0o755); err != nil {
							return err
						}
						fmt.Fprintf(app.Stderr(), "experiment: load %.2f seed %d\n", l, s)
						if err := bootAll(cmd, app, po, schedulers, bins, env); err != nil {
							return err
						}
					}
				}
			}
			return experimentReport(app, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.out, "out", "experiments/results", "where experiment.json, experiment.txt and the figures go")
	f.StringVar(&o.runs, "runs", "", "runs directory (required): DIR/load-L/seed-S/ per point, resumed where runs are missing")
	f.StringVar(&o.kernel, "kernel", "", "sched_ext kernel to boot (default: the cached one)")
	f.IntVar(&o.rounds, "rounds", 1, "runs per scheduler at each point")
	f.Float64SliceVar(&o.loads, "loads", []float64{0.5, 0.7, 0.85, 0.95}, "offered loads")
	f.UintSliceVar(&o.seeds, "seeds", []uint{1, 2, 3}, "plan seeds at each load")
	f.DurationVar(&o.span, "span", 0, "arrivals' span of each plan (default 40 s)")
	f.IntVar(&o.nice, "vm-nice", -20, "run qemu at this nice value in its own session (root; 0: as this process)")
	f.StringSliceVar(&o.feEnv, "frontend-env", nil, "KEY=VALUE environment of alps-frontend in the guest")
	f.BoolVar(&o.analyzeOnly, "analyze", false, "boot nothing: report on the runs already there")
	return cmd
}

// point is one load's figures for one scheduler: per seed, the measured median over rounds
// and the prediction.
type point struct {
	Load      float64   `json:"load"`
	Scheduler string    `json:"scheduler"`
	Seeds     []uint    `json:"seeds"`
	MeanFCTMs []float64 `json:"mean_fct_ms"` // per seed
	ShortMs   []float64 `json:"short_mean_fct_ms"`
	LongP99SD []float64 `json:"long_p99_slowdown"`
	PredMean  []float64 `json:"predicted_mean_fct_ms"`
	PredShort []float64 `json:"predicted_short_mean_fct_ms"`
	PredLong  []float64 `json:"predicted_long_p99_slowdown"`
	GuestUtil []float64 `json:"guest_util"` // measured busy fraction over the arrivals, per seed (median over rounds)
	// OnCPUMs is the simulator's mean FCT with every invocation costing the CPU it was
	// measured to use: the scheduling model alone, without the cost model (per seed).
	OnCPUMs   []float64 `json:"on_measured_cpu_mean_fct_ms,omitempty"`
	Lost      int       `json:"lost"`
	Ejections int       `json:"ejections"`
}

// experimentReport gathers every point there is in o.runs, writes experiment.json,
// experiment.txt and the figures, and prints the table.
func experimentReport(app *cli.App, o experimentOptions) error {
	var pts []point
	for _, l := range o.loads {
		byName := map[string]*point{}
		for _, s := range o.seeds {
			dir := pointDir(o.runs, l, s)
			if !exists(filepath.Join(dir, planFile)) {
				continue
			}
			c, err := collect(app.Config(), dir, filepath.Join(dir, "out"), schedulers)
			if err != nil {
				fmt.Fprintf(app.Stderr(), "experiment: load %.2f seed %d left out: %v\n", l, s, err)
				continue
			}
			for _, r := range c.sum.Schedulers {
				p := byName[r.Name]
				if p == nil {
					p = &point{Load: l, Scheduler: r.Name}
					byName[r.Name] = p
				}
				pr, _ := analysis.Find(c.predicted, r.Name)
				p.Seeds = append(p.Seeds, s)
				p.MeanFCTMs, p.ShortMs, p.LongP99SD = append(p.MeanFCTMs, r.MeanFCTMs), append(p.ShortMs, r.ShortMeanFCTMs), append(p.LongP99SD, r.LongP99Slowdown)
				p.PredMean, p.PredShort, p.PredLong = append(p.PredMean, pr.MeanFCTMs), append(p.PredShort, pr.ShortMeanFCTMs), append(p.PredLong, pr.LongP99Slowdown)
				p.GuestUtil = append(p.GuestUtil, analysis.Median(r.GuestUtilRuns))
				if len(r.OnMeasuredCPUMeanFCTMsRuns) > 0 {
					p.OnCPUMs = append(p.OnCPUMs, analysis.Median(r.OnMeasuredCPUMeanFCTMsRuns))
				}
				p.Lost += r.Lost
				p.Ejections += r.Ejections
			}
		}
		for _, name := range schedulers {
			if p := byName[name]; p != nil {
				pts = append(pts, *p)
			}
		}
	}
	if len(pts) == 0 {
		return fmt.Errorf("experiment: no complete point in %s", o.runs)
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	if err := analysis.WriteJSON(filepath.Join(o.out, "experiment.json"), pts); err != nil {
		return err
	}
	var b bytes.Buffer
	writeExperimentTable(&b, pts)
	app.Stdout().Write(b.Bytes())
	if err := os.WriteFile(filepath.Join(o.out, "experiment.txt"), b.Bytes(), 0o644); err != nil {
		return err
	}
	return plotExperiment(o.out, pts)
}

// ratios are each seed's measured mean FCT over its prediction.
func (p point) ratios() []float64 { return over(p.MeanFCTMs, p.PredMean) }

// onCPURatios are each seed's measured mean FCT over its simulation on the measured CPU.
func (p point) onCPURatios() []float64 {
	if len(p.OnCPUMs) != len(p.MeanFCTMs) {
		return nil
	}
	return over(p.MeanFCTMs, p.OnCPUMs)
}

// over is a[i]/b[i] wherever b[i] > 0.
func over(a, b []float64) []float64 {
	var rs []float64
	for i := range a {
		if i < len(b) && b[i] > 0 {
			rs = append(rs, a[i]/b[i])
		}
	}
	return rs
}

// writeExperimentTable prints, per load and scheduler, the medians over seeds with their
// range, the predictions' medians, and each seed's measured mean FCT over its own
// prediction (median and range: the seeds' plans differ, so medians of the two need not
// pair the same seed).
func writeExperimentTable(w *bytes.Buffer, pts []point) {
	fmt.Fprintf(w, "%5s %-8s %5s %5s %24s %10s %18s %18s %22s %10s %18s %10s %6s\n", "load", "sched", "seeds", "lost",
		"mean_fct_ms [min-max]", "predicted", "meas/pred [range]", "meas/sched_model", "short_fct_ms [min-max]", "predicted", "long_p99_sd [range]", "predicted", "busy")
	var within, n int
	for _, p := range pts {
		rs := p.ratios()
		ratio := ""
		if len(rs) > 0 {
			ratio = rng2(rs)
			n++
			if r := analysis.Median(rs); r <= analysis.PredictionFactor && r >= 1/analysis.PredictionFactor {
				within++
			}
		}
		onCPU := ""
		if rs := p.onCPURatios(); len(rs) > 0 {
			onCPU = rng2(rs)
		}
		fmt.Fprintf(w, "%5.2f %-8s %5d %5d %24s %10.1f %18s %18s %22s %10.1f %18s %10.2f %6.2f\n", p.Load, p.Scheduler, len(p.Seeds), p.Lost+p.Ejections,
			rng(p.MeanFCTMs), analysis.Median(p.PredMean), ratio, onCPU, rng(p.ShortMs), analysis.Median(p.PredShort), rng(p.LongP99SD), analysis.Median(p.PredLong), analysis.Median(p.GuestUtil))
	}
	writeOrders(w, pts)
	fmt.Fprintf(w, "medians over seeds (each seed a plan of its own; lost counts lost invocations and ejections; meas/sched_model: measured over the simulation on each invocation's measured CPU, the scheduling model alone; busy: the CPU's measured utilisation over the arrivals); %d of %d within %.2fx of their prediction (median of the seeds' ratios)\n",
		within, n, analysis.PredictionFactor)
}

// writeOrders prints, per load and seed, the schedulers' order by measured mean FCT and by
// predicted mean FCT and, where they differ, how far apart the two closest predictions are.
func writeOrders(w *bytes.Buffer, pts []point) {
	same, n := 0, 0
	for i := 0; i < len(pts); {
		j := i
		for j < len(pts) && pts[j].Load == pts[i].Load {
			j++
		}
		load := pts[i:j:j]
		for k, seed := range load[0].Seeds {
			meas, pred := map[string]float64{}, map[string]float64{}
			for _, p := range load {
				if k < len(p.Seeds) && p.Seeds[k] == seed && k < len(p.PredMean) {
					meas[p.Scheduler], pred[p.Scheduler] = p.MeanFCTMs[k], p.PredMean[k]
				}
			}
			if len(meas) < 2 {
				continue
			}
			mo, po := rankOrder(meas), rankOrder(pred)
			n++
			note := "same"
			if mo == po {
				same++
			} else {
				note = "differs: " + swapped(meas, pred)
			}
			fmt.Fprintf(w, "load %.2f seed %d: measured %s; predicted %s (%s)\n", load[0].Load, seed, mo, po, note)
		}
		i = j
	}
	fmt.Fprintf(w, "order by mean FCT: the same measured and predicted in %d of %d plans\n", same, n)
}

// rankOrder lists the schedulers by value, lowest first ("alps < vtime < default").
func rankOrder(v map[string]float64) string {
	var names []string
	for _, name := range schedulers {
		if _, ok := v[name]; ok {
			names = append(names, name)
		}
	}
	slices.SortStableFunc(names, func(a, b string) int { return cmp.Compare(v[a], v[b]) })
	return strings.Join(names, " < ")
}

// swapped lists each pair of schedulers ordered one way measured and the other predicted,
// with the predictions' gap (the larger over the smaller; a gap within the noise explains a
// swap).
func swapped(meas, pred map[string]float64) string {
	var ps []string
	for i, x := range schedulers {
		for _, y := range schedulers[i+1:] {
			_, okx := pred[x]
			_, oky := pred[y]
			if !okx || !oky || cmp.Compare(meas[x], meas[y]) == cmp.Compare(pred[x], pred[y]) {
				continue
			}
			ps = append(ps, fmt.Sprintf("%s/%s predicted %.1f/%.1f ms (%.1f%% apart), measured %.1f/%.1f ms",
				x, y, pred[x], pred[y], 100*(math.Max(pred[x], pred[y])/math.Min(pred[x], pred[y])-1), meas[x], meas[y]))
		}
	}
	return strings.Join(ps, "; ")
}

// rng2 formats a median and range of ratios with two decimals.
func rng2(xs []float64) string {
	if len(xs) == 1 {
		return fmt.Sprintf("%.2f", xs[0])
	}
	return fmt.Sprintf("%.2f [%.2f-%.2f]", analysis.Median(xs), slices.Min(xs), slices.Max(xs))
}

// rng formats a median and its range.
func rng(xs []float64) string {
	if len(xs) == 0 {
		return ""
	}
	if len(xs) == 1 {
		return fmt.Sprintf("%.1f", xs[0])
	}
	return fmt.Sprintf("%.1f [%.1f-%.1f]", analysis.Median(xs), slices.Min(xs), slices.Max(xs))
}

// plotExperiment draws the three figures against load.
func plotExperiment(out string, pts []point) error {
	figs := []struct {
		file, title, ylabel string
		meas, pred          func(point) []float64
	}{
		{"experiment_mean_fct.png", "Mean FCT against offered load (VM, about one CPU)", "mean FCT (ms, log scale)",
			func(p point) []float64 { return p.MeanFCTMs }, func(p point) []float64 { return p.PredMean }},
		{"experiment_short_fct.png", "Short-class mean FCT against offered load (VM, about one CPU)", "short-class mean FCT (ms, log scale)",
			func(p point) []float64 { return p.ShortMs }, func(p point) []float64 { return p.PredShort }},
		{"experiment_long_slowdown.png", "Long-class p99 slowdown against offered load (VM, about one CPU)", "long-class p99 slowdown (FCT / demand, log scale)",
			func(p point) []float64 { return p.LongP99SD }, func(p point) []float64 { return p.PredLong }},
	}
	for _, f := range figs {
		var series []analysis.LoadSeries
		for i, name := range schedulers {
			dodge := 0.008 * float64(i-1)
			meas := analysis.LoadSeries{Name: name, Dodge: dodge}
			pred := analysis.LoadSeries{Name: name, Dashed: true, Dodge: dodge}
			for _, p := range pts {
				if p.Scheduler != name {
					continue
				}
				meas.Points = append(meas.Points, analysis.LoadPoint{Load: p.Load, Values: f.meas(p)})
				pred.Points = append(pred.Points, analysis.LoadPoint{Load: p.Load, Values: f.pred(p)})
			}
			series = append(series, meas, pred)
		}
		if err := analysis.PlotAgainstLoad(filepath.Join(out, f.file), f.title, f.ylabel, series); err != nil {
			return fmt.Errorf("%s: %w", f.file, err)
		}
	}
	var ratios []analysis.LoadSeries
	for i, name := range schedulers {
		r := analysis.LoadSeries{Name: name, Dodge: 0.008 * float64(i-1), Label: name}
		for _, p := range pts {
			if p.Scheduler == name {
				r.Points = append(r.Points, analysis.LoadPoint{Load: p.Load, Values: p.ratios()})
			}
		}
		ratios = append(ratios, r)
	}
	const file = "experiment_prediction.png"
	if err := analysis.PlotRatioAgainstLoad(filepath.Join(out, file), "Measured mean FCT over its own prediction (VM, about one CPU)",
		"measured / predicted mean FCT (log scale)", ratios, analysis.PredictionFactor); err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	return nil
}
