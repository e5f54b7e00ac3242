// Package metrics computes the summary figures of a set of completed invocations, with one
// definition shared by the simulator (alps-sim), the tuner's benchmarks and the analysis of
// real measurements.
//
// Definitions, over the invocations given (a whole trace):
//   - FCT (flow completion time) = End - Arrival; slowdown = FCT / (CPU + Blocked).
//   - Quantiles use the nearest-rank rule: the q-quantile of n sorted values is the value of
//     rank ceil(q*n) (1-based), so p50 of {1,2,3,4} is 2 and p99 of 100 values is the 99th.
//   - The short class is the invocations whose CPU demand is <= the median demand; the long
//     class those whose demand is >= the 90th-percentile demand.
package metrics

import (
	"math"
	"slices"

	"github.com/alps-sched/alps/sim"
)

// Summary is what alps-sim reports per policy. Times are milliseconds. The JSON names are
// part of alps-sim's interface.
type Summary struct {
	Policy          string  `json:"policy"`
	Completed       int     `json:"completed"`
	MeanFCT         float64 `json:"mean_fct_ms"`
	P50FCT          float64 `json:"p50_fct_ms"`
	P99FCT          float64 `json:"p99_fct_ms"`
	MeanSlowdown    float64 `json:"mean_slowdown"`
	P99Slowdown     float64 `json:"p99_slowdown"`
	ShortMeanFCT    float64 `json:"short_mean_fct_ms"`
	LongP99Slowdown float64 `json:"long_p99_slowdown"`
	Preemptions     int64   `json:"preemptions"`
	ContextSwitches int64   `json:"context_switches"`
	Utilization     float64 `json:"utilization"`
	Makespan        float64 `json:"makespan_ms"`
	MeanWait        float64 `json:"mean_wait_ms"`
}

const nsPerMs = 1e6

// Quantile returns the nearest-rank q-quantile of sorted (ascending) values, 0 if empty.
func Quantile(sorted []float64, q float64) float64 {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	r := int(math.Ceil(q * float64(n)))
	r = min(max(r, 1), n)
	return sorted[r-1]
}

// Summarize computes the summary of completed invocations (End >= Arrival); records with
// End < 0 are not completed and are ignored. cores is used for the utilization (busy time /
// (cores * makespan)); pass 0 to leave it 0. Preemptions are summed from the records.
func Summarize(recs []sim.Record, cores int) Summary {
	var z Summarizer
	return z.Summarize(recs, cores)
}

// Summarizer computes summaries with one scratch slice of a float64 per record, reused from
// one call to the next: the extra memory of a summary is 8 bytes per invocation, whatever
// the number of policies summarized. The zero value is ready to use; it is not safe for
// concurrent use.
type Summarizer struct {
	buf []float64
}

// Summarize is the package's Summarize.
func (z *Summarizer) Summarize(recs []sim.Record, cores int) Summary {
	var s Summary
	// Each quantile is taken by filling the scratch slice and sorting it: demand, FCT,
	// slowdown, then the long class's slowdown.
	demand := z.fill(recs, func(r *sim.Record) (float64, bool) { return float64(r.CPU), true })
	n := len(demand)
	s.Completed = n
	if n == 0 {
		return s
	}
	slices.Sort(demand)
	median, p90 := Quantile(demand, 0.5), Quantile(demand, 0.9)

	var sumFCT, sumSlow, sumShort, sumWait float64
	var nShort int
	first, last := int64(math.MaxInt64), int64(math.MinInt64)
	var busy int64
	for i := range recs {
		r := &recs[i]
		if r.End < 0 {
			continue
		}
		f := float64(r.FCT()) / nsPerMs
		sumFCT += f
		sumSlow += r.Slowdown()
		sumWait += float64(r.Wait()) / nsPerMs
		if float64(r.CPU) <= median {
			sumShort += f
			nShort++
		}
		s.Preemptions += int64(r.Preemptions)
		first = min(first, r.Arrival)
		last = max(last, r.End)
		busy += r.CPU
	}
	fct := z.fill(recs, func(r *sim.Record) (float64, bool) { return float64(r.FCT()) / nsPerMs, true })
	slices.Sort(fct)
	s.P50FCT = Quantile(fct, 0.5)
	s.P99FCT = Quantile(fct, 0.99)
	slow := z.fill(recs, func(r *sim.Record) (float64, bool) { return r.Slowdown(), true })
	slices.Sort(slow)
	s.P99Slowdown = Quantile(slow, 0.99)
	longSlow := z.fill(recs, func(r *sim.Record) (float64, bool) { return r.Slowdown(), float64(r.CPU) >= p90 })
	slices.Sort(longSlow)
	s.LongP99Slowdown = Quantile(longSlow, 0.99)

	s.MeanFCT = sumFCT / float64(n)
	s.MeanSlowdown = sumSlow / float64(n)
	s.MeanWait = sumWait / float64(n)
	if nShort > 0 {
		s.ShortMeanFCT = sumShort / float64(nShort)
	}
	s.Makespan = float64(last-first) / nsPerMs
	if cores > 0 && last > first {
		s.Utilization = float64(busy) / (float64(cores) * float64(last-first))
	}
	return s
}

// fill sets the scratch slice to f of every completed record for which f reports true.
func (z *Summarizer) fill(recs []sim.Record, f func(*sim.Record) (float64, bool)) []float64 {
	if cap(z.buf) < len(recs) {
		z.buf = make([]float64, 0, len(recs))
	}
	z.buf = z.buf[:0]
	for i := range recs {
		if recs[i].End < 0 {
			continue
		}
		if v, ok := f(&recs[i]); ok {
			z.buf = append(z.buf, v)
		}
	}
	return z.buf
}

// FromResult summarizes a simulation result, adding its policy name and context switches.
func FromResult(res *sim.Result) Summary {
	var z Summarizer
	return z.FromResult(res)
}

// FromResult is the package's FromResult.
func (z *Summarizer) FromResult(res *sim.Result) Summary {
	s := z.Summarize(res.Records, res.Cores)
	s.Policy = res.Policy
	s.ContextSwitches = res.ContextSwitches
	return s
}
