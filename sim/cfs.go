package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// CoreCFS is the cfs policy of alps-sim: Linux's fair scheduler (CFS, and EEVDF with
// latency = min_granularity = its base slice) with per-core run queues, task placement and
// load balancing, simulated by its own event loop. Each core time-shares its own queue; a
// task moves between cores only by the placement and balancing rules below, so a core can
// hold three tasks while its neighbour holds one, and an idle core can briefly sit next to a
// queue of two (ps, the global processor-sharing model, is the same without these limits).
//
// Rules, as the kernel applies them:
//   - A new invocation (fork/exec) goes to the idlest core, the one with the fewest runnable
//     tasks (find_idlest_cpu); ties go to the lowest-numbered core.
//   - A task waking from I/O goes to its previous core if that core is idle, else to an idle
//     core of the same LLC (select_idle_sibling, scanning from the previous core upwards and
//     wrapping; all cores share one LLC), else to its previous core. The target is always the
//     previous core: an I/O completion has no waking task for wake_affine to prefer.
//   - A core that becomes idle pulls one task from the busiest core (the one with most tasks,
//     at least 2; newidle balance). It fails if every candidate is cache-hot: the running
//     task cannot move and a waiting one that ran less than MigrationCost ago is skipped.
//   - Periodic load balancing: while queue lengths differ by 2 or more, a balancer runs at
//     the next multiple of BalanceInterval if some core is idle (an overloaded core kicks nohz
//     idle balancing at its tick), else of BusyBalanceInterval (the busy interval is the idle
//     one times busy_factor). Each core with at least 2 tasks fewer than the busiest pulls
//     from it, shortest queue first and one task at a time, under the same cache-hot rule,
//     until no two queues differ by 2 or more; a core whose pull is refused tries again at
//     the next interval (as after a failed balance in the kernel).
//   - Each core shares its n runnable tasks with period max(latency, n * min_granularity),
//     i.e. slice g = max(latency / n, min_granularity), and every slice costs a context
//     switch cs: each task progresses at rate g / (g + cs) / n; a task alone runs at rate 1.
//
// Simplifications, all deliberate:
//   - Within a core the sharing is fluid (processor sharing at the rates above), not slice by
//     slice: events are arrivals, ends of CPU bursts, I/O wake-ups, and balancing instants
//     only while queues are uneven, so the cost per invocation does not grow with demand /
//     granularity. Within a core, wake-up placement (vruntime/lag) and wake-up preemption
//     are thus not modelled: a task starts sharing its core as soon as it is placed there,
//     which is what sleeper credit, lag-0 placement and wake-up preemption approximate at
//     time scales above the granularity. The slice-level cfs-global (GlobalCFS, sfs's second class) is
//     the slice-by-slice model of a single shared queue.
//   - Which task a pull takes, and whether it is cache-hot, follows from the round-robin
//     order the fluid model does not track: the kernel takes the least recently run waiting
//     task, which in a round robin of n tasks ran (n-2)(g+cs) + d ago, d being how far the
//     current slice has got. The model draws d uniformly in [0, g+cs) and the task uniformly
//     among the queue's tasks (a seeded generator: runs are reproducible); the pull fails
//     when (n-2)(g+cs) + d < MigrationCost. With the default knobs only a queue of two can
//     be all hot (with probability MigrationCost / (g+cs)).
//   - Cores are identical and share one LLC; load is the number of runnable tasks (every
//     task has nice 0, so weighted load is proportional to it); there are no SMT siblings,
//     NUMA nodes or capacity differences. A migration costs nothing beyond the context
//     switches (no cache-refill penalty): MigrationCost only gates pulls.
//   - One balancer for all cores on one grid of instants (rather than one per core with its
//     own next_balance), and it evens queue lengths instead of applying the kernel's
//     imbalance arithmetic, which for equal-weight tasks amounts to the same; as in the
//     kernel, queues differing by one (say 2 and 1) are left alone.
//   - Preemptions are counted as the slices a task received while sharing its core;
//     context switches as the slices the cores ran plus one per placement (arrival, wake-up
//     or migration: the task is switched to at least once on its new core).
//
// CoreCFS has no run segments: an Observer is an error. Result.Busy is the total demand,
// which the model serves exactly (tests check the integrated service against it).
type CoreCFS struct {
	p CFSParams
	// trace, if not nil, is told of every placement (tests).
	trace func(cfsPlacement)
	// stats of the last simulation (tests).
	stats cfsStats
}

// NewCoreCFS returns the per-core cfs model.
func NewCoreCFS(p CFSParams) *CoreCFS { return &CoreCFS{p: p} }

func (*CoreCFS) Name() string { return "cfs" }

// CoreCFS is simulated by simulate; the Policy methods are never called.
func (*CoreCFS) Start(*Env)                             {}
func (*CoreCFS) Runnable(TaskID, Reason)                {}
func (*CoreCFS) Pick(int) (TaskID, int64, bool)         { return NoTask, 0, false }
func (*CoreCFS) Stopped(TaskID, int, int64, StopReason) {}

// placeWhy says why a task was put on a core.
type placeWhy uint8

const (
	placeNew     placeWhy = iota // arrival: idlest core
	placeWake                    // wake-up: previous or an idle core
	placeNewIdle                 // pulled by a core that went idle
	placeBalance                 // moved by periodic load balancing
)

// cfsPlacement is one placement, for tests.
type cfsPlacement struct {
	At       int64
	T        TaskID
	From, To int // From is -1 for a new task
	Why      placeWhy
}

type cfsStats struct {
	service    float64 // CPU time served, integrated over the run (ns)
	idleOver   int64   // core-ns a core was idle while another had 2+ tasks
	migrations int64
	failed     int64 // pulls refused because every candidate was cache-hot
}

// cfsCore is one core's run queue, shared as processor sharing.
type cfsCore struct {
	tasks minHeap[tagged] // by finish tag: a task's burst ends when s reaches it
	s, p  float64         // service per task since the queue was last empty; slices per task
	last  int64           // time s and p are up to date with
}

type cfsSim struct {
	p     CFSParams
	trace func(cfsPlacement)
	inv   []Invocation
	rec   []Record
	join  []float64 // its core's p when it joined
	core  []int32   // its core (while blocked: its previous core)
	cores []cfsCore
	cq    coreQueue // cores by next burst end
	wakes eventHeap
	rng   *rand.Rand
	now   int64
	nIdle int   // cores with no task
	nOver int   // cores with 2+ tasks
	balAt int64 // next balancing instant, or never
	// refused marks the cores whose pull was refused in the current balancing round.
	refused []bool

	switches float64
	stats    cfsStats
}

func (c *CoreCFS) simulate(tr *Trace, o Options) (*Result, error) {
	if o.Observer != nil {
		return nil, fmt.Errorf("policy %s is simulated as per-core processor sharing and has no run segments to observe", c.Name())
	}
	if c.p.Latency <= 0 || c.p.MinGranularity <= 0 || c.p.ContextSwitch < 0 {
		return nil, fmt.Errorf("policy %s: latency and min granularity must be > 0, got %d and %d ns", c.Name(), c.p.Latency, c.p.MinGranularity)
	}
	if c.p.BalanceInterval <= 0 || c.p.BusyBalanceInterval <= 0 {
		return nil, fmt.Errorf("policy %s: balance intervals must be > 0, got %d and %d ns", c.Name(), c.p.BalanceInterval, c.p.BusyBalanceInterval)
	}
	n := len(tr.Inv)
	s := &cfsSim{
		p:       c.p,
		trace:   c.trace,
		inv:     tr.Inv,
		rec:     make([]Record, n),
		join:    make([]float64, n),
		core:    make([]int32, n),
		cores:   make([]cfsCore, o.Cores),
		cq:      newCoreQueue(o.Cores),
		wakes:   make(eventHeap, 0, 64),
		rng:     rand.New(rand.NewPCG(0x63, 0x6673)),
		nIdle:   o.Cores,
		balAt:   never,
		refused: make([]bool, o.Cores),
	}
	for i := range tr.Inv {
		s.rec[i] = Record{Arrival: tr.Inv[i].Arrival, Start: -1, End: -1, Func: tr.Inv[i].Func}
	}
	next, completed := 0, 0
	for completed < n {
		_, t := s.cq.top()
		if len(s.wakes) > 0 && s.wakes[0].t < t {
			t = s.wakes[0].t
		}
		if next < n && tr.Inv[next].Arrival < t {
			t = tr.Inv[next].Arrival
		}
		if s.balAt < t {
			t = s.balAt
		}
		if t == never {
			return nil, fmt.Errorf("policy %s: %d invocations unfinished", c.Name(), n-completed)
		}
		if err := o.poll(); err != nil {
			return nil, err
		}
		if s.nOver > 0 {
			s.stats.idleOver += (t - s.now) * int64(s.nIdle)
		}
		s.now = t
		for k, at := s.cq.top(); at == t; k, at = s.cq.top() {
			if err := s.burstsEnd(k, &completed, o); err != nil {
				return nil, err
			}
		}
		for len(s.wakes) > 0 && s.wakes[0].t == t {
			s.wake(TaskID(s.wakes.pop().key))
		}
		for ; next < n && tr.Inv[next].Arrival == t; next++ {
			s.arrive(TaskID(next))
		}
		if s.balAt == t {
			s.balAt = never
			s.balance()
		}
		if s.nOver > 0 {
			s.planBalance()
		}
	}
	if o.Progress != nil {
		o.Progress(completed)
	}
	var pre int64
	for i := range s.rec {
		pre += int64(s.rec[i].Preemptions)
	}
	c.stats = s.stats
	return &Result{
		Policy:          c.Name(),
		Cores:           o.Cores,
		Records:         s.rec,
		Busy:            tr.TotalCPU(),
		ContextSwitches: int64(s.switches),
		Preemptions:     pre,
	}, nil
}

// rate is the service rate of each of n tasks sharing a core, and the slice (0 when alone).
func (s *cfsSim) rate(n int) (r, g float64) { return s.p.share(n, 1) }

// advance brings core k's service counters up to now.
func (s *cfsSim) advance(k int) {
	c := &s.cores[k]
	dt := float64(s.now - c.last)
	c.last = s.now
	n := len(c.tasks)
	if dt <= 0 || n == 0 {
		return
	}
	r, g := s.rate(n)
	c.s += r * dt
	s.stats.service += r * dt * float64(n)
	if g > 0 {
		c.p += r * dt / g
		s.switches += dt / (g + float64(s.p.ContextSwitch))
	}
}

// schedule sets core k's next burst end (k must be advanced to now).
func (s *cfsSim) schedule(k int) {
	c := &s.cores[k]
	if len(c.tasks) == 0 {
		s.cq.set(k, never, NoTask)
		return
	}
	r, _ := s.rate(len(c.tasks))
	h := c.tasks[0]
	at := s.now + int64(math.Ceil((h.f-c.s)/r))
	s.cq.set(k, max(at, s.now), h.t)
}

// enqueue puts task t with rem ns of its burst left on core k.
func (s *cfsSim) enqueue(t TaskID, k int, rem float64, from int, why placeWhy) {
	s.advance(k)
	c := &s.cores[k]
	s.switches++ // it is switched to at least once there
	switch len(c.tasks) {
	case 0:
		s.nIdle--
		c.s, c.p = 0, 0
	case 1:
		s.nOver++
	}
	s.join[t] = c.p
	s.core[t] = int32(k)
	c.tasks.push(tagged{c.s + rem, t})
	s.schedule(k)
	if s.trace != nil {
		s.trace(cfsPlacement{At: s.now, T: t, From: from, To: k, Why: why})
	}
}

// dequeue removes the task at heap index i of core k and returns it with what is left of its
// burst.
func (s *cfsSim) dequeue(k, i int) (TaskID, float64) {
	s.advance(k)
	c := &s.cores[k]
	x := c.tasks.remove(i)
	t := x.t
	s.rec[t].Preemptions += uint32(c.p - s.join[t])
	switch len(c.tasks) {
	case 0:
		s.nIdle++
	case 1:
		s.nOver--
	}
	s.schedule(k)
	return t, x.f - c.s
}

// burstsEnd ends the bursts of core k that are due now; a core left idle pulls work.
func (s *cfsSim) burstsEnd(k int, completed *int, o Options) error {
	s.advance(k)
	c := &s.cores[k]
	done := 0
	for len(c.tasks) > 0 {
		r, _ := s.rate(len(c.tasks))
		// Tolerate the float rounding of one ns of service; the head is due in any case.
		if done > 0 && c.tasks[0].f > c.s+r {
			break
		}
		t, _ := s.dequeue(k, 0)
		done++
		rr := &s.rec[t]
		in := &s.inv[t]
		if rr.Wakeups < in.Waits {
			w := wait(in, rr.Wakeups)
			rr.Blocked += w
			s.wakes.push(event{t: s.now + w, key: uint64(t)})
			continue
		}
		rr.End, rr.CPU = s.now, in.CPU
		*completed++
		if err := o.tick(*completed); err != nil {
			return err
		}
	}
	if len(c.tasks) == 0 {
		s.pull(k, placeNewIdle)
	}
	return nil
}

// arrive places a new task on the idlest core.
func (s *cfsSim) arrive(t TaskID) {
	_, k := s.extremes()
	s.rec[t].Start = s.now
	s.enqueue(t, k, float64(burst(&s.inv[t], 0)), -1, placeNew)
}

// wake places a task back after I/O: its previous core if idle, else an idle core scanned
// from there, else its previous core.
func (s *cfsSim) wake(t TaskID) {
	r := &s.rec[t]
	r.Wakeups++
	prev := int(s.core[t])
	k := prev
	if len(s.cores[prev].tasks) > 0 && s.nIdle > 0 {
		for i := 1; i < len(s.cores); i++ {
			j := (prev + i) % len(s.cores)
			if len(s.cores[j].tasks) == 0 {
				k = j
				break
			}
		}
	}
	s.enqueue(t, k, float64(burst(&s.inv[t], r.Wakeups)), prev, placeWake)
}

// extremes returns the cores with the most and the fewest tasks (ties: lowest number).
func (s *cfsSim) extremes() (hi, lo int) {
	hn, ln := -1, math.MaxInt
	for k := range s.cores {
		n := len(s.cores[k].tasks)
		if n > hn {
			hi, hn = k, n
		}
		if n < ln {
			lo, ln = k, n
		}
	}
	return hi, lo
}

// pull moves one task from the busiest core to core dst, unless every candidate is
// cache-hot. It reports whether it moved one.
func (s *cfsSim) pull(dst int, why placeWhy) bool {
	src, _ := s.extremes()
	n := len(s.cores[src].tasks)
	if n < 2 || src == dst {
		return false
	}
	_, g := s.rate(n)
	turn := g + float64(s.p.ContextSwitch)
	if float64(n-2)*turn+s.rng.Float64()*turn < float64(s.p.MigrationCost) {
		s.stats.failed++
		return false
	}
	t, rem := s.dequeue(src, s.rng.IntN(n))
	s.enqueue(t, dst, rem, src, why)
	s.stats.migrations++
	return true
}

// balance is periodic load balancing: each core at least 2 tasks short of the busiest pulls
// from it, the shortest first, until the queues are even or every such core has had a pull
// refused (it tries again at the next interval).
func (s *cfsSim) balance() {
	clear(s.refused)
	for {
		hi, _ := s.extremes()
		dst := -1
		for k := range s.cores {
			if !s.refused[k] && len(s.cores[hi].tasks)-len(s.cores[k].tasks) >= 2 &&
				(dst < 0 || len(s.cores[k].tasks) < len(s.cores[dst].tasks)) {
				dst = k
			}
		}
		if dst < 0 {
			return
		}
		if !s.pull(dst, placeBalance) {
			s.refused[dst] = true
		}
	}
}

// planBalance schedules the balancer at the next interval boundary while queues are uneven.
func (s *cfsSim) planBalance() {
	hi, lo := s.extremes()
	ln := len(s.cores[lo].tasks)
	if len(s.cores[hi].tasks)-ln < 2 {
		return
	}
	iv := s.p.BusyBalanceInterval
	if ln == 0 {
		iv = s.p.BalanceInterval
	}
	if at := (s.now/iv + 1) * iv; at < s.balAt {
		s.balAt = at
	}
}
