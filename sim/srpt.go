package sim

// SRPT is clairvoyant preemptive shortest remaining processing time on C cores: the C
// runnable tasks with the least remaining CPU demand run; a task that becomes runnable
// preempts the running task with the most remaining demand if it has strictly less.
// Remaining demand counts all of a task's future CPU bursts (its I/O waits are not work).
type SRPT struct {
	env      *Env
	or       Oracle
	q        keyHeap
	stopping []bool // core has a pending preemption
	nstop    int
}

// NewSRPT returns an srpt policy.
func NewSRPT() *SRPT { return &SRPT{} }

func (*SRPT) Name() string         { return "srpt" }
func (s *SRPT) UseOracle(o Oracle) { s.or = o }
func (s *SRPT) Start(e *Env) {
	s.env = e
	s.stopping = make([]bool, e.Cores())
}

func (s *SRPT) Runnable(t TaskID, why Reason) {
	r := s.or.Remaining(t)
	s.q.push(r, t)
	if why == Requeued || s.q.len() <= s.env.Idle()+s.nstop {
		return
	}
	victim, worst := -1, r
	for c := range s.stopping {
		rt := s.env.Running(c)
		if s.stopping[c] || rt == NoTask {
			continue
		}
		if rc := s.or.Remaining(rt); rc > worst {
			victim, worst = c, rc
		}
	}
	if victim >= 0 {
		s.stopping[victim] = true
		s.nstop++
		s.env.Preempt(victim, s.env.Now())
	}
}

func (s *SRPT) Pick(core int) (TaskID, int64, bool) {
	if s.q.len() == 0 {
		return NoTask, 0, false
	}
	return s.q.pop().t, 0, true
}

func (s *SRPT) Stopped(_ TaskID, core int, _ int64, _ StopReason) {
	if s.stopping[core] {
		s.stopping[core] = false
		s.nstop--
	}
}
