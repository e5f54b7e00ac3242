package model

import (
	"runtime"

	"github.com/alps-sched/alps/configs"
	"github.com/alps-sched/alps/policy"
)

const msec = 1_000_000 // ns per ms

// FromConfig converts the learner and policy sections of the alps configuration (ms) into a
// learner Config (ns). learner.cores = 0 means the host's CPU count.
func FromConfig(c configs.Config) Config {
	l, p := c.Learner, c.Policy
	cores := l.Cores
	if cores == 0 {
		cores = runtime.NumCPU()
	}
	return Config{
		WindowSize:      l.WindowSize,
		WindowSpan:      l.WindowSpanMs * msec,
		UpdateInterval:  l.UpdateIntervalMs * msec,
		Cores:           cores,
		Predictor:       l.Predictor,
		EWMAAlpha:       l.EWMAAlpha,
		Percentile:      l.Percentile,
		Alpha:           l.Alpha,
		Beta:            l.Beta,
		Gamma:           l.Gamma,
		Theta:           l.Theta,
		SliceCap:        ms(l.SliceCapMs),
		MinSlice:        ms(l.MinSliceMs),
		SRPTSlice:       l.SRPTSlice,
		RankLevels:      l.RankLevels,
		RankScale:       l.RankScale,
		MaxFunctions:    l.MaxFunctions,
		IORule:          l.IORule,
		AttainedRanks:   l.AttainedRanks,
		AttainedSteps:   l.AttainedSteps,
		AttainedRule:    l.AttainedRule,
		AttainedDefault: l.AttainedDefault,
		MinSamples:      l.MinSamples,
		RelativeRanks:   l.RelativeRanks,
		Knobs: policy.Knobs{
			RankStep:     ms(p.RankStepMs),
			MaxPenalty:   ms(p.MaxPenaltyMs),
			WakeLag:      ms(p.WakeLagMs),
			DefaultSlice: ms(p.DefaultSliceMs),
		},
	}
}

func ms(x float64) int64 { return int64(x * msec) }
