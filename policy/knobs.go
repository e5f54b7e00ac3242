package policy

import "fmt"

// Knobs are the global parameters of the ordering rule (ORDERING.md) that travel with every
// policy table, in nanoseconds.
type Knobs struct {
	WakeLag      int64 // the most vtime credit a task keeps at an enqueue, >= 0
	DefaultSlice int64 // slice of a task whose function has no entry, > 0
	// MaxWait is the starvation guard: a task queued this long (wall-clock ns) runs before
	// every level. 0 disables it.
	MaxWait int64
	// Preempt: a task queued at a level above a running task's, with no CPU idle, preempts
	// the running task of the lowest level.
	Preempt bool
}

// Validate reports the first knob out of range, naming it as the policy section of the
// configuration does.
func (k Knobs) Validate() error {
	switch {
	case k.WakeLag < 0:
		return fmt.Errorf("wake_lag: must be >= 0, got %d ns", k.WakeLag)
	case k.DefaultSlice <= 0:
		return fmt.Errorf("default_slice: must be > 0, got %d ns", k.DefaultSlice)
	case k.MaxWait < 0:
		return fmt.Errorf("max_wait: must be >= 0, got %d ns", k.MaxWait)
	}
	return nil
}
