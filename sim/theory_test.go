package sim

import (
	"math"
	"math/rand/v2"
	"testing"
)

// queueTrace draws n invocations with Poisson arrivals of rate lambda (per ms) and demands
// from draw (ms).
func queueTrace(seed uint64, n int, lambda float64, draw func(r *rand.Rand) float64) *Trace {
	r := rand.New(rand.NewPCG(seed, 11))
	tr := &Trace{Functions: []string{"f"}, Inv: make([]Invocation, n)}
	var at float64
	for i := range tr.Inv {
		at += r.ExpFloat64() / lambda
		tr.Inv[i] = Invocation{Arrival: int64(at * 1e6), CPU: max(1, int64(draw(r)*1e6))}
	}
	return tr
}

func exponential(mean float64) func(*rand.Rand) float64 {
	return func(r *rand.Rand) float64 { return r.ExpFloat64() * mean }
}

// hyperexponential: with probability p mean m1, else mean m2.
func hyperexponential(p, m1, m2 float64) func(*rand.Rand) float64 {
	return func(r *rand.Rand) float64 {
		if r.Float64() < p {
			return r.ExpFloat64() * m1
		}
		return r.ExpFloat64() * m2
	}
}

// batchMeanFCT returns the mean response time (ms) after dropping the first tenth (warm-up) and
// its standard error estimated by 40 batch means (consecutive invocations are correlated,
// so the naive standard error would be too small).
func batchMeanFCT(recs []Record) (mean, se float64) {
	recs = recs[len(recs)/10:]
	const batches = 40
	size := len(recs) / batches
	var bm [batches]float64
	for b := 0; b < batches; b++ {
		var s float64
		for _, r := range recs[b*size : (b+1)*size] {
			s += float64(r.FCT()) / 1e6
		}
		bm[b] = s / float64(size)
		mean += bm[b]
	}
	mean /= batches
	var v float64
	for _, x := range bm {
		v += (x - mean) * (x - mean)
	}
	se = math.Sqrt(v / (batches - 1) / batches)
	return mean, se
}

// erlangC is the probability of waiting in an M/M/c queue with offered load a = lambda/mu.
func erlangC(c int, a float64) float64 {
	term, sum := 1.0, 1.0
	for k := 1; k < c; k++ {
		term *= a / float64(k)
		sum += term
	}
	last := term * a / float64(c) * float64(c) / (float64(c) - a)
	return last / (sum + last)
}

// psPolicy is cfs with every knob set so that it time-slices at granularity g and costs
// nothing to switch: round robin with a small quantum, i.e. processor sharing.
func psPolicy(g int64) Policy {
	return NewGlobalCFS(CFSParams{Latency: g, MinGranularity: g})
}

// TestQueueingTheory compares mean response times with closed forms. Each case uses
// 200,000 invocations; the tolerance is 4 batch-means standard errors (a false alarm about
// once in 16,000 runs if the estimate is normal) plus 1% for the warm-up bias and the
// quantum of the processor-sharing approximation.
func TestQueueingTheory(t *testing.T) {
	if testing.Short() {
		t.Skip("long")
	}
	const n = 200_000
	mm1 := func(lambda, mu float64) float64 { return 1 / (mu - lambda) }
	// M/G/1 FCFS, Pollaczek-Khinchine: E[S] + lambda E[S^2] / (2 (1 - rho)).
	h2 := hyperexponential(0.9, 0.5, 5.5) // E[S] = 1 ms, E[S^2] = 2(0.9*0.25 + 0.1*30.25) = 6.5
	// Sharing c cores with rate min(1, c/n) per task is a symmetric queue: its number in
	// system, hence its mean response, is that of M/M/c whatever the demand distribution.
	mh4PS := erlangC(4, 2.4)/(4-2.4) + 1
	tests := []struct {
		name   string
		cores  int
		lambda float64 // per ms
		draw   func(*rand.Rand) float64
		pol    func() Policy
		want   float64 // ms
	}{
		{"M/M/1 FCFS rho=0.5", 1, 0.5, exponential(1), func() Policy { return NewFIFO() }, mm1(0.5, 1)},
		{"M/M/1 FCFS rho=0.7", 1, 0.7, exponential(1), func() Policy { return NewFIFO() }, mm1(0.7, 1)},
		{"M/M/1 PS rho=0.7", 1, 0.7, exponential(1), func() Policy { return psPolicy(20e3) }, mm1(0.7, 1)},
		// PS is insensitive to the demand distribution: E[T] = E[S] / (1 - rho), while FCFS
		// pays for the variance. This separates the two models.
		{"M/H2/1 PS rho=0.6", 1, 0.6, h2, func() Policy { return psPolicy(20e3) }, 1 / (1 - 0.6)},
		{"M/H2/1 ps rho=0.6", 1, 0.6, h2, func() Policy { return NewPS(CFSParams{Latency: 1, MinGranularity: 1}) }, 1 / (1 - 0.6)},
		{"M/H2/4 ps rho=0.6 (at most 1 core per task)", 4, 2.4, h2, func() Policy {
			return NewPS(CFSParams{Latency: 1, MinGranularity: 1})
		}, mh4PS},
		{"M/H2/1 FCFS rho=0.6", 1, 0.6, h2, func() Policy { return NewFIFO() }, 1 + 0.6*6.5/(2*0.4)},
		{"M/M/4 FIFO rho=0.75", 4, 3, exponential(1), func() Policy { return NewFIFO() },
			erlangC(4, 3)/(4-3) + 1},
		{"M/M/8 FIFO rho=0.8", 8, 6.4, exponential(1), func() Policy { return NewFIFO() },
			erlangC(8, 6.4)/(8-6.4) + 1},
		// For exponential demand las has the M/M/1 mean, as ps does.
		{"M/M/1 las rho=0.7", 1, 0.7, exponential(1), func() Policy { return NewLAS() }, mm1(0.7, 1)},
		// Decreasing hazard rate: las beats ps (1 / (1 - 0.6) = 2.5); Schrage's FB formula.
		{"M/H2/1 las rho=0.6", 1, 0.6, h2, func() Policy { return NewLAS() },
			schrageFB(0.6, []float64{0.9, 0.1}, []float64{0.5, 5.5})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := queueTrace(42, n, tt.lambda, tt.draw)
			res, err := Run(tr, tt.pol(), Options{Cores: tt.cores})
			if err != nil {
				t.Fatal(err)
			}
			got, se := batchMeanFCT(res.Records)
			tol := 4*se + 0.01*tt.want
			if math.Abs(got-tt.want) > tol {
				t.Errorf("mean response %.4f ms, theory %.4f ms (tolerance %.4f)", got, tt.want, tol)
			}
			t.Logf("mean response %.4f ms, theory %.4f ms, se %.4f", got, tt.want, se)
		})
	}
}

// TestSRPTNeverWorse: on one core without I/O, SRPT minimises the mean completion time, so
// no other policy may beat it on any instance.
func TestSRPTNeverWorse(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		tr := queueTrace(seed, 400, 0.8, hyperexponential(0.8, 0.3, 3.8))
		base := meanOf(runPolicy(t, "srpt", tr, 1, nil).Records)
		for _, name := range Names() {
			if m := meanOf(runPolicy(t, name, tr, 1, nil).Records); m < base {
				t.Errorf("seed %d: %s mean FCT %.0f < srpt %.0f", seed, name, m, base)
			}
		}
	}
}

func meanOf(recs []Record) float64 {
	var s float64
	for i := range recs {
		s += float64(recs[i].FCT())
	}
	return s / float64(len(recs))
}

// bruteForce returns the least total completion time of jobs (arrival, demand in units) on
// one preemptive core, trying every choice of job (or idling) in every unit of time.
func bruteForce(arr, dem []int) int {
	best := math.MaxInt
	rem := append([]int(nil), dem...)
	var rec func(t, done, sum int)
	rec = func(t, done, sum int) {
		lb := sum // every unfinished job completes no earlier than t + its remaining demand
		for j := range rem {
			if rem[j] > 0 {
				lb += max(t, arr[j]) + rem[j]
			}
		}
		if lb >= best {
			return
		}
		if done == len(rem) {
			best = sum
			return
		}
		ran := false
		for j := range rem {
			if rem[j] == 0 || arr[j] > t {
				continue
			}
			ran = true
			rem[j]--
			if rem[j] == 0 {
				rec(t+1, done+1, sum+t+1)
			} else {
				rec(t+1, done, sum)
			}
			rem[j]++
		}
		if !ran { // nothing available: idle until the next arrival
			rec(t+1, done, sum)
		}
	}
	rec(0, 0, 0)
	return best
}

// TestSRPTOptimalTiny compares srpt with an exhaustive search on every small instance drawn.
func TestSRPTOptimalTiny(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	for i := 0; i < 300; i++ {
		n := 1 + r.IntN(5)
		arr, dem := make([]int, n), make([]int, n)
		tr := &Trace{Functions: []string{"f"}}
		for j := range arr {
			arr[j], dem[j] = r.IntN(6), 1+r.IntN(4)
		}
		for j := range arr {
			tr.Inv = append(tr.Inv, Invocation{Arrival: int64(arr[j]) * 1e6, CPU: int64(dem[j]) * 1e6})
		}
		tr.Sort()
		want := bruteForce(arr, dem)
		res := runPolicy(t, "srpt", tr, 1, nil)
		var got int64
		for _, rc := range res.Records {
			got += rc.End
		}
		if got != int64(want)*1e6 {
			t.Fatalf("instance %v %v: srpt total completion %d ms, optimum %d ms", arr, dem, got/1e6, want)
		}
	}

}

// TestPSAgainstSlices compares the processor-sharing model (ps) with the slice-level
// CFS model (vruntime order, slices, wake-up preemption, context-switch cost) on the same
// traces. They differ by design at the granularity scale, so the check is on the mean FCT,
// within 5% (they agree within about 1% on these traces), over demands (mean 50 ms) well
// above the 3 ms granularity.
func TestPSAgainstSlices(t *testing.T) {
	p := testParams(t, 1).CFS
	for _, cores := range []int{1, 4, 16} {
		tr := randomTrace(uint64(cores)+100, 20_000, 50e6/(0.8*float64(cores)), 50e6, 0.2)
		fl, err := Run(tr, NewPS(p), Options{Cores: cores})
		if err != nil {
			t.Fatal(err)
		}
		sl, err := Run(tr, NewGlobalCFS(p), Options{Cores: cores})
		if err != nil {
			t.Fatal(err)
		}
		a, b := meanOf(fl.Records), meanOf(sl.Records)
		t.Logf("%d cores: ps %.2f ms, slices %.2f ms", cores, a/1e6, b/1e6)
		if math.Abs(a-b)/b > 0.05 {
			t.Errorf("%d cores: ps mean FCT %.2f ms, slice-level %.2f ms: more than 5%% apart", cores, a/1e6, b/1e6)
		}
	}
}

// pairedDiff returns the mean of FCT(a) - FCT(b) per invocation (ms) over two runs of one
// trace, after the first tenth, and its standard error by 40 batch means: the runs share
// their arrivals and demands, so the difference is far less noisy than either mean.
func pairedDiff(a, b []Record) (mean, se float64) {
	d := make([]Record, len(a))
	for i := range a {
		d[i] = Record{End: a[i].FCT() - b[i].FCT()}
	}
	return batchMeanFCT(d)
}

// TestLASIsPSForExponential: on one core with exponential demand las and ps have the same
// mean response time (every non-anticipating policy does), paired on one trace.
func TestLASIsPSForExponential(t *testing.T) {
	if testing.Short() {
		t.Skip("long")
	}
	tr := queueTrace(7, 200_000, 0.8, exponential(1))
	las := runPolicy(t, "las", tr, 1, nil)
	ps, err := Run(tr, NewPS(CFSParams{Latency: 1, MinGranularity: 1}), Options{Cores: 1})
	if err != nil {
		t.Fatal(err)
	}
	d, se := pairedDiff(las.Records, ps.Records)
	t.Logf("las - ps: %.4f ms (se %.4f); M/M/1 mean %.4f ms", d, se, 1/(1-0.8))
	if math.Abs(d) > 4*se {
		t.Errorf("las - ps mean response %.4f ms, more than 4 standard errors (%.4f) from 0", d, se)
	}
}

// TestGittinsTheory: on long single-core runs with Poisson arrivals and i.i.d. demand from
// one distribution (mean 100 ms, load 0.7), gittins (the Gittins index of the trace's
// demands) has a mean response time at most las's, fifo's and ps's: the paired difference
// may exceed 0 by at most 4 of its batch-means standard errors. For deterministic demand it
// is FCFS (the M/D/1 mean, Pollaczek-Khinchine, within 4 standard errors plus 1% as in
// TestQueueingTheory) and for Pareto demand (decreasing hazard rate) it is las: there the
// difference must be within 4 standard errors either way. (Over seeds 1-6 the largest
// difference in favour of the other policy was 0.72 standard errors.)
func TestGittinsTheory(t *testing.T) {
	if testing.Short() {
		t.Skip("long")
	}
	const n, mean, rho = 200_000, 100.0, 0.7
	// Pareto of the second kind (Lomax, from 0): hazard rate α / (σ + x), decreasing.
	pareto := func(alpha float64) func(*rand.Rand) float64 {
		sigma := mean * (alpha - 1)
		return func(r *rand.Rand) float64 { return sigma * (math.Pow(1-r.Float64(), -1/alpha) - 1) }
	}
	tests := []struct {
		name  string
		draw  func(*rand.Rand) float64
		fcfs  float64 // if > 0: the M/G/1 FCFS mean gittins must match
		isLAS bool
	}{
		{"exponential", exponential(mean), 0, false},
		{"hyperexponential", hyperexponential(0.9, 50, 550), 0, false},
		{"deterministic", func(*rand.Rand) float64 { return mean }, mean + rho*mean/(2*(1-rho)), false},
		{"uniform", func(r *rand.Rand) float64 { return 2 * mean * r.Float64() }, 0, false},
		{"bimodal", func(r *rand.Rand) float64 {
			if r.Float64() < 0.9 {
				return 20
			}
			return 820
		}, 0, false},
		{"lognormal", func(r *rand.Rand) float64 { return mean * math.Exp(r.NormFloat64()-0.5) }, 0, false},
		{"pareto 2.5", pareto(2.5), 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := queueTrace(21, n, rho/mean, tt.draw)
			g := runPolicy(t, "gittins", tr, 1, nil)
			others := map[string]*Result{
				"las":  runPolicy(t, "las", tr, 1, nil),
				"fifo": runPolicy(t, "fifo", tr, 1, nil),
			}
			ps, err := Run(tr, NewPS(CFSParams{Latency: 1, MinGranularity: 1}), Options{Cores: 1})
			if err != nil {
				t.Fatal(err)
			}
			others["ps"] = ps
			gm, gse := batchMeanFCT(g.Records)
			for _, name := range []string{"las", "fifo", "ps"} {
				d, se := pairedDiff(g.Records, others[name].Records)
				om, _ := batchMeanFCT(others[name].Records)
				t.Logf("gittins %.2f ms, %s %.2f ms: difference %.3f ms (se %.3f)", gm, name, om, d, se)
				if d > 4*se {
					t.Errorf("gittins's mean response is %.3f ms above %s's (tolerance %.3f)", d, name, 4*se)
				}
				if tt.isLAS && name == "las" && math.Abs(d) > 4*se {
					t.Errorf("gittins's mean response differs from las's by %.3f ms (tolerance %.3f)", d, 4*se)
				}
			}
			if tt.fcfs > 0 {
				if tol := 4*gse + 0.01*tt.fcfs; math.Abs(gm-tt.fcfs) > tol {
					t.Errorf("gittins mean response %.3f ms, M/D/1 %.3f ms (tolerance %.3f)", gm, tt.fcfs, tol)
				}
			}
		})
	}
}
