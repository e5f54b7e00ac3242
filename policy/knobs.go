package policy

import (
	"fmt"
	"strconv"
	"time"
)

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

// Ranges of the knobs. They are the single definition of the ranges of the configuration's
// policy.* keys (configs converts the keys and calls Validate), so errors name those keys.
const (
	MaxWakeLag      = 60 * time.Second
	MaxDefaultSlice = 10 * time.Second
	// MaxMaxWait is half the kernel scheduler's watchdog (ops.timeout_ms, 10 s), so that the
	// guard, not the watchdog, acts on a starving task.
	MaxMaxWait = 5 * time.Second
)

// Validate reports the first knob out of range, named by its configuration key.
func (k Knobs) Validate() error {
	switch {
	case k.WakeLag < 0 || k.WakeLag > int64(MaxWakeLag):
		return fmt.Errorf("policy.wake_lag_ms: must be in [0, %s], got %s", ms(int64(MaxWakeLag)), ms(k.WakeLag))
	case k.DefaultSlice <= 0 || k.DefaultSlice > int64(MaxDefaultSlice):
		return fmt.Errorf("policy.default_slice_ms: must be in (0, %s], got %s", ms(int64(MaxDefaultSlice)), ms(k.DefaultSlice))
	case k.MaxWait < 0 || k.MaxWait > int64(MaxMaxWait):
		return fmt.Errorf("policy.max_wait_ms: must be in [0, %s], got %s", ms(int64(MaxMaxWait)), ms(k.MaxWait))
	}
	return nil
}

// ms formats ns in milliseconds, in plain decimals, for messages.
func ms(ns int64) string { return strconv.FormatFloat(float64(ns)/1e6, 'f', -1, 64) }
