package trace

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"github.com/alps-sched/alps/sim"
)

// GenOptions shape a synthetic Azure-like trace.
type GenOptions struct {
	Functions   int     // distinct functions, > 0
	Minutes     float64 // span of the arrivals, > 0 (ignored when Invocations > 0)
	Invocations int     // if > 0: exactly this many invocations, the span follows from the load
	Cores       int     // cores the load is relative to, > 0
	Load        float64 // offered CPU load per core, in (0, 1.5]
	IOFraction  float64 // fraction of functions that are I/O-bound, in [0, 1]
	Seed        uint64

	// Arrivals is the arrival model; the zero value is ArrivalsPoisson. Burstiness and
	// Batch shape ArrivalsAzure only (see gen_azure.go).
	Arrivals   Arrivals
	Burstiness float64 // CV of a function's per-minute rate, in [0, 5]; 0: steady rates
	Batch      float64 // mean batch size of queue and event triggers, in [1, 1000]

	// ParetoShape, when its first value is > 0, makes each function's demand Pareto with a
	// shape drawn uniformly in [ParetoShape[0], ParetoShape[1]] (both in (1, 10]) and the
	// mean the log-normal would have: heavy-tailed demand within functions.
	ParetoShape [2]float64
}

// Validate names the first bad option as its flag.
func (o GenOptions) Validate() error {
	switch {
	case o.Functions <= 0 || o.Functions > MaxFunctions:
		return fmt.Errorf("--functions: must be in [1, %d], got %d", MaxFunctions, o.Functions)
	case o.Invocations > MaxInvocations:
		return fmt.Errorf("invocations: must be at most %d, got %d", MaxInvocations, o.Invocations)
	case o.Invocations <= 0 && !(o.Minutes > 0 && o.Minutes <= 1e6):
		return fmt.Errorf("--minutes: must be in (0, 1e6], got %g", o.Minutes)
	case o.Cores <= 0 || o.Cores > sim.MaxCores:
		return fmt.Errorf("--cores: must be in [1, %d], got %d", sim.MaxCores, o.Cores)
	case !(o.Load > 0 && o.Load <= 1.5):
		return fmt.Errorf("--load: must be in (0, 1.5], got %g", o.Load)
	case !(o.IOFraction >= 0 && o.IOFraction <= 1):
		return fmt.Errorf("--io-fraction: must be in [0, 1], got %g", o.IOFraction)
	case o.ParetoShape[0] != 0 && !(o.ParetoShape[0] > 1 && o.ParetoShape[0] <= o.ParetoShape[1] && o.ParetoShape[1] <= 10):
		return fmt.Errorf("--pareto-shape: must be A:B with 1 < A <= B <= 10, got %g:%g", o.ParetoShape[0], o.ParetoShape[1])
	case o.Arrivals != ArrivalsPoisson && o.Arrivals != ArrivalsAzure:
		return fmt.Errorf("--arrivals: unknown model %d", int(o.Arrivals))
	case o.Arrivals == ArrivalsAzure && !(o.Burstiness >= 0 && o.Burstiness <= maxBurstiness):
		return fmt.Errorf("--burstiness: must be in [0, %g], got %g", float64(maxBurstiness), o.Burstiness)
	case o.Arrivals == ArrivalsAzure && !(o.Batch >= 1 && o.Batch <= maxBatch):
		return fmt.Errorf("--batch: must be in [1, %g], got %g", float64(maxBatch), o.Batch)
	}
	return nil
}

// Shape of the generator, from the Azure 2019 characterisation (Shahrad et al., ATC'20) as
// summarised in research.md.
const (
	// Per-function median duration: log-normal with these parameters (seconds).
	medianMu, medianSigma = -0.38, 2.36
	// Function medians are kept in [1 ms, 60 s] (the tail beyond a minute is rare per
	// invocation and makes no difference to the short-vs-long question the simulator asks).
	minMedian, maxMedian = 1e-3, 60.0
	// Per-invocation spread around the function median: mean/median ratio drawn uniformly
	// in [1.1, 3], sigma = sqrt(2 ln(ratio)).
	minRatio, maxRatio = 1.1, 3.0
	// Popularity: log-normal weights; sigma 2.5 spans about 8 orders of magnitude
	// across thousands of functions, as invocation rates do in the trace.
	popularitySigma = 2.5
	// Invocation demands are clamped to [0.1 ms, 300 s].
	minDemand, maxDemand = 1e-4, 300.0
)

type genFunc struct {
	median, sigma float64 // seconds, log-normal sigma
	shape         float64 // Pareto shape (GenOptions.ParetoShape), 0: log-normal
	io            bool
}

// Generate returns a synthetic trace: each function gets a median duration, a spread, a
// popularity and (for a fraction IOFraction of them) an I/O pattern; invocations pick their
// function by popularity. Invocations are drawn until their total demand fills
// Load * Cores * span (or their number reaches Invocations, the span then following from the
// load), and the span is then set to exactly total demand / (Load * Cores), so the offered
// load averaged over the span is exactly Load. The arrival model only places these
// invocations in time: ArrivalsPoisson spreads them uniformly over the span (a Poisson
// process); ArrivalsAzure gives each function a trigger and places them by trigger, with
// per-minute rate modulation, batches and timers (see gen_azure.go). I/O-bound invocations
// block for 1 to 4 times their CPU demand in total, split into 1 to 4 waits.
func Generate(o GenOptions) (*sim.Trace, error) {
	tr, _, err := generate(o)
	return tr, err
}

// generate is Generate that also returns each function's trigger (all triggerHTTP for
// Poisson arrivals, where triggers play no part).
func generate(o GenOptions) (*sim.Trace, []trigger, error) {
	if err := o.Validate(); err != nil {
		return nil, nil, err
	}
	r := rand.New(rand.NewPCG(o.Seed, 0x67656e))
	fs := make([]genFunc, o.Functions)
	weight := make([]float64, o.Functions) // popularity
	for i := range fs {
		med := math.Exp(medianMu + medianSigma*r.NormFloat64())
		med = min(max(med, minMedian), maxMedian)
		ratio := minRatio + (maxRatio-minRatio)*r.Float64()
		fs[i] = genFunc{median: med, sigma: math.Sqrt(2 * math.Log(ratio)), io: r.Float64() < o.IOFraction}
		weight[i] = math.Exp(popularitySigma * r.NormFloat64())
	}
	// The Azure model's draws come from their own stream, so the functions' durations (and,
	// for Poisson arrivals, the whole trace) are those of the same seed without it; so do the
	// Pareto shapes and draws.
	src := rand.NewPCG(o.Seed, 0x617a7572)
	pareto := rand.New(rand.NewPCG(o.Seed, 0x70617265))
	if o.ParetoShape[0] > 0 {
		for i := range fs {
			fs[i].shape = o.ParetoShape[0] + (o.ParetoShape[1]-o.ParetoShape[0])*pareto.Float64()
		}
	}
	triggers := make([]trigger, o.Functions)
	if o.Arrivals == ArrivalsAzure {
		triggers = assignTriggers(rand.New(src), weight)
	}
	cum := make([]float64, o.Functions)
	var wsum float64
	for i, w := range weight {
		wsum += w
		cum[i] = wsum
	}

	tr := &sim.Trace{Functions: make([]string, o.Functions)}
	for i := range fs {
		tr.Functions[i] = fmt.Sprintf("f%04d", i)
	}
	// Draw invocations until their count (Invocations) or their total demand (Load * Cores *
	// span) is reached, then spread them over the span that gives exactly the load.
	target := o.Load * float64(o.Cores) * o.Minutes * 60
	var total float64
	for {
		if o.Invocations > 0 && len(tr.Inv) == o.Invocations || o.Invocations <= 0 && total >= target {
			break
		}
		if len(tr.Inv) >= MaxInvocations {
			return nil, nil, fmt.Errorf("--minutes: more than %d invocations (the limit)", MaxInvocations)
		}
		f := min(sort.SearchFloat64s(cum, r.Float64()*wsum), o.Functions-1)
		g := &fs[f]
		d := g.median * math.Exp(g.sigma*r.NormFloat64())
		if g.shape > 0 {
			// Pareto of the log-normal's mean: scale mean * (shape-1) / shape.
			mean := g.median * math.Exp(g.sigma*g.sigma/2)
			d = mean * (g.shape - 1) / g.shape / math.Pow(1-pareto.Float64(), 1/g.shape)
		}
		d = min(max(d, minDemand), maxDemand)
		in := sim.Invocation{CPU: int64(d * 1e9), Func: uint32(f)}
		if g.io {
			in.Waits = uint32(1 + r.IntN(4))
			in.IO = int64(d * (1 + 3*r.Float64()) * 1e9)
		}
		total += d
		tr.Inv = append(tr.Inv, in)
	}
	spanNs := max(int64(total/(o.Load*float64(o.Cores))*1e9), 1)
	if o.Arrivals == ArrivalsAzure {
		placeAzure(src, tr.Inv, triggers, spanNs, o.Burstiness, o.Batch)
	} else {
		for i := range tr.Inv {
			tr.Inv[i].Arrival = r.Int64N(spanNs)
		}
	}
	tr.Sort()
	return tr, triggers, nil
}
