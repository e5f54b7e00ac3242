// Command ablation measures the alps policy and its variants against srpt, gittins, las, cfs
// and vtime on synthetic Azure-like traces (several seeds) and prints the ablation tables.
//
//	go run ./experiments/ablation [-seeds 3] [-first-seed 1] [-arrivals azure] [-functions 200] [-minutes 60] [-cores 16] [-load 0.85]
//
// The traces are those of alps-sim gen --arrivals A --functions F --minutes M --cores C --load L
// [--io-fraction 0.3] --seed S for S = first-seed .. first-seed+seeds-1 (azure arrivals with the
// generator's default burstiness and batch size).
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/alps-sched/alps/configs"
	"github.com/alps-sched/alps/sim"
	"github.com/alps-sched/alps/sim/metrics"
	"github.com/alps-sched/alps/sim/trace"
)

// variant is one alps configuration of the ablation: config keys over the defaults, run
// with the alps policy or, if policy is set, that one (a diagnostic of the same rule). A
// named variant (the experiments of early.md and attained.md) runs only when -variants
// names it, so that the default run gives the rows of ablation.md.
type variant struct {
	name   string
	set    map[string]any
	policy string
	named  bool
}

func main() {
	seeds := flag.Int("seeds", 3, "traces per workload")
	first := flag.Int("first-seed", 1, "seed of the first trace (held-out checks use seeds never tuned on)")
	arrivals := trace.ArrivalsAzure
	flag.Var(&arrivals, "arrivals", "arrival model of the traces: azure or poisson")
	functions := flag.Int("functions", 200, "functions per trace")
	minutes := flag.Float64("minutes", 60, "span of each trace (minutes)")
	cores := flag.Int("cores", 16, "cores")
	load := flag.Float64("load", 0.85, "offered load per core")
	only := flag.String("variants", "", "comma-separated variant names (default: the rows of ablation.md; the experiments of early.md and attained.md only by name)")
	set := flag.String("set", "", "extra config overrides for every alps variant: key=value,...")
	flag.Parse()
	gen := trace.GenOptions{Functions: *functions, Minutes: *minutes, Cores: *cores, Load: *load, Arrivals: arrivals}
	if arrivals == trace.ArrivalsAzure {
		gen.Burstiness, gen.Batch = trace.DefaultBurstiness, trace.DefaultBatch
	}
	if err := run(*seeds, *first, gen, *only, *set); err != nil {
		fmt.Fprintln(os.Stderr, "ablation:", err)
		os.Exit(1)
	}
}

var variants = []variant{
	{name: "alps"},
	// Rule v1 (one capped vtime offset per function) with its last defaults, and rule v1 with
	// today's learner (attained steps etc.).
	{name: "rule-v1", policy: "alps-v1", set: map[string]any{"learner.attained_ranks": false,
		"learner.attained_default": false, "learner.srpt_slice": true, "learner.prior_weight": 0,
		"policy.rank_step_ms": 50}},
	{name: "rule-v1+steps", policy: "alps-v1"},
	// The guard and preemption.
	{name: "no-guard", set: map[string]any{"policy.max_wait_ms": 0}},
	{name: "guard=500ms", set: map[string]any{"policy.max_wait_ms": 500}},
	{name: "guard=100ms", set: map[string]any{"policy.max_wait_ms": 100}},
	{name: "no-preempt", set: map[string]any{"policy.preempt": false}},
	// The steps: one level per function (its predicted demand's), and fewer steps.
	{name: "one-level", set: map[string]any{"learner.attained_ranks": false}},
	{name: "steps=2", set: map[string]any{"learner.attained_steps": 2}},
	{name: "steps=4", set: map[string]any{"learner.attained_steps": 4}},
	// The pooled window: as a prior mixed into each function, and as the default entry.
	{name: "no-prior", set: map[string]any{"learner.prior_weight": 0}},
	{name: "prior=8", set: map[string]any{"learner.prior_weight": 8}},
	{name: "prior=pooled", set: map[string]any{"learner.prior": "pooled"}},
	{name: "censored", set: map[string]any{"learner.censored": true}},
	{name: "no-pooled-default", set: map[string]any{"learner.attained_default": false}},
	// The SRPT simulation of the window (the ALPS slice rule) and the predictor.
	{name: "srpt-slice", set: map[string]any{"learner.srpt_slice": true}},
	{name: "pred=regression", set: map[string]any{"learner.predictor": "regression"}},
	{name: "no-io-rule", set: map[string]any{"learner.io_rule": false}},
	{name: "window=60s", set: map[string]any{"learner.window_span_ms": 60000}},
	// Gittins steps from each function's whole demand distribution in the trace (the rule's
	// own loss, without the learning's), and the clairvoyant rank of each invocation.
	{name: "gittins-dist", policy: "alps-gittins-dist"},
	{name: "oracle", policy: "alps-oracle", named: true},
	{name: "oracle-rem", policy: "alps-oracle-rem", named: true},
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
	name   string
	policy string            // the srpt policy run: the baseline's own, or alps for a variant
	cfg    configs.Config    // its configuration
	sum    []metrics.Summary // per seed
}

func run(seeds, first int, gen trace.GenOptions, only, extra string) error {
	cores := gen.Cores
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
	for _, w := range workloads {
		io := w.io
		fmt.Printf("\n## %s: %d cores, load %.2f, I/O-bound fraction %.1f, %d functions, %g minutes, %s arrivals, seeds %d..%d\n\n",
			w.name, cores, gen.Load, io, gen.Functions, gen.Minutes, gen.Arrivals, first, first+seeds-1)
		var rows []*row
		for _, b := range []string{"srpt", "gittins", "las", "cfs", "vtime"} {
			rows = append(rows, &row{name: b, policy: b, cfg: base})
		}
		for _, v := range variants {
			if pick[v.name] || len(pick) == 0 && !v.named {
				c, err := config(v.set, extra)
				if err != nil {
					return err
				}
				pol := "alps"
				if v.policy != "" {
					pol = v.policy
				}
				rows = append(rows, &row{name: v.name, policy: pol, cfg: c})
			}
		}
		for _, r := range rows {
			r.sum = make([]metrics.Summary, seeds)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		var firstErr error
		sem := make(chan struct{}, 2)
		for s := 1; s <= seeds; s++ {
			g := gen
			g.IOFraction, g.Seed, g.ParetoShape = io, uint64(first+s-1), w.pareto
			tr, err := trace.Generate(g)
			if err != nil {
				return err
			}
			if w.wakeups > 1 {
				chatty(tr, w.wakeups)
			}
			for _, r := range rows {
				wg.Add(1)
				go func(r *row, s int) {
					defer wg.Done()
					sem <- struct{}{}
					defer func() { <-sem }()
					p, err := sim.New(r.policy, configs.SimParams(r.cfg, cores))
					if err == nil {
						var res *sim.Result
						res, err = sim.Run(tr, p, sim.Options{Cores: cores})
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

// workloads of the ablation.
var workloads = []struct {
	name    string
	io      float64
	wakeups uint32     // if > 1: each I/O-bound invocation's waits are multiplied by this
	pareto  [2]float64 // Pareto demand within functions (trace.GenOptions.ParetoShape)
}{
	{"cpu", 0, 1, [2]float64{}},
	{"pareto", 0, 1, [2]float64{1.5, 3}},
	{"mixed", 0.3, 1, [2]float64{}},
	{"mixed-chatty", 0.3, 16, [2]float64{}},
}

// chatty splits every I/O-bound invocation's CPU into k times more bursts (same total CPU and
// I/O time): an RPC-heavy function that blocks often with short bursts, the case where ranking
// by burst length (ALPS's blind spot) makes it look short.
func chatty(tr *sim.Trace, k uint32) {
	for i := range tr.Inv {
		if in := &tr.Inv[i]; in.Waits > 0 {
			in.Waits *= k
		}
	}
}

// ioSplit stores the CPU-bound invocations' mean FCT in MeanWait and the I/O-bound ones' p99
// FCT in Makespan (fields reused for printing only).
func ioSplit(res *sim.Result, sm metrics.Summary) metrics.Summary {
	var cpu, io []sim.Record
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
	worst := func(r *row, f func(metrics.Summary) float64, den *row) float64 {
		var w float64
		for i := range r.sum {
			w = max(w, f(r.sum[i])/f(den.sum[i]))
		}
		return w
	}
	if !io {
		fmt.Println("| policy | mean FCT ms | ÷cfs | ÷las | ÷gittins (worst) | ÷srpt | short mean ÷srpt | long p99 slowdown | ÷cfs |")
		fmt.Println("|---|---|---|---|---|---|---|---|---|")
		for _, r := range rows {
			fmt.Printf("| %s | %.0f | %.3f | %.3f | %.3f (%.3f) | %.3f | %.2f | %.1f | %.2f |\n", r.name, mean(r, fct, nil),
				mean(r, fct, ref["cfs"]), mean(r, fct, ref["las"]), mean(r, fct, ref["gittins"]), worst(r, fct, ref["gittins"]),
				mean(r, fct, ref["srpt"]), mean(r, short, ref["srpt"]), mean(r, long, nil), mean(r, long, ref["cfs"]))
		}
		return
	}
	fmt.Println("| policy | mean FCT ÷cfs | ÷las | ÷gittins | ÷srpt | CPU-bound mean FCT ÷cfs | I/O-bound p99 FCT ÷cfs | long p99 slowdown ÷cfs |")
	fmt.Println("|---|---|---|---|---|---|---|---|")
	for _, r := range rows {
		fmt.Printf("| %s | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %.2f |\n", r.name,
			mean(r, fct, ref["cfs"]), mean(r, fct, ref["las"]), mean(r, fct, ref["gittins"]), mean(r, fct, ref["srpt"]),
			mean(r, cpuFCT, ref["cfs"]), mean(r, ioP99, ref["cfs"]), mean(r, long, ref["cfs"]))
	}
}
