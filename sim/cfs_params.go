package sim

import (
	"fmt"
	"strconv"
)

// CFSParams are the knobs of the cfs models, in ns. cfs-global (GlobalCFS) and ps use the
// first four; the per-core cfs (CoreCFS) also the load-balancing ones.
type CFSParams struct {
	Latency, MinGranularity, WakeupGranularity, ContextSwitch int64
	// BalanceInterval and BusyBalanceInterval are the periodic load-balancing intervals
	// while some core is idle and while every core is busy; MigrationCost is
	// sysctl_sched_migration_cost (a task that ran more recently is cache-hot).
	BalanceInterval, BusyBalanceInterval, MigrationCost int64
}

// Ranges of the cfs and sfs knobs: the single definition of the ranges of the
// configuration's sim.* keys (configs converts the keys and calls Validate), so errors name
// those keys.
const (
	maxSlice    = int64(10e9) // latency, granularities, sfs slices
	maxSwitch   = int64(1e9)  // context switch
	maxInterval = int64(60e9) // balancing intervals, migration cost
)

// Validate reports the first knob out of range, named by its configuration key.
func (p CFSParams) Validate() error {
	for _, f := range []struct {
		key      string
		v, hi    int64
		positive bool // 0 excluded
		us       bool // the key is in microseconds
	}{
		{"sim.cfs_latency_ms", p.Latency, maxSlice, true, false},
		{"sim.cfs_min_granularity_ms", p.MinGranularity, maxSlice, true, false},
		{"sim.cfs_wakeup_granularity_ms", p.WakeupGranularity, maxSlice, false, false},
		{"sim.cfs_context_switch_us", p.ContextSwitch, maxSwitch, false, true},
		{"sim.cfs_balance_interval_ms", p.BalanceInterval, maxInterval, true, false},
		{"sim.cfs_busy_balance_interval_ms", p.BusyBalanceInterval, maxInterval, true, false},
		{"sim.cfs_migration_cost_us", p.MigrationCost, maxInterval, false, true},
	} {
		if err := checkRange(f.key, f.v, f.hi, f.positive, f.us); err != nil {
			return err
		}
	}
	return nil
}

// Validate reports the first sfs knob out of range (and the cfs ones of its second class),
// named by its configuration key.
func (p SFSParams) Validate() error {
	if err := checkRange("sim.sfs_initial_slice_ms", p.InitialSlice, maxSlice, true, false); err != nil {
		return err
	}
	if err := checkRange("sim.sfs_min_slice_ms", p.MinSlice, maxSlice, true, false); err != nil {
		return err
	}
	switch {
	case p.UpdateEvery < 1 || p.UpdateEvery > 1_000_000:
		return fmt.Errorf("sim.sfs_update_every: must be in [1, 1000000], got %d", p.UpdateEvery)
	case !(p.StarvationSlices > 0 && p.StarvationSlices <= 1000):
		return fmt.Errorf("sim.sfs_starvation_slices: must be in (0, 1000], got %s", strconv.FormatFloat(p.StarvationSlices, 'f', -1, 64))
	}
	return p.CFS.Validate()
}

// checkRange checks a duration knob v (ns) against [0, hi] or (0, hi], and names it by its
// key in the key's unit.
func checkRange(key string, v, hi int64, positive, us bool) error {
	if v >= 0 && v <= hi && (!positive || v > 0) {
		return nil
	}
	unit := 1e6
	if us {
		unit = 1e3
	}
	lb := "["
	if positive {
		lb = "("
	}
	f := func(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }
	return fmt.Errorf("%s: must be in %s0, %s], got %s", key, lb, f(float64(hi)/unit), f(float64(v)/unit))
}

// share is the service rate of each of n runnable tasks sharing cores cores, and the slice
// g (0 when each has a core of its own): with n > cores the cores time-slice with slice
// g = max(latency * cores / n, min_granularity) and every slice costs a context switch.
func (p *CFSParams) share(n, cores int) (r, g float64) {
	if n <= cores {
		return 1, 0
	}
	c := float64(cores)
	g = max(float64(p.Latency)*c/float64(n), float64(p.MinGranularity))
	return c / float64(n) * g / (g + float64(p.ContextSwitch)), g
}
