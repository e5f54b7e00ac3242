// Command warmup measures how much of alps's distance to gittins is learning time: each trace
// of the evaluation families is replayed several times back to back (a gap between passes so
// that each starts on an idle machine), and the mean FCT of every pass is reported for alps,
// the same rule with each function's true distribution (alps-gittins-dist), gittins and las.
// gittins and las know nothing more in a later pass; alps has learned the earlier passes.
//
//	go run ./experiments/warmup [-passes 2] [-gap-ms 120000] [-minutes 10] [-functions 200] [-load 0.85] [-config FILE]
//
// The traces are those of alps-sim gen --functions F --minutes M --load L --cores C --seed S
// for the families of experiments/gittins.md: azure16 (seeds 1-5), azure4 (1-3), poisson16
// (1-5), poisson4 (1-3), mixed16 (--io-fraction 0.2, 1-3), pareto16 (--pareto-shape 1.5:3,
// 1-3), pareto4 (1-2).
package main

import (
	"flag"
	"fmt"
	"math"
	"os"
	"sync"

	"github.com/alps-sched/alps/configs"
	"github.com/alps-sched/alps/sim"
	"github.com/alps-sched/alps/sim/trace"
)

// policies run on every trace; alps is compared with the others pass by pass.
var policies = []string{"gittins", "las", "alps-gittins-dist", "alps"}

type family struct {
	name     string
	cores    int
	arrivals trace.Arrivals
	io       float64
	pareto   [2]float64
	seeds    int
}

var families = []family{
	{"azure16", 16, trace.ArrivalsAzure, 0, [2]float64{}, 5},
	{"azure4", 4, trace.ArrivalsAzure, 0, [2]float64{}, 3},
	{"mixed16", 16, trace.ArrivalsAzure, 0.2, [2]float64{}, 3},
	{"pareto16", 16, trace.ArrivalsAzure, 0, [2]float64{1.5, 3}, 3},
	{"pareto4", 4, trace.ArrivalsAzure, 0, [2]float64{1.5, 3}, 2},
	{"poisson16", 16, trace.ArrivalsPoisson, 0, [2]float64{}, 5},
	{"poisson4", 4, trace.ArrivalsPoisson, 0, [2]float64{}, 3},
}

func main() {
	passes := flag.Int("passes", 2, "times each trace is replayed back to back (2..10)")
	gap := flag.Int64("gap-ms", 120_000, "idle time between two passes (ms, >= 0)")
	minutes := flag.Float64("minutes", 10, "span of each trace (minutes)")
	functions := flag.Int("functions", 200, "functions per trace")
	load := flag.Float64("load", 0.85, "offered load per core")
	file := flag.String("config", "", "YAML config file for alps (keys as in configs/alps.yaml; default: the defaults)")
	flag.Parse()
	if *passes < 2 || *passes > 10 || *gap < 0 {
		fmt.Fprintln(os.Stderr, "warmup: -passes must be in [2, 10] and -gap-ms >= 0")
		os.Exit(2)
	}
	if err := run(*passes, *gap*1e6, *minutes, *functions, *load, *file); err != nil {
		fmt.Fprintln(os.Stderr, "warmup:", err)
		os.Exit(1)
	}
}

// result is one trace's mean FCT (ms) per policy and pass.
type result struct {
	name string
	mean map[string][]float64
}

func run(passes int, gap int64, minutes float64, functions int, load float64, file string) error {
	cfg, err := configs.NewLoader()
	if err != nil {
		return err
	}
	if file != "" {
		if err := cfg.ReadFile(file); err != nil {
			return err
		}
	}
	c, err := cfg.Load()
	if err != nil {
		return err
	}
	var (
		results []*result
		wg      sync.WaitGroup
		mu      sync.Mutex
		errs    []error
		sem     = make(chan struct{}, 2)
	)
	for _, f := range families {
		for s := 1; s <= f.seeds; s++ {
			o := trace.GenOptions{Functions: functions, Minutes: minutes, Cores: f.cores, Load: load,
				IOFraction: f.io, Seed: uint64(s), Arrivals: f.arrivals, ParetoShape: f.pareto}
			if f.arrivals == trace.ArrivalsAzure {
				o.Burstiness, o.Batch = trace.DefaultBurstiness, trace.DefaultBatch
			}
			tr, err := trace.Generate(o)
			if err != nil {
				return fmt.Errorf("%s-%d: %w", f.name, s, err)
			}
			rep, offs := repeat(tr, passes, gap)
			r := &result{name: fmt.Sprintf("%s-%d", f.name, s), mean: map[string][]float64{}}
			results = append(results, r)
			for _, pol := range policies {
				wg.Add(1)
				go func() {
					defer wg.Done()
					sem <- struct{}{}
					defer func() { <-sem }()
					means, err := passMeans(rep, offs, pol, configs.SimParams(c, f.cores), f.cores)
					mu.Lock()
					defer mu.Unlock()
					if err != nil {
						errs = append(errs, fmt.Errorf("%s %s: %w", r.name, pol, err))
						return
					}
					r.mean[pol] = means
				}()
			}
		}
	}
	wg.Wait()
	if len(errs) > 0 {
		return errs[0]
	}
	report(results, passes)
	return nil
}

// repeat returns tr replayed passes times, each pass starting gap after the previous one's
// last arrival, and the start of each pass.
func repeat(tr *sim.Trace, passes int, gap int64) (*sim.Trace, []int64) {
	last := tr.Inv[len(tr.Inv)-1].Arrival
	out := &sim.Trace{Functions: tr.Functions, Inv: make([]sim.Invocation, 0, passes*len(tr.Inv))}
	offs := make([]int64, passes)
	for p := range passes {
		offs[p] = int64(p) * (last + gap)
		for _, in := range tr.Inv {
			in.Arrival += offs[p]
			out.Inv = append(out.Inv, in)
		}
	}
	return out, offs
}

// passMeans runs policy pol on tr and returns the mean FCT (ms) of the invocations that
// arrived in each pass.
func passMeans(tr *sim.Trace, offs []int64, pol string, p sim.Params, cores int) ([]float64, error) {
	pl, err := sim.New(pol, p)
	if err != nil {
		return nil, err
	}
	res, err := sim.Run(tr, pl, sim.Options{Cores: cores})
	if err != nil {
		return nil, err
	}
	sum := make([]float64, len(offs))
	n := make([]int, len(offs))
	for i := range res.Records {
		r := &res.Records[i]
		k := len(offs) - 1
		for k > 0 && r.Arrival < offs[k] {
			k--
		}
		sum[k] += float64(r.FCT()) / 1e6
		n[k]++
	}
	for k := range sum {
		sum[k] /= float64(max(n[k], 1))
	}
	return sum, nil
}

func report(results []*result, passes int) {
	fmt.Printf("| trace |")
	for p := 1; p <= passes; p++ {
		fmt.Printf(" alps ÷gittins, pass %d | ÷las |", p)
	}
	fmt.Printf(" gittins-dist ÷gittins, last pass |\n|---|")
	for range passes {
		fmt.Printf("---|---|")
	}
	fmt.Println("---|")
	logs := make([][2]float64, passes)
	within, below := make([]int, passes), make([]int, passes)
	var distLog float64
	for _, r := range results {
		fmt.Printf("| %s |", r.name)
		for p := range passes {
			g := r.mean["alps"][p] / r.mean["gittins"][p]
			l := r.mean["alps"][p] / r.mean["las"][p]
			logs[p][0] += math.Log(g)
			logs[p][1] += math.Log(l)
			if g <= 1.05 {
				within[p]++
			}
			if l <= 1 {
				below[p]++
			}
			fmt.Printf(" %.3f | %.3f |", g, l)
		}
		d := r.mean["alps-gittins-dist"][passes-1] / r.mean["gittins"][passes-1]
		distLog += math.Log(d)
		fmt.Printf(" %.3f |\n", d)
	}
	n := float64(len(results))
	fmt.Println()
	for p := range passes {
		fmt.Printf("pass %d: alps ÷gittins %.3f, ÷las %.3f (geometric means); within 1.05 x gittins on %d of %d traces, at or below las on %d\n",
			p+1, math.Exp(logs[p][0]/n), math.Exp(logs[p][1]/n), within[p], len(results), below[p])
	}
	fmt.Printf("the rule with the true distributions, last pass: ÷gittins %.3f\n", math.Exp(distLog/n))
}
