package model

import (
	"cmp"
	"math"
	"slices"
	"sort"

	"github.com/alps-sched/alps/policy"
)

// Attained-service ranks (learner.attained_ranks): a function's rank depends on how much CPU
// the current invocation has already used. For a function with empirical demand D (its
// window samples) and attained service a, the effective remaining demand is the inverse of
// the Gittins index,
//
//	R(a) = min over Δ of E[min(D-a, Δ) | D > a] / P(D-a <= Δ | D > a),
//
// with Δ ranging over the sample points above a. R(0) <= E[D]; a bimodal function (mostly
// short, sometimes long) has a small R(0) and a large R(a) once a passes its short mode; for
// an exponential demand R is flat. The rank of R(a) is the learner's rank scale applied to it.
// The backend gets at most policy.MaxSteps steps per function: thresholds
// 0 = a_0 < a_1 < ... with a rank each; a task uses the step of the largest threshold its
// attained CPU in the current invocation has reached, chosen at every enqueue.

// Attained rules: how the step table is derived.
const (
	// AttainedGittins: the rank of R(a) at attainedCandidates quantile points of the
	// samples, compressed to K steps by dynamic programming (the K-1 thresholds that
	// minimise the CPU-weighted rank error).
	AttainedGittins = "gittins"
	// AttainedQuantile: two steps, the rank of the median demand until the invocation has
	// used the 75th percentile, then the rank of the mean remaining demand of the
	// invocations longer than that (a simple demote-past-p75 rule).
	AttainedQuantile = "quantile"
)

// attainedCandidates is the most attained points (a = 0 and sample quantiles j/M) R is
// evaluated at per function (M = min(attainedCandidates, samples/4)).
const attainedCandidates = 16

// Cutoffs that fewer than max(minCutoffFrac of the remaining samples, minCutoffCount) samples
// complete are not considered: on an empirical sample the minimum over every cutoff is biased
// far down by the noise of cutoffs just above a (a memoryless demand of mean 1 s gave R as low
// as 0.16 s on 2,000 samples without this).
const (
	minCutoffFrac  = 0.1
	minCutoffCount = 3
)

// gittinsR returns R(a) for the samples xs sorted ascending with prefix sums ps
// (ps[i] = xs[0]+...+xs[i-1]), where s is the index of the first sample above a (s < len(xs)).
func gittinsR(xs, ps []float64, s int, a float64) float64 {
	n := len(xs)
	m := float64(n - s)
	best := math.Inf(1)
	need := min(n-s, max(int(math.Ceil(minCutoffFrac*m)), minCutoffCount))
	for j := s + need - 1; j < n; j++ {
		if j+1 < n && xs[j+1] == xs[j] {
			continue // the cutoff at a tied value counts every tie as done
		}
		// E[min(D-a, xs[j]-a) | D > a] * m and the count of samples in (a, xs[j]].
		num := ps[j+1] - ps[s] + float64(n-1-j)*xs[j] - m*a
		if cnt := float64(j - s + 1); num < best*cnt {
			best = num / cnt
		}
	}
	return best
}

// servedIn is the CPU the samples receive while their attained service is in [lo, hi)
// (hi = +Inf for the last interval): sum over samples of clamp(x-lo, 0, hi-lo).
func servedIn(xs, ps []float64, lo, hi float64) float64 {
	n := len(xs)
	i := sort.SearchFloat64s(xs, math.Nextafter(lo, math.Inf(1))) // first x > lo
	if math.IsInf(hi, 1) {
		return ps[n] - ps[i] - float64(n-i)*lo
	}
	j := sort.SearchFloat64s(xs, math.Nextafter(hi, math.Inf(1))) // first x > hi
	return ps[j] - ps[i] - float64(j-i)*lo + float64(n-j)*(hi-lo)
}

// attainedSteps fills e's step table from the function's samples xs (sorted ascending; ps
// their prefix sums, len(xs)+1) with at most k steps. rankOf turns a demand into a rank;
// capRank is the rank whose offset reaches the penalty bound (higher ranks order the same).
// cand is scratch of at least attainedCandidates entries.
func attainedSteps(e *policy.Entry, xs, ps []float64, k int, rule string, rankOf func(float64) int, capRank int, cand []attCand) {
	n := len(xs)
	k = min(max(k, 1), policy.MaxSteps)
	e.NSteps = 0
	if n == 0 {
		return
	}
	if rule == AttainedQuantile {
		q50, q75 := xs[(n-1)/2], xs[(3*(n-1))/4]
		e.NSteps = 1
		e.StepAt[0], e.StepRank[0] = 0, uint32(min(rankOf(q50), capRank))
		if i := sort.SearchFloat64s(xs, math.Nextafter(q75, math.Inf(1))); i < n && k >= 2 {
			rem := (ps[n]-ps[i])/float64(n-i) - q75
			if r := uint32(min(rankOf(rem), capRank)); r != e.StepRank[0] {
				e.StepAt[1], e.StepRank[1] = int64(q75), r
				e.NSteps = 2
			}
		}
		return
	}
	// Candidates: a = 0 and the distinct sample quantiles j/M that some sample exceeds.
	cand = cand[:0]
	cand = append(cand, attCand{a: 0, rank: min(rankOf(gittinsR(xs, ps, 0, 0)), capRank)})
	lastA := 0.0
	nc := min(attainedCandidates, max(1, n/4)) // no more candidates than a few samples apart
	for j := 1; j < nc; j++ {
		a := xs[j*n/nc]
		if a <= lastA {
			continue
		}
		lastA = a
		s := sort.SearchFloat64s(xs, math.Nextafter(a, math.Inf(1)))
		if s >= n {
			break
		}
		r := min(rankOf(gittinsR(xs, ps, s, a)), capRank)
		if r == cand[len(cand)-1].rank {
			continue // a step never needs to start inside a run of equal ranks
		}
		cand = append(cand, attCand{a: a, rank: r})
	}
	c := len(cand)
	if c <= k {
		for i := range cand {
			e.StepAt[i], e.StepRank[i] = int64(cand[i].a), uint32(cand[i].rank)
		}
		e.NSteps = uint8(c)
		return
	}
	for i := range cand {
		hi := math.Inf(1)
		if i+1 < c {
			hi = cand[i+1].a
		}
		cand[i].w = servedIn(xs, ps, cand[i].a, hi)
	}
	// Compress to at most k steps: a step starting at candidate i carries rank(cand[i]);
	// cost of candidate j under it is w_j * |rank_j - rank_i|. best[s][j]: least cost of
	// candidates j.. with s steps left, the first starting at j.
	var best [policy.MaxSteps + 1][attainedCandidates + 1]float64
	var next [policy.MaxSteps + 1][attainedCandidates + 1]int
	for s := 1; s <= k; s++ {
		for i := c - 1; i >= 0; i-- {
			best[s][i] = math.Inf(1)
			var cost float64
			for j := i + 1; j <= c; j++ { // step covers candidates i..j-1, the next starts at j
				cost += cand[j-1].w * math.Abs(float64(cand[j-1].rank-cand[i].rank))
				var rest float64
				switch {
				case j == c:
				case s == 1:
					continue
				default:
					rest = best[s-1][j]
				}
				if cost+rest < best[s][i] {
					best[s][i], next[s][i] = cost+rest, j
				}
			}
		}
	}
	for i, s := 0, k; i < c && s >= 1; i, s = next[s][i], s-1 {
		r := uint32(cand[i].rank)
		if e.NSteps > 0 && e.StepRank[e.NSteps-1] == r {
			continue
		}
		e.StepAt[e.NSteps], e.StepRank[e.NSteps] = int64(cand[i].a), r
		e.NSteps++
	}
	e.StepAt[0] = 0
}

type attCand struct {
	a    float64
	rank int
	w    float64
}

// sortedSamples copies each function's samples into l.sorted, sorted ascending per function,
// with per-function prefix sums in l.prefix (function f's at l.fns[f].off+f).
func (l *Learner) sortedSamples() {
	l.sorted = append(l.sorted[:0], l.samples...)
	need := len(l.samples) + len(l.fns)
	if cap(l.prefix) < need {
		l.prefix = make([]float64, need)
	}
	l.prefix = l.prefix[:need]
	for i := range l.fns {
		f := &l.fns[i]
		xs := l.sorted[f.off : f.off+f.n]
		slices.Sort(xs)
		ps := l.prefix[f.off+i : f.off+i+f.n+1]
		ps[0] = 0
		for j, x := range xs {
			ps[j+1] = ps[j] + x
		}
	}
}

// RankOf is the rank the learner gives a predicted demand of d ns on its rank scale (log or
// demand; 0 on the order scale), not capped by the penalty bound. Diagnostics use it to rank
// by a demand the learner cannot know (srpt's alps-oracle).
func (l *Learner) RankOf(d float64) uint32 { return uint32(l.rankOf(d)) }

// StepsOf returns the attained-service step table the learner's configuration (attained
// steps and rule, rank scale, penalty bound) derives from the demand samples xs (ns, any
// order; not modified), as policy.Entry.NSteps/StepAt/StepRank and Rank. Diagnostics use it to
// build tables from a demand distribution the learner does not see (srpt's alps-gittins-dist).
func (l *Learner) StepsOf(xs []float64) policy.Entry {
	s := slices.Clone(xs)
	slices.Sort(s)
	ps := make([]float64, len(s)+1)
	for i, x := range s {
		ps[i+1] = ps[i] + x
	}
	var e policy.Entry
	attainedSteps(&e, s, ps, max(l.cfg.AttainedSteps, 1), cmp.Or(l.cfg.AttainedRule, AttainedGittins), l.rankOf, l.capRank(), nil)
	e.Rank = e.StepRank[0]
	return e
}

// pooledMax is the most samples of the pooled window the default step table is built from
// (every k-th sample beyond it): it bounds the sort to keep the update fast.
const pooledMax = 2048

// pooledSteps is the attained step table of the whole window's samples pooled (a function
// the table does not know is assumed to be drawn from the host's mix), with the default slice.
func (l *Learner) pooledSteps() policy.Entry {
	stride := max(1, (len(l.samples)+pooledMax-1)/pooledMax)
	xs := l.pooled[:0]
	for i := 0; i < len(l.samples); i += stride {
		xs = append(xs, l.samples[i])
	}
	l.pooled = xs
	slices.Sort(xs)
	if cap(l.pooledPS) < len(xs)+1 {
		l.pooledPS = make([]float64, len(xs)+1)
	}
	ps := l.pooledPS[:len(xs)+1]
	for i, x := range xs {
		ps[i+1] = ps[i] + x
	}
	e := policy.Entry{Slice: l.cfg.Knobs.DefaultSlice}
	attainedSteps(&e, xs, ps, l.cfg.AttainedSteps, l.cfg.AttainedRule, l.rankOf, l.capRank(), l.cand)
	e.Rank = e.StepRank[0]
	return e
}
