package policy

import (
	"fmt"
	"strconv"
	"time"
)

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

// Ranges of the knobs. They are the single definition of the ranges of the configuration's
// policy.* keys (configs converts the keys and calls Validate), so errors name those keys.
const (
	MaxRankStep       = 60 * time.Second
	MaxMaxPenalty     = time.Hour
	MaxWakeLag        = 60 * time.Second
	MaxDefaultSlice   = 10 * time.Second
	MaxHeartbeatStale = time.Hour
)

// Validate reports the first knob out of range, named by its configuration key.
func (k Knobs) Validate() error {
	switch {
	case k.RankStep < 0 || k.RankStep > int64(MaxRankStep):
		return fmt.Errorf("policy.rank_step_ms: must be in [0, %s], got %s", ms(int64(MaxRankStep)), ms(k.RankStep))
	case k.MaxPenalty <= 0 || k.MaxPenalty > int64(MaxMaxPenalty):
		return fmt.Errorf("policy.max_penalty_ms: must be in (0, %s], got %s", ms(int64(MaxMaxPenalty)), ms(k.MaxPenalty))
	case k.WakeLag < 0 || k.WakeLag > int64(MaxWakeLag):
		return fmt.Errorf("policy.wake_lag_ms: must be in [0, %s], got %s", ms(int64(MaxWakeLag)), ms(k.WakeLag))
	case k.DefaultSlice <= 0 || k.DefaultSlice > int64(MaxDefaultSlice):
		return fmt.Errorf("policy.default_slice_ms: must be in (0, %s], got %s", ms(int64(MaxDefaultSlice)), ms(k.DefaultSlice))
	case k.HeartbeatStale < 0 || k.HeartbeatStale > int64(MaxHeartbeatStale):
		return fmt.Errorf("heartbeat_stale: must be in [0, %v], got %d ns", MaxHeartbeatStale, k.HeartbeatStale)
	}
	return nil
}

// ms formats ns in milliseconds, in plain decimals, for messages.
func ms(ns int64) string { return strconv.FormatFloat(float64(ns)/1e6, 'f', -1, 64) }
