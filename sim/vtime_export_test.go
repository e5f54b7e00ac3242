package sim

import (
	"fmt"

	"github.com/alps-sched/alps/policy"
)

// NewVtimeStepwise returns the vtime policy played slice by slice (no fast-forward of
// round-robin phases), for tests outside the package.
func NewVtimeStepwise(p policy.Knobs) Policy { return &Vtime{p: p, stepwise: true} }

// TestParams are the documented default parameters, for tests outside the package.
var TestParams = testParams

// SameSchedule returns the first difference between two results of one trace: a record
// (start, end, CPU, blocked time, wake-ups, preemptions) or a total (busy time, context
// switches, preemptions); nil if there is none.
func SameSchedule(got, want *Result) error {
	for i := range got.Records {
		if got.Records[i] != want.Records[i] {
			return fmt.Errorf("invocation %d: %+v, want %+v", i, got.Records[i], want.Records[i])
		}
	}
	if got.Busy != want.Busy || got.ContextSwitches != want.ContextSwitches || got.Preemptions != want.Preemptions {
		return fmt.Errorf("busy/switches/preemptions %d/%d/%d, want %d/%d/%d",
			got.Busy, got.ContextSwitches, got.Preemptions, want.Busy, want.ContextSwitches, want.Preemptions)
	}
	return nil
}
