package sim

import "github.com/alps-sched/alps/configs"

// openRuns tracks the cores running an open (unbounded) quantum.
type openRuns struct {
	open    []bool
	settled []int64 // ns of the current run already charged
	n       int
}

func (o *openRuns) init(cores int) {
	o.open = make([]bool, cores)
	o.settled = make([]int64, cores)
}

func (o *openRuns) start(c int, open bool) {
	o.settled[c] = 0
	if open {
		o.open[c] = true
		o.n++
	}
}

// stop returns the part of ran not yet charged.
func (o *openRuns) stop(c int, ran int64) int64 {
	if o.open[c] {
		o.open[c] = false
		o.n--
	}
	ran -= o.settled[c]
	o.settled[c] = 0
	return ran
}

// ran is how long core c's task has run so far.
func ran(e *Env, c int) int64 {
	if r := e.Now() - e.RunStart(c); r > 0 {
		return r
	}
	return 0
}

// CFSParams are the knobs of the cfs models, in ns. The slice-level CFS and ps use the first
// four; the per-core cfs (CoreCFS) also the load-balancing ones.
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

// CFSParamsFrom converts the sim.cfs_* configuration keys.
func CFSParamsFrom(c configs.Sim) CFSParams {
	return CFSParams{
		Latency:             msToNs(c.CFSLatencyMs),
		MinGranularity:      msToNs(c.CFSMinGranularityMs),
		WakeupGranularity:   msToNs(c.CFSWakeupGranularityMs),
		ContextSwitch:       int64(c.CFSContextSwitchUs * 1e3),
		BalanceInterval:     msToNs(c.CFSBalanceIntervalMs),
		BusyBalanceInterval: msToNs(c.CFSBusyBalanceIntervalMs),
		MigrationCost:       int64(c.CFSMigrationCostUs * 1e3),
	}
}

// CFS models Linux's fair scheduler (CFS, and EEVDF's lag-0 placement) at the level that
// matters for invocation completion times. Simplifications, all deliberate:
//   - One global run queue ordered by vruntime (ideal load balancing across the C cores)
//     instead of per-core queues and periodic balancing; all tasks have nice 0.
//   - Slice = max(latency / (runnable tasks per core), min_granularity), computed when a
//     task is picked; the latency and granularity are given already scaled for the core count.
//   - Placement: a new task starts at min_vruntime (EEVDF's lag-0 placement, no START_DEBIT);
//     a waking task at max(its vruntime, min_vruntime - latency/2) (sleeper credit).
//     min_vruntime is the largest vruntime picked so far.
//   - Wake-up preemption: a task that becomes runnable with no idle core preempts the running
//     task with the largest vruntime if that one is ahead by more than the wake-up granularity;
//     otherwise the tick preemption is modelled as a stop once the running task's slice has
//     elapsed (no 4 ms tick quantisation).
//   - A context switch costs a fixed time during which the core runs nothing.
//   - A task alone (nothing waiting) runs an open quantum until something waits, as the
//     kernel does not preempt a task with an empty run queue; this keeps the event count
//     proportional to contention, not to demand / granularity.
type CFS struct {
	env  *Env
	p    CFSParams
	v    []int64
	q    keyHeap
	minV int64
	open openRuns
	mine []bool // cores running a task of this class (sfs embeds cfs as its second class)
}

// NewCFS returns a cfs policy.
func NewCFS(p CFSParams) *CFS { return &CFS{p: p} }

func (*CFS) Name() string        { return "cfs" }
func (c *CFS) SwitchCost() int64 { return c.p.ContextSwitch }
func (c *CFS) Start(e *Env) {
	c.env = e
	c.v = make([]int64, e.Tasks())
	c.open.init(e.Cores())
	c.mine = make([]bool, e.Cores())
}

// curV is the vruntime of core k's running task including its current run.
func (c *CFS) curV(k int) int64 {
	return c.v[c.env.Running(k)] + ran(c.env, k) - c.open.settled[k]
}

func (c *CFS) Runnable(t TaskID, why Reason) {
	switch why {
	case Arrived:
		c.v[t] = c.minV
	case Woke:
		c.v[t] = max(c.v[t], c.minV-c.p.Latency/2)
	}
	c.q.push(c.v[t], t)
	if c.q.len() <= c.env.Idle() {
		return
	}
	if why != Requeued {
		victim, vmax := -1, c.v[t]+c.p.WakeupGranularity
		for k, m := range c.mine {
			if m {
				if cv := c.curV(k); cv > vmax {
					victim, vmax = k, cv
				}
			}
		}
		if victim >= 0 {
			c.stopOpen(victim)
			c.env.Preempt(victim, c.env.Now())
		}
	}
	if c.open.n == 0 {
		return
	}
	g := c.slice(0)
	for k, open := range c.open.open {
		if open {
			c.stopOpen(k)
			c.env.Preempt(k, max(c.env.Now(), c.env.RunStart(k)+g))
		}
	}
}

// stopOpen charges core k's open run so far and closes it.
func (c *CFS) stopOpen(k int) {
	if !c.open.open[k] {
		return
	}
	r := ran(c.env, k)
	c.v[c.env.Running(k)] += r - c.open.settled[k]
	c.open.settled[k] = r
	c.open.open[k] = false
	c.open.n--
}

// slice is the time slice when extra tasks besides the queued and running ones are runnable.
func (c *CFS) slice(extra int) int64 {
	nr := int64(c.q.len() + extra + c.env.Cores() - c.env.Idle())
	cores := int64(c.env.Cores())
	g := c.p.Latency * cores / max(nr, 1)
	return max(g, c.p.MinGranularity)
}

func (c *CFS) Pick(core int) (TaskID, int64, bool) {
	if c.q.len() == 0 {
		return NoTask, 0, false
	}
	t := c.q.pop().t
	c.minV = max(c.minV, c.v[t])
	c.mine[core] = true
	open := c.q.len() == 0
	c.open.start(core, open)
	if open {
		return t, 0, true
	}
	return t, c.slice(1), true
}

func (c *CFS) Stopped(t TaskID, core int, ran int64, _ StopReason) {
	c.v[t] += c.open.stop(core, ran)
	c.mine[core] = false
}

// SFSParams are the knobs of SFS's FILTER policy.
type SFSParams struct {
	InitialSlice, MinSlice int64 // ns
	UpdateEvery            int
	StarvationSlices       float64
	CFS                    CFSParams
}

// SFSParamsFrom converts the sim.sfs_* and sim.cfs_* configuration keys.
func SFSParamsFrom(c configs.Sim) SFSParams {
	return SFSParams{
		InitialSlice:     msToNs(c.SFSInitialSliceMs),
		MinSlice:         msToNs(c.SFSMinSliceMs),
		UpdateEvery:      c.SFSUpdateEvery,
		StarvationSlices: c.SFSStarvationSlices,
		CFS:              CFSParamsFrom(c),
	}
}

// SFS is SFS's FILTER policy (SC'22) as published: a new invocation joins a FIFO queue and
// runs at real-time priority (above every cfs task, preempting one if no core is idle) for
// one slice of CPU; if unfinished it is demoted to cfs (the CFS model above) for good. The
// slice starts at InitialSlice and is recomputed every UpdateEvery arrivals as the mean
// inter-arrival time of those arrivals times the core count, floored at MinSlice. A job that
// waited in the FIFO queue longer than StarvationSlices slices goes straight to cfs. A job
// that blocks keeps its remaining FIFO credit. Simplification: the FIFO queue is global
// (SFS's workers pull from one queue).
type SFS struct {
	env    *Env
	p      SFSParams
	cfs    *CFS
	fifo   taskQueue
	demote []bool  // task is in the cfs class
	credit []int64 // remaining FIFO CPU credit
	since  []int64 // when it joined the FIFO queue
	onFIFO []bool  // core runs a FIFO-class task
	slice  int64
	// slice statistics
	n     int
	first int64
}

// NewSFS returns an sfs policy for the given core count.
func NewSFS(p SFSParams, cores int) *SFS { return &SFS{p: p, cfs: NewCFS(p.CFS)} }

func (*SFS) Name() string        { return "sfs" }
func (s *SFS) SwitchCost() int64 { return s.p.CFS.ContextSwitch }

func (s *SFS) Start(e *Env) {
	s.env = e
	s.cfs.Start(e)
	n := e.Tasks()
	s.demote = make([]bool, n)
	s.credit = make([]int64, n)
	s.since = make([]int64, n)
	s.onFIFO = make([]bool, e.Cores())
	s.slice = s.p.InitialSlice
}

func (s *SFS) Runnable(t TaskID, why Reason) {
	now := s.env.Now()
	if why == Arrived {
		s.credit[t] = s.slice
		s.observeArrival(now)
	}
	if s.demote[t] || s.credit[t] <= 0 {
		if !s.demote[t] {
			s.demote[t] = true
			why = Arrived // joins cfs as a new task
		}
		s.cfs.Runnable(t, why)
		return
	}
	s.since[t] = now
	s.fifo.push(t)
	if s.fifo.len() <= s.env.Idle() {
		return
	}
	for k, m := range s.cfs.mine { // real-time priority: preempt a cfs task
		if m && s.env.Running(k) != NoTask && !s.cfsStopping(k) {
			s.cfs.stopOpen(k)
			s.env.Preempt(k, now)
			return
		}
	}
}

// cfsStopping reports whether core k is already being preempted now.
func (s *SFS) cfsStopping(k int) bool { return s.env.stopAt[k] == s.env.Now() }

func (s *SFS) observeArrival(now int64) {
	if s.n == 0 {
		s.first = now
	}
	s.n++
	if s.n > s.p.UpdateEvery {
		ia := (now - s.first) / int64(s.p.UpdateEvery)
		s.slice = max(ia*int64(s.env.Cores()), s.p.MinSlice)
		s.n, s.first = 1, now
	}
}

func (s *SFS) Pick(core int) (TaskID, int64, bool) {
	now := s.env.Now()
	limit := int64(s.p.StarvationSlices * float64(s.slice))
	for s.fifo.len() > 0 {
		t := s.fifo.pop()
		if now-s.since[t] > limit {
			s.demote[t] = true
			s.cfs.Runnable(t, Arrived)
			continue
		}
		s.onFIFO[core] = true
		return t, s.credit[t], true
	}
	return s.cfs.Pick(core)
}

func (s *SFS) Stopped(t TaskID, core int, ran int64, why StopReason) {
	if !s.onFIFO[core] {
		s.cfs.Stopped(t, core, ran, why)
		return
	}
	s.onFIFO[core] = false
	s.credit[t] -= ran
}
