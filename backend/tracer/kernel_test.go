package tracer

import (
	"testing"
	"time"

	"github.com/alps-sched/alps/backend"
	"github.com/alps-sched/alps/internal/kerneltest"
	"github.com/alps-sched/alps/policy"
)

// The kernel test's workloads are this test binary under the process names it classifies.
func TestMain(m *testing.M) { kerneltest.Main(m, nil) }

// TestKernelTracerRecords: the tracer of a live dry run, with no scheduler attached, reports
// the records the scheduler does (backend's TestKernelRecords), on this kernel's BTF, and
// leaves sched_ext disabled.
func TestKernelTracerRecords(t *testing.T) {
	kerneltest.SchedExt(t)
	if st, ops := kerneltest.State(); st != "disabled" {
		t.Fatalf("sched_ext state %q ops %q before the test, want disabled", st, ops)
	}
	tr, err := Load(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	line := kerneltest.CheckRecords(t, tr, backend.CgroupID, tr.Records(), func(r policy.Record) kerneltest.Record {
		return kerneltest.Record{PID: int(r.PID), Function: r.Function, Start: r.Start, End: r.End, CPU: time.Duration(r.CPU)}
	})
	if st, _ := kerneltest.State(); st != "disabled" {
		t.Fatalf("sched_ext state %q with only the tracer loaded, want disabled", st)
	}
	t.Log(line + "; sched_ext stayed disabled")
}
