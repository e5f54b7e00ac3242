package configs

import (
	"runtime"

	"github.com/alps-sched/alps/model"
	"github.com/alps-sched/alps/policy"
	"github.com/alps-sched/alps/sim"
)

// This file turns the configuration (milliseconds and microseconds, as a user writes them)
// into the typed parameters of the packages that use it (nanoseconds): the learner's
// model.Config and the simulator's sim.Params. model and sim do not import configs.

// ns converts milliseconds to nanoseconds.
func ns(ms float64) int64 { return int64(ms * 1e6) }

// LearnerConfig converts the learner and policy sections into a learner configuration;
// learner.cores = 0 means the host's CPU count.
func LearnerConfig(c Config) model.Config {
	lc := learnerConfig(c)
	if lc.Cores == 0 {
		lc.Cores = runtime.NumCPU()
	}
	return lc
}

// learnerConfig is LearnerConfig with learner.cores as it is (0: decided by the user).
func learnerConfig(c Config) model.Config {
	l := c.Learner
	return model.Config{
		WindowSize:        l.WindowSize,
		WindowSpan:        l.WindowSpanMs * 1e6,
		UpdateInterval:    l.UpdateIntervalMs * 1e6,
		Cores:             l.Cores,
		Predictor:         l.Predictor,
		EWMAAlpha:         l.EWMAAlpha,
		Percentile:        l.Percentile,
		Alpha:             l.Alpha,
		Beta:              l.Beta,
		Gamma:             l.Gamma,
		Theta:             l.Theta,
		SliceCap:          ns(l.SliceCapMs),
		MinSlice:          ns(l.MinSliceMs),
		SRPTSlice:         l.SRPTSlice,
		RankLevels:        l.RankLevels,
		RankScale:         l.RankScale,
		LevelsPerDoubling: l.LevelsPerDoubling,
		RankStep:          ns(c.Policy.RankStepMs),
		MaxFunctions:      l.MaxFunctions,
		IORule:            l.IORule,
		AttainedRanks:     l.AttainedRanks,
		AttainedSteps:     l.AttainedSteps,
		AttainedRule:      l.AttainedRule,
		AttainedDefault:   l.AttainedDefault,
		MinSamples:        l.MinSamples,
		PriorWeight:       l.PriorWeight,
		Prior:             l.Prior,
		RelativeRanks:     l.RelativeRanks,
		ClassKeys:         l.ClassKeys,
		Censored:          l.Censored,
		Knobs:             OrderKnobs(c.Policy),
	}
}

// OrderKnobs converts the policy section: the ordering rule's knobs.
func OrderKnobs(p Policy) policy.Knobs {
	return policy.Knobs{
		WakeLag:      ns(p.WakeLagMs),
		DefaultSlice: ns(p.DefaultSliceMs),
		MaxWait:      ns(p.MaxWaitMs),
		Preempt:      p.Preempt,
	}
}

// CFSParams converts the sim.cfs_* keys: the knobs of the cfs models.
func CFSParams(s Sim) sim.CFSParams {
	return sim.CFSParams{
		Latency:             ns(s.CFSLatencyMs),
		MinGranularity:      ns(s.CFSMinGranularityMs),
		WakeupGranularity:   ns(s.CFSWakeupGranularityMs),
		ContextSwitch:       int64(s.CFSContextSwitchUs * 1e3),
		BalanceInterval:     ns(s.CFSBalanceIntervalMs),
		BusyBalanceInterval: ns(s.CFSBusyBalanceIntervalMs),
		MigrationCost:       int64(s.CFSMigrationCostUs * 1e3),
	}
}

// SFSParams converts the sim.sfs_* keys (and sim.cfs_* for sfs's second class).
func SFSParams(s Sim) sim.SFSParams {
	return sim.SFSParams{
		InitialSlice:     ns(s.SFSInitialSliceMs),
		MinSlice:         ns(s.SFSMinSliceMs),
		UpdateEvery:      s.SFSUpdateEvery,
		StarvationSlices: s.SFSStarvationSlices,
		CFS:              CFSParams(s),
	}
}

// SimParams converts the configuration into the simulator's parameters for cores simulated
// cores. learner.cores = 0 stays 0: the alps policy then simulates the simulated cores.
func SimParams(c Config, cores int) sim.Params {
	return sim.Params{
		Cores:   cores,
		Knobs:   OrderKnobs(c.Policy),
		CFS:     CFSParams(c.Sim),
		SFS:     SFSParams(c.Sim),
		Learner: learnerConfig(c),
		V1: sim.V1Knobs{RankStep: ns(c.Policy.RankStepMs), MaxPenalty: ns(c.Policy.MaxPenaltyMs),
			WakeLag: ns(c.Policy.WakeLagMs), DefaultSlice: ns(c.Policy.DefaultSliceMs)},
	}
}
