package orderingcheck

import (
	"testing"

	"github.com/alps-sched/alps/internal/kerneltest"
)

// TestKernelVectors: the ordering rule compiled for BPF gives, in the running kernel, the
// outputs of every vector of ordering_vectors.csv (the Go rule and the C harness on the host
// are checked against the same file).
func TestKernelVectors(t *testing.T) {
	kerneltest.Root(t)
	cases, err := ReadCases("../testdata/ordering_vectors.csv")
	if err != nil {
		t.Fatal(err)
	}
	c, err := Open()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, tc := range cases {
		got, err := c.Run(tc.In)
		if err != nil {
			t.Fatal(err)
		}
		if g := [4]uint64{got.VEnq, got.Key, got.VDone, got.VnowDone}; g != tc.Want {
			t.Errorf("vector %s: got v_enq, key, v_done, vnow_done = %v, want %v", tc.Name, g, tc.Want)
		}
	}
	if !t.Failed() {
		t.Logf("%d/%d vectors agree", len(cases), len(cases))
	}
}
