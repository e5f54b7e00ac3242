// Package backend loads and drives the alps sched_ext scheduler (bpf/alps.bpf.c).
//
// The scheduler orders tasks by virtual time shifted by the learned rank of their
// function (the rule of ORDERING.md) and runs them with their function's slice. A
// frontend uses it like this:
//
//	s, err := backend.Load(backend.Options{Knobs: backend.DefaultKnobs()})
//	if errors.Is(err, backend.ErrNoSchedExt) { ... } // one clear line for the user
//	defer s.Close()
//	s.SetCommFunction("resize", 7)   // classify processes named "resize" as function 7
//	s.Attach()                       // sched_ext is now enabled
//	s.SetPolicy(map[uint32]backend.Entry{7: {Rank: 0, Slice: 5 * time.Millisecond}}, knobs)
//	for { s.Heartbeat(); ... }       // at least every Knobs.HeartbeatStale
//	for r := range s.Records() { ... } // one per finished invocation
//	<-s.Done(); info, _ := s.ExitInfo() // the kernel ejected us, or Detach
//
// Function ids are dense uint32 below MaxFunctions. Times in records are CLOCK_MONOTONIC
// nanoseconds (the kernel's ktime_get_ns), durations are time.Duration.
package backend

import (
	"errors"
	"fmt"
	"os"
	"time"
)

// MaxFunctions bounds function ids: valid ids are 0..MaxFunctions-1.
const MaxFunctions = 65536

// Errors of Load, one line each and meant to be shown to the user as they are.
var (
	// ErrNoSchedExt: the running kernel was built without CONFIG_SCHED_CLASS_EXT.
	ErrNoSchedExt = errors.New("this kernel has no sched_ext (CONFIG_SCHED_CLASS_EXT): alps needs Linux >= 6.12 built with it")
	// ErrNoBTF: the running kernel exposes no BTF (/sys/kernel/btf/vmlinux).
	ErrNoBTF = errors.New("this kernel has no BTF (/sys/kernel/btf/vmlinux, CONFIG_DEBUG_INFO_BTF): sched_ext schedulers need it")
	// ErrNotRoot: loading a BPF scheduler needs root (CAP_SYS_ADMIN and CAP_BPF).
	ErrNotRoot = errors.New("loading a sched_ext scheduler needs root (CAP_SYS_ADMIN, CAP_BPF)")
	// ErrBusy (from Attach): another sched_ext scheduler is already enabled.
	ErrBusy = errors.New("another sched_ext scheduler is already enabled (see /sys/kernel/sched_ext/root/ops)")
	// ErrClosed: the scheduler was closed.
	ErrClosed = errors.New("alps scheduler is closed")
)

// Knobs are the global parameters of the ordering rule (ORDERING.md) and of the
// fail-safe. They are installed with the policy table.
type Knobs struct {
	RankStep     time.Duration // vtime offset per rank level
	MaxPenalty   time.Duration // starvation bound: no key is more than this ahead of the global vtime
	WakeLag      time.Duration // the most vtime credit a sleeper keeps
	DefaultSlice time.Duration // slice of tasks without a ranked function; > 0
	// HeartbeatStale: when the last Heartbeat is older than this, ranks are ignored and
	// every task is ordered as plain fair vtime. 0 disables the check.
	HeartbeatStale time.Duration
}

// DefaultKnobs are the defaults of configs/alps.yaml's policy section, with a 3 s
// heartbeat bound.
func DefaultKnobs() Knobs {
	return Knobs{
		RankStep:       10 * time.Millisecond,
		MaxPenalty:     500 * time.Millisecond,
		WakeLag:        20 * time.Millisecond,
		DefaultSlice:   20 * time.Millisecond,
		HeartbeatStale: 3 * time.Second,
	}
}

// Validate reports the first knob out of range, naming it.
func (k Knobs) Validate() error {
	switch {
	case k.RankStep < 0:
		return fmt.Errorf("rank step %v is negative", k.RankStep)
	case k.MaxPenalty < 0:
		return fmt.Errorf("max penalty %v is negative", k.MaxPenalty)
	case k.WakeLag < 0:
		return fmt.Errorf("wake lag %v is negative", k.WakeLag)
	case k.DefaultSlice <= 0:
		return fmt.Errorf("default slice %v is not positive", k.DefaultSlice)
	case k.HeartbeatStale < 0:
		return fmt.Errorf("heartbeat bound %v is negative", k.HeartbeatStale)
	}
	return nil
}

// Entry is one function's row of the policy table.
type Entry struct {
	Rank  uint32        // 0 runs first
	Slice time.Duration // 0: Knobs.DefaultSlice
}

// Options configure Load.
type Options struct {
	// Knobs installed at load; the zero value means DefaultKnobs().
	Knobs Knobs
	// PinPath, if set, pins the policy, knobs, classifier and counter maps in this
	// directory of a bpffs (e.g. /sys/fs/bpf/alps) with mode 0600, so tools can read
	// them. The scheduler itself is never pinned: it dies with the loader (fail safe).
	PinPath string
	// RecordBuffer is the capacity of the Records channel; 0 means 4096. A record that
	// finds the channel full is dropped and counted (Dropped).
	RecordBuffer int
	// RecordLatency is how long a record may wait in the ring buffer: once the reader has
	// drained the ring it sleeps this long before it waits for the next record, so records
	// reach Records in one burst per period instead of one wake-up each (a daemon that learns
	// once per update interval loses nothing). The ring holds about 14,000 records; an
	// ejection is noticed up to this late. 0 delivers every record at once.
	RecordLatency time.Duration
}

// Record is one finished invocation: a classified process, reported after it was reaped.
type Record struct {
	Function uint32
	PID      uint32
	Start    int64 // fork time, CLOCK_MONOTONIC ns
	End      int64 // exit time, CLOCK_MONOTONIC ns
	CPU      int64 // CPU time of all its threads (sum_exec_runtime), ns: what wait4 reports
	RunDelay int64 // time its main thread was runnable but waiting, ns
	Nvcsw    uint64
	Nivcsw   uint64
}

// Counters are the scheduler's event counts, summed over CPUs.
type Counters struct {
	Enqueues       uint64 // ops.enqueue calls
	Direct         uint64 // wake-ups sent straight to an idle CPU
	Ranked         uint64 // enqueues ordered by a rank
	Stale          uint64 // enqueues of a classified task while the heartbeat was stale
	Capped         uint64 // keys capped by the starvation bound
	Dispatches     uint64 // tasks moved from the shared queue to a CPU
	Records        uint64 // invocation records sent
	RecordsLost    uint64 // records lost in the kernel: ring buffer full
	Classified     uint64 // classifications that found a function
	RecordsDropped uint64 // records dropped in user space: Records channel full
}

// ExitInfo says why the scheduler stopped, as the kernel reported it to ops.exit.
type ExitInfo struct {
	Kind    int32  // enum scx_exit_kind: 64.. unregistered, 1024.. error (ejected)
	Code    int64  // exit code
	Reason  string // e.g. "scx_bpf_error", "runnable task stall"
	Message string // e.g. "alps: injected fault after 1000 enqueues"
}

// Ejected reports whether the kernel threw the scheduler out because of an error
// (as opposed to a Detach, Close or the loader dying).
func (e ExitInfo) Ejected() bool { return e.Kind >= 1024 }

// KindName names Kind.
func (e ExitInfo) KindName() string {
	names := map[int32]string{
		0: "none", 1: "done", 64: "unregistered", 65: "unregistered by BPF", 66: "unregistered by the kernel",
		67: "SysRq-S", 68: "parent", 69: "parent killed", 1024: "error", 1025: "BPF error", 1026: "stall",
		1027: "reenqueue error", 1028: "rescue error",
	}
	if n, ok := names[e.Kind]; ok {
		return n
	}
	return fmt.Sprintf("kind %d", e.Kind)
}

// String is one line: kind, code, reason and message.
func (e ExitInfo) String() string {
	s := fmt.Sprintf("%s (code %d): %s", e.KindName(), e.Code, e.Reason)
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Timings are how long loading (verification included) and attaching took.
type Timings struct {
	Load   time.Duration
	Attach time.Duration
}

// State returns /sys/kernel/sched_ext/state ("enabled", "disabled", ...) and the name of
// the running sched_ext scheduler (root/ops), empty when none.
func State() (state, ops string, err error) {
	b, err := os.ReadFile("/sys/kernel/sched_ext/state")
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", "", ErrNoSchedExt
		}
		return "", "", fmt.Errorf("reading sched_ext state: %w", err)
	}
	o, _ := os.ReadFile("/sys/kernel/sched_ext/root/ops")
	return trim(b), trim(o), nil
}

func trim(b []byte) string {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == 0) {
		b = b[:len(b)-1]
	}
	return string(b)
}
