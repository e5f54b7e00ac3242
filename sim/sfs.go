package sim

// SFSParams are the knobs of SFS's FILTER policy.
type SFSParams struct {
	InitialSlice, MinSlice int64 // ns
	UpdateEvery            int
	StarvationSlices       float64
	CFS                    CFSParams
	// RequeueStarved is what SFS's released code does with a job that waited too long: it
	// goes to the back of the FIFO queue with a fresh wait, instead of to cfs (the paper).
	RequeueStarved bool
}

// SFS is SFS's FILTER policy (SC'22) as published: a new invocation joins a FIFO queue and
// runs at real-time priority (above every cfs task, preempting one if no core is idle) for
// one slice of CPU; if unfinished it is demoted to cfs-global (GlobalCFS) for good. The
// slice starts at InitialSlice and is recomputed every UpdateEvery arrivals as the mean
// inter-arrival time of those arrivals times the core count, floored at MinSlice. A job that
// waited in the FIFO queue longer than StarvationSlices slices goes straight to cfs. A job
// that blocks keeps its remaining FIFO credit. Simplification: the FIFO queue is global
// (SFS's workers pull from one queue).
//
// SFS's released code (SFS-standalone) differs from the paper: a job that waited too long
// is re-queued at the back of the FIFO queue with a fresh timestamp rather than demoted
// (RequeueStarved, the policy sfs-code), so under overload the FIFO class keeps every job
// and short ones wait behind long ones for a slice each; its queued jobs are already
// SCHED_FIFO (priority 20), which is this model's FIFO class above cfs; and it polls a
// 1,000,000-entry array and /proc every millisecond, about a third of a core, which the
// model does not charge.
type SFS struct {
	env    *Env
	p      SFSParams
	cfs    *GlobalCFS
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

// NewSFS returns an sfs policy for the given core count (sfs-code if p.RequeueStarved).
func NewSFS(p SFSParams, cores int) *SFS { return &SFS{p: p, cfs: NewGlobalCFS(p.CFS)} }

func (s *SFS) Name() string {
	if s.p.RequeueStarved {
		return "sfs-code"
	}
	return "sfs"
}
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
			if s.p.RequeueStarved {
				// To the back with a fresh wait: it is not starved when it comes round again
				// in this loop, so the loop ends.
				s.since[t] = now
				s.fifo.push(t)
				continue
			}
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
