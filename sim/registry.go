package sim

import (
	"fmt"
	"slices"
	"strings"

	"github.com/alps-sched/alps/model"
	"github.com/alps-sched/alps/policy"
)

// Params are what policy constructors may use; configs.SimParams builds them from the
// configuration. A policy reads only its own fields.
type Params struct {
	Cores int          // simulated cores
	Knobs policy.Knobs // the ordering rule's knobs: vtime, alps (and its diagnostics)
	CFS   CFSParams    // cfs, ps, cfs-global
	SFS   SFSParams    // sfs
	// Learner configures alps's learner; its Knobs are replaced by Knobs, and Cores 0 means
	// the simulated cores.
	Learner model.Config
	// V1 are the knobs of the first ordering rule (alps-v1, for the ablation).
	V1 V1Knobs
}

// Factory makes a fresh policy for one simulation.
type Factory func(Params) (Policy, error)

// registry maps a policy name to its constructor. Adding a policy is one line here.
var registry = map[string]Factory{
	"srpt": func(Params) (Policy, error) { return NewSRPT(), nil },
	"fifo": func(Params) (Policy, error) { return NewFIFO(), nil },
	"cfs":  func(p Params) (Policy, error) { return NewCoreCFS(p.CFS), nil },
	"ps":   func(p Params) (Policy, error) { return NewPS(p.CFS), nil },
	// The slice-level model of one global queue (sfs's second class).
	"cfs-global": func(p Params) (Policy, error) { return NewGlobalCFS(p.CFS), nil },
	"las":        func(Params) (Policy, error) { return NewLAS(), nil },
	// The Gittins index of each function's demand distribution in the trace (read at the start).
	"gittins": func(Params) (Policy, error) { return NewGittins(), nil },
	"sfs":     func(p Params) (Policy, error) { return NewSFS(p.SFS, p.Cores), nil },
	// SFS as its released code behaves: long waiters go back into the FIFO queue.
	"sfs-code": func(p Params) (Policy, error) {
		q := p.SFS
		q.RequeueStarved = true
		return NewSFS(q, p.Cores), nil
	},
	"vtime": func(p Params) (Policy, error) { return NewVtime(p.Knobs), nil },
	"alps":  newALPSFromParams,
	// alps under the first ordering rule (one capped vtime offset per function), for the ablation.
	"alps-v1": func(p Params) (Policy, error) {
		l, err := newLearner(p)
		if err != nil {
			return nil, err
		}
		return newALPSv1(l, p.V1), nil
	},
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
