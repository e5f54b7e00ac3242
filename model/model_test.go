package model

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"testing"

	"github.com/alps-sched/alps/policy"
	"golang.org/x/sys/unix"
)

const msec = 1_000_000 // ns per ms

func TestWindowBounds(t *testing.T) {
	w := NewWindow(3, 100)
	for i := range 5 {
		w.Add(policy.Record{Function: uint32(i), Start: int64(i * 10), End: int64(i*10) + 5, RunDelay: 5})
	}
	if w.Len() != 3 || w.Total() != 5 {
		t.Fatalf("len %d total %d, want 3 5", w.Len(), w.Total())
	}
	var ids []uint32
	for _, r := range w.Records(nil) {
		ids = append(ids, r.Function)
	}
	if !slices.Equal(ids, []uint32{2, 3, 4}) {
		t.Fatalf("kept %v, want the newest [2 3 4]", ids)
	}
	// Ends are 25, 35, 45: at now=130 everything ending before 30 leaves.
	w.Expire(130)
	if w.Len() != 2 || w.At(0).Function != 3 {
		t.Fatalf("after expiry len %d first %d, want 2 and function 3", w.Len(), w.At(0).Function)
	}
	w.Expire(1000)
	if w.Len() != 0 {
		t.Fatalf("window not emptied: %d", w.Len())
	}
}

func TestPredictors(t *testing.T) {
	tests := []struct {
		name string
		xs   []float64
		want float64
	}{
		{"mean", []float64{1, 2, 3, 6}, 3},
		{"ewma", []float64{10, 20}, 12},                // 10 + 0.2*(20-10)
		{"percentile", []float64{5, 1, 4, 2, 3}, 5},    // q=0.9 of 1..5, empirical
		{"regression", []float64{1, 2, 3, 4}, 4},       // trend predicts 5, clamped to the max seen
		{"regression", []float64{4, 3, 3.5, 2.5}, 2.5}, // falling trend, clamped to the min seen
		{"regression", []float64{7, 9}, 8},             // too short: mean
		{"logmean", []float64{math.E, math.E}, math.E},
	}
	for _, tc := range tests {
		p, err := NewPredictor(tc.name, 0.2, 0.9)
		if err != nil {
			t.Fatal(err)
		}
		in := slices.Clone(tc.xs)
		got := p.Predict(in, make([]float64, 0, len(in)))
		if math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("%s(%v) = %g, want %g", tc.name, tc.xs, got, tc.want)
		}
		if !slices.Equal(in, tc.xs) {
			t.Errorf("%s modified its input", tc.name)
		}
	}
	for _, bad := range []struct {
		name string
		a, q float64
	}{{"ewma", 0, 0.5}, {"percentile", 0.2, 1.5}, {"forest", 0.2, 0.5}} {
		if _, err := NewPredictor(bad.name, bad.a, bad.q); err == nil {
			t.Errorf("NewPredictor(%q, %g, %g) accepted", bad.name, bad.a, bad.q)
		}
	}
}

func TestSimulateSRPTPreempts(t *testing.T) {
	jobs := []SimJob{{Arrival: 0, Demand: 10, Class: 0}, {Arrival: 2, Demand: 3, Class: 1}}
	st := make([]SegStats, 2)
	end := SimulateSRPT(jobs, 1, st)
	if end != 13 {
		t.Fatalf("makespan %d, want 13", end)
	}
	if st[0].Segments != 2 || st[0].SegSum != 10 || st[0].FCTSum != 13 || st[0].WaitSum != 3 {
		t.Errorf("long job stats %+v, want 2 segments of total 10, FCT 13, wait 3", st[0])
	}
	if st[1].Segments != 1 || st[1].FCTSum != 3 || st[1].WaitSum != 0 {
		t.Errorf("short job stats %+v, want 1 segment, FCT 3, no wait", st[1])
	}
}

// tickSRPT is a 1-tick reference: every tick the cores run the jobs with the least remaining
// work. It returns the sum of completion times.
func tickSRPT(jobs []SimJob, cores int) int64 {
	rem := make([]int64, len(jobs))
	for i, j := range jobs {
		rem[i] = j.Demand
	}
	var sum int64
	left := len(jobs)
	for t := int64(0); left > 0; t++ {
		var ready []int
		for i, j := range jobs {
			if j.Arrival <= t && rem[i] > 0 {
				ready = append(ready, i)
			}
		}
		slices.SortStableFunc(ready, func(a, b int) int { return int(rem[a] - rem[b]) })
		for k := 0; k < len(ready) && k < cores; k++ {
			i := ready[k]
			rem[i]--
			if rem[i] == 0 {
				sum += t + 1 - jobs[i].Arrival
				left--
			}
		}
	}
	return sum
}

func TestSimulateSRPTAgainstTicks(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 200 {
		cores := 1 + rng.IntN(3)
		n := 1 + rng.IntN(12)
		jobs := make([]SimJob, n)
		for i := range jobs {
			jobs[i] = SimJob{Arrival: int64(rng.IntN(20)), Demand: int64(1 + rng.IntN(9))}
		}
		slices.SortStableFunc(jobs, func(a, b SimJob) int { return int(a.Arrival - b.Arrival) })
		st := make([]SegStats, 1)
		SimulateSRPT(jobs, cores, st)
		var work int64
		for _, j := range jobs {
			work += j.Demand
		}
		if int64(st[0].SegSum) != work {
			t.Fatalf("trial %d: segments sum to %g, want the total demand %d", trial, st[0].SegSum, work)
		}
		if want := tickSRPT(jobs, cores); int64(st[0].FCTSum) != want {
			t.Fatalf("trial %d (%d cores, %v): FCT sum %g, tick reference %d", trial, cores, jobs, st[0].FCTSum, want)
		}
	}
}

// tableOf is the table of one update of a learner of cfg, at 2 s, over one invocation of
// function i per demand (ms) demandsMs[i], the i-th arriving at i ms.
func tableOf(t *testing.T, cfg Config, demandsMs ...int64) *policy.Table {
	t.Helper()
	l, err := NewLearner(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range demandsMs {
		l.Observe(policy.Record{Function: uint32(i), CPU: d * msec, Start: int64(i) * msec, End: int64(i)*msec + d*msec})
	}
	return l.Update(2000 * msec)
}

func testConfig() Config {
	return Config{
		WindowSize: 10000, WindowSpan: 60_000 * msec, UpdateInterval: 1000 * msec, Cores: 2,
		Predictor: "mean", EWMAAlpha: 0.2, Percentile: 0.9,
		Alpha: 1, Beta: 0, Gamma: 1, Theta: 100, SliceCap: 200 * msec, MinSlice: msec, SRPTSlice: true,
		RankLevels: 8, RankScale: RankByOrder, RankStep: 10 * msec, MaxFunctions: 100, IORule: true,
		Knobs: policy.Knobs{WakeLag: 20 * msec, DefaultSlice: 20 * msec, MaxWait: 2000 * msec, Preempt: true},
	}
}

func TestLearnerRanksShortFirst(t *testing.T) {
	l, err := NewLearner(testConfig())
	if err != nil {
		t.Fatal(err)
	}
	// Function 1 takes 2 ms, function 2 takes 300 ms, function 3 (I/O-bound) 100 ms of CPU in
	// 50 bursts of 2 ms.
	var now int64
	for i := range 60 {
		at := int64(i) * 50 * msec
		l.Observe(policy.Record{Function: 1, CPU: 2 * msec, Start: at, End: at + 2*msec})
		l.Observe(policy.Record{Function: 2, CPU: 300 * msec, Start: at, End: at + 310*msec, RunDelay: 310*msec - 300*msec})
		l.Observe(policy.Record{Function: 3, CPU: 100 * msec, Start: at, End: at + 400*msec, RunDelay: 400*msec - 100*msec - 300*msec, Nvcsw: 49})
		now = at + 400*msec
	}
	tab := l.Update(now)
	e1, _ := tab.Lookup(1)
	e2, _ := tab.Lookup(2)
	e3, _ := tab.Lookup(3)
	if !(e1.Rank < e3.Rank && e3.Rank < e2.Rank) {
		t.Errorf("I/O rule on: ranks short %d io %d long %d, want short < io < long", e1.Rank, e3.Rank, e2.Rank)
	}
	if e1.Slice < 2*msec {
		t.Errorf("short function's slice %d < its 2 ms demand: SRPT never interrupts it", e1.Slice)
	}
	if e1.Demand != 2*msec || e2.Demand != 300*msec {
		t.Errorf("demands %d %d, want the means", e1.Demand, e2.Demand)
	}
	if _, ok := tab.Lookup(99); ok {
		t.Error("unseen function has an entry")
	}
	if tab.Version != 1 || tab.Knobs.MaxWait != 2000*msec {
		t.Errorf("version %d knobs %+v", tab.Version, tab.Knobs)
	}

	// Without the I/O rule the I/O-bound function looks like its 2 ms bursts: the blind spot.
	cfg := testConfig()
	cfg.IORule = false
	blind, _ := NewLearner(cfg)
	for _, r := range l.Window().Records(nil) {
		blind.Observe(r)
	}
	tb := blind.Update(now)
	b3, _ := tb.Lookup(3)
	b2, _ := tb.Lookup(2)
	if b3.Rank >= b2.Rank || b3.Demand != 2*msec {
		t.Errorf("I/O rule off: io function rank %d demand %d, want ranked by its 2 ms burst", b3.Rank, b3.Demand)
	}

	// Everything ages out of the window.
	if tab := l.Update(now + 61_000*msec); tab.Len() != 0 || tab.Version != 2 {
		t.Errorf("after the span: %d entries version %d, want 0 and 2", tab.Len(), tab.Version)
	}
}

func TestLearnerRankScalesAndCap(t *testing.T) {
	for _, tc := range []struct {
		scale string
		want  []uint32 // ranks of demands 1, 15, 45, 1000 ms with a 10 ms step, 8 levels
	}{
		{RankByOrder, []uint32{0, 2, 4, 6}},
		{RankByDemand, []uint32{0, 2, 5, 7}},
		{RankByLog, []uint32{0, 1, 3, 7}},
	} {
		cfg := testConfig()
		cfg.RankScale = tc.scale
		tab := tableOf(t, cfg, 1, 15, 45, 1000)
		var got []uint32
		for i := range 4 {
			e, _ := tab.Lookup(uint32(i))
			got = append(got, e.Rank)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: ranks %v, want %v", tc.scale, got, tc.want)
		}
	}
	cfg := testConfig()
	cfg.MaxFunctions = 2
	l, _ := NewLearner(cfg)
	for i := range 5 {
		l.Observe(policy.Record{Function: uint32(i), CPU: msec, Start: int64(i) * msec, End: int64(i)*msec + msec})
	}
	tab := l.Update(10 * msec)
	if tab.Len() != 2 {
		t.Fatalf("table has %d functions, want the cap 2", tab.Len())
	}
	for _, id := range []uint32{3, 4} {
		if _, ok := tab.Lookup(id); !ok {
			t.Errorf("most recent function %d dropped", id)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Config)
	}{
		{"window", func(c *Config) { c.WindowSize = 0 }},
		{"cores", func(c *Config) { c.Cores = 0 }},
		{"alpha", func(c *Config) { c.Alpha = -1 }},
		{"predictor", func(c *Config) { c.Predictor = "forest" }},
		{"scale", func(c *Config) { c.RankScale = "random" }},
		{"default slice", func(c *Config) { c.Knobs.DefaultSlice = 0 }},
	}
	for _, tc := range tests {
		c := testConfig()
		tc.mod(&c)
		if _, err := NewLearner(c); err == nil {
			t.Errorf("%s: bad config accepted", tc.name)
		}
	}
}

// benchWindow is a 10,000-invocation window of an Azure-like mix (log-normal demands over
// 500 functions, Poisson arrivals) at 85% load on the given cores.
func benchWindow(cores int) []policy.Record {
	rng := rand.New(rand.NewPCG(7, 7))
	const nf = 500
	mu := make([]float64, nf)
	for i := range mu {
		mu[i] = math.Log(0.68) + 2.36*rng.NormFloat64() // seconds, research.md fit
		mu[i] = math.Min(math.Max(mu[i], math.Log(0.001)), math.Log(60))
	}
	recs := make([]policy.Record, 10000)
	var total float64
	for i := range recs {
		f := rng.IntN(nf)
		d := math.Exp(mu[f]+0.3*rng.NormFloat64()) * 1e9
		recs[i] = policy.Record{Function: uint32(f), CPU: int64(d), End: int64(d)}
		total += d
	}
	rate := float64(len(recs)) / (total / (0.85 * float64(cores)))
	var at float64
	for i := range recs {
		at += rng.ExpFloat64() / rate
		recs[i].Start = int64(at)
	}
	slices.SortFunc(recs, func(a, b policy.Record) int { return int(a.End - b.End) })
	return recs
}

// BenchmarkLearnerUpdate measures one learner update (default configuration) on a full
// 10,000-invocation window with 16 cores and reports the 50th and 99th percentiles of the
// update time (target: p99 <= 5 ms).
func BenchmarkLearnerUpdate(b *testing.B) {
	benchLearnerUpdate(b, 16, benchWindow(16), nil)
}

// BenchmarkLearnerUpdatePooled is BenchmarkLearnerUpdate with the pooled prior
// (learner.prior pooled) instead of the scaled one.
func BenchmarkLearnerUpdatePooled(b *testing.B) {
	benchLearnerUpdate(b, 16, benchWindow(16), func(c *Config) { c.Prior = PriorPooled })
}

// BenchmarkLearnerUpdateOneRank is BenchmarkLearnerUpdate with one rank per function
// (learner.attained_ranks off: no step tables).
func BenchmarkLearnerUpdateOneRank(b *testing.B) {
	benchLearnerUpdate(b, 16, benchWindow(16), func(c *Config) { c.AttainedRanks = false })
}

// benchLearnerUpdate fills a learner of the documented defaults (cores cores, no age limit,
// then set if not nil) with recs, in completion order, and reports the p50 and p99 of its updates.
func benchLearnerUpdate(b *testing.B, cores int, recs []policy.Record, set func(*Config)) {
	cfg := defaultConfig(b)
	cfg.Cores = cores
	cfg.WindowSpan = int64(MaxWindowSpan) // keep every record whatever its age
	if set != nil {
		set(&cfg)
	}
	l, err := NewLearner(cfg)
	if err != nil {
		b.Fatal(err)
	}
	slices.SortFunc(recs, func(a, b policy.Record) int { return int(a.End - b.End) })
	for _, r := range recs {
		l.Observe(r)
	}
	now := recs[len(recs)-1].End
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	times := make([]float64, 0, b.N)
	cpus := make([]float64, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0, c0 := nanotime(), threadCPU()
		tab := l.Update(now)
		times = append(times, float64(nanotime()-t0))
		cpus = append(cpus, float64(threadCPU()-c0))
		if tab.Len() == 0 {
			b.Fatal("empty table")
		}
	}
	b.StopTimer()
	slices.Sort(times)
	slices.Sort(cpus)
	b.ReportMetric(times[(len(times)*99)/100]/1e6, "p99-ms/update")
	b.ReportMetric(times[len(times)/2]/1e6, "p50-ms/update")
	// The thread's CPU time: what an update costs whatever else shares the machine.
	b.ReportMetric(cpus[(len(cpus)*99)/100]/1e6, "cpu-p99-ms/update")
	b.ReportMetric(cpus[len(cpus)/2]/1e6, "cpu-p50-ms/update")
}

// threadCPU is the calling thread's CPU time, ns (the benchmark goroutine stays on its thread
// for the few ms of an update; runtime.LockOSThread in the caller makes it certain).
func threadCPU() int64 {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts)
	return ts.Nano()
}

// defaultConfig is the learner configuration of the documented defaults (configs/alps.yaml,
// learner.cores 0), as configs' TestDefaultsGolden keeps it in testdata (model cannot import
// configs, which imports model).
func defaultConfig(tb testing.TB) Config {
	tb.Helper()
	b, err := os.ReadFile("testdata/default_config.json")
	if err != nil {
		tb.Fatal(err)
	}
	var c Config
	if err := json.Unmarshal(b, &c); err != nil {
		tb.Fatalf("testdata/default_config.json: %v", err)
	}
	return c
}

func TestSortByArrival(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 1, 2, 100, 5000} {
		jobs := make([]SimJob, n)
		for i := range jobs {
			jobs[i] = SimJob{Arrival: 1e12 + rng.Int64N(1<<40), Class: int32(i)}
		}
		if n > 10 {
			jobs[3].Arrival = jobs[7].Arrival // a tie keeps its order
		}
		want := slices.Clone(jobs)
		slices.SortStableFunc(want, func(a, b SimJob) int { return int(a.Arrival - b.Arrival) })
		got, _ := sortByArrival(jobs, nil)
		if !slices.Equal(got, want) {
			t.Fatalf("n=%d: radix sort differs from a stable sort", n)
		}
	}
}
