package srpt

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
	if why == Arrived {
		a.v[t] = a.vnow
	}
	a.v[t] = WakeVtime(a.v[t], a.vnow, a.p.WakeLag)
	d := a.o.Remaining(t)
	if !a.Remaining {
		d += a.att[t]
	}
	a.q.push(Key(a.v[t], a.vnow, true, a.learner.RankOf(float64(d)), a.p), t)
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
