// Package orderingcheck runs the alps ordering rule as compiled for BPF
// (policy/ordering.h in ordering_check.bpf.c) inside the kernel, one enqueue-run
// cycle per BPF_PROG_RUN, so the VM suite can check it against the shared vectors
// (policy.Vectors). It needs root and a kernel >= 5.14.
package orderingcheck

import (
	"fmt"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/rlimit"

	"github.com/alps-sched/alps/policy"
)

// Checker holds the loaded program.
type Checker struct{ objs checkObjects }

// Open loads the program.
func Open() (*Checker, error) {
	if err := rlimit.RemoveMemlock(); err != nil {
		return nil, err
	}
	c := &Checker{}
	if err := loadCheckObjects(&c.objs, nil); err != nil {
		return nil, fmt.Errorf("loading the ordering check program: %w", err)
	}
	return c, nil
}

// Close frees the program.
func (c *Checker) Close() error { return c.objs.Close() }

// Outputs are what one cycle of a vector computes, the Want fields of policy.Vector.
type Outputs struct {
	VEnq, VDone, VnowDone, AttainedDone int64
	Level                               uint32
	Key                                 uint64
	Quantum                             int64
}

// Want returns the outputs v expects.
func Want(v policy.Vector) Outputs {
	return Outputs{VEnq: v.WantVEnq, VDone: v.WantVDone, VnowDone: v.WantVnowDone, AttainedDone: v.WantAttainedDone,
		Level: v.WantLevel, Key: v.WantKey, Quantum: v.WantQuantum}
}

// Run runs the cycle of v in the kernel and returns its outputs.
func (c *Checker) Run(v policy.Vector) (Outputs, error) {
	in := checkVector{E: steps(v.Entry), V: uint64(v.V), Vnow: uint64(v.Vnow), Attained: uint64(v.Attained),
		Used: uint64(v.Used), WakeLag: uint64(v.Knobs.WakeLag), DefaultSlice: uint64(v.Knobs.DefaultSlice), Weight: v.Weight}
	if v.Ranked {
		in.Ranked = 1
	}
	out := in
	if _, err := c.objs.OrderingCycle.Run(&ebpf.RunOptions{Context: in, ContextOut: &out}); err != nil {
		return Outputs{}, fmt.Errorf("running the ordering check program: %w", err)
	}
	return Outputs{VEnq: int64(out.V_enq), VDone: int64(out.V_done), VnowDone: int64(out.VnowDone),
		AttainedDone: int64(out.AttainedDone), Level: out.Level, Key: out.Key, Quantum: int64(out.Quantum)}, nil
}

// steps is e as ordering.h reads it.
func steps(e policy.Entry) checkAlpsSteps {
	s := checkAlpsSteps{Slice: uint64(e.Slice), Rank: e.Rank, Nsteps: e.NSteps}
	for i := range policy.MaxSteps {
		s.StepAt[i], s.StepRank[i] = uint64(e.StepAt[i]), e.StepRank[i]
	}
	return s
}
