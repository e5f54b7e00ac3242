package sim

// taskQueue is a FIFO ring of task ids that grows as needed.
type taskQueue struct {
	buf        []TaskID
	head, size int
}

func (q *taskQueue) len() int { return q.size }

func (q *taskQueue) push(t TaskID) {
	if q.size == len(q.buf) {
		nb := make([]TaskID, max(16, 2*len(q.buf)))
		for i := 0; i < q.size; i++ {
			nb[i] = q.buf[(q.head+i)%len(q.buf)]
		}
		q.buf, q.head = nb, 0
	}
	q.buf[(q.head+q.size)%len(q.buf)] = t
	q.size++
}

func (q *taskQueue) pop() TaskID {
	t := q.buf[q.head]
	q.head = (q.head + 1) % len(q.buf)
	q.size--
	return t
}

// keyHeap is a min-heap of tasks by (key, insertion order).
type keyHeap struct {
	s   minHeap[keyed]
	seq uint32
}

type keyed struct {
	key int64
	seq uint32
	t   TaskID
}

func (a keyed) less(b keyed) bool {
	return a.key < b.key || (a.key == b.key && a.seq < b.seq)
}

func (h *keyHeap) len() int { return len(h.s) }

func (h *keyHeap) push(key int64, t TaskID) {
	h.seq++
	h.s.push(keyed{key: key, seq: h.seq, t: t})
}

func (h *keyHeap) pop() keyed { return h.s.pop() }

// FIFO runs tasks to completion in the order they become runnable (first come, first
// served; a task woken after I/O joins the back of the queue). It never preempts.
type FIFO struct {
	q taskQueue
}

// NewFIFO returns a fifo policy.
func NewFIFO() *FIFO { return &FIFO{} }

func (*FIFO) Name() string                           { return "fifo" }
func (*FIFO) Start(*Env)                             {}
func (f *FIFO) Runnable(t TaskID, _ Reason)          { f.q.push(t) }
func (*FIFO) Stopped(TaskID, int, int64, StopReason) {}

func (f *FIFO) Pick(int) (TaskID, int64, bool) {
	if f.q.len() == 0 {
		return NoTask, 0, false
	}
	return f.q.pop(), 0, true
}

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
