// Package model is the learning half of alps: it keeps a window of recently completed
// function invocations, predicts each function's demand, simulates SRPT over the window and
// derives a policy table (function -> rank and slice, plus the global knobs of the ordering
// rule in policy/ORDERING.md).
//
// The same code runs in the frontend daemon and in the simulator's alps policy:
//
//	l, err := model.NewLearner(cfg)       // cfg from configs.LearnerConfig(configs.Config)
//	l.Observe(rec)                        // once per completed invocation
//	tab := l.Update(now)                  // every cfg.UpdateInterval ns
//	e, ok := tab.Lookup(fn)               // rank and slice of function fn
//
// A Learner only ever sees completed invocations: nothing is read about an invocation before
// it ends. All times are int64 nanoseconds.
package model
