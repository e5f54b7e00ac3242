package model

import "slices"

// Priors: what is mixed into a function's own samples (with mass PriorWeight) before its
// step table is derived.
const (
	// PriorPooled mixes in the pooled window: every function's demands, at their own scale.
	PriorPooled = "pooled"
	// PriorScaled mixes in the pooled window's shape at the function's own scale: the demands
	// of the functions seen at least minShapeSamples times, each divided by its function's
	// median, times the function's median (an empirical-Bayes location-scale prior: a function
	// seen twice is assumed to vary around its median as functions on this host do).
	PriorScaled = "scaled"
)

// minShapeSamples is how many samples a function needs to contribute to the shape (one sample
// is its own median).
const minShapeSamples = 2

// shape fills l.shapeQ with priorPoints equal-mass quantiles of the pooled window's demands
// relative to their functions' medians (PriorScaled; empty when no function has
// minShapeSamples), from every stride-th sample as the pooled window (pooledMax bounds the
// sort). Each function's samples must be sorted (sortedSamples).
func (l *Learner) shape(stride int) {
	l.shapeQ = l.shapeQ[:0]
	if l.cfg.Prior != PriorScaled {
		return
	}
	rs := l.ratios[:0]
	for i := range l.fns {
		f := &l.fns[i]
		if f.n < minShapeSamples {
			continue
		}
		xs := l.samples[f.off : f.off+f.n]
		m := median(xs)
		if m <= 0 {
			continue
		}
		for j := (stride - f.off%stride) % stride; j < len(xs); j += stride {
			rs = append(rs, xs[j]/m)
		}
	}
	l.ratios = rs
	slices.Sort(rs)
	l.shapeQ = equalMass(l.shapeQ, rs)
}

// priorOf returns the prior of a function whose sorted samples are xs: the pooled window's
// quantiles, or with PriorScaled the shape at the function's median.
func (l *Learner) priorOf(xs []float64) *empirical {
	if len(l.shapeQ) == 0 || len(xs) == 0 {
		return &l.priorQ
	}
	l.priorF.setPoints(l.shapeQ, median(xs))
	return &l.priorF
}

// median is the upper median of the sorted xs (not empty).
func median(xs []float64) float64 { return xs[len(xs)/2] }
