package main

import (
	"slices"
	"testing"

	"github.com/alps-sched/alps/sim"
)

func TestRepeat(t *testing.T) {
	tr := &sim.Trace{Functions: []string{"a", "b"}, Inv: []sim.Invocation{
		{Arrival: 0, CPU: 5, Func: 0}, {Arrival: 10, CPU: 7, Func: 1, IO: 3, Waits: 1},
	}}
	rep, offs := repeat(tr, 3, 100)
	if !slices.Equal(offs, []int64{0, 110, 220}) {
		t.Errorf("pass starts %v, want [0 110 220]", offs)
	}
	var arr []int64
	for i, in := range rep.Inv {
		arr = append(arr, in.Arrival)
		if want := tr.Inv[i%2]; in.CPU != want.CPU || in.Func != want.Func || in.IO != want.IO || in.Waits != want.Waits {
			t.Errorf("invocation %d is %+v, want a copy of %+v", i, in, want)
		}
	}
	if !slices.Equal(arr, []int64{0, 10, 110, 120, 220, 230}) {
		t.Errorf("arrivals %v", arr)
	}
	if tr.Inv[1].Arrival != 10 {
		t.Error("repeat changed its input")
	}
}

// TestPassMeans: fifo on one core, one invocation per pass, each alone: its FCT is its demand.
func TestPassMeans(t *testing.T) {
	tr := &sim.Trace{Functions: []string{"a"}, Inv: []sim.Invocation{{Arrival: 0, CPU: 2e6}}}
	rep, offs := repeat(tr, 2, 1e9)
	rep.Inv[1].CPU = 4e6
	m, err := passMeans(rep, offs, "fifo", sim.Params{Cores: 1}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(m, []float64{2, 4}) {
		t.Errorf("pass means %v ms, want [2 4]", m)
	}
}
