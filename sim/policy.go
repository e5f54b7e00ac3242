package sim

// TaskID identifies an invocation during a simulation: its index in Trace.Inv.
type TaskID = int32

// NoTask is returned by Env.Running for an idle core.
const NoTask TaskID = -1

// Reason says why a task became runnable.
type Reason uint8

const (
	Arrived  Reason = iota // the invocation arrived
	Woke                   // it woke up after an I/O wait
	Requeued               // it was stopped while runnable: quantum expired or preempted
)

// StopReason says why a running task stopped.
type StopReason uint8

const (
	QuantumExpired StopReason = iota // its quantum ended; it is requeued (Runnable with Requeued follows)
	Preempted                        // the policy called Env.Preempt; it is requeued
	Blocked                          // it started an I/O wait; Runnable with Woke follows when it ends
	Completed                        // it finished
)

// Policy is a scheduling policy. The simulator calls it from one event loop; all times are
// nanoseconds of simulated time.
//
// A policy is non-clairvoyant: through Env it sees a task's arrival time and function and
// what it observed itself (how long the task ran, when it blocked), never its future. A
// policy that must know remaining demand (srpt, the reference bound) implements Clairvoyant
// and receives an Oracle.
//
// Calls for a task follow its life: Runnable(Arrived), then any number of
// Pick -> Stopped(QuantumExpired|Preempted) -> Runnable(Requeued) or
// Pick -> Stopped(Blocked) -> Runnable(Woke), and finally Pick -> Stopped(Completed).
type Policy interface {
	// Name is the policy's registry name (e.g. "srpt").
	Name() string
	// Start is called once before the first event with the simulation's environment.
	Start(env *Env)
	// Runnable is called when task t becomes runnable.
	Runnable(t TaskID, why Reason)
	// Pick is called when core is idle. It returns the task to run and its quantum
	// (0: until it blocks or completes), or ok = false to leave the core idle. A picked
	// task must be runnable and not running.
	Pick(core int) (t TaskID, quantum int64, ok bool)
	// Stopped is called when task t stops running on core after running ran ns
	// (so that vtime policies can charge it).
	Stopped(t TaskID, core int, ran int64, why StopReason)
}

// Clairvoyant is implemented by policies that read the future (remaining demand). The
// simulator hands them an Oracle before Start.
type Clairvoyant interface {
	Policy
	UseOracle(o Oracle)
}

// Oracle answers questions about a task's future; only Clairvoyant policies get one.
type Oracle interface {
	// Remaining is the CPU time task t still needs in total (all its bursts), in ns.
	Remaining(t TaskID) int64
}

// Timed is implemented by policies that want to be called at simulated times they choose
// with Env.SetTimer (for example to relearn every update interval).
type Timed interface {
	Policy
	Timer(now int64)
}

// Completer is implemented by policies that want the per-invocation record of each task as
// it completes: what the backend reports per invocation (function, arrival, start, end, CPU
// time, blocked time, wake-ups).
type Completer interface {
	Policy
	Completed(t TaskID, r *Record)
}

// Observer receives the uninterrupted run segments of every task (the learner derives ALPS's
// statistics from them). A task's waits are the gaps between its arrival, its segments and
// its I/O waits. Leave Options.Observer nil to pay nothing.
type Observer interface {
	Segment(t TaskID, core int, start, end int64, why StopReason)
}

// Forwarder is implemented by policies that can compute a stretch of their schedule in
// closed form instead of event by event (vtime's round-robin phases). Run calls Forward at
// the end of every instant, after its dispatches, with until the time of the next arrival,
// I/O wake-up or policy timer (math.MaxInt64 if none). Forward may then advance the
// schedule with the unexported Env.skip, Env.resume and Env.resumed (so only policies of
// this package can be Forwarders) to the state the event loop would reach by handling only
// the quantum ends due before until, none of which may end a burst; it leaves Env.Now
// unchanged. Run does not call it when Options.Observer is set (the skipped segments would
// not be reported).
type Forwarder interface {
	Policy
	Forward(until int64)
}

// SwitchCoster is implemented by policies that model a context-switch cost: a core that
// switches to a different task first spends SwitchCost ns running nothing.
type SwitchCoster interface {
	Policy
	SwitchCost() int64
}
