package main

import (
	"context"
	"maps"
	"math"
	"math/rand/v2"
)

// numeric returns the indices of the space's range (non-choice) parameters.
func (sp space) numeric() []int {
	var idx []int
	for i, p := range sp {
		if p.choices == nil {
			idx = append(idx, i)
		}
	}
	return idx
}

// unit maps a parameter value to [0, 1] (log ranges on a log scale).
func (p param) unit(v any) float64 {
	x, ok := toFloat(v)
	if !ok || p.max == p.min {
		return 0.5
	}
	if p.log {
		return (math.Log(x) - math.Log(p.min)) / (math.Log(p.max) - math.Log(p.min))
	}
	return (x - p.min) / (p.max - p.min)
}

// value maps u in [0, 1] (clamped) back to a parameter value.
func (p param) value(u float64) any {
	u = min(max(u, 0), 1)
	var x float64
	if p.log {
		x = math.Exp(math.Log(p.min) + u*(math.Log(p.max)-math.Log(p.min)))
	} else {
		x = p.min + u*(p.max-p.min)
	}
	if p.int {
		return int64(min(max(math.Round(x), math.Ceil(p.min)), math.Floor(p.max)))
	}
	return x
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int64:
		return float64(x), true
	case int:
		return float64(x), true
	}
	return 0, false
}

// refine improves on the best trial by a (1+1) evolution strategy over the range
// parameters in unit coordinates (its choices kept): each step perturbs the incumbent by a
// Gaussian of width sigma, keeps the candidate if it scores better, and widens sigma on
// success and narrows it on failure (the one-fifth rule). It runs at most evals simulations,
// returned as trials numbered from firstID, and stops early when ctx ends. (gonum/optimize's
// Nelder-Mead would fit, but the package pulls in golang.org/x/tools, which the module does
// not otherwise need.)
func (tn *tuner) refine(ctx context.Context, best trial, evals, firstID int, seed uint64) []trial {
	idx := tn.space.numeric()
	if len(idx) == 0 || evals <= 0 {
		return nil
	}
	r := rand.New(rand.NewPCG(seed, 0x726566))
	x := make([]float64, len(idx))
	for k, i := range idx {
		x[k] = tn.space[i].unit(best.Params[tn.space[i].key])
	}
	fx, sigma := best.Objective, 0.15
	var out []trial
	for n := 0; n < evals && ctx.Err() == nil; n++ {
		y := make([]float64, len(x))
		params := maps.Clone(best.Params)
		for k, i := range idx {
			y[k] = min(max(x[k]+sigma*r.NormFloat64(), 0), 1)
			params[tn.space[i].key] = tn.space[i].value(y[k])
		}
		t := tn.run(ctx, firstID+n, params)
		if ctx.Err() != nil && t.Err != "" {
			break // stopped by the interruption: not a result
		}
		out = append(out, t)
		if t.Err == "" && t.Objective < fx {
			x, fx = y, t.Objective
			sigma = min(sigma*1.5, 0.5)
		} else {
			sigma = max(sigma*0.9, 0.01)
		}
	}
	return out
}
