package policy

import "fmt"

// ExitInfo says why the scheduler stopped, as the kernel reported it to ops.exit (struct
// scx_exit_info).
type ExitInfo struct {
	Kind    int64  // enum scx_exit_kind: 64.. unregistered, 1024.. error (ejected)
	Code    int64  // exit code; ExitRestart set asks the loader to load the scheduler again
	Reason  string // e.g. "scx_bpf_error", "runnable task stall"
	Message string // e.g. "alps: injected fault after 1000 enqueues"
	// Dump is the kernel's debug dump of the scheduler's state at an error exit (tasks,
	// queues), empty otherwise.
	Dump string
}

// ExitRestart is SCX_ECODE_ACT_RESTART: the scheduler asks to be loaded again.
const ExitRestart = int64(1) << 48

// exitErrorKind is SCX_EXIT_ERROR: kinds from it on are errors (ejections).
const exitErrorKind = 1024

// Ejected reports whether the kernel threw the scheduler out because of an error (as opposed
// to a detach, a close or the loader dying).
func (e ExitInfo) Ejected() bool { return e.Kind >= exitErrorKind }

// Restart reports whether the exit code asks the loader to restart the scheduler.
func (e ExitInfo) Restart() bool { return e.Code&ExitRestart != 0 }

// KindName names Kind.
func (e ExitInfo) KindName() string {
	names := map[int64]string{
		0: "none", 1: "done", 64: "unregistered", 65: "unregistered by BPF", 66: "unregistered by the kernel",
		67: "SysRq-S", 68: "parent", 69: "parent killed", 1024: "error", 1025: "BPF error", 1026: "stall",
		1027: "reenqueue error", 1028: "rescue error",
	}
	if n, ok := names[e.Kind]; ok {
		return n
	}
	return fmt.Sprintf("kind %d", e.Kind)
}

// String is one line: kind, code, reason and message (not the dump).
func (e ExitInfo) String() string {
	s := fmt.Sprintf("%s (code %d): %s", e.KindName(), e.Code, e.Reason)
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}
