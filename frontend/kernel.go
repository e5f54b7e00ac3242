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

	"github.com/alps-sched/alps/policy"
)

// Kernel is what the daemon needs from the kernel side (the sched_ext backend).
// Implementations must not block the kernel when the daemon is slow: Records is drained by the
// daemon as fast as it can, and what the kernel cannot hand over is counted in Dropped.
type Kernel interface {
	// SetPolicy installs a policy table and its knobs in one batch; functions absent from the
	// table lose their entry. A nil table clears all entries (plain fair vtime).
	SetPolicy(t *policy.Table) error
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
	Records() <-chan policy.Record
	// Dropped is the number of records the kernel side could not deliver.
	Dropped() uint64
	// Exited delivers the exit info when the kernel ejects the scheduler.
	Exited() <-chan policy.ExitInfo
	// Close detaches the scheduler and returns its exit info.
	Close() (policy.ExitInfo, error)
}

// RecordLatencySetter is implemented by a Kernel that holds records back to deliver them in
// bursts (backend.Options.RecordLatency, one update interval): a reload that changes the
// update interval changes it too, so a shorter interval does not learn from stale records.
type RecordLatencySetter interface {
	SetRecordLatency(d time.Duration)
}

// Learner turns observed invocations into policy tables (model.Learner implements it).
type Learner interface {
	Observe(r policy.Record)
	Update(now int64) *policy.Table
}

// ErrEjected is returned by Daemon.Run when the kernel ejected the scheduler and its exit code
// does not ask for a restart.
var ErrEjected = errors.New("scheduler ejected")

// ErrRestart is returned by Daemon.Run when the scheduler exited asking to be restarted.
var ErrRestart = errors.New("scheduler asked for a restart")

// EjectedError carries the exit info of an ejection.
type EjectedError struct {
	Info policy.ExitInfo
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
