package sim

import (
	"math"
	"testing"
)

// cfsTestParams are the default slice knobs without context-switch cost, so that the
// tiny scenarios' times are whole milliseconds, and with every task cache-cold.
func cfsTestParams() CFSParams {
	return CFSParams{
		Latency: 24e6, MinGranularity: 3e6, WakeupGranularity: 4e6,
		BalanceInterval: 4e6, BusyBalanceInterval: 64e6,
	}
}

// TestCoreCFSPlacement checks the placement and balancing rules on tiny scenarios: each
// wanted placement (T == -1: any task) must occur, and no unwanted pull or balancing move.
func TestCoreCFSPlacement(t *testing.T) {
	const L = 1000e6 // a long invocation
	io := func(at int64) Invocation { return Invocation{Arrival: at, CPU: 2e6, IO: 5e6, Waits: 1} }
	cpu := func(at, d int64) Invocation { return Invocation{Arrival: at, CPU: d} }
	tests := []struct {
		name   string
		cores  int
		hot    int64 // migration cost
		inv    []Invocation
		want   []cfsPlacement
		noMove bool // no pull or balancing move at all
	}{
		{
			"new tasks go to different idle cores", 2, 0,
			[]Invocation{cpu(0, 10e6), cpu(0, 10e6)},
			[]cfsPlacement{{0, 0, -1, 0, placeNew}, {0, 1, -1, 1, placeNew}}, true,
		},
		{
			// T2 runs its first 1 ms burst on core 2 and sleeps; at 6 ms cores 1 and 2 are idle.
			"a waking task returns to its idle previous core", 3, 0,
			[]Invocation{cpu(0, L), cpu(0, 1e6), io(0)},
			[]cfsPlacement{{0, 2, -1, 2, placeNew}, {6e6, 2, 2, 2, placeWake}}, true,
		},
		{
			// T2 takes core 1 while T1 sleeps; T1 wakes to the idle core 2.
			"a waking task whose previous core is busy goes to an idle core", 3, 0,
			[]Invocation{cpu(0, L), io(0), cpu(2e6, L)},
			[]cfsPlacement{{2e6, 2, -1, 1, placeNew}, {6e6, 1, 1, 2, placeWake}}, true,
		},
		{
			"a waking task with no idle core shares its previous core", 2, 0,
			[]Invocation{cpu(0, L), io(0), cpu(2e6, L)},
			[]cfsPlacement{{2e6, 2, -1, 1, placeNew}, {6e6, 1, 1, 1, placeWake}}, true,
		},
		{
			// Queues 2, 1, 1; core 2's task ends at 10 ms and it pulls from core 0, the busiest.
			"an idle core pulls from the busiest core", 3, 0,
			[]Invocation{cpu(0, L), cpu(0, L), cpu(0, 10e6), cpu(0, L)},
			[]cfsPlacement{{0, 3, -1, 0, placeNew}, {10e6, -1, 0, 2, placeNewIdle}}, false,
		},
		{
			// As above, but a queue of two is always cache-hot: core 2 stays idle.
			"a cache-hot task is not pulled", 3, 1e9,
			[]Invocation{cpu(0, L), cpu(0, L), cpu(0, 10e6), cpu(0, L)},
			nil, true,
		},
		{
			// Queues 3, 3; core 1's two 10 ms tasks end at 30 ms, leaving 3, 1: evened at the
			// next busy balancing instant, 64 ms.
			"a busy imbalance is evened at the next balance interval", 2, 0,
			[]Invocation{cpu(0, L), cpu(0, 10e6), cpu(0, L), cpu(0, 10e6), cpu(0, L), cpu(0, L)},
			[]cfsPlacement{{64e6, -1, 0, 1, placeBalance}}, false,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := &Trace{Functions: []string{"f"}, Inv: tt.inv}
			p := cfsTestParams()
			p.MigrationCost = tt.hot
			c := NewCoreCFS(p)
			var got []cfsPlacement
			c.trace = func(pl cfsPlacement) { got = append(got, pl) }
			res, err := Run(tr, c, Options{Cores: tt.cores})
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				found := false
				for _, g := range got {
					if g.At == w.At && (w.T < 0 || g.T == w.T) && g.From == w.From && g.To == w.To && g.Why == w.Why {
						found = true
					}
				}
				if !found {
					t.Errorf("no placement %+v in %+v", w, got)
				}
			}
			moves := 0
			for _, g := range got {
				if g.Why == placeNewIdle || g.Why == placeBalance {
					moves++
				}
			}
			if tt.noMove && moves > 0 {
				t.Errorf("unexpected pulls in %+v", got)
			}
			if !tt.noMove {
				// The first move is the wanted one (later ones follow later completions).
				first, want := firstMove(got), firstMove(tt.want)
				if first.At != want.At || first.From != want.From || first.To != want.To || first.Why != want.Why {
					t.Errorf("first move %+v, want %+v", first, want)
				}
			}
			for i, r := range res.Records {
				if in := tr.Inv[i]; r.End < in.Arrival+in.CPU+in.IO {
					t.Errorf("task %d ends at %d, before arrival+demand+io", i, r.End)
				}
			}
		})
	}
}

func firstMove(ps []cfsPlacement) cfsPlacement {
	for _, p := range ps {
		if p.Why == placeNewIdle || p.Why == placeBalance {
			return p
		}
	}
	return cfsPlacement{At: -1}
}

// TestCoreCFSPlacementTimes: two equal tasks on two idle cores both run alone (no sharing),
// and a waking task that shares its core progresses at half speed.
func TestCoreCFSPlacementTimes(t *testing.T) {
	tr := &Trace{Functions: []string{"f"}, Inv: []Invocation{{Arrival: 0, CPU: 10e6}, {Arrival: 0, CPU: 10e6}}}
	res, err := Run(tr, NewCoreCFS(cfsTestParams()), Options{Cores: 2})
	if err != nil {
		t.Fatal(err)
	}
	if res.Records[0].End != 10e6 || res.Records[1].End != 10e6 {
		t.Errorf("ends %d, %d, want 10 ms each", res.Records[0].End, res.Records[1].End)
	}
	res, err = Run(tr, NewCoreCFS(cfsTestParams()), Options{Cores: 1})
	if err != nil {
		t.Fatal(err)
	}
	if res.Records[0].End != 20e6 || res.Records[1].End != 20e6 {
		t.Errorf("one core: ends %d, %d, want 20 ms each", res.Records[0].End, res.Records[1].End)
	}
}

// TestCoreCFSOneCoreIsPS: with one core there is nothing to place or balance, and cfs is ps
// (to the float rounding of the service counters: a nanosecond).
func TestCoreCFSOneCoreIsPS(t *testing.T) {
	p := testParams(t, 1).CFS
	const tol = 10 // ns
	for seed := uint64(1); seed <= 3; seed++ {
		tr := randomTrace(seed, 5000, 1.2e6, 1e6, 0.3)
		a, err := Run(tr, NewCoreCFS(p), Options{Cores: 1})
		if err != nil {
			t.Fatal(err)
		}
		b, err := Run(tr, NewPS(p), Options{Cores: 1})
		if err != nil {
			t.Fatal(err)
		}
		var worst int64
		for i := range a.Records {
			ra, rb := a.Records[i], b.Records[i]
			worst = max(worst, ra.End-rb.End, rb.End-ra.End)
			if d := int(ra.Preemptions) - int(rb.Preemptions); d < -1 || d > 1 {
				t.Errorf("seed %d task %d: cfs %d preemptions, ps %d", seed, i, ra.Preemptions, rb.Preemptions)
			}
		}
		if worst > tol {
			t.Errorf("seed %d: completion times differ by up to %d ns", seed, worst)
		}
		if d := a.ContextSwitches - b.ContextSwitches; d < -2 || d > 2 {
			t.Errorf("seed %d: cfs %d context switches, ps %d", seed, a.ContextSwitches, b.ContextSwitches)
		}
		t.Logf("seed %d: completion times differ by at most %d ns", seed, worst)
	}
}

// TestCoreCFSConservation checks that the model serves exactly the demand (the service it
// integrates over time equals the total demand) and that a core idles while another has
// waiting work only when a pull was refused: never with a zero migration cost, and briefly
// (until the next idle balancing) with the default one.
func TestCoreCFSConservation(t *testing.T) {
	def := testParams(t, 1).CFS
	cold := def
	cold.MigrationCost = 0
	for _, cores := range []int{2, 16} {
		tr := randomTrace(uint64(cores)+7, 20_000, 1e6/(0.85*float64(cores)), 1e6, 0.3)
		for _, tc := range []struct {
			name string
			p    CFSParams
		}{{"cold", cold}, {"default", def}} {
			c := NewCoreCFS(tc.p)
			res, err := Run(tr, c, Options{Cores: cores})
			if err != nil {
				t.Fatal(err)
			}
			// Each burst ends at a whole ns, rounded up: at most 1 ns of service too much each.
			total, bursts := float64(tr.TotalCPU()), float64(len(tr.Inv))+float64(tr.totalWaits())
			if d := c.stats.service - total; d < -1e-6*total || d > bursts {
				t.Errorf("%s/%d cores: served %.0f ns, demand %.0f ns", tc.name, cores, c.stats.service, total)
			}
			for i, r := range res.Records {
				if in := tr.Inv[i]; r.End < in.Arrival+in.CPU+in.IO || r.CPU != in.CPU || r.Wakeups != in.Waits {
					t.Fatalf("%s/%d cores: task %d record %+v for %+v", tc.name, cores, i, r, in)
				}
			}
			switch {
			case tc.name == "cold" && (c.stats.idleOver != 0 || c.stats.failed != 0):
				t.Errorf("cold/%d cores: %d core-ns idle beside waiting work, %d refused pulls", cores, c.stats.idleOver, c.stats.failed)
			case c.stats.idleOver > c.stats.failed*tc.p.BalanceInterval:
				t.Errorf("%s/%d cores: %d core-ns idle beside waiting work, more than %d refused pulls x the idle interval", tc.name, cores, c.stats.idleOver, c.stats.failed)
			}
			t.Logf("%s/%d cores: %d migrations, %d refused pulls, %.3f ms idle beside waiting work", tc.name, cores, c.stats.migrations, c.stats.failed, float64(c.stats.idleOver)/1e6)
		}
	}
}

// TestCoreCFSAgainstPS compares mean FCT with the global processor-sharing bound: per-core
// queues can only lose against perfect balancing, by a few percent at this load.
func TestCoreCFSAgainstPS(t *testing.T) {
	p := testParams(t, 1).CFS
	for _, cores := range []int{4, 16} {
		tr := randomTrace(uint64(cores)+200, 20_000, 20e6/(0.85*float64(cores)), 20e6, 0.2)
		a, err := Run(tr, NewCoreCFS(p), Options{Cores: cores})
		if err != nil {
			t.Fatal(err)
		}
		b, err := Run(tr, NewPS(p), Options{Cores: cores})
		if err != nil {
			t.Fatal(err)
		}
		ratio := meanOf(a.Records) / meanOf(b.Records)
		t.Logf("%d cores: mean FCT cfs %.2f ms, ps %.2f ms, ratio %.3f", cores, meanOf(a.Records)/1e6, meanOf(b.Records)/1e6, ratio)
		if ratio < 1 || ratio > 1.25 {
			t.Errorf("%d cores: cfs / ps mean FCT %.3f, want in [1, 1.25]", cores, ratio)
		}
	}
}

// TestCoreCFSBadInput: bad knobs and an Observer are errors, not panics.
func TestCoreCFSBadInput(t *testing.T) {
	tr := randomTrace(1, 10, 1e6, 1e6, 0)
	bad := cfsTestParams()
	bad.BalanceInterval = 0
	if _, err := Run(tr, NewCoreCFS(bad), Options{Cores: 2}); err == nil {
		t.Error("zero balance interval accepted")
	}
	bad = cfsTestParams()
	bad.MinGranularity = 0
	if _, err := Run(tr, NewCoreCFS(bad), Options{Cores: 2}); err == nil {
		t.Error("zero min granularity accepted")
	}
	if _, err := Run(tr, NewCoreCFS(cfsTestParams()), Options{Cores: 2, Observer: &segmentCheck{}}); err == nil {
		t.Error("observer accepted")
	}
}

// coreRR is a slice-by-slice reference for CoreCFS with a zero migration cost, run by the
// engine (Env): per-core round-robin queues, slice max(latency / n, min_granularity) with n
// the core's runnable tasks, a context switch per slice, a task alone running until another
// joins its core, and the same placement and balancing rules (a pulled task is the head of
// the busiest queue: the least recently run one).
type coreRR struct {
	p     CFSParams
	env   *Env
	q     []taskQueue // waiting tasks per core
	open  []bool      // core runs a task alone, with no quantum
	on    []int       // core of each task
	timer int64
}

func (*coreRR) Name() string        { return "cfs-slices" }
func (r *coreRR) SwitchCost() int64 { return r.p.ContextSwitch }

func (r *coreRR) Start(e *Env) {
	r.env = e
	r.q = make([]taskQueue, e.Cores())
	r.open = make([]bool, e.Cores())
	r.on = make([]int, e.Tasks())
	r.timer = never
}

// nr is core k's number of runnable tasks.
func (r *coreRR) nr(k int) int {
	n := r.q[k].len()
	if r.env.Running(k) != NoTask {
		n++
	}
	return n
}

func (r *coreRR) slice(n int) int64 { return max(r.p.Latency/int64(max(n, 1)), r.p.MinGranularity) }

func (r *coreRR) Runnable(t TaskID, why Reason) {
	k := r.on[t]
	switch why {
	case Arrived:
		k = 0
		for j := range r.q {
			if r.nr(j) < r.nr(k) {
				k = j
			}
		}
	case Woke:
		if r.nr(k) > 0 {
			for i := 1; i < len(r.q); i++ {
				if j := (k + i) % len(r.q); r.nr(j) == 0 {
					k = j
					break
				}
			}
		}
	}
	r.put(t, k)
}

// put queues t on core k and ends an open run there after its slice.
func (r *coreRR) put(t TaskID, k int) {
	r.on[t] = k
	r.q[k].push(t)
	if r.open[k] {
		r.open[k] = false
		r.env.Preempt(k, max(r.env.Now(), r.env.RunStart(k)+r.slice(r.nr(k))))
	}
	r.plan()
}

// busiest is the core with most runnable tasks, at least 2, one of them waiting; or -1.
func (r *coreRR) busiest() int {
	b := -1
	for k := range r.q {
		if r.q[k].len() > 0 && r.nr(k) >= 2 && (b < 0 || r.nr(k) > r.nr(b)) {
			b = k
		}
	}
	return b
}

func (r *coreRR) Pick(core int) (TaskID, int64, bool) {
	if r.q[core].len() == 0 {
		b := r.busiest()
		if b < 0 {
			return NoTask, 0, false
		}
		t := r.q[b].pop()
		r.on[t] = core
		r.q[core].push(t)
	}
	t := r.q[core].pop()
	if r.q[core].len() == 0 {
		r.open[core] = true
		return t, 0, true
	}
	return t, r.slice(r.q[core].len() + 1), true
}

func (r *coreRR) Stopped(_ TaskID, core int, _ int64, _ StopReason) {
	r.open[core] = false
	r.plan()
}

// plan sets the balancing timer while queue lengths differ by 2 or more.
func (r *coreRR) plan() {
	hi, lo := 0, 0
	for k := range r.q {
		if r.nr(k) > r.nr(hi) {
			hi = k
		}
		if r.nr(k) < r.nr(lo) {
			lo = k
		}
	}
	if r.nr(hi)-r.nr(lo) < 2 {
		return
	}
	iv := r.p.BusyBalanceInterval
	if r.nr(lo) == 0 {
		iv = r.p.BalanceInterval
	}
	if at := (r.env.Now()/iv + 1) * iv; at < r.timer || r.timer <= r.env.Now() {
		r.timer = at
		r.env.SetTimer(at)
	}
}

func (r *coreRR) Timer(now int64) {
	r.timer = never
	for {
		hi, lo := 0, 0
		for k := range r.q {
			if r.nr(k) > r.nr(hi) || (r.nr(k) == r.nr(hi) && r.q[k].len() > r.q[hi].len()) {
				hi = k
			}
			if r.nr(k) < r.nr(lo) {
				lo = k
			}
		}
		if r.nr(hi)-r.nr(lo) < 2 || r.q[hi].len() == 0 {
			break
		}
		r.put(r.q[hi].pop(), lo)
	}
	r.plan()
}

// TestCoreCFSAgainstSlices compares the per-core fluid model with the slice-by-slice
// reference on the same traces (zero migration cost, so that both pull whenever they may).
// They differ by design at the granularity scale (within a core a short task waits for the
// current slice instead of sharing at once, and which task a pull takes differs), so the
// check is on the mean FCT, within 5%, over demands (mean 50 ms) well above the slice.
func TestCoreCFSAgainstSlices(t *testing.T) {
	p := testParams(t, 1).CFS
	p.MigrationCost = 0
	for _, cores := range []int{1, 4, 16} {
		tr := randomTrace(uint64(cores)+300, 20_000, 50e6/(0.85*float64(cores)), 50e6, 0.2)
		fl, err := Run(tr, NewCoreCFS(p), Options{Cores: cores})
		if err != nil {
			t.Fatal(err)
		}
		sl, err := Run(tr, &coreRR{p: p}, Options{Cores: cores})
		if err != nil {
			t.Fatal(err)
		}
		a, b := meanOf(fl.Records), meanOf(sl.Records)
		t.Logf("%d cores: mean FCT fluid %.2f ms, slices %.2f ms (%+.2f%%); context switches %d, %d",
			cores, a/1e6, b/1e6, 100*(a-b)/b, fl.ContextSwitches, sl.ContextSwitches)
		if math.Abs(a-b)/b > 0.05 {
			t.Errorf("%d cores: fluid mean FCT %.2f ms, slice-level %.2f ms: more than 5%% apart", cores, a/1e6, b/1e6)
		}
	}
}
