package model

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/alps-sched/alps/policy"
)

// Ranges of a Config. They are the single definition of the ranges of the configuration's
// learner.* keys (configs converts the keys and calls Validate), so errors name those keys.
const (
	MaxWindowSize        = 1_000_000
	MaxWindowSpan        = 7 * 24 * time.Hour
	MaxUpdateInterval    = time.Hour
	MaxCores             = 8192
	MaxSliceCap          = 10 * time.Second
	MaxRankLevels        = 1024
	MaxRuleFactor        = 100 // alpha, beta and gamma
	MaxRankStep          = 60 * time.Second
	MaxLevelsPerDoubling = 8
	MaxPriorWeight       = 1e6
)

// Validate reports the first field out of range, named by its configuration key
// (learner.*, and policy.* for the knobs). UpdateInterval 0 is valid: the caller runs no
// periodic update (the configuration's key, which sets a period, needs one).
func (c Config) Validate() error {
	for _, f := range []struct {
		key  string
		v    float64
		lo   float64
		open bool // lo excluded
		hi   float64
	}{
		{"learner.ewma_alpha", c.EWMAAlpha, 0, true, 1},
		{"learner.percentile", c.Percentile, 0, true, 1},
		{"learner.alpha", c.Alpha, 0, false, MaxRuleFactor},
		{"learner.beta", c.Beta, 0, false, MaxRuleFactor},
		{"learner.gamma", c.Gamma, 0, true, MaxRuleFactor},
		{"learner.theta", c.Theta, 0, false, 100},
		{"learner.levels_per_doubling", c.LevelsPerDoubling, 0, false, MaxLevelsPerDoubling}, // 0 means 1
		{"learner.prior_weight", c.PriorWeight, 0, false, MaxPriorWeight},
	} {
		if math.IsNaN(f.v) || f.v < f.lo || f.open && f.v == f.lo || f.v > f.hi {
			lb := "["
			if f.open {
				lb = "("
			}
			return fmt.Errorf("%s: must be in %s%s, %s], got %s", f.key, lb, num(f.lo), num(f.hi), num(f.v))
		}
	}
	switch {
	case c.WindowSize < 1 || c.WindowSize > MaxWindowSize:
		return fmt.Errorf("learner.window_size: must be in [1, %d], got %d", MaxWindowSize, c.WindowSize)
	case c.WindowSpan < int64(time.Millisecond) || c.WindowSpan > int64(MaxWindowSpan):
		return fmt.Errorf("learner.window_span_ms: must be in [1, %s] (7 days), got %s", ms(int64(MaxWindowSpan)), ms(c.WindowSpan))
	case c.UpdateInterval < 0 || c.UpdateInterval > int64(MaxUpdateInterval):
		return fmt.Errorf("learner.update_interval_ms: must be in [0, %s] (1 hour), got %s", ms(int64(MaxUpdateInterval)), ms(c.UpdateInterval))
	case c.Cores < 1 || c.Cores > MaxCores:
		return fmt.Errorf("learner.cores: must be in [1, %d] (0: the host's CPUs), got %d", MaxCores, c.Cores)
	case c.SliceCap <= 0 || c.SliceCap > int64(MaxSliceCap):
		return fmt.Errorf("learner.slice_cap_ms: must be in (0, %s], got %s", ms(int64(MaxSliceCap)), ms(c.SliceCap))
	case c.MinSlice < 0 || c.MinSlice > c.SliceCap:
		return fmt.Errorf("learner.min_slice_ms: must be in [0, slice_cap_ms], got %s", ms(c.MinSlice))
	case c.RankLevels < 1 || c.RankLevels > MaxRankLevels:
		return fmt.Errorf("learner.rank_levels: must be in [1, %d], got %d", MaxRankLevels, c.RankLevels)
	case c.MaxFunctions < 1 || c.MaxFunctions > policy.MaxFunctions:
		return fmt.Errorf("learner.max_functions: must be in [1, %d], got %d", policy.MaxFunctions, c.MaxFunctions)
	case c.RankStep < 0 || c.RankStep > int64(MaxRankStep):
		return fmt.Errorf("policy.rank_step_ms: must be in [0, %s], got %s", ms(int64(MaxRankStep)), ms(c.RankStep))
	case c.MinSamples < 0 || c.MinSamples > c.WindowSize:
		return fmt.Errorf("learner.min_samples: must be in [0, window_size], got %d", c.MinSamples)
	}
	switch c.Predictor {
	case "mean", "ewma", "percentile", "regression", "logmean":
	default:
		return fmt.Errorf("learner.predictor: %q is not one of mean, ewma, percentile, regression, logmean", c.Predictor)
	}
	switch c.RankScale {
	case RankByOrder, RankByDemand, RankByLog:
	default:
		return fmt.Errorf("learner.rank_scale: %q is not one of order, demand, log", c.RankScale)
	}
	if c.AttainedRanks {
		switch {
		case c.RankScale == RankByOrder:
			return fmt.Errorf("learner.attained_ranks: needs rank_scale log or demand, not order")
		case c.AttainedSteps < 1 || c.AttainedSteps > policy.MaxSteps:
			return fmt.Errorf("learner.attained_steps: must be in [1, %d], got %d", policy.MaxSteps, c.AttainedSteps)
		case c.AttainedRule != AttainedGittins && c.AttainedRule != AttainedQuantile:
			return fmt.Errorf("learner.attained_rule: %q is not one of gittins, quantile", c.AttainedRule)
		}
	}
	switch c.Prior {
	case "", PriorPooled, PriorScaled:
	default:
		return fmt.Errorf("learner.prior: %q is not one of pooled, scaled", c.Prior)
	}
	return c.Knobs.Validate()
}

// ms formats ns in milliseconds, for messages.
func ms(ns int64) string { return num(float64(ns) / 1e6) }

// num formats x in plain decimals (3600000, not 3.6e+06).
func num(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }
