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
	return NewCFS(CFSParams{Latency: g, MinGranularity: g})
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
	p := CFSParamsFrom(testParams(t, 1).Config.Sim)
	for _, cores := range []int{1, 4, 16} {
		tr := randomTrace(uint64(cores)+100, 20_000, 50e6/(0.8*float64(cores)), 50e6, 0.2)
		fl, err := Run(tr, NewPS(p), Options{Cores: cores})
		if err != nil {
			t.Fatal(err)
		}
		sl, err := Run(tr, NewCFS(p), Options{Cores: cores})
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
