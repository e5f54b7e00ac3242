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

// Run runs the cycle of v in the kernel and returns its outputs: v after the clamp, the
// key, and v and vnow after the run (the order of policy.Vector's Want fields).
func (c *Checker) Run(v policy.Vector) ([4]int64, error) {
	in := checkVector{V: uint64(v.V), Vnow: uint64(v.Vnow), Used: uint64(v.Used), RankStep: uint64(v.Knobs.RankStep),
		MaxPenalty: uint64(v.Knobs.MaxPenalty), WakeLag: uint64(v.Knobs.WakeLag), Weight: v.Weight, Rank: v.Rank}
	if v.Ranked {
		in.Ranked = 1
	}
	out := in
	if _, err := c.objs.OrderingCycle.Run(&ebpf.RunOptions{Context: in, ContextOut: &out}); err != nil {
		return [4]int64{}, fmt.Errorf("running the ordering check program: %w", err)
	}
	return [4]int64{int64(out.V_enq), int64(out.Key), int64(out.V_done), int64(out.VnowDone)}, nil
}
