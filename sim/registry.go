package sim

import (
	"fmt"
	"slices"
	"strings"

	"github.com/alps-sched/alps/configs"
	"github.com/alps-sched/alps/policy"
)

// Params are what policy constructors may use: the core count and the configuration
// (policy.* for the ordering rule, sim.* for the baselines, learner.* for alps).
type Params struct {
	Cores  int
	Config configs.Config
}

// Order returns the ordering-rule knobs of the configuration in nanoseconds.
func (p Params) Order() policy.Knobs {
	c := p.Config.Policy
	return policy.Knobs{
		RankStep:     msToNs(c.RankStepMs),
		MaxPenalty:   msToNs(c.MaxPenaltyMs),
		WakeLag:      msToNs(c.WakeLagMs),
		DefaultSlice: msToNs(c.DefaultSliceMs),
	}
}

func msToNs(v float64) int64 { return int64(v * 1e6) }

// Factory makes a fresh policy for one simulation.
type Factory func(Params) (Policy, error)

// registry maps a policy name to its constructor. Adding a policy is one line here.
var registry = map[string]Factory{
	"srpt": func(Params) (Policy, error) { return NewSRPT(), nil },
	"fifo": func(Params) (Policy, error) { return NewFIFO(), nil },
	"cfs":  func(p Params) (Policy, error) { return NewCoreCFS(CFSParamsFrom(p.Config.Sim)), nil },
	"ps":   func(p Params) (Policy, error) { return NewPS(CFSParamsFrom(p.Config.Sim)), nil },
	// The slice-level model of one global queue (sfs's second class).
	"cfs-global": func(p Params) (Policy, error) { return NewGlobalCFS(CFSParamsFrom(p.Config.Sim)), nil },
	"las":        func(Params) (Policy, error) { return NewLAS(), nil },
	// The Gittins index of each function's demand distribution in the trace (read at the start).
	"gittins": func(Params) (Policy, error) { return NewGittins(), nil },
	"sfs":     func(p Params) (Policy, error) { return NewSFS(SFSParamsFrom(p.Config.Sim), p.Cores), nil },
	"vtime":   func(p Params) (Policy, error) { return NewVtime(p.Order()), nil },
	"alps":    newALPSFromParams,
	// Diagnostics: alps ranked by each invocation's true (remaining) demand.
	"alps-oracle":     newALPSOracle(false),
	"alps-oracle-rem": newALPSOracle(true),
	// alps with Gittins steps from each function's whole demand distribution (non-clairvoyant).
	"alps-gittins-dist": newALPSGittinsDist,
}

// Names lists the registered policies, sorted.
func Names() []string {
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// New returns a fresh policy by name; an unknown name is an error listing the valid ones.
func New(name string, p Params) (Policy, error) {
	f, ok := registry[name]
	if !ok {
		return nil, fmt.Errorf("%w %q (valid: %s)", ErrUnknownPolicy, name, strings.Join(Names(), ", "))
	}
	return f(p)
}
