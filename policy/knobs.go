package policy

import "fmt"

// Knobs are the global parameters of the ordering rule (ORDERING.md) and of its fail-safe,
// in nanoseconds. They travel with every policy table.
type Knobs struct {
	RankStep     int64 // vtime offset per rank level, >= 0
	MaxPenalty   int64 // starvation bound: no key sits more than this ahead of the global vtime, > 0
	WakeLag      int64 // the most vtime credit a task keeps at an enqueue, >= 0
	DefaultSlice int64 // slice of a task whose function has no entry, > 0
	// HeartbeatStale: when the frontend's last heartbeat is older than this, the scheduler
	// ignores the table and orders every task as plain fair vtime. 0 disables the check.
	HeartbeatStale int64
}

// Validate reports the first knob out of range, naming it as the policy section of the
// configuration does.
func (k Knobs) Validate() error {
	switch {
	case k.RankStep < 0:
		return fmt.Errorf("rank_step: must be >= 0, got %d ns", k.RankStep)
	case k.MaxPenalty <= 0:
		return fmt.Errorf("max_penalty: must be > 0, got %d ns", k.MaxPenalty)
	case k.WakeLag < 0:
		return fmt.Errorf("wake_lag: must be >= 0, got %d ns", k.WakeLag)
	case k.DefaultSlice <= 0:
		return fmt.Errorf("default_slice: must be > 0, got %d ns", k.DefaultSlice)
	case k.HeartbeatStale < 0:
		return fmt.Errorf("heartbeat_stale: must be >= 0, got %d ns", k.HeartbeatStale)
	}
	return nil
}
