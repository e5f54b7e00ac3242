// Package plan generates the trace the kernel experiment replays: a few hundred
// invocations of tens of functions whose demands spread over decades above what a payload
// process costs, some functions heavy-tailed, a share of them I/O-bound, arriving in bursts,
// at a stated offered load. alps-sim's Azure-like generator (sim/trace) targets thousands of
// invocations; at the few hundred a VM run affords, its demand spread leaves most
// invocations at the payload's floor, so the experiment draws its own.
package plan

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"time"

	"github.com/alps-sched/alps/sim"
)

// Options shape a plan. Demands are CPU time including the payload process's cost.
type Options struct {
	// Invocations, if > 0, is how many invocations there are (at least 2 per function) and
	// the span follows from the load; otherwise invocations are drawn until their demand
	// fills Load * Cores * Span.
	Invocations int
	Span        time.Duration
	Functions   int     // distinct functions, > 0; each gets at least 2 invocations
	Cores       int     // cores the offered load is relative to, > 0
	Load        float64 // offered CPU load per core, in (0, 2]
	// MinDemand is the floor of every demand and the smallest function median; function
	// medians are log-uniform over Decades decades above it (stratified, so they cover the
	// range), and no demand exceeds MaxDemand.
	MinDemand, MaxDemand time.Duration
	Decades              float64
	// HeavyFraction of the functions draw their demands from a Pareto distribution of
	// shape ParetoShape (heavy-tailed; the same median as the others' log-normal).
	HeavyFraction float64
	// IOShare is the share of invocations that are I/O-bound: whole functions are made
	// I/O-bound until their invocations reach it. An I/O-bound invocation blocks 1 to 3
	// times for 1 to 3 times its CPU demand in total.
	IOShare float64
	Seed    uint64
}

// Defaults of the experiment's plan (alps-bench plan).
const (
	DefaultFunctions     = 48
	DefaultDecades       = 2.3
	DefaultHeavyFraction = 0.25
	DefaultIOShare       = 0.2
	// ParetoShape of the heavy-tailed functions: infinite variance (shape < 2), the
	// decreasing hazard rate under which serving the least attained service first is best.
	ParetoShape = 1.3
	// lightSigma is the log-normal spread of the other functions' demands.
	lightSigma = 0.3
	// popularityExp: a function's popularity falls with its median as median^-popularityExp
	// (short functions are invoked more often, as in Azure; the long ones still carry most
	// of the CPU), times a log-normal factor of spread popularitySigma.
	popularityExp, popularitySigma = 0.5, 0.6
)

// Validate names the first bad option.
func (o Options) Validate() error {
	switch {
	case o.Functions <= 0:
		return fmt.Errorf("functions: must be > 0, got %d", o.Functions)
	case o.Invocations > 0 && o.Invocations < 2*o.Functions:
		return fmt.Errorf("invocations: must be >= 2 per function (%d), got %d", 2*o.Functions, o.Invocations)
	case o.Invocations <= 0 && o.Span <= 0:
		return fmt.Errorf("invocations or span: one must be > 0")
	case o.Cores <= 0:
		return fmt.Errorf("cores: must be > 0, got %d", o.Cores)
	case !(o.Load > 0 && o.Load <= 2):
		return fmt.Errorf("load: must be in (0, 2], got %g", o.Load)
	case o.MinDemand <= 0 || o.MaxDemand < o.MinDemand:
		return fmt.Errorf("demands: need 0 < min demand (%v) <= max demand (%v)", o.MinDemand, o.MaxDemand)
	case !(o.Decades >= 0 && o.Decades <= 6):
		return fmt.Errorf("decades: must be in [0, 6], got %g", o.Decades)
	case !(o.HeavyFraction >= 0 && o.HeavyFraction <= 1):
		return fmt.Errorf("heavy fraction: must be in [0, 1], got %g", o.HeavyFraction)
	case !(o.IOShare >= 0 && o.IOShare <= 1):
		return fmt.Errorf("I/O share: must be in [0, 1], got %g", o.IOShare)
	}
	return nil
}

// arrival patterns of a function
const (
	steady  = iota // Poisson over the span (HTTP-like)
	bursty         // Poisson with its rate modulated per window (gamma, CV burstCV)
	batched        // batches of geometric size (mean batchMean) at once (queue-like)
	timer          // periodic (cron-like), all at the same phase
)

// patternShares are the shares of functions per arrival pattern, and the modulation's knobs.
var patternShares = [...]float64{steady: 0.45, bursty: 0.25, batched: 0.2, timer: 0.1}

const (
	windows   = 8   // rate windows over the span for bursty functions
	burstCV   = 1.5 // coefficient of variation of a bursty function's per-window rate
	batchMean = 4.0 // mean batch size
	jitter    = int64(5 * time.Millisecond)
)

type function struct {
	median  float64 // ms
	heavy   bool
	io      bool
	pattern int
	count   int
}

// Generate draws a plan. The span is set so that the CPU demand averaged over it (from the
// first arrival to the last) is Load * Cores.
func Generate(o Options) (*sim.Trace, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	r := rand.New(rand.NewPCG(o.Seed, 0x706c616e))
	minMs := float64(o.MinDemand) / 1e6
	maxMs := float64(o.MaxDemand) / 1e6
	fs := make([]function, o.Functions)
	strata := r.Perm(o.Functions)
	weights := make([]float64, o.Functions)
	for i := range fs {
		u := (float64(strata[i]) + r.Float64()) / float64(o.Functions)
		fs[i].median = math.Min(minMs*math.Pow(10, o.Decades*u), maxMs)
		weights[i] = math.Pow(fs[i].median/minMs, -popularityExp) * math.Exp(popularitySigma*r.NormFloat64())
	}
	for _, i := range r.Perm(o.Functions)[:int(math.Round(o.HeavyFraction*float64(o.Functions)))] {
		fs[i].heavy = true
	}
	for i := range fs {
		fs[i].pattern = pickPattern(r)
	}
	// I/O-bound functions, in random order, while their expected share of invocations (by
	// popularity) stays nearest IOShare.
	cum := cumulative(weights)
	wsum := cum[len(cum)-1]
	var ioShare float64
	for _, i := range r.Perm(o.Functions) {
		if w := weights[i] / wsum; ioShare+w/2 <= o.IOShare {
			fs[i].io = true
			ioShare += w
		}
	}
	// Two invocations per function, then functions by popularity until the count or the
	// demand is reached.
	byFunc := make([][]sim.Invocation, o.Functions)
	target := o.Load * float64(o.Cores) * float64(o.Span)
	var total float64
	n := 0
	draw := func(i int) {
		d := demand(r, &fs[i], minMs, maxMs)
		in := sim.Invocation{CPU: int64(d * 1e6), Func: uint32(i)}
		if fs[i].io {
			in.Waits = uint32(1 + r.IntN(3))
			in.IO = int64(d * (1 + 2*r.Float64()) * 1e6)
		}
		total += float64(in.CPU)
		byFunc[i] = append(byFunc[i], in)
		n++
	}
	for i := range fs {
		draw(i)
		draw(i)
	}
	for o.Invocations > 0 && n < o.Invocations || o.Invocations <= 0 && total < target {
		draw(pick(r, cum))
	}
	tr := &sim.Trace{Functions: make([]string, o.Functions)}
	for i := range fs {
		tr.Functions[i] = fmt.Sprintf("f%04d", i)
		fs[i].count = len(byFunc[i])
		tr.Inv = append(tr.Inv, byFunc[i]...)
	}
	span := int64(total / (o.Load * float64(o.Cores)))
	place(r, tr, fs, span)
	return tr, tr.Validate()
}

func pickPattern(r *rand.Rand) int {
	u := r.Float64()
	for p, s := range patternShares {
		if u < s {
			return p
		}
		u -= s
	}
	return steady
}

func cumulative(w []float64) []float64 {
	cum := make([]float64, len(w))
	var s float64
	for i, x := range w {
		s += x
		cum[i] = s
	}
	return cum
}

func pick(r *rand.Rand, cum []float64) int {
	return min(sort.SearchFloat64s(cum, r.Float64()*cum[len(cum)-1]), len(cum)-1)
}

// demand draws one invocation's CPU demand in ms: log-normal around the function's median,
// or Pareto with the same median for a heavy-tailed function, within [minMs, maxMs].
func demand(r *rand.Rand, f *function, minMs, maxMs float64) float64 {
	var d float64
	if f.heavy {
		scale := f.median / math.Pow(2, 1/ParetoShape) // Pareto median = scale * 2^(1/shape)
		d = scale * math.Pow(1-r.Float64(), -1/ParetoShape)
	} else {
		d = f.median * math.Exp(lightSigma*r.NormFloat64())
	}
	return math.Min(math.Max(d, minMs), maxMs)
}

// place sets the arrivals of tr's invocations (grouped by function, in function order) by
// each function's pattern over [0, span], then sorts them; the first and the last arrival
// are moved to 0 and span so that the offered load over the span is the one asked for.
func place(r *rand.Rand, tr *sim.Trace, fs []function, span int64) {
	uniform := func() int64 { return r.Int64N(max(span, 1)) }
	next := 0
	for i := range fs {
		inv := tr.Inv[next : next+fs[i].count]
		next += fs[i].count
		switch fs[i].pattern {
		case steady:
			for k := range inv {
				inv[k].Arrival = uniform()
			}
		case bursty:
			// Gamma multipliers of mean 1 and CV burstCV per window; arrivals go to windows
			// in proportion.
			shape := 1 / (burstCV * burstCV)
			w := make([]float64, windows)
			for k := range w {
				w[k] = gamma(r, shape)
			}
			cum := cumulative(w)
			for k := range inv {
				win := int64(pick(r, cum))
				inv[k].Arrival = min(win*span/windows+r.Int64N(max(span/windows, 1)), span)
			}
		case batched:
			for k := 0; k < len(inv); {
				at := uniform()
				size := 1
				for r.Float64() > 1/batchMean {
					size++
				}
				for j := 0; j < size && k < len(inv); j, k = j+1, k+1 {
					inv[k].Arrival = min(at+r.Int64N(jitter), span)
				}
			}
		case timer:
			period := span / int64(len(inv))
			for k := range inv {
				inv[k].Arrival = min(int64(k)*period+r.Int64N(jitter), span)
			}
		}
	}
	tr.Sort()
	if len(tr.Inv) >= 2 {
		tr.Inv[0].Arrival, tr.Inv[len(tr.Inv)-1].Arrival = 0, span
	}
}

// gamma draws from a gamma distribution of the given shape and scale 1 (Marsaglia and
// Tsang; for shape < 1 boosted by U^(1/shape)).
func gamma(r *rand.Rand, shape float64) float64 {
	if shape < 1 {
		return gamma(r, shape+1) * math.Pow(r.Float64(), 1/shape)
	}
	d := shape - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		x := r.NormFloat64()
		v := 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		u := r.Float64()
		if math.Log(u) < 0.5*x*x+d-d*v+d*math.Log(v) {
			return d * v
		}
	}
}

// Summary describes a trace: what the experiment states about its workload.
type Summary struct {
	Invocations int     `json:"invocations"`
	Functions   int     `json:"functions"`    // functions with at least one invocation
	OfferedLoad float64 `json:"offered_load"` // CPU demand / (span * cores)
	SpanS       float64 `json:"span_s"`
	// Demand quantiles (CPU, ms) and the share of invocations that block.
	DemandP10Ms float64 `json:"demand_p10_ms"`
	DemandP50Ms float64 `json:"demand_p50_ms"`
	DemandP90Ms float64 `json:"demand_p90_ms"`
	DemandMaxMs float64 `json:"demand_max_ms"`
	DemandMinMs float64 `json:"demand_min_ms"`
	IOShare     float64 `json:"io_share"`
}

// Summarize describes tr, its load relative to cores.
func Summarize(tr *sim.Trace, cores int) Summary {
	s := Summary{Invocations: len(tr.Inv), OfferedLoad: tr.Utilization(cores), SpanS: float64(tr.Span()) / 1e9}
	seen := map[uint32]bool{}
	ds := make([]float64, 0, len(tr.Inv))
	io := 0
	for _, in := range tr.Inv {
		seen[in.Func] = true
		ds = append(ds, float64(in.CPU)/1e6)
		if in.Waits > 0 {
			io++
		}
	}
	s.Functions = len(seen)
	if len(ds) == 0 {
		return s
	}
	slices.Sort(ds)
	q := func(p float64) float64 { return ds[min(int(p*float64(len(ds))), len(ds)-1)] }
	s.DemandMinMs, s.DemandP10Ms, s.DemandP50Ms, s.DemandP90Ms, s.DemandMaxMs = ds[0], q(0.1), q(0.5), q(0.9), ds[len(ds)-1]
	s.IOShare = float64(io) / float64(len(ds))
	return s
}

// String is the summary in one line.
func (s Summary) String() string {
	return fmt.Sprintf("%d invocations of %d functions over %.1fs, offered load %.2f; CPU demand %.1f ms (min), %.1f / %.1f / %.1f ms (p10/p50/p90), %.0f ms (max); %.0f%% I/O-bound",
		s.Invocations, s.Functions, s.SpanS, s.OfferedLoad, s.DemandMinMs, s.DemandP10Ms, s.DemandP50Ms, s.DemandP90Ms, s.DemandMaxMs, 100*s.IOShare)
}
