package invocation

import (
	"fmt"
	"testing"

	"github.com/alps-sched/alps/internal/kerneltest"
)

// TestKernelBoundaryCost reports, in the VM, what one boundary costs by each mechanism the
// benchmarks compare (bench_test.go): the stores alps uses, a bpf() map update per boundary,
// a uprobe. The stores must cost less than a map update.
func TestKernelBoundaryCost(t *testing.T) {
	kerneltest.SchedExt(t)
	perBoundary := func(bench func(*testing.B)) float64 {
		r := testing.Benchmark(bench)
		if r.N == 0 {
			return 0
		}
		return float64(r.T.Nanoseconds()) / float64(2*r.N)
	}
	stores, update, uprobe := perBoundary(BenchmarkBoundaryStores), perBoundary(BenchmarkBoundaryMapUpdate), perBoundary(BenchmarkBoundaryUprobe)
	line := fmt.Sprintf("per boundary: stores %.0f ns, bpf() map update %.0f ns, uprobe %.0f ns (under TCG)", stores, update, uprobe)
	if stores <= 0 || update <= 0 || stores >= update {
		t.Fatal(line)
	}
	t.Log(line)
}
