package sim

import "github.com/alps-sched/alps/policy"

// ALPSOracle is a diagnostic, not a schedulable policy: the alps ordering rule and learned
// slices, but every task's rank is that of its own invocation's true CPU demand (Remaining
// false: the invocation's total demand, fixed for its life) or of its remaining demand at
// each enqueue (Remaining true), on the learner's rank scale. It bounds what any per-invocation
// rank under the same rule (log scale, rank step, penalty bound) can reach, e.g. the
// attained-service ranks (model/attained.go).
type ALPSOracle struct {
	*ALPS
	Remaining bool
	o         Oracle
}

// Name implements Policy.
func (a *ALPSOracle) Name() string {
	if a.Remaining {
		return "alps-oracle-rem"
	}
	return "alps-oracle"
}

// UseOracle implements Clairvoyant.
func (a *ALPSOracle) UseOracle(o Oracle) { a.o = o }

// Runnable implements Policy: rule steps 1-3 with the clairvoyant rank (every task ranked).
func (a *ALPSOracle) Runnable(t TaskID, why Reason) {
	d := a.o.Remaining(t)
	if !a.Remaining {
		d += a.att[t]
	}
	a.enqueue(t, why, a.learner.RankOf(float64(d)))
}

func newALPSOracle(remaining bool) Factory {
	return func(p Params) (Policy, error) {
		a, err := newALPSFromParams(p)
		if err != nil {
			return nil, err
		}
		return &ALPSOracle{ALPS: a.(*ALPS), Remaining: remaining}, nil
	}
}

// ALPSGittinsDist is a diagnostic: alps with attained-service steps (learner.attained_*)
// built once from each function's whole demand distribution in the trace (every invocation's
// demand, read through the Oracle at the start) instead of the learner's window. Tasks still
// see only their attained CPU: it is the non-clairvoyant Gittins ranking with a perfectly
// estimated distribution, which separates the window's estimation error from the limit of
// non-clairvoyant ranks.
type ALPSGittinsDist struct {
	*ALPS
	o     Oracle
	steps map[uint32]policy.Entry
}

// Name implements Policy.
func (a *ALPSGittinsDist) Name() string { return "alps-gittins-dist" }

// UseOracle implements Clairvoyant.
func (a *ALPSGittinsDist) UseOracle(o Oracle) { a.o = o }

// Start implements Policy: the step tables from every task's demand.
func (a *ALPSGittinsDist) Start(env *Env) {
	a.ALPS.Start(env)
	by := map[uint32][]float64{}
	for t := range TaskID(env.Tasks()) {
		by[env.Func(t)] = append(by[env.Func(t)], float64(a.o.Remaining(t)))
	}
	a.steps = make(map[uint32]policy.Entry, len(by))
	for fn, xs := range by {
		a.steps[fn] = a.learner.StepsOf(xs)
	}
	a.entry = func(t TaskID) (policy.Entry, bool) {
		e := a.steps[a.env.Func(t)]
		if te, ok := a.table.Lookup(a.env.Func(t)); ok {
			e.Slice = te.Slice // the learned slice; the steps are the distribution's
		}
		return e, true
	}
}

// Runnable implements Policy: rule steps 1-3 with the function's step for the task's
// attained CPU (every task ranked).
func (a *ALPSGittinsDist) Runnable(t TaskID, why Reason) { a.ALPS.Runnable(t, why) }

func newALPSGittinsDist(p Params) (Policy, error) {
	a, err := newALPSFromParams(p)
	if err != nil {
		return nil, err
	}
	return &ALPSGittinsDist{ALPS: a.(*ALPS)}, nil
}
