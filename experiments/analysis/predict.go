package analysis

import (
	"fmt"

	"github.com/alps-sched/alps/configs"
	"github.com/alps-sched/alps/experiments/workload"
	"github.com/alps-sched/alps/sim"
)

// simPolicies maps the experiment's schedulers to the simulator's policies: the kernel's
// default fair scheduler is modelled by cfs.
var simPolicies = []struct{ name, policy string }{{"default", "cfs"}, {"vtime", "vtime"}, {"alps", "alps"}}

// Schedulers are the experiment's schedulers, in table order.
func Schedulers() []string {
	names := make([]string, len(simPolicies))
	for i, sp := range simPolicies {
		names[i] = sp.name
	}
	return names
}

// Predict runs the simulator on tr for each scheduler of the experiment (PredictOne) and
// returns the rows and the outcomes (for the figures), in the order default, vtime, alps.
func Predict(tr *sim.Trace, m Model, cfg configs.Config) ([]Scheduler, map[string][]Outcome, error) {
	rows := make([]Scheduler, 0, len(simPolicies))
	outs := map[string][]Outcome{}
	for _, sp := range simPolicies {
		row, o, err := PredictOne(tr, m, cfg, sp.name)
		if err != nil {
			return nil, nil, err
		}
		outs[sp.name] = o
		rows = append(rows, row)
	}
	return rows, outs, nil
}

// PredictOne runs the simulator on tr on the machine m for the experiment's scheduler name
// (default is the simulator's cfs). Every invocation costs the CPU its payload process
// really does on m, plus m.ProcessOverheadMs (its start and clean-up outside it): a demand d
// was planned as a process of m.SpawnPlanMs and (d - m.SpawnPlanMs) of work, which on m
// costs m.SpawnMs + (d - m.SpawnPlanMs) * m.Speed (without a speed, d). The outcomes keep the
// trace's demands, as the measured ones do.
func PredictOne(tr *sim.Trace, m Model, cfg configs.Config, name string) (Scheduler, []Outcome, error) {
	policy := ""
	for _, sp := range simPolicies {
		if sp.name == name {
			policy = sp.policy
		}
	}
	if policy == "" {
		return Scheduler{}, nil, fmt.Errorf("predict: unknown scheduler %q", name)
	}
	simTr := tr
	if m.ProcessOverheadMs > 0 || m.Speed > 0 {
		simTr = &sim.Trace{Functions: tr.Functions, Inv: make([]sim.Invocation, len(tr.Inv))}
		for i, in := range tr.Inv {
			in.CPU = int64(m.cpuMs(float64(in.CPU)/1e6) * 1e6)
			simTr.Inv[i] = in
		}
	}
	p, err := sim.New(policy, configs.SimParams(cfg, m.Cores))
	if err != nil {
		return Scheduler{}, nil, fmt.Errorf("predict %s: %w", name, err)
	}
	res, err := sim.Run(simTr, p, sim.Options{Cores: m.Cores})
	if err != nil {
		return Scheduler{}, nil, fmt.Errorf("predict %s: %w", name, err)
	}
	o := FromSimulation(tr, res.Records)
	return Summarize(name, o, 0), o, nil
}

// MachineModel returns cfg with the simulator's model of the default scheduler set to what
// the calibration measured on the machine, and that model: the kernel's base slice as the
// cfs slice (EEVDF slices every runnable task by it, whatever their number:
// sim.cfs_latency_ms = sim.cfs_min_granularity_ms; where the kernel's slice could not be
// read, the run per context switch calibrate measured), and as the cost of each slice the
// calibration's sharing overhead times the slice (tasks sharing a CPU at slice g with a
// cost cs per slice run at g / (g + cs) of the CPU; calibrate measured 1 / (1 + overhead)).
// Each invocation also costs the calibration's process overhead (Predict). What the
// calibration did not measure keeps the configuration's value.
func MachineModel(cfg configs.Config, cal workload.Calibration, cores int) (configs.Config, Model) {
	slice := cal.SliceMs
	if slice <= 0 {
		slice = cal.RunMs // the slice as delivered, where the kernel's cannot be read
	}
	if slice > 0 {
		cfg.Sim.CFSLatencyMs, cfg.Sim.CFSMinGranularityMs = slice, slice
	}
	switch {
	case cal.ShareOverhead > 0 && slice > 0:
		cfg.Sim.CFSContextSwitchUs = cal.ShareOverhead * slice * 1000
	case cal.SwitchUs > 0:
		cfg.Sim.CFSContextSwitchUs = cal.SwitchUs
	}
	return cfg, Model{Cores: cores, CFSSliceMs: cfg.Sim.CFSMinGranularityMs, CFSSwitchUs: cfg.Sim.CFSContextSwitchUs,
		SpawnMs: cal.SpawnMs, ProcessOverheadMs: cal.ProcessOverheadMs}
}

// cpuMs is what an invocation of planned demand d ms costs machine m, in ms (PredictOne).
func (m Model) cpuMs(d float64) float64 {
	if m.Speed > 0 {
		d = m.SpawnMs + max(d-m.SpawnPlanMs, 0)*m.Speed
	}
	return max(d+m.ProcessOverheadMs, 1e-6)
}

// PredictMeasuredCPU is PredictOne with every invocation costing the CPU its payload was
// measured to use in a run (os[i].CPUUsed, the trace's demand where it was not measured)
// plus m.ProcessOverheadMs, with no cost per cfs slice (the measured CPU includes what
// sharing cost): the simulator's scheduling model alone, without its model of what each
// invocation costs. It is a diagnostic: it reads a run's measurements (not its completion
// times).
func PredictMeasuredCPU(tr *sim.Trace, os []Outcome, m Model, cfg configs.Config, name string) (Scheduler, error) {
	if len(os) != len(tr.Inv) {
		return Scheduler{}, fmt.Errorf("predict %s: %d outcomes for %d invocations", name, len(os), len(tr.Inv))
	}
	j := &sim.Trace{Functions: tr.Functions, Inv: make([]sim.Invocation, len(tr.Inv))}
	for i, in := range tr.Inv {
		if os[i].CPUUsed > 0 {
			in.CPU = os[i].CPUUsed
		}
		in.CPU += int64(m.ProcessOverheadMs * 1e6)
		j.Inv[i] = in
	}
	cfg.Sim.CFSContextSwitchUs = 0
	row, _, err := PredictOne(j, Model{Cores: m.Cores}, cfg, name)
	return row, err
}
