package sim

// CFSParams are the knobs of the cfs models, in ns. cfs-global (GlobalCFS) and ps use the
// first four; the per-core cfs (CoreCFS) also the load-balancing ones.
type CFSParams struct {
	Latency, MinGranularity, WakeupGranularity, ContextSwitch int64
	// BalanceInterval and BusyBalanceInterval are the periodic load-balancing intervals
	// while some core is idle and while every core is busy; MigrationCost is
	// sysctl_sched_migration_cost (a task that ran more recently is cache-hot).
	BalanceInterval, BusyBalanceInterval, MigrationCost int64
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
