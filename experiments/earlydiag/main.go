// Command earlydiag traces how the alps policy's first policy tables treat a short trace, next
// to vtime (the same ordering rule, every task unranked): per function, per time bin and per
// invocation class (unranked at arrival, ranked), with the first tables printed.
//
//	go run ./experiments/earlydiag -trace RUNS/plan.csv [-cores 1] [-tables 6] [-set key=value,...]
//
// RUNS is an alps-bench run directory (make demo prints it; ALPS_RUNS=DIR keeps it).
package main

import (
	"cmp"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/alps-sched/alps/configs"
	"github.com/alps-sched/alps/policy"
	"github.com/alps-sched/alps/sim"
	"github.com/alps-sched/alps/sim/metrics"
	"github.com/alps-sched/alps/sim/trace"
)

// logged wraps the alps policy and keeps every table it installs, with the time.
type logged struct {
	*sim.ALPS
	at     []int64
	tables []*policy.Table
}

func (l *logged) Timer(now int64) {
	l.ALPS.Timer(now)
	l.at = append(l.at, now)
	l.tables = append(l.tables, l.ALPS.Table())
}

// tableAt is the table in force at time t (nil before the first).
func (l *logged) tableAt(t int64) *policy.Table {
	i, _ := slices.BinarySearch(l.at, t+1)
	if i == 0 {
		return nil
	}
	return l.tables[i-1]
}

const ms = 1e6

func main() {
	path := flag.String("trace", "", "trace CSV")
	cores := flag.Int("cores", 1, "cores")
	nTables := flag.Int("tables", 6, "first tables to print")
	set := flag.String("set", "", "config overrides for alps: key=value,...")
	worst := flag.Int("worst", 12, "invocations with the largest FCT increase to list")
	flag.Parse()
	if err := run(*path, *cores, *nTables, *set, *worst); err != nil {
		fmt.Fprintln(os.Stderr, "earlydiag:", err)
		os.Exit(1)
	}
}

func run(path string, cores, nTables int, set string, worst int) error {
	tr, err := trace.ReadCSVFile(path)
	if err != nil {
		return err
	}
	l, err := configs.NewLoader()
	if err != nil {
		return err
	}
	if set != "" {
		for _, kv := range strings.Split(set, ",") {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				return fmt.Errorf("-set: %q is not key=value", kv)
			}
			l.Set(k, v)
		}
	}
	cfg, err := l.Load()
	if err != nil {
		return err
	}
	params := configs.SimParams(cfg, cores)
	runPol := func(name string) (*sim.Result, sim.Policy, error) {
		p, err := sim.New(name, params)
		if err != nil {
			return nil, nil, err
		}
		if a, ok := p.(*sim.ALPS); ok {
			p = &logged{ALPS: a}
		}
		res, err := sim.Run(tr, p, sim.Options{Cores: cores})
		return res, p, err
	}
	vt, _, err := runPol("vtime")
	if err != nil {
		return err
	}
	cf, _, err := runPol("cfs")
	if err != nil {
		return err
	}
	al, ap, err := runPol("alps")
	if err != nil {
		return err
	}
	lg := ap.(*logged)
	fmt.Printf("# %s: %d invocations, %d cores, %d tables\n\n", path, len(tr.Inv), cores, len(lg.tables))
	fmt.Println("| policy | mean FCT ms | short mean FCT ms | long p99 slowdown |")
	fmt.Println("|---|---|---|---|")
	for _, r := range []*sim.Result{cf, vt, al} {
		s := metrics.FromResult(r)
		fmt.Printf("| %s | %.1f | %.1f | %.2f |\n", r.Policy, s.MeanFCT, s.ShortMeanFCT, s.LongP99Slowdown)
	}

	// First tables.
	fmt.Println("\n## First tables (entry: rank, slice ms, predicted demand ms, samples in the window)")
	for i := 0; i < min(nTables, len(lg.tables)); i++ {
		t := lg.tables[i]
		fmt.Printf("\nt=%.0fs version %d, %d entries:", float64(lg.at[i])/1e9, t.Version, t.Len())
		ids := make([]uint32, 0, t.Len())
		for id := range t.Entries {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		n := samples(al, lg.at[i])
		for _, id := range ids {
			e := t.Entries[id]
			fmt.Printf(" %s(r%d s%.1f d%.0f n%d)", tr.Functions[id], e.Rank, float64(e.Slice)/ms, float64(e.Demand)/ms, n[id])
		}
		fmt.Println()
	}

	// Per invocation: ranked at arrival?
	type inv struct {
		i      int
		ranked bool
		rank   uint32
		slice  int64
		dv, da float64 // FCT ms
	}
	invs := make([]inv, len(tr.Inv))
	for i, in := range tr.Inv {
		t := lg.tableAt(in.Arrival)
		e, ok := t.Lookup(in.Func)
		invs[i] = inv{i: i, ranked: ok, rank: e.Rank, slice: e.Slice,
			dv: float64(vt.Records[i].FCT()) / ms, da: float64(al.Records[i].FCT()) / ms}
	}
	group := func(title string, key func(v inv) string) {
		type agg struct {
			n      int
			sv, sa float64
			cpu    float64
		}
		m := map[string]*agg{}
		var keys []string
		for _, v := range invs {
			k := key(v)
			if m[k] == nil {
				m[k] = &agg{}
				keys = append(keys, k)
			}
			a := m[k]
			a.n++
			a.sv += v.dv
			a.sa += v.da
			a.cpu += float64(tr.Inv[v.i].CPU) / ms
		}
		slices.Sort(keys)
		fmt.Printf("\n## By %s\n\n| %s | n | mean CPU ms | vtime mean FCT | alps mean FCT | alps-vtime sum FCT (s) |\n|---|---|---|---|---|---|\n", title, title)
		var tot float64
		for _, k := range keys {
			a := m[k]
			tot += a.sa - a.sv
			fmt.Printf("| %s | %d | %.0f | %.0f | %.0f | %+.2f |\n", k, a.n, a.cpu/float64(a.n), a.sv/float64(a.n), a.sa/float64(a.n), (a.sa-a.sv)/1000)
		}
		fmt.Printf("| total | %d | | | | %+.2f (%+.1f ms mean) |\n", len(invs), tot/1000, tot/float64(len(invs)))
	}
	group("function", func(v inv) string { return tr.Functions[tr.Inv[v.i].Func] })
	group("5s bin of arrival", func(v inv) string {
		return fmt.Sprintf("%02d-%02ds", tr.Inv[v.i].Arrival/5e9*5, tr.Inv[v.i].Arrival/5e9*5+5)
	})
	group("state at arrival", func(v inv) string {
		if !v.ranked {
			return "unranked"
		}
		return fmt.Sprintf("rank %d", v.rank)
	})
	group("slice at arrival", func(v inv) string {
		if !v.ranked {
			return "unranked (default)"
		}
		return fmt.Sprintf("%5.1f ms", float64(v.slice)/ms)
	})
	group("I/O", func(v inv) string {
		if tr.Inv[v.i].Waits > 0 {
			return "io"
		}
		return "cpu"
	})

	slices.SortFunc(invs, func(a, b inv) int { return cmp.Compare(b.da-b.dv, a.da-a.dv) })
	table := func(title string, rows []inv) {
		fmt.Printf("\n## %s\n\n| arrival s | function | CPU ms | I/O | at arrival | vtime FCT | alps FCT | delta |\n|---|---|---|---|---|---|---|---|\n", title)
		for _, v := range rows {
			in := tr.Inv[v.i]
			st := "unranked"
			if v.ranked {
				st = fmt.Sprintf("rank %d slice %.1f", v.rank, float64(v.slice)/ms)
			}
			fmt.Printf("| %.2f | %s | %.0f | %d | %s | %.0f | %.0f | %+.0f |\n", float64(in.Arrival)/1e9, tr.Functions[in.Func],
				float64(in.CPU)/ms, in.Waits, st, v.dv, v.da, v.da-v.dv)
		}
	}
	n := min(worst, len(invs))
	table("Largest FCT increases (alps - vtime)", invs[:n])
	decreases := slices.Clone(invs[len(invs)-n:])
	slices.Reverse(decreases)
	table("Largest FCT decreases", decreases)
	return nil
}

// samples counts, per function, the invocations of the alps run completed by time t (what the
// learner's window held at the update of time t).
func samples(res *sim.Result, t int64) map[uint32]int {
	n := map[uint32]int{}
	for _, r := range res.Records {
		if r.End <= t {
			n[r.Func]++
		}
	}
	return n
}
