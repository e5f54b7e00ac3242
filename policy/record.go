package policy

// Record is one finished invocation as the scheduler reports it (and as the simulator
// reports it to the learner). Times are CLOCK_MONOTONIC nanoseconds.
type Record struct {
	Function uint32 // dense function id, below MaxFunctions
	PID      uint32
	Start    int64  // when the invocation arrived (the process was created)
	End      int64  // when it finished (its main thread exited)
	CPU      int64  // CPU time of all its threads (sum_exec_runtime), ns: what wait4 reports
	RunDelay int64  // time it was runnable but waiting for a CPU, ns
	Nvcsw    uint64 // voluntary context switches: the times it blocked
	Nivcsw   uint64 // involuntary context switches: the times it was preempted
	// Class is the class hint a warm worker marked the invocation's start with (package
	// invocation; 0: none, and always 0 for an invocation that is a process).
	Class uint32
}

// Wall is the invocation's completion time minus its arrival, at least 0.
func (r Record) Wall() int64 { return max(r.End-r.Start, 0) }

// Blocked is the time the invocation was neither running nor waiting to run (sleeping, e.g.
// on I/O), at least 0.
func (r Record) Blocked() int64 { return max(r.Wall()-r.CPU-r.RunDelay, 0) }

// Burst is the mean uninterrupted CPU burst between two sleeps.
func (r Record) Burst() int64 {
	return r.CPU / int64(min(r.Nvcsw, 1<<31)+1)
}
