package analysis

import (
	"fmt"

	"github.com/alps-sched/alps/configs"
	"github.com/alps-sched/alps/sim"
)

// simPolicies maps the experiment's schedulers to the simulator's policies: the kernel's
// default fair scheduler is modelled by cfs.
var simPolicies = []struct{ name, policy string }{{"default", "cfs"}, {"vtime", "vtime"}, {"alps", "alps"}}

// Predict runs the simulator on tr with the given cores for each scheduler of the experiment
// and returns the rows and the outcomes (for the figures), in the order default, vtime, alps.
func Predict(tr *sim.Trace, cores int, cfg configs.Config) ([]Scheduler, map[string][]Outcome, error) {
	rows := make([]Scheduler, 0, len(simPolicies))
	outs := map[string][]Outcome{}
	for _, sp := range simPolicies {
		p, err := sim.New(sp.policy, configs.SimParams(cfg, cores))
		if err != nil {
			return nil, nil, fmt.Errorf("predict %s: %w", sp.name, err)
		}
		res, err := sim.Run(tr, p, sim.Options{Cores: cores})
		if err != nil {
			return nil, nil, fmt.Errorf("predict %s: %w", sp.name, err)
		}
		o := FromSimulation(tr, res.Records)
		outs[sp.name] = o
		rows = append(rows, Summarize(sp.name, o, 0))
	}
	return rows, outs, nil
}
