package model

import (
	"math"
	"strings"
	"testing"

	"github.com/alps-sched/alps/policy"
)

// TestValidateNamesKeys (issue 11, defects 2, 5 and 13): every field out of range, NaN
// included, is reported under its configuration key with the allowed range.
func TestValidateNamesKeys(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		edit func(*Config)
		want string
	}{
		{func(c *Config) { c.Alpha = nan }, "learner.alpha: must be in [0, 100], got NaN"},
		{func(c *Config) { c.Beta = math.Inf(1) }, "learner.beta: must be in [0, 100], got +Inf"},
		{func(c *Config) { c.Gamma = 0 }, "learner.gamma: must be in (0, 100], got 0"},
		{func(c *Config) { c.Theta = nan }, "learner.theta: must be in [0, 100], got NaN"},
		{func(c *Config) { c.EWMAAlpha = nan }, "learner.ewma_alpha: must be in (0, 1], got NaN"},
		{func(c *Config) { c.Percentile = 1.5 }, "learner.percentile: must be in (0, 1], got 1.5"},
		{func(c *Config) { c.WindowSize = 0 }, "learner.window_size: must be in [1, 1000000], got 0"},
		{func(c *Config) { c.WindowSize = 9e18 }, "learner.window_size: must be in [1, 1000000], got 9000000000000000000"},
		{func(c *Config) { c.WindowSpan = 0 }, "learner.window_span_ms: must be in [1, 604800000] (7 days), got 0"},
		{func(c *Config) { c.UpdateInterval = -1 }, "learner.update_interval_ms: must be in [0, 3600000] (1 hour), got -0.000001"},
		{func(c *Config) { c.Cores = 1e9 }, "learner.cores: must be in [1, 8192]"},
		{func(c *Config) { c.SliceCap = 0 }, "learner.slice_cap_ms: must be in (0, 10000], got 0"},
		{func(c *Config) { c.MinSlice = c.SliceCap + 1 }, "learner.min_slice_ms: must be in [0, slice_cap_ms]"},
		{func(c *Config) { c.RankLevels = 0 }, "learner.rank_levels: must be in [1, 1024], got 0"},
		{func(c *Config) { c.MaxFunctions = 1e9 }, "learner.max_functions: must be in [1, 16384], got 1000000000"},
		{func(c *Config) { c.MinSamples = c.WindowSize + 1 }, "learner.min_samples: must be in [0, window_size]"},
		{func(c *Config) { c.Predictor = "oracle" }, `learner.predictor: "oracle" is not one of`},
		{func(c *Config) { c.RankScale = "linear" }, `learner.rank_scale: "linear" is not one of`},
		{func(c *Config) { c.Prior = "global" }, `learner.prior: "global" is not one of pooled, scaled`},
		{func(c *Config) { c.AttainedRanks, c.RankScale = true, RankByOrder }, "learner.attained_ranks: needs rank_scale log or demand"},
		{func(c *Config) { c.AttainedRanks, c.RankScale, c.AttainedSteps = true, RankByLog, 9 }, "learner.attained_steps: must be in [1, 8], got 9"},
		{func(c *Config) { c.RankStep = -1 }, "policy.rank_step_ms: must be in [0, 60000], got -0.000001"},
		{func(c *Config) { c.Knobs.MaxWait = -1 }, "policy.max_wait_ms: must be in [0, 5000], got -0.000001"},
		{func(c *Config) { c.PriorWeight = -1 }, "learner.prior_weight: must be in [0, 1000000], got -1"},
		{func(c *Config) { c.LevelsPerDoubling = 9 }, "learner.levels_per_doubling: must be in [0, 8], got 9"},
		{func(c *Config) { c.Knobs.WakeLag = 61e9 }, "policy.wake_lag_ms: must be in [0, 60000], got 61000"},
		{func(c *Config) { c.Knobs.DefaultSlice = 0 }, "policy.default_slice_ms: must be in (0, 10000], got 0"},
	}
	for _, tt := range tests {
		c := testConfig()
		tt.edit(&c)
		err := c.Validate()
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("error %v, want one starting %q", err, tt.want)
		}
	}
	if err := testConfig().Validate(); err != nil {
		t.Errorf("test config: %v", err)
	}
	c := testConfig()
	c.UpdateInterval = 0 // no periodic update: valid for the learner itself
	if err := c.Validate(); err != nil {
		t.Errorf("update interval 0: %v", err)
	}
}

// TestForget (issue 11, defect 11): after Forget, the function's earlier records count no
// more (in updates and in Live) while its later ones do.
func TestForget(t *testing.T) {
	l, err := NewLearner(testConfig())
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		at := int64(i) * 1000 * msec
		l.Observe(policy.Record{Function: 7, CPU: 980 * msec, Start: at, End: at + 980*msec})
	}
	l.Forget(7)
	if n := len(l.Live(nil)); n != 0 {
		t.Fatalf("Live after Forget: %d records, want 0", n)
	}
	at := int64(10_000) * msec
	l.Observe(policy.Record{Function: 7, CPU: msec, Start: at, End: at + msec})
	e, ok := l.Update(at + 2*msec).Lookup(7)
	if !ok || e.Demand != msec {
		t.Errorf("entry after Forget %+v (%v): want the 1 ms record's demand only", e, ok)
	}
	if n := len(l.Live(nil)); n != 1 {
		t.Errorf("Live: %d records, want the one observed after Forget", n)
	}
}
