package model

import "slices"

// Running is an invocation still in flight when the learner updates: its function, its class
// hint, when it arrived and the CPU it has used so far. Its demand is not known, only that it
// exceeds CPU: a right-censored sample. Without them the window is biased short whenever the
// long invocations of the recent past have not completed yet (early on, after a burst).
type Running struct {
	Function uint32
	Class    uint32
	Start    int64 // when the invocation arrived
	CPU      int64 // ns used so far in the invocation
}

// SetRunning gives the next Update the invocations in flight (copied). With Config.Censored
// the update learns from a cohort: the invocations that arrived since the oldest completion
// in the window (each of them that completed is in the window), the completed ones as exact
// samples and the running ones as censored samples (Kaplan-Meier), per function and pooled.
// Records of invocations that arrived before that are left out: in flight, the long
// invocations are over-represented, so mixing them with completions of any arrival time
// would bias the window long. A function with no completed invocation in the cohort gets no
// entry from its running ones.
func (l *Learner) SetRunning(rs []Running) { l.running = append(l.running[:0], rs...) }

// cohort keeps, of l.recs and l.running, the invocations that arrived at or after the
// oldest completion in the window, and says whether any invocation is running.
func (l *Learner) cohort() bool {
	if len(l.running) == 0 || len(l.recs) == 0 {
		return false
	}
	from := l.recs[0].End
	for _, r := range l.recs {
		from = min(from, r.End)
	}
	recs := l.recs[:0]
	for _, r := range l.recs {
		if r.Start >= from {
			recs = append(recs, r)
		}
	}
	l.recs = recs
	run := l.running[:0]
	for _, r := range l.running {
		if r.Start >= from {
			run = append(run, r)
		}
	}
	l.running = run
	return len(l.recs) > 0
}

// gatherCensored collects the censored samples of each group of the window, sorted, in
// l.censored at l.censOff[c]..l.censOff[c+1] for group c, and all of them, sorted, in
// l.censAll.
func (l *Learner) gatherCensored() {
	n := len(l.fns)
	l.censOff = slices.Grow(l.censOff[:0], n+1)[:n+1]
	clear(l.censOff)
	l.censAll = l.censAll[:0]
	grp := l.censGrp[:0]
	for _, r := range l.running {
		c := int32(-1)
		if id, ok := l.groupOfRunning(r); ok {
			if g, ok := l.classOf[id]; ok {
				c = g
			}
		}
		grp = append(grp, c)
		l.censAll = append(l.censAll, float64(max(r.CPU, 0)))
		if c >= 0 {
			l.censOff[c+1]++
		}
	}
	l.censGrp = grp
	for c := range n {
		l.censOff[c+1] += l.censOff[c]
	}
	l.censored = slices.Grow(l.censored[:0], int(l.censOff[n]))[:l.censOff[n]]
	fill := slices.Clone(l.censOff[:n])
	for i, c := range grp {
		if c >= 0 {
			l.censored[fill[c]] = l.censAll[i]
			fill[c]++
		}
	}
	for c := range n {
		slices.Sort(l.censored[l.censOff[c]:l.censOff[c+1]])
	}
	slices.Sort(l.censAll)
}

// censoredOf is group c's censored samples, sorted (gatherCensored).
func (l *Learner) censoredOf(c int) []float64 {
	if len(l.censOff) <= c+1 {
		return nil
	}
	return l.censored[l.censOff[c]:l.censOff[c+1]]
}

// groupOfRunning is the group a running invocation is learned in, as groupOf, without making
// a new (function, class) group: false when its class has none in this update.
func (l *Learner) groupOfRunning(r Running) (uint32, bool) {
	if r.Class == 0 || !l.cls.keyed[r.Function] {
		return r.Function, true
	}
	id, ok := l.cls.virtual[uint64(r.Function)<<32|uint64(r.Class)]
	return id, ok
}

// censor makes d, whose points are completed samples with their masses, the Kaplan-Meier
// estimate of the demand distribution given also the censored samples cs (sorted, mass cw
// each: demands known only to exceed them), of total mass d's plus cw*len(cs). Each censored
// sample's mass moves to the points above it in proportion to their estimated masses; what
// no point is above stays at the largest censored bound.
func (d *empirical) censor(cs []float64, cw float64) {
	if len(cs) == 0 || len(d.xs) == 0 || cw <= 0 {
		return
	}
	n := len(d.xs)
	total := d.pw[n] + cw*float64(len(cs))
	risk := total // mass of the observations not yet known to be below the current point
	surv := 1.0   // estimated P(D >= current point)
	j := 0
	for i := range n {
		// A censored sample below x is out of the risk set at x; one equal to x is not (its
		// demand exceeds x).
		for j < len(cs) && cs[j] < d.xs[i] {
			risk -= cw
			j++
		}
		w := d.ws[i]
		h := min(w/risk, 1)
		d.ws[i] = surv * h * total
		surv -= surv * h
		risk -= w
	}
	if surv > 1e-12 {
		last := cs[len(cs)-1]
		if last > d.xs[n-1] {
			d.xs = append(d.xs, last)
			d.ws = append(d.ws, surv*total)
		} else {
			d.ws[n-1] += surv * total
		}
	}
	d.sums()
}
