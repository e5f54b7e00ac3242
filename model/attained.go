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

// attainedCandidates is the most attained points (a = 0 and quantiles of the distribution)
// R is evaluated at per function.
const attainedCandidates = 32

// Cutoffs that complete less than max(minCutoffFrac of the mass above a, minCutoffCount
// samples) are not considered: on an empirical sample the minimum over every cutoff is biased
// far down by the noise of cutoffs just above a (a memoryless demand of mean 1 s gave R as low
// as 0.16 s on 2,000 samples without this).
const (
	minCutoffFrac  = 0.1
	minCutoffCount = 3
)

// empirical is a discrete demand distribution: support points xs (ascending, distinct) with
// masses ws, and the prefix sums pw of ws and pwx of ws*xs (one longer than xs). A function's
// own samples have mass 1 each; a prior (the pooled window) adds its points with a total
// mass of the prior weight.
type empirical struct {
	xs, ws, pw, pwx []float64
	grid            []gridPoint // attainedSteps's scratch
}

// gridPoint is a candidate attained service a with the mass and mass-weighted sum of the
// support points at or below it.
type gridPoint struct{ a, pw, pwx float64 }

// reset makes d the distribution of the sorted samples xs (mass 1 each) mixed with prior (nil:
// none) scaled to a total mass of priorMass.
func (d *empirical) reset(xs []float64, prior *empirical, priorMass float64) {
	d.xs, d.ws = d.xs[:0], d.ws[:0]
	scale := 0.0
	var px, pws []float64
	if prior != nil && priorMass > 0 && len(prior.xs) > 0 {
		px, pws = prior.xs, prior.ws
		scale = priorMass / prior.pw[len(prior.xs)]
	}
	i, j := 0, 0
	for i < len(xs) || j < len(px) {
		var x, w float64
		if j >= len(px) || (i < len(xs) && xs[i] <= px[j]) {
			x, w = xs[i], 1
			i++
		} else {
			x, w = px[j], pws[j]*scale
			j++
		}
		if n := len(d.xs); n > 0 && d.xs[n-1] == x {
			d.ws[n-1] += w
			continue
		}
		d.xs = append(d.xs, x)
		d.ws = append(d.ws, w)
	}
	d.sums()
}

// sums fills the prefix sums of d.
func (d *empirical) sums() {
	n := len(d.xs)
	d.pw = append(d.pw[:0], 0)
	d.pwx = append(d.pwx[:0], 0)
	for k := range n {
		d.pw = append(d.pw, d.pw[k]+d.ws[k])
		d.pwx = append(d.pwx, d.pwx[k]+d.ws[k]*d.xs[k])
	}
}

// above is the index of the first support point above a.
func (d *empirical) above(a float64) int {
	return sort.SearchFloat64s(d.xs, math.Nextafter(a, math.Inf(1)))
}

// quantile is the first support point at which the cumulative mass reaches q of the total.
func (d *empirical) quantile(q float64) float64 {
	n := len(d.xs)
	target := q * d.pw[n]
	k := sort.Search(n, func(k int) bool { return d.pw[k+1] >= target })
	return d.xs[min(k, n-1)]
}

// gridR returns R at grid[i].a for a job re-ranked only at the grid's points (the last point
// is the largest demand; total is the whole mass): the least, over the later points b, of
// E[min(D-a, b-a) | D > a] / P(D <= b | D > a), skipping cutoffs that complete less than
// max(minCutoffFrac of the mass above a, minCutoffCount samples).
func gridR(grid []gridPoint, i int, total float64) float64 {
	g := grid[i]
	m := total - g.pw // mass above a
	need := min(m, max(minCutoffFrac*m, minCutoffCount))
	best := math.Inf(1)
	for _, b := range grid[i+1:] {
		done := b.pw - g.pw
		if done < need*(1-1e-12) {
			continue
		}
		// E[min(D-a, b-a) | D > a] * m, and the mass in (a, b].
		num := b.pwx - g.pwx - done*g.a + (total-b.pw)*(b.a-g.a)
		if num < best*done {
			best = num / done
		}
	}
	return best
}

// servedIn is the CPU the distribution's mass receives while its attained service is in
// [lo, hi) (hi = +Inf for the last interval): the mass-weighted sum of clamp(x-lo, 0, hi-lo).
func (d *empirical) servedIn(lo, hi float64) float64 {
	n := len(d.xs)
	i := d.above(lo)
	if math.IsInf(hi, 1) {
		return d.pwx[n] - d.pwx[i] - (d.pw[n]-d.pw[i])*lo
	}
	j := d.above(hi)
	return d.pwx[j] - d.pwx[i] - (d.pw[j]-d.pw[i])*lo + (d.pw[n]-d.pw[j])*(hi-lo)
}

// attainedSteps fills e's step table from the demand distribution d with at most k steps.
// rankOf turns a demand into a rank; capRank is the last rank. cand is scratch.
func attainedSteps(e *policy.Entry, d *empirical, k int, rule string, rankOf func(float64) int, capRank int, cand []attCand) []attCand {
	n := len(d.xs)
	k = min(max(k, 1), policy.MaxSteps)
	e.NSteps = 0
	if n == 0 {
		return cand
	}
	if rule == AttainedQuantile {
		q50, q75 := d.quantile(0.5), d.quantile(0.75)
		e.NSteps = 1
		e.StepAt[0], e.StepRank[0] = 0, uint32(min(rankOf(q50), capRank))
		if i := d.above(q75); i < n && k >= 2 {
			rem := (d.pwx[n]-d.pwx[i])/(d.pw[n]-d.pw[i]) - q75
			if r := uint32(min(rankOf(rem), capRank)); r != e.StepRank[0] {
				e.StepAt[1], e.StepRank[1] = int64(q75), r
				e.NSteps = 2
			}
		}
		return cand
	}
	// Candidates: a = 0 and the distinct quantiles j/M of the distribution that some mass
	// exceeds. A task is re-ranked only where a step starts, so R at a candidate takes its
	// cutoffs at the later candidates and the largest demand (the Gittins index of a job
	// re-ranked on the grid): O(M^2) per function instead of O(M * support).
	// The quantiles increase with j, so one pass over the support finds them (q: as
	// quantile would) and the mass at or below each (s: as above would).
	point := func(a float64, s int) gridPoint { return gridPoint{a: a, pw: d.pw[s], pwx: d.pwx[s]} }
	q, s := 0, 0
	for s < n && d.xs[s] <= 0 {
		s++
	}
	grid := append(d.grid[:0], point(0, s))
	nc := min(attainedCandidates, n)
	for j := 1; j < nc; j++ {
		target := float64(j) / float64(nc) * d.pw[n]
		for q < n && d.pw[q+1] < target {
			q++
		}
		a := d.xs[min(q, n-1)]
		if a <= grid[len(grid)-1].a {
			continue
		}
		for s < n && d.xs[s] <= a {
			s++
		}
		if s < n {
			grid = append(grid, point(a, s))
		}
	}
	grid = append(grid, point(d.xs[n-1], n)) // every demand is done here
	d.grid = grid
	cand = cand[:0]
	for i := 0; i+1 < len(grid); i++ {
		r := min(rankOf(gridR(grid, i, d.pw[n])), capRank)
		if len(cand) > 0 && r == cand[len(cand)-1].rank {
			continue // a step never needs to start inside a run of equal ranks
		}
		cand = append(cand, attCand{a: grid[i].a, rank: r})
	}
	c := len(cand)
	if c <= k {
		for i := range cand {
			e.StepAt[i], e.StepRank[i] = int64(cand[i].a), uint32(cand[i].rank)
		}
		e.NSteps = uint8(c)
		return cand
	}
	for i := range cand {
		hi := math.Inf(1)
		if i+1 < c {
			hi = cand[i+1].a
		}
		cand[i].w = d.servedIn(cand[i].a, hi)
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
	return cand
}

type attCand struct {
	a    float64
	rank int
	w    float64
}

// sortedSamples sorts each function's samples in place (l.samples, per function).
func (l *Learner) sortedSamples() {
	for i := range l.fns {
		f := &l.fns[i]
		slices.Sort(l.samples[f.off : f.off+f.n])
	}
}

// RankOf is the rank the learner gives a predicted demand of d ns on its rank scale (log or
// demand; 0 on the order scale), not capped by the penalty bound. Diagnostics use it to rank
// by a demand the learner cannot know (srpt's alps-oracle).
func (l *Learner) RankOf(d float64) uint32 { return uint32(l.rankOf(d)) }

// StepsOf returns the attained-service step table the learner's configuration (attained
// steps and rule, rank scale) derives from the demand samples xs (ns, any order; not
// modified), without a prior, as policy.Entry.NSteps/StepAt/StepRank and Rank. Diagnostics use
// it to build tables from a demand distribution the learner does not see (sim's
// alps-gittins-dist).
func (l *Learner) StepsOf(xs []float64) policy.Entry {
	s := slices.Clone(xs)
	slices.Sort(s)
	var d empirical
	d.reset(s, nil, 0)
	var e policy.Entry
	attainedSteps(&e, &d, max(l.cfg.AttainedSteps, 1), cmp.Or(l.cfg.AttainedRule, AttainedGittins), l.rankOf, l.capRank(), nil)
	e.Rank = e.StepRank[0]
	return e
}

// pooledMax is the most samples of the pooled window the prior is built from (every k-th
// sample beyond it): it bounds the sort to keep the update fast.
const pooledMax = 2048

// pool builds l.prior, the distribution of the whole window's samples pooled (a function the
// table does not know, or knows from few samples, is assumed to be drawn from the host's mix).
// With censored, the invocations in flight (l.censAll) enter it as censored samples.
func (l *Learner) pool(censored bool) {
	stride := max(1, (len(l.samples)+pooledMax-1)/pooledMax)
	xs := l.pooled[:0]
	for i := 0; i < len(l.samples); i += stride {
		xs = append(xs, l.samples[i])
	}
	l.pooled = xs
	slices.Sort(xs)
	l.prior.reset(xs, nil, 0)
	if censored {
		l.prior.censor(l.censAll, 1/float64(stride)) // as subsampled as the completed ones
	}
	// The prior mixed into every function: priorPoints quantiles of equal mass (the mixing
	// costs each function priorPoints support points, not the pooled window's).
	pts := l.priorPts[:0]
	if len(xs) > 0 && censored {
		for k := range priorPoints {
			pts = append(pts, l.prior.quantile((float64(k)+0.5)/priorPoints))
		}
	} else {
		pts = equalMass(pts, xs)
	}
	l.priorPts = pts
	l.priorQ.setPoints(pts, 1)
	l.shape(stride)
}

// equalMass appends to dst the priorPoints quantiles of equal mass of the sorted xs (none
// when xs is empty).
func equalMass(dst, xs []float64) []float64 {
	if len(xs) == 0 {
		return dst
	}
	for k := range priorPoints {
		dst = append(dst, xs[min(len(xs)-1, (2*k+1)*len(xs)/(2*priorPoints))])
	}
	return dst
}

// setPoints makes d the distribution of the sorted points ps times scale, mass 1 each (equal
// points merged).
func (d *empirical) setPoints(ps []float64, scale float64) {
	d.xs, d.ws = d.xs[:0], d.ws[:0]
	for _, p := range ps {
		x := p * scale
		if n := len(d.xs); n > 0 && d.xs[n-1] == x {
			d.ws[n-1]++
			continue
		}
		d.xs = append(d.xs, x)
		d.ws = append(d.ws, 1)
	}
	d.sums()
}

// priorPoints is the number of quantiles of the pooled window mixed into each function's
// distribution.
const priorPoints = 64

// pooledSteps is the attained step table of the pooled window (l.prior, built by pool), with
// the default slice.
func (l *Learner) pooledSteps() policy.Entry {
	e := policy.Entry{Slice: l.cfg.Knobs.DefaultSlice}
	l.cand = attainedSteps(&e, &l.prior, l.cfg.AttainedSteps, l.cfg.AttainedRule, l.rankOf, l.capRank(), l.cand)
	e.Rank = e.StepRank[0]
	return e
}
