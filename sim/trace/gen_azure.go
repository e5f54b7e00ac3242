package trace

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/alps-sched/alps/sim"
)

// The Azure arrival model (GenOptions.Arrivals = ArrivalsAzure).
//
// Real Azure Functions load is bursty, and Poisson arrivals at 85% load keep the number of
// invocations in the system close to the core count, where no scheduler beats processor
// sharing by much. The model below follows the Azure Functions 2019 characterisation
// (Shahrad et al., ATC'20; ../shared/research.md) where it publishes a number, and says
// where it assumes one:
//
//   - Triggers. Each function gets a trigger with the published shares (% of functions /
//     % of invocations): HTTP 55/36, queue 15/34, event 2/25, timer 16/2, and "other" the
//     rest (12/3). Function counts per trigger are the shares rounded (largest remainder),
//     assigned to random functions; each trigger's popularity weights are rescaled so its
//     expected share of invocations is the published one (renormalised over the triggers
//     that have functions, when there are too few functions for all five).
//   - Rate modulation (HTTP, queue, event, other). Each function's rate is modulated per
//     minute by independent gamma multipliers of mean 1 and coefficient of variation
//     Burstiness (shape 1/Burstiness²): the function's invocations are spread over the
//     minutes of the span in proportion to the multipliers (a gamma-modulated Poisson process
//     conditioned on its total). A function with mean count λ per minute then has per-minute
//     counts with CV² ≈ Burstiness² + 1/λ. Burstiness 0 gives steady rates.
//   - Within a minute, HTTP and other invocations arrive at uniform seconds (as research.md
//     states for the trace). Queue and event invocations arrive in batches at a uniform
//     instant, a batch's invocations within dispatchJitter of it; batch sizes are geometric
//     with mean Batch, cut at the function's count in the minute (an assumption: Azure's queue trigger fetches 16 messages at a time and
//     Event Hubs delivers batches of up to 10 events by default).
//   - Timers fire periodically at a fixed second of the minute, not modulated: a timer with
//     n invocations over a span S fires every P, the largest period of at most S/n among
//     1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30 s and whole minutes (the periods cron
//     expressions give), at second 0 with probability timerTopOfMinute (an assumption: most
//     cron schedules start at second 0, so timers fire together) and at a uniform second
//     otherwise, each firing within dispatchJitter of its time.
//
// Only the arrival times depend on the model: the invocations, their demands and the span
// (hence the load) are drawn as for Poisson arrivals. Trace.Utilization measures the load
// from the first to the last arrival, and bursty arrivals can leave seconds empty at either
// end of the span, so the earliest and the latest non-timer arrivals are moved to the span's
// two ends: the measured load is then the requested one (two invocations move by a few
// seconds at most at the default sizes).

// Arrivals is the arrival model of a generated trace. It implements pflag.Value, so it can
// be a command-line flag.
type Arrivals int

const (
	// ArrivalsPoisson: one Poisson process over the span (uniform arrival times).
	ArrivalsPoisson Arrivals = iota
	// ArrivalsAzure: triggers, per-minute rate modulation, batches and timers, as above.
	ArrivalsAzure
)

// Defaults for the Azure arrival model (used by alps-sim gen).
const (
	DefaultBurstiness = 1.5 // per-minute rate CV; gamma shape 0.44
	DefaultBatch      = 8.0 // mean queue/event batch size

	maxBurstiness    = 5 // gamma shape 0.04: nearly all of a function's load in one minute
	maxBatch         = 1000
	timerTopOfMinute = 0.5
	dispatchJitter   = int64(10e6) // ns
	minuteNs         = int64(60e9)
	secondNs         = int64(1e9)
)

var arrivalNames = [...]string{ArrivalsPoisson: "poisson", ArrivalsAzure: "azure"}

// String returns the model's name.
func (a Arrivals) String() string {
	if a >= 0 && int(a) < len(arrivalNames) {
		return arrivalNames[a]
	}
	return fmt.Sprintf("Arrivals(%d)", int(a))
}

// ParseArrivals returns the model named s ("poisson" or "azure").
func ParseArrivals(s string) (Arrivals, error) {
	if i := slices.Index(arrivalNames[:], s); i >= 0 {
		return Arrivals(i), nil
	}
	return 0, fmt.Errorf("unknown arrival model %q (want azure or poisson)", s)
}

// Set parses s into a (pflag.Value).
func (a *Arrivals) Set(s string) error {
	v, err := ParseArrivals(s)
	if err != nil {
		return err
	}
	*a = v
	return nil
}

// Type names the flag's value type (pflag.Value).
func (a *Arrivals) Type() string { return "model" }

// trigger is what invokes a function (the Trigger column of the Azure trace).
type trigger uint8

const (
	triggerHTTP trigger = iota
	triggerQueue
	triggerEvent
	triggerTimer
	triggerOther
	numTriggers
)

// triggerShares are the published fractions of functions and of invocations per trigger;
// "other" is the remainder of both.
var triggerShares = [numTriggers]struct{ functions, invocations float64 }{
	triggerHTTP:  {0.55, 0.36},
	triggerQueue: {0.15, 0.34},
	triggerEvent: {0.02, 0.25},
	triggerTimer: {0.16, 0.02},
	triggerOther: {0.12, 0.03},
}

var triggerNames = [numTriggers]string{"http", "queue", "event", "timer", "other"}

func (t trigger) String() string { return triggerNames[t] }

// assignTriggers gives each function a trigger (counts by the published function shares,
// functions at random) and rescales weight, the functions' popularity, so that each
// trigger's share of the total weight is its published invocation share.
func assignTriggers(r *rand.Rand, weight []float64) []trigger {
	n := len(weight)
	var count [numTriggers]int
	type remainder struct {
		t    trigger
		frac float64
	}
	rems := make([]remainder, numTriggers)
	given := 0
	for t := range numTriggers {
		x := triggerShares[t].functions * float64(n)
		count[t] = int(x)
		given += count[t]
		rems[t] = remainder{t, x - math.Floor(x)}
	}
	slices.SortStableFunc(rems, func(a, b remainder) int { return cmp.Compare(b.frac, a.frac) })
	for k := 0; given < n; k++ {
		count[rems[k%len(rems)].t]++
		given++
	}
	trig := make([]trigger, 0, n)
	for t, c := range count {
		for range c {
			trig = append(trig, trigger(t))
		}
	}
	r.Shuffle(n, func(i, j int) { trig[i], trig[j] = trig[j], trig[i] })

	var classWeight [numTriggers]float64
	for i, w := range weight {
		classWeight[trig[i]] += w
	}
	var present float64
	for t, w := range classWeight {
		if w > 0 {
			present += triggerShares[t].invocations
		}
	}
	for i := range weight {
		t := trig[i]
		weight[i] *= triggerShares[t].invocations / present / classWeight[t]
	}
	return trig
}

// placeAzure sets the arrival times, in [0, spanNs), of inv by the Azure model, drawing from
// src.
func placeAzure(src *rand.PCG, inv []sim.Invocation, trig []trigger, spanNs int64, burstiness, batch float64) {
	r := rand.New(src)
	// Invocation indices grouped by function, in index order.
	start := make([]int, len(trig)+1)
	for _, in := range inv {
		start[in.Func+1]++
	}
	for f := range trig {
		start[f+1] += start[f]
	}
	idx := make([]int, len(inv))
	next := slices.Clone(start[:len(trig)])
	for i, in := range inv {
		idx[next[in.Func]] = i
		next[in.Func]++
	}

	minutes := int((spanNs + minuteNs - 1) / minuteNs)
	gamma := distuv.Gamma{Alpha: 1, Beta: 1, Src: src}
	if burstiness > 0 {
		gamma.Alpha = 1 / (burstiness * burstiness)
		gamma.Beta = gamma.Alpha
	}
	cum := make([]float64, minutes)
	count := make([]int, minutes)
	for f, t := range trig {
		own := idx[start[f]:start[f+1]]
		switch {
		case len(own) == 0:
			continue
		case t == triggerTimer:
			placeTimer(r, inv, own, spanNs)
			continue
		}
		// Minute weights: gamma multipliers times the minute's length (the last may be short).
		var sum float64
		for m := range cum {
			w := float64(min(minuteNs, spanNs-int64(m)*minuteNs)) / float64(minuteNs)
			if burstiness > 0 {
				w *= gamma.Rand()
			}
			sum += w
			cum[m] = sum
		}
		if !(sum > 0) { // every multiplier underflowed: steady rate
			for m := range cum {
				cum[m] = float64(m + 1)
			}
			sum = float64(minutes)
		}
		clear(count)
		for range own {
			count[min(sort.SearchFloat64s(cum, r.Float64()*sum), minutes-1)]++
		}
		batched := t == triggerQueue || t == triggerEvent
		k := 0
		for m, c := range count {
			lo := int64(m) * minuteNs
			hi := min(lo+minuteNs, spanNs)
			for c > 0 {
				size := 1
				if batched {
					size = min(geometric(r, batch), c)
				}
				at := lo + r.Int64N(hi-lo)
				for j := range size {
					a := at
					if j > 0 {
						a = min(at+r.Int64N(dispatchJitter), hi-1)
					}
					inv[own[k]].Arrival = a
					k++
				}
				c -= size
			}
		}
	}
	pinEnds(inv, trig, spanNs)
}

// pinEnds moves the earliest non-timer arrival to 0 and the latest to spanNs-1.
func pinEnds(inv []sim.Invocation, trig []trigger, spanNs int64) {
	first, last := -1, -1
	for i, in := range inv {
		if trig[in.Func] == triggerTimer {
			continue
		}
		if first < 0 || in.Arrival < inv[first].Arrival {
			first = i
		}
		if last < 0 || in.Arrival >= inv[last].Arrival {
			last = i
		}
	}
	if first >= 0 && first != last {
		inv[first].Arrival, inv[last].Arrival = 0, spanNs-1
	}
}

// placeTimer sets the arrivals of a timer function's invocations (indices own): periodic at a
// fixed second of the minute, as described above.
func placeTimer(r *rand.Rand, inv []sim.Invocation, own []int, spanNs int64) {
	period := timerPeriod(spanNs / int64(len(own)))
	var sec int64
	if r.Float64() >= timerTopOfMinute {
		sec = r.Int64N(60)
	}
	first := sec * secondNs % period
	if period > minuteNs {
		first = sec*secondNs + r.Int64N(period/minuteNs)*minuteNs
	}
	for j, i := range own {
		inv[i].Arrival = min(first+int64(j)*period+r.Int64N(dispatchJitter), spanNs-1)
	}
}

// timerPeriods are the sub-minute periods (seconds) that divide a minute.
var timerPeriods = []int64{1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60}

// timerPeriod returns the largest cron-like period of at most most ns (most itself below a
// second).
func timerPeriod(most int64) int64 {
	if most >= minuteNs {
		return most / minuteNs * minuteNs
	}
	p := most
	for _, s := range timerPeriods {
		if s*secondNs <= most {
			p = s * secondNs
		}
	}
	return max(p, 1)
}

// geometric draws from the geometric distribution on {1, 2, ...} with the given mean (>= 1).
func geometric(r *rand.Rand, mean float64) int {
	if mean <= 1 {
		return 1
	}
	u := 1 - r.Float64() // (0, 1]
	n := 1 + math.Floor(math.Log(u)/math.Log(1-1/mean))
	return int(min(n, math.MaxInt32))
}
