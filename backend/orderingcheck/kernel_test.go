package orderingcheck

import (
	"testing"

	"github.com/alps-sched/alps/internal/kerneltest"
	"github.com/alps-sched/alps/policy"
)

// TestKernelVectors: the ordering rule compiled for BPF gives, in the running kernel, every
// output (v after the clamp, level, key, quantum, v, vnow and attained after the run) of
// every vector of policy.Vectors (the Go rule and the C harness on the host are checked
// against the same file).
func TestKernelVectors(t *testing.T) {
	kerneltest.Root(t)
	cases, err := policy.Vectors()
	if err != nil {
		t.Fatal(err)
	}
	c, err := Open()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, tc := range cases {
		got, err := c.Run(tc)
		if err != nil {
			t.Fatal(err)
		}
		if want := Want(tc); got != want {
			t.Errorf("vector %s: got %+v, want %+v", tc.Name, got, want)
		}
	}
	if !t.Failed() {
		t.Logf("%d/%d vectors agree on v_enq, level, key, quantum, v_done, vnow_done, attained_done", len(cases), len(cases))
	}
}
