// Package frontend is the alps-frontend daemon as a library: it feeds the invocation records
// the kernel side reports into the learner's window, runs the learner every update interval and
// pushes the resulting policy table to the kernel in one batch, writes the heartbeat, classifies
// tasks into functions (cgroup path patterns watched on cgroupfs, process-name rules), exports
// Prometheus metrics, reloads learner parameters without detaching, and stops cleanly.
//
// The kernel side and the learner are interfaces (Kernel, Learner), so the daemon runs against
// the sched_ext backend, a dry-run sink that only logs decisions, or fakes in tests.
package frontend

import (
	"errors"
	"fmt"
	"time"

	"github.com/alps-sched/alps/model"
)

// Record is one completed invocation as the kernel side reports it. Times are nanoseconds
// (CLOCK_MONOTONIC for Start and End).
type Record struct {
	Function uint32
	PID      uint32
	Start    int64 // when the process was created
	End      int64 // when it exited
	CPU      int64 // CPU time it used (sum_exec_runtime)
	RunDelay int64 // time it waited runnable
	Nvcsw    uint64
	Nivcsw   uint64
}

// ModelRecord converts r to what the learner's window keeps: wall time, and the time the
// invocation was neither running nor waiting to run as blocked time.
func (r Record) ModelRecord() model.Record {
	wall := r.End - r.Start
	if wall < 0 {
		wall = 0
	}
	blocked := wall - r.CPU - r.RunDelay
	if blocked < 0 {
		blocked = 0
	}
	wake := r.Nvcsw
	if wake > 1<<31 {
		wake = 1 << 31
	}
	return model.Record{Function: r.Function, Arrival: r.Start, CPU: r.CPU, Wall: wall, Blocked: blocked, Wakeups: uint32(wake)}
}

// ExitInfo is why the sched_ext scheduler stopped (the kernel's scx_exit_info).
type ExitInfo struct {
	Kind    int64
	Code    int64
	Reason  string
	Message string
}

// exitRestart is SCX_ECODE_ACT_RESTART: the scheduler asks to be loaded again.
const exitRestart = int64(1) << 48

// exitErrorKind is SCX_EXIT_ERROR: kinds from it on are errors (ejections).
const exitErrorKind = 1024

// Restart reports whether the exit code asks the loader to restart the scheduler.
func (e ExitInfo) Restart() bool { return e.Code&exitRestart != 0 }

// Error reports whether the exit is an error (the kernel ejected the scheduler).
func (e ExitInfo) Error() bool { return e.Kind >= exitErrorKind }

func (e ExitInfo) String() string {
	return fmt.Sprintf("kind %d code %#x reason %q message %q", e.Kind, e.Code, e.Reason, e.Message)
}

// Kernel is what the daemon needs from the kernel side (the sched_ext backend).
// Implementations must not block the kernel when the daemon is slow: Records is drained by the
// daemon as fast as it can, and what the kernel cannot hand over is counted in Dropped.
type Kernel interface {
	// SetPolicy installs a policy table and its knobs in one batch; functions absent from the
	// table lose their entry. A nil table clears all entries (plain fair vtime).
	SetPolicy(t *model.Table) error
	// Heartbeat tells the kernel the frontend is alive.
	Heartbeat() error
	// SetCgroupFunction classifies the tasks of a cgroup (by its id, the inode of its directory).
	SetCgroupFunction(cgroupID uint64, fn uint32) error
	// DeleteCgroup forgets a cgroup.
	DeleteCgroup(cgroupID uint64) error
	// SetCommFunction classifies the processes named comm.
	SetCommFunction(comm string, fn uint32) error
	// Records delivers one record per completed invocation; it is closed when the kernel side
	// stops.
	Records() <-chan Record
	// Dropped is the number of records the kernel side could not deliver.
	Dropped() uint64
	// Exited delivers the exit info when the kernel ejects the scheduler.
	Exited() <-chan ExitInfo
	// Close detaches the scheduler and returns its exit info.
	Close() (ExitInfo, error)
}

// RecordLatencySetter is implemented by a Kernel that holds records back to deliver them in
// bursts (backend.Options.RecordLatency, one update interval): a reload that changes the
// update interval changes it too, so a shorter interval does not learn from stale records.
type RecordLatencySetter interface {
	SetRecordLatency(d time.Duration)
}

// Learner turns observed invocations into policy tables (model.Learner implements it).
type Learner interface {
	Observe(r model.Record)
	Update(now int64) *model.Table
}

// ErrEjected is returned by Daemon.Run when the kernel ejected the scheduler and its exit code
// does not ask for a restart.
var ErrEjected = errors.New("scheduler ejected")

// ErrRestart is returned by Daemon.Run when the scheduler exited asking to be restarted.
var ErrRestart = errors.New("scheduler asked for a restart")

// EjectedError carries the exit info of an ejection.
type EjectedError struct {
	Info ExitInfo
}

func (e *EjectedError) Error() string {
	return fmt.Sprintf("scheduler ejected: %s", e.Info)
}

// Is makes errors.Is(err, ErrEjected) or ErrRestart true as the exit code says.
func (e *EjectedError) Is(target error) bool {
	if e.Info.Restart() {
		return target == ErrRestart
	}
	return target == ErrEjected
}
