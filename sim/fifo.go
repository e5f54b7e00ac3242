package sim

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
