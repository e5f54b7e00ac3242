// Package backend loads and drives the alps sched_ext scheduler (bpf/alps.bpf.c).
//
// The scheduler orders tasks by priority level, then virtual time (the rule of
// policy/ORDERING.md): a task's level comes from its function's step table at the CPU its
// invocation has used, and it runs until its next step or its function's slice. It installs
// policy tables (policy.Table) and reports finished invocations (policy.Record); a frontend
// uses it like this:
//
//	s, err := backend.Load(backend.Options{Knobs: knobs})
//	if errors.Is(err, backend.ErrNoSchedExt) { ... } // one clear line for the user
//	defer s.Close()
//	s.SetCommFunction("resize", 7)     // classify processes named "resize" as function 7
//	s.Attach()                         // sched_ext is now enabled
//	s.SetPolicy(table)                 // a *policy.Table from the learner
//	for { s.Heartbeat(); ... }         // at least every Options.HeartbeatStale
//	for r := range s.Records() { ... } // one per finished invocation
//	<-s.Done(); info, _ := s.ExitInfo() // the kernel ejected us, or Detach
//
// Function ids are dense uint32 below policy.MaxFunctions. Times are CLOCK_MONOTONIC
// nanoseconds (the kernel's ktime_get_ns).
package backend

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/alps-sched/alps/policy"
)

// Errors of Load, one line each and meant to be shown to the user as they are.
var (
	// ErrNoSchedExt: the running kernel was built without CONFIG_SCHED_CLASS_EXT.
	ErrNoSchedExt = errors.New("this kernel has no sched_ext (CONFIG_SCHED_CLASS_EXT): alps needs a Linux kernel built with it (tested on 7.3)")
	// ErrOldSchedExt: the kernel's sched_ext lacks a kfunc alps calls (it is older than the
	// ___v2 dispatch kfuncs; see README, "Kernel").
	ErrOldSchedExt = errors.New("this kernel's sched_ext is too old for alps")
	// ErrNoBTF: the running kernel exposes no BTF (/sys/kernel/btf/vmlinux).
	ErrNoBTF = errors.New("this kernel has no BTF (/sys/kernel/btf/vmlinux, CONFIG_DEBUG_INFO_BTF): sched_ext schedulers need it")
	// ErrNotRoot: loading a BPF scheduler needs root (CAP_SYS_ADMIN and CAP_BPF).
	ErrNotRoot = errors.New("loading a sched_ext scheduler needs root (CAP_SYS_ADMIN, CAP_BPF)")
	// ErrBusy (from Attach): another sched_ext scheduler is already enabled.
	ErrBusy = errors.New("another sched_ext scheduler is already enabled (see /sys/kernel/sched_ext/root/ops)")
	// ErrClosed: the scheduler was closed.
	ErrClosed = errors.New("alps scheduler is closed")
)

// requiredKfuncs are the kfuncs the scheduler calls without a fallback; Load names the
// first one the kernel lacks (ErrOldSchedExt).
var requiredKfuncs = []string{"scx_bpf_dsq_insert___v2", "scx_bpf_dsq_move_to_local___v2",
	"scx_bpf_dsq_insert_vtime", "scx_bpf_create_dsq", "scx_bpf_select_cpu_dfl", "scx_bpf_error_bstr",
	"scx_bpf_dsq_move", "scx_bpf_dsq_nr_queued", "scx_bpf_kick_cpu", "scx_bpf_nr_cpu_ids", "bpf_iter_scx_dsq_new", "bpf_iter_scx_dsq_next",
	"bpf_iter_scx_dsq_destroy", "bpf_iter_num_new", "bpf_iter_num_next", "bpf_iter_num_destroy"}

// MaxWaitLimit is the largest policy.Knobs.MaxWait the scheduler accepts (policy.MaxMaxWait,
// the configuration's bound): half its watchdog timeout, so that the starvation guard always
// acts first.
const MaxWaitLimit = policy.MaxMaxWait

// watchdogTimeout is the scheduler's ops.timeout_ms (bpf/alps.bpf.c): the kernel ejects it
// when a runnable task waits this long.
const watchdogTimeout = 2 * MaxWaitLimit

// Options configure Load.
type Options struct {
	// Knobs of the ordering rule until the first SetPolicy (every task is unranked, at level
	// 0, until then); they must be valid, MaxWait at most MaxWaitLimit.
	Knobs policy.Knobs
	// HeartbeatStale: when the last Heartbeat is older than this, the scheduler ignores the
	// policy table and orders every task as plain fair vtime (the fail-safe). 0 disables it.
	// Fixed at load.
	HeartbeatStale time.Duration
	// PinPath, if set, pins the policy, table, classifier, counter and state maps in this
	// directory of a bpffs (e.g. /sys/fs/bpf/alps) with mode 0600, so tools can read them
	// (OpenPinned). The scheduler itself is never pinned: it dies with the loader (fail safe).
	PinPath string
	// RecordBuffer is the capacity of the Records channel; 0 means 4096. A record that
	// finds the channel full is dropped and counted (Dropped).
	RecordBuffer int
	// InvocationMap, if set, pins the registration map of warm worker threads (package
	// invocation) at this path of a bpffs, so that function runtimes can register the
	// threads whose invocation boundaries they mark. Its mode is 0600, or 0660 with group
	// InvocationGroup when that is >= 0: the group whose processes may register threads.
	// Empty: only this process can register threads (InvocationAreas).
	InvocationMap   string
	InvocationGroup int
	// RecordLatency is how long a record may wait in the ring buffer: once the reader has
	// drained the ring it sleeps this long before it waits for the next record, so records
	// reach Records in one burst per period instead of one wake-up each (a daemon that learns
	// once per update interval loses nothing). The ring holds about 14,000 records; an
	// ejection is noticed up to this late. 0 delivers every record at once.
	RecordLatency time.Duration
}

// Counters are the scheduler's event counts, summed over CPUs.
type Counters struct {
	Enqueues       uint64 // ops.enqueue calls
	Direct         uint64 // wake-ups sent straight to an idle CPU
	Ranked         uint64 // insertions (enqueues and direct) ordered by their function's entry
	Default        uint64 // insertions ordered by the table's default entry
	Stale          uint64 // insertions of a classified task while the heartbeat was stale
	Aged           uint64 // tasks the starvation guard moved ahead of every level
	Preempted      uint64 // CPUs kicked to preempt a task of a higher level
	Kept           uint64 // slice ends where the running task kept its CPU (no smaller key queued)
	Dispatches     uint64 // tasks moved from the queues to a CPU
	Records        uint64 // invocation records sent
	RecordsLost    uint64 // records lost in the kernel: ring buffer full
	Classified     uint64 // classifications that found a function
	RecordsDropped uint64 // records dropped in user space: Records channel full

	// Warm invocations (package invocation): boundaries marked by worker threads.
	Classed         uint64 // insertions ordered by a class entry (the class of a marked invocation)
	MarkedStarts    uint64 // starts honoured (each ends in a record, or is in progress)
	NestedStarts    uint64 // starts marked inside an invocation: ignored
	UnmatchedEnds   uint64 // ends marked outside an invocation: ignored
	MarksLost       uint64 // marks overwritten in an area before the scheduler read them
	BadAreas        uint64 // areas not the thread's (magic, tid, size, unreadable) or registered again
	UnknownMarks    uint64 // marks of threads of no function: ignored
	NotCurrentStops uint64 // stops of a marking thread on another's behalf: its area read at the next
}

// counterFields maps the scheduler's counters (enum counter, generated) to Counters.
func counterFields(c *Counters) map[alpsCounter]*uint64 {
	return map[alpsCounter]*uint64{
		alpsCounterCNT_ENQUEUE: &c.Enqueues, alpsCounterCNT_DIRECT: &c.Direct, alpsCounterCNT_RANKED: &c.Ranked,
		alpsCounterCNT_DEFAULT: &c.Default, alpsCounterCNT_STALE: &c.Stale, alpsCounterCNT_AGED: &c.Aged,
		alpsCounterCNT_PREEMPT: &c.Preempted, alpsCounterCNT_KEPT: &c.Kept, alpsCounterCNT_DISPATCH: &c.Dispatches,
		alpsCounterCNT_RECORD: &c.Records, alpsCounterCNT_RECORD_LOST: &c.RecordsLost, alpsCounterCNT_CLASSIFY: &c.Classified,
		alpsCounterCNT_CLASSED: &c.Classed, alpsCounterCNT_INV_START: &c.MarkedStarts, alpsCounterCNT_INV_NESTED: &c.NestedStarts,
		alpsCounterCNT_INV_UNMATCHED: &c.UnmatchedEnds, alpsCounterCNT_INV_LOST: &c.MarksLost, alpsCounterCNT_INV_BAD: &c.BadAreas,
		alpsCounterCNT_INV_UNKNOWN: &c.UnknownMarks, alpsCounterCNT_INV_NOTCUR: &c.NotCurrentStops,
	}
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
