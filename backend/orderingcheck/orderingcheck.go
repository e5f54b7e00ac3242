// Package orderingcheck runs the alps ordering rule as compiled for BPF
// (backend/bpf/ordering.h in ordering_check.bpf.c) inside the kernel, one
// enqueue-run cycle per BPF_PROG_RUN, so the VM suite can check it against
// backend/testdata/ordering_vectors.csv. It needs root and a kernel >= 5.14.
package orderingcheck

import (
	"encoding/csv"
	"fmt"
	"os"
	"strconv"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/rlimit"
)

// Vector is one cycle: inputs, then the outputs the kernel fills in. Its layout is
// struct vector of ordering_check.bpf.c.
type Vector struct {
	V, Vnow, Used, RankStep, MaxPenalty, WakeLag uint64
	Weight, Rank, Ranked, _                      uint32
	VEnq, Key, VDone, VnowDone                   uint64
}

// Case is a named row of the vectors file with its expected outputs.
type Case struct {
	Name string
	In   Vector
	Want [4]uint64 // v_enq, key, v_done, vnow_done
}

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

// Run runs one cycle of in in the kernel and returns the vector with its outputs.
func (c *Checker) Run(in Vector) (Vector, error) {
	out := in
	if _, err := c.objs.OrderingCycle.Run(&ebpf.RunOptions{Context: in, ContextOut: &out}); err != nil {
		return out, fmt.Errorf("running the ordering check program: %w", err)
	}
	return out, nil
}

// ReadCases reads ordering_vectors.csv.
func ReadCases(path string) ([]Case, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(rows) < 2 {
		return nil, fmt.Errorf("%s: no vectors", path)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	var cases []Case
	for line, r := range rows[1:] {
		num := func(name string) uint64 {
			i, ok := col[name]
			if !ok {
				err = fmt.Errorf("%s: no column %q", path, name)
				return 0
			}
			v, e := strconv.ParseUint(r[i], 10, 64)
			if e != nil && err == nil {
				err = fmt.Errorf("%s:%d: column %s: %w", path, line+2, name, e)
			}
			return v
		}
		c := Case{Name: r[col["name"]], In: Vector{
			V: num("v"), Vnow: num("vnow"), Used: num("used"), RankStep: num("rank_step"),
			MaxPenalty: num("max_penalty"), WakeLag: num("wake_lag"), Weight: uint32(num("weight")),
			Rank: uint32(num("rank")), Ranked: uint32(num("ranked")),
		}, Want: [4]uint64{num("want_v_enq"), num("want_key"), num("want_v_done"), num("want_vnow_done")}}
		if err != nil {
			return nil, err
		}
		cases = append(cases, c)
	}
	return cases, nil
}
