package model

import (
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/stat"
)

// Predictor estimates the next value of a series of a function's samples (oldest first).
// xs is never empty. A Predictor may reorder scratch but never xs.
type Predictor interface {
	Predict(xs, scratch []float64) float64
}

// PredictorNames lists the predictors NewPredictor knows.
var PredictorNames = []string{"mean", "ewma", "percentile", "regression", "logmean"}

// NewPredictor returns the named predictor. ewmaAlpha is used by "ewma", q by "percentile".
func NewPredictor(name string, ewmaAlpha, q float64) (Predictor, error) {
	switch name {
	case "mean":
		return Mean{}, nil
	case "ewma":
		if ewmaAlpha <= 0 || ewmaAlpha > 1 {
			return nil, fmt.Errorf("ewma alpha %g not in (0, 1]", ewmaAlpha)
		}
		return EWMA{Alpha: ewmaAlpha}, nil
	case "percentile":
		if q <= 0 || q > 1 {
			return nil, fmt.Errorf("percentile %g not in (0, 1]", q)
		}
		return Percentile{Q: q}, nil
	case "regression":
		return Regression{}, nil
	case "logmean":
		return LogMean{}, nil
	}
	return nil, fmt.Errorf("unknown predictor %q (valid: mean, ewma, percentile, regression, logmean)", name)
}

// Mean is the window mean: the unbiased estimate of the expected demand when a function's
// demand does not drift.
type Mean struct{}

// Predict implements Predictor.
func (Mean) Predict(xs, _ []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// EWMA weighs the newest sample by Alpha and older ones geometrically less (ALPS uses 0.2).
type EWMA struct{ Alpha float64 }

// Predict implements Predictor.
func (e EWMA) Predict(xs, _ []float64) float64 {
	m := xs[0]
	for _, x := range xs[1:] {
		m += e.Alpha * (x - m)
	}
	return m
}

// Percentile is the Q-quantile of the samples (empirical, lower value): a pessimistic
// estimate that ranks functions with a heavy tail later.
type Percentile struct{ Q float64 }

// Predict implements Predictor.
func (p Percentile) Predict(xs, scratch []float64) float64 {
	s := append(scratch[:0], xs...)
	slices.Sort(s)
	return stat.Quantile(p.Q, stat.Empirical, s, nil)
}

// Regression fits the samples against their index by least squares (gonum) and extrapolates
// one step: it follows a trend in a function's demand (ALPS's "linear regression" mode). The
// extrapolation is clamped to the observed range, so one outlier at the end of a short series
// cannot produce a negative or runaway demand.
type Regression struct{}

// Predict implements Predictor.
func (Regression) Predict(xs, scratch []float64) float64 {
	n := len(xs)
	if n < 3 {
		return Mean{}.Predict(xs, nil)
	}
	idx := scratch[:0]
	lo, hi := xs[0], xs[0]
	for i, x := range xs {
		idx = append(idx, float64(i))
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	a, b := stat.LinearRegression(idx, xs, nil, false)
	return math.Min(math.Max(a+b*float64(n), lo), hi)
}

// LogMean is the mean of the log-normal fitted to the samples by maximum likelihood,
// exp(mu + sigma^2/2). FaaS demands are close to log-normal (research.md); on such data this
// estimate of the expected demand is less noisy than the arithmetic mean of a few samples,
// because one huge sample moves mu and sigma by its logarithm only.
type LogMean struct{}

// Predict implements Predictor.
func (LogMean) Predict(xs, _ []float64) float64 {
	var s, ss float64
	for _, x := range xs {
		l := math.Log(math.Max(x, 1))
		s += l
		ss += l * l
	}
	n := float64(len(xs))
	mu := s / n
	v := ss/n - mu*mu
	if v < 0 {
		v = 0
	}
	return math.Exp(mu + v/2)
}
