package sim

// GlobalCFS is the cfs-global policy of alps-sim: Linux's fair scheduler (CFS, and EEVDF's
// lag-0 placement) slice by slice over one global run queue. It is sfs's second class and
// the slice-level reference of the fluid models (ps; cfs, the per-core CoreCFS, is the model
// of the real scheduler). Simplifications, all deliberate:
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
type GlobalCFS struct {
	env  *Env
	p    CFSParams
	v    []int64
	q    keyHeap
	minV int64
	open openRuns
	mine []bool // cores running a task of this class (sfs embeds it as its second class)
}

// NewGlobalCFS returns the global-queue slice-level cfs model.
func NewGlobalCFS(p CFSParams) *GlobalCFS { return &GlobalCFS{p: p} }

func (*GlobalCFS) Name() string        { return "cfs-global" }
func (c *GlobalCFS) SwitchCost() int64 { return c.p.ContextSwitch }
func (c *GlobalCFS) Start(e *Env) {
	c.env = e
	c.v = make([]int64, e.Tasks())
	c.open.init(e.Cores())
	c.mine = make([]bool, e.Cores())
}

// curV is the vruntime of core k's running task including its current run.
func (c *GlobalCFS) curV(k int) int64 {
	return c.v[c.env.Running(k)] + ran(c.env, k) - c.open.settled[k]
}

func (c *GlobalCFS) Runnable(t TaskID, why Reason) {
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
func (c *GlobalCFS) stopOpen(k int) {
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
func (c *GlobalCFS) slice(extra int) int64 {
	nr := int64(c.q.len() + extra + c.env.Cores() - c.env.Idle())
	cores := int64(c.env.Cores())
	g := c.p.Latency * cores / max(nr, 1)
	return max(g, c.p.MinGranularity)
}

func (c *GlobalCFS) Pick(core int) (TaskID, int64, bool) {
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

func (c *GlobalCFS) Stopped(t TaskID, core int, ran int64, _ StopReason) {
	c.v[t] += c.open.stop(core, ran)
	c.mine[core] = false
}
