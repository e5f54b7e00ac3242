package orderingcheck

import (
	"testing"

	"github.com/alps-sched/alps/internal/kerneltest"
	"github.com/alps-sched/alps/policy"
)

// TestKernelVectors: the ordering rule compiled for BPF gives, in the running kernel, the
// outputs of every vector of policy.Vectors (the Go rule and the C harness on the host
// are checked against the same file).
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
		g, err := c.Run(tc)
		if err != nil {
			t.Fatal(err)
		}
		if want := [4]int64{tc.WantVEnq, tc.WantKey, tc.WantVDone, tc.WantVnowDone}; g != want {
			t.Errorf("vector %s: got v_enq, key, v_done, vnow_done = %v, want %v", tc.Name, g, want)
		}
	}
	if !t.Failed() {
		t.Logf("%d/%d vectors agree", len(cases), len(cases))
	}
}
