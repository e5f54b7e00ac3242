// Command ablation measures the alps policy against cfs, vtime and srpt on synthetic
// Azure-like traces (several seeds) and prints the target ratios and the ablation table.
//
//	go run ./experiments/ablation [-seeds 3] [-invocations 40000] [-cores 16] [-load 0.85]
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/alps-sched/alps/configs"
	"github.com/alps-sched/alps/srpt"
	"github.com/alps-sched/alps/srpt/metrics"
	"github.com/alps-sched/alps/srpt/trace"
)

// variant is one alps configuration of the ablation: config keys over the defaults.
type variant struct {
	name string
	set  map[string]any
}

func main() {
	seeds := flag.Int("seeds", 3, "traces (seeds 1..N) per workload")
	inv := flag.Int("invocations", 40000, "invocations per trace")
	cores := flag.Int("cores", 16, "cores")
	load := flag.Float64("load", 0.85, "offered load per core")
	only := flag.String("variants", "", "comma-separated variant names (default all)")
	set := flag.String("set", "", "extra config overrides for every alps variant: key=value,...")
	flag.Parse()
	if err := run(*seeds, *inv, *cores, *load, *only, *set); err != nil {
		fmt.Fprintln(os.Stderr, "ablation:", err)
		os.Exit(1)
	}
}

var variants = []variant{
	{"alps", nil},
	{"pred=mean", map[string]any{"learner.predictor": "mean"}},
	{"pred=ewma", map[string]any{"learner.predictor": "ewma"}},
	{"pred=percentile", map[string]any{"learner.predictor": "percentile"}},
	{"pred=regression", map[string]any{"learner.predictor": "regression"}},
	{"pred=logmean", map[string]any{"learner.predictor": "logmean"}},
	{"no-srpt-slice", map[string]any{"learner.srpt_slice": false}},
	{"no-bound", map[string]any{"policy.max_penalty_ms": 1e9}},
	{"no-io-rule", map[string]any{"learner.io_rule": false}},
	{"alps-orig", map[string]any{"learner.rank_scale": "order", "learner.alpha": 1, "learner.beta": 1, "learner.gamma": 1, "learner.theta": 50}},
}

func config(over map[string]any, extra string) (configs.Config, error) {
	l, err := configs.NewLoader()
	if err != nil {
		return configs.Config{}, err
	}
	for k, v := range over {
		l.Set(k, v)
	}
	if extra != "" {
		for _, kv := range strings.Split(extra, ",") {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				return configs.Config{}, fmt.Errorf("-set: %q is not key=value", kv)
			}
			l.Set(k, v)
		}
	}
	return l.Load()
}

type row struct {
	name string
	sum  []metrics.Summary // per seed
}

func run(seeds, inv, cores int, load float64, only, extra string) error {
	base, err := config(nil, "")
	if err != nil {
		return err
	}
	pick := map[string]bool{}
	for _, n := range strings.Split(only, ",") {
		if n != "" {
			pick[n] = true
		}
	}
	for _, io := range []float64{0, 0.3} {
		fmt.Printf("\n## %d cores, load %.2f, I/O-bound fraction %.1f, %d invocations, seeds 1..%d\n\n", cores, load, io, inv, seeds)
		rows := []*row{{name: "srpt"}, {name: "cfs"}, {name: "vtime"}}
		for _, v := range variants {
			if len(pick) == 0 || pick[v.name] {
				rows = append(rows, &row{name: v.name})
			}
		}
		for _, r := range rows {
			r.sum = make([]metrics.Summary, seeds)
		}
		ioFrac := make([][2]metrics.Summary, 0)
		_ = ioFrac
		var wg sync.WaitGroup
		var mu sync.Mutex
		var firstErr error
		sem := make(chan struct{}, 2)
		for s := 1; s <= seeds; s++ {
			tr, err := trace.Generate(trace.GenOptions{Functions: 500, Invocations: inv, Cores: cores, Load: load, IOFraction: io, Seed: uint64(s)})
			if err != nil {
				return err
			}
			for _, r := range rows {
				wg.Add(1)
				go func(r *row, s int) {
					defer wg.Done()
					sem <- struct{}{}
					defer func() { <-sem }()
					cfg := base
					name := r.name
					if name != "srpt" && name != "cfs" && name != "vtime" {
						var over map[string]any
						for _, v := range variants {
							if v.name == r.name {
								over = v.set
							}
						}
						c, err := config(over, extra)
						if err != nil {
							mu.Lock()
							firstErr = err
							mu.Unlock()
							return
						}
						cfg, name = c, "alps"
					}
					p, err := srpt.New(name, srpt.Params{Cores: cores, Config: cfg})
					if err == nil {
						var res *srpt.Result
						res, err = srpt.Run(tr, p, srpt.Options{Cores: cores})
						if err == nil {
							sm := metrics.FromResult(res)
							sm.Policy = r.name
							if io > 0 {
								sm = ioSplit(res, sm)
							}
							r.sum[s-1] = sm
						}
					}
					if err != nil {
						mu.Lock()
						firstErr = fmt.Errorf("%s seed %d: %w", r.name, s, err)
						mu.Unlock()
					}
				}(r, s)
			}
		}
		wg.Wait()
		if firstErr != nil {
			return firstErr
		}
		print(rows, io > 0)
	}
	return nil
}

// ioSplit stores the CPU-bound invocations' mean FCT in MeanWait and the I/O-bound ones' p99
// FCT in Makespan (fields reused for printing only).
func ioSplit(res *srpt.Result, sm metrics.Summary) metrics.Summary {
	var cpu, io []srpt.Record
	for _, r := range res.Records {
		if r.Blocked > 0 {
			io = append(io, r)
		} else {
			cpu = append(cpu, r)
		}
	}
	sm.MeanWait = metrics.Summarize(cpu, 0).MeanFCT
	sm.Makespan = metrics.Summarize(io, 0).P99FCT
	return sm
}

func print(rows []*row, io bool) {
	ref := map[string]*row{}
	for _, r := range rows {
		ref[r.name] = r
	}
	mean := func(r *row, f func(metrics.Summary) float64, den *row) float64 {
		var s float64
		for i := range r.sum {
			d := 1.0
			if den != nil {
				d = f(den.sum[i])
			}
			s += f(r.sum[i]) / d
		}
		return s / float64(len(r.sum))
	}
	fct := func(s metrics.Summary) float64 { return s.MeanFCT }
	long := func(s metrics.Summary) float64 { return s.LongP99Slowdown }
	short := func(s metrics.Summary) float64 { return s.ShortMeanFCT }
	cpuFCT := func(s metrics.Summary) float64 { return s.MeanWait }
	ioP99 := func(s metrics.Summary) float64 { return s.MeanWait*0 + s.Makespan }
	if !io {
		fmt.Println("| policy | mean FCT ms | ÷cfs | ÷vtime | ÷srpt | short mean FCT ÷cfs | long p99 slowdown | ÷cfs |")
		fmt.Println("|---|---|---|---|---|---|---|---|")
		for _, r := range rows {
			fmt.Printf("| %s | %.0f | %.3f | %.3f | %.3f | %.3f | %.1f | %.2f |\n", r.name, mean(r, fct, nil),
				mean(r, fct, ref["cfs"]), mean(r, fct, ref["vtime"]), mean(r, fct, ref["srpt"]),
				mean(r, short, ref["cfs"]), mean(r, long, nil), mean(r, long, ref["cfs"]))
		}
		return
	}
	fmt.Println("| policy | mean FCT ÷cfs | ÷vtime | ÷srpt | CPU-bound mean FCT ÷cfs | I/O-bound p99 FCT ÷cfs | long p99 slowdown ÷cfs |")
	fmt.Println("|---|---|---|---|---|---|---|")
	for _, r := range rows {
		fmt.Printf("| %s | %.3f | %.3f | %.3f | %.3f | %.3f | %.2f |\n", r.name,
			mean(r, fct, ref["cfs"]), mean(r, fct, ref["vtime"]), mean(r, fct, ref["srpt"]),
			mean(r, cpuFCT, ref["cfs"]), mean(r, ioP99, ref["cfs"]), mean(r, long, ref["cfs"]))
	}
}
