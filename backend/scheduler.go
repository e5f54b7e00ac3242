package backend

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"
	"github.com/cilium/ebpf/rlimit"
	"golang.org/x/sys/unix"

	"github.com/alps-sched/alps/backend/internal/classify"
	"github.com/alps-sched/alps/policy"
)

//go:generate bash bpf/generate.sh

// objects are the generated objects plus the .data and .rodata section maps, which Load
// pins (the state alps-frontend status reads).
type objects struct {
	alpsObjects
	Data   *ebpf.Map `ebpf:".data"`
	Rodata *ebpf.Map `ebpf:".rodata"`
}

// The loader writes the scheduler's globals (.data, memory-mapped) one variable at a time
// with ebpf.Variable.Set: an aligned copy of 4 or 8 bytes, never the whole section, so a
// heartbeat never rewrites the live half and the kernel never reads half a table switch.

// Scheduler is the loaded alps sched_ext scheduler. Its methods are safe for concurrent
// use.
type Scheduler struct {
	objs    objects
	rd      *ringbuf.Reader
	records chan policy.Record
	latency atomic.Int64  // Options.RecordLatency in ns; SetRecordLatency changes it
	relax   chan struct{} // SetRecordLatency ends the reader's current latency sleep
	stop    chan struct{} // closed by Close: ends the reader's latency sleep
	done    chan struct{}
	dropped atomic.Uint64
	timings Timings
	pinned  []string
	tracing []link.Link // the exec/exit/free tracepoint programs

	mu      sync.Mutex
	knobs   policy.Knobs      // of the live table
	liveFns []uint32          // function ids of the live half of the policy array
	idleFns []uint32          // function ids still valid in the idle half
	liveCls []policy.ClassKey // class entries of the live half
	idleCls []policy.ClassKey // and of the idle half
	link    link.Link
	exit    *policy.ExitInfo
	closed  bool
	wg      sync.WaitGroup
}

// Load checks that the kernel can run the scheduler, then loads it (without attaching).
// Errors are ErrNoBTF, ErrNoSchedExt, ErrOldSchedExt, ErrNotRoot, or a wrapped
// load/verifier error.
func Load(opts Options) (*Scheduler, error) {
	if err := opts.Knobs.Validate(); err != nil {
		return nil, fmt.Errorf("alps knobs: %w", err)
	}
	if err := checkKnobs(opts.Knobs); err != nil {
		return nil, fmt.Errorf("alps knobs: %w", err)
	}
	if opts.HeartbeatStale < 0 {
		return nil, fmt.Errorf("alps heartbeat bound %v is negative", opts.HeartbeatStale)
	}
	if err := checkKernel(); err != nil {
		return nil, err
	}
	if err := rlimit.RemoveMemlock(); err != nil {
		return nil, fmt.Errorf("raising the memlock limit: %w", err)
	}
	s := &Scheduler{done: make(chan struct{}), stop: make(chan struct{}), relax: make(chan struct{}, 1)}
	s.latency.Store(int64(opts.RecordLatency))
	start := time.Now()
	spec, err := loadAlps()
	if err != nil {
		return nil, fmt.Errorf("reading the alps BPF object: %w", err)
	}
	if err := spec.Variables["heartbeat_stale"].Set(uint64(opts.HeartbeatStale)); err != nil {
		return nil, fmt.Errorf("setting the heartbeat bound: %w", err)
	}
	if err := spec.LoadAndAssign(&s.objs, nil); err != nil {
		var ve *ebpf.VerifierError
		if errors.As(err, &ve) {
			return nil, fmt.Errorf("the kernel rejected the alps BPF scheduler: %v", ve)
		}
		return nil, fmt.Errorf("loading the alps BPF scheduler: %w", err)
	}
	s.timings.Load = time.Since(start)
	if err := s.setVar(s.objs.Heartbeat, monotonicNow()); err != nil {
		s.objs.Close()
		return nil, err
	}
	if err := s.install(&policy.Table{Knobs: opts.Knobs}); err != nil {
		s.objs.Close()
		return nil, err
	}
	rd, err := ringbuf.NewReader(s.objs.Records)
	if err != nil {
		s.objs.Close()
		return nil, fmt.Errorf("opening the record ring buffer: %w", err)
	}
	s.rd = rd
	n := opts.RecordBuffer
	if n <= 0 {
		n = 4096
	}
	s.records = make(chan policy.Record, n)
	for _, p := range []*ebpf.Program{s.objs.AlpsExec, s.objs.AlpsProcExit, s.objs.AlpsProcFree} {
		l, err := link.AttachTracing(link.TracingOptions{Program: p})
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("attaching the alps tracepoint %v: %w", p, err)
		}
		s.tracing = append(s.tracing, l)
	}
	if opts.PinPath != "" {
		if err := s.pin(opts.PinPath); err != nil {
			s.Close()
			return nil, err
		}
	}
	if opts.InvocationMap != "" {
		if err := s.pinInvocationMap(opts.InvocationMap, opts.InvocationGroup); err != nil {
			s.Close()
			return nil, err
		}
	}
	s.wg.Add(1)
	go s.readRecords()
	return s, nil
}

// checkKernel tells a kernel without BTF, without sched_ext or with an older sched_ext, or
// a user without root, apart.
func checkKernel() error {
	if _, err := os.Stat("/sys/kernel/btf/vmlinux"); err != nil {
		return ErrNoBTF
	}
	spec, err := btf.LoadKernelSpec()
	if err != nil {
		return ErrNoBTF
	}
	var ops *btf.Struct
	if spec.TypeByName("sched_ext_ops", &ops) != nil {
		return ErrNoSchedExt
	}
	for _, name := range requiredKfuncs {
		if !hasFunc(spec, name) {
			return fmt.Errorf("%w: it has no kfunc %s", ErrOldSchedExt, name)
		}
	}
	if os.Geteuid() != 0 {
		return ErrNotRoot
	}
	return nil
}

// hasFunc reports whether the kernel has a function named exactly name.
func hasFunc(spec *btf.Spec, name string) bool {
	types, _ := spec.AnyTypesByName(name)
	for _, t := range types {
		if f, ok := t.(*btf.Func); ok && f.Name == name {
			return true
		}
	}
	return false
}

func monotonicNow() uint64 {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return uint64(ts.Nano())
}

// Timings returns how long Load and Attach took.
func (s *Scheduler) Timings() Timings {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.timings
}

// Attach enables the scheduler: from now on the kernel schedules every task with it.
func (s *Scheduler) Attach() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.link != nil {
		return nil
	}
	if state, ops, err := State(); err == nil && state == "enabled" {
		return fmt.Errorf("%w: %s", ErrBusy, ops)
	}
	start := time.Now()
	l, err := link.AttachStructOps(link.StructOpsOptions{Map: s.objs.AlpsOps})
	if err != nil {
		if errors.Is(err, os.ErrExist) || errors.Is(err, unix.EBUSY) {
			return fmt.Errorf("%w (%v)", ErrBusy, err)
		}
		return fmt.Errorf("attaching the alps scheduler: %w", err)
	}
	s.timings.Attach = time.Since(start)
	s.link = l
	return nil
}

// Detach disables the scheduler (tasks return to the kernel's default scheduler) and
// waits up to a second for its exit info. The Scheduler cannot be attached again.
func (s *Scheduler) Detach() error {
	s.mu.Lock()
	l := s.link
	s.link = nil
	s.mu.Unlock()
	if l == nil {
		return nil
	}
	if err := l.Close(); err != nil {
		return fmt.Errorf("detaching the alps scheduler: %w", err)
	}
	select {
	case <-s.done:
	case <-time.After(time.Second):
	}
	return nil
}

// Close detaches the scheduler, stops the records channel and frees everything.
func (s *Scheduler) Close() error {
	err := s.Detach()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return err
	}
	s.closed = true
	s.mu.Unlock()
	if s.stop != nil {
		close(s.stop)
	}
	if s.rd != nil {
		s.rd.Close()
	}
	s.wg.Wait()
	for _, l := range s.tracing {
		l.Close()
	}
	for _, p := range s.pinned {
		os.Remove(p)
	}
	if e := s.objs.Close(); e != nil && err == nil {
		err = fmt.Errorf("closing the alps BPF objects: %w", e)
	}
	for _, m := range []*ebpf.Map{s.objs.Data, s.objs.Rodata} {
		if m != nil {
			m.Close()
		}
	}
	return err
}

// SetPolicy installs a policy table (and its knobs) as one switch: the new table is written
// to the idle half of the double buffer, then the live half flips, so the kernel never sees
// a mix of two tables. Functions not in t are unranked. A nil t clears every entry (plain
// fair vtime) and keeps the live knobs. A table the scheduler cannot apply is refused
// (policy.Table.Validate).
func (s *Scheduler) SetPolicy(t *policy.Table) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if t == nil {
		t = &policy.Table{Knobs: s.knobs}
	}
	if err := t.Validate(); err != nil {
		return err
	}
	return s.install(t)
}

// install writes t to the idle half and flips; s.mu is held or s is not yet shared.
func (s *Scheduler) install(t *policy.Table) error {
	if err := checkKnobs(t.Knobs); err != nil {
		return err
	}
	var gen uint32
	if err := s.objs.Gen.Get(&gen); err != nil {
		return fmt.Errorf("reading the live table: %w", err)
	}
	next := (gen + 1) & 1
	raw := tableOf(t)
	if err := s.objs.Tables.Update(next, &raw, ebpf.UpdateAny); err != nil {
		return fmt.Errorf("writing the policy knobs: %w", err)
	}
	base := next * policy.MaxFunctions
	keys := make([]uint32, 0, len(t.Entries))
	vals := make([]alpsEntry, 0, cap(keys))
	for fn, e := range t.Entries {
		keys = append(keys, base+fn)
		vals = append(vals, entryOf(e))
	}
	if err := s.clearIdle(base, t.Entries); err != nil {
		return err
	}
	if len(keys) > 0 {
		if _, err := s.objs.Policy.BatchUpdate(keys, vals, nil); err != nil {
			return fmt.Errorf("writing the policy table: %w", err)
		}
	}
	if err := s.installClasses(next, t.Classes); err != nil {
		return err
	}
	if err := s.setVar(s.objs.Gen, next); err != nil {
		return err
	}
	s.idleCls = s.liveCls
	s.liveCls = make([]policy.ClassKey, 0, len(t.Classes))
	for k := range t.Classes {
		s.liveCls = append(s.liveCls, k)
	}
	s.knobs = t.Knobs
	s.idleFns = s.liveFns
	s.liveFns = make([]uint32, 0, len(t.Entries))
	for fn := range t.Entries {
		s.liveFns = append(s.liveFns, fn)
	}
	return nil
}

// checkKnobs refuses knobs the kernel cannot honour: a starvation guard slower than its
// watchdog.
func checkKnobs(k policy.Knobs) error {
	if k.MaxWait > int64(MaxWaitLimit) {
		return fmt.Errorf("policy.max_wait_ms: at most %d in the kernel (its watchdog ejects a scheduler that leaves a task waiting %v), got %g",
			MaxWaitLimit.Milliseconds(), watchdogTimeout, float64(k.MaxWait)/1e6)
	}
	return nil
}

// tableOf is the kernel header of t: its knobs and default entry.
func tableOf(t *policy.Table) alpsTable {
	k := t.Knobs
	raw := alpsTable{Knobs: alpsKnobs{WakeLag: uint64(k.WakeLag), DefaultSlice: uint64(k.DefaultSlice), MaxWait: uint64(k.MaxWait)}}
	if k.Preempt {
		raw.Knobs.Preempt = 1
	}
	if t.HasDefault {
		raw.Dflt = entryOf(t.Default)
	}
	return raw
}

// tableFrom is the knobs and default entry of the kernel header r.
func tableFrom(r alpsTable) (k policy.Knobs, dflt policy.Entry, hasDefault bool) {
	k = policy.Knobs{WakeLag: int64(r.Knobs.WakeLag), DefaultSlice: int64(r.Knobs.DefaultSlice),
		MaxWait: int64(r.Knobs.MaxWait), Preempt: r.Knobs.Preempt != 0}
	if r.Dflt.Valid != 0 {
		dflt, hasDefault = entryFrom(r.Dflt), true
	}
	return k, dflt, hasDefault
}

// entryOf is the kernel row of e.
func entryOf(e policy.Entry) alpsEntry {
	r := alpsEntry{Steps: alpsAlpsSteps{Slice: uint64(e.Slice), Rank: e.Rank, Nsteps: e.NSteps}, Valid: 1}
	for i := range int(min(e.NSteps, policy.MaxSteps)) {
		r.Steps.StepAt[i], r.Steps.StepRank[i] = uint64(e.StepAt[i]), e.StepRank[i]
	}
	return r
}

// entryFrom is the policy entry of kernel row r.
func entryFrom(r alpsEntry) policy.Entry {
	e := policy.Entry{Rank: r.Steps.Rank, Slice: int64(r.Steps.Slice), NSteps: min(r.Steps.Nsteps, policy.MaxSteps)}
	for i := range int(e.NSteps) {
		e.StepAt[i], e.StepRank[i] = int64(r.Steps.StepAt[i]), r.Steps.StepRank[i]
	}
	return e
}

// classKey is the class_policy key of k in half g (CLASS_KEY in alps.bpf.c).
func classKey(g uint32, k policy.ClassKey) uint64 {
	return uint64(g&1)<<48 | uint64(k.Function)<<32 | uint64(k.Class)
}

// classKeyFrom is the class and half of a class_policy key.
func classKeyFrom(key uint64) (k policy.ClassKey, g uint32) {
	return policy.ClassKey{Function: uint32(key>>32) & 0xffff, Class: uint32(key)}, uint32(key>>48) & 1
}

// installClasses writes the class entries of the idle half g: deletes those the table
// before last left and classes does not set, then writes classes.
func (s *Scheduler) installClasses(g uint32, classes map[policy.ClassKey]policy.Entry) error {
	for _, k := range s.idleCls {
		if _, ok := classes[k]; !ok {
			if err := s.objs.ClassPolicy.Delete(classKey(g, k)); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
				return fmt.Errorf("clearing the class entries: %w", err)
			}
		}
	}
	if len(classes) > maxClassEntries {
		return fmt.Errorf("policy table: %d class entries, more than the scheduler's %d", len(classes), maxClassEntries)
	}
	if len(classes) == 0 {
		return nil
	}
	keys := make([]uint64, 0, len(classes))
	vals := make([]alpsEntry, 0, len(classes))
	for k, e := range classes {
		keys = append(keys, classKey(g, k))
		vals = append(vals, entryOf(e))
	}
	if _, err := s.objs.ClassPolicy.BatchUpdate(keys, vals, nil); err != nil {
		return fmt.Errorf("writing the class entries: %w", err)
	}
	return nil
}

// maxClassEntries is the most class entries one table may have (half the kernel's map).
const maxClassEntries = 16384

// InvocationAreas is the registration map of warm worker threads (package invocation's
// NewRegistry takes it), for a runtime in this process.
func (s *Scheduler) InvocationAreas() *ebpf.Map { return s.objs.InvAreas }

// pinInvocationMap pins the registration map at path, mode 0600, or 0660 with group gid when
// gid >= 0.
func (s *Scheduler) pinInvocationMap(path string, gid int) error {
	os.Remove(path) // a stale pin of a previous run
	if err := s.objs.InvAreas.Pin(path); err != nil {
		return fmt.Errorf("pinning the invocation map %s: %w", path, err)
	}
	s.pinned = append(s.pinned, path)
	mode := os.FileMode(0o600)
	if gid >= 0 {
		if err := os.Chown(path, -1, gid); err != nil {
			return fmt.Errorf("pinning the invocation map %s: %w", path, err)
		}
		mode = 0o660
	}
	if err := os.Chmod(path, mode); err != nil {
		return fmt.Errorf("pinning the invocation map %s: %w", path, err)
	}
	return nil
}

// clearIdle invalidates the rows of the idle half (at base) that the table before last
// left valid and the new table does not set.
func (s *Scheduler) clearIdle(base uint32, entries map[uint32]policy.Entry) error {
	var keys []uint32
	for _, fn := range s.idleFns {
		if _, ok := entries[fn]; !ok {
			keys = append(keys, base+fn)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	if _, err := s.objs.Policy.BatchUpdate(keys, make([]alpsEntry, len(keys)), nil); err != nil {
		return fmt.Errorf("clearing the policy table: %w", err)
	}
	return nil
}

// Heartbeat tells the scheduler the frontend is alive. Without one for
// Options.HeartbeatStale, the table is ignored and ordering is plain fair vtime.
func (s *Scheduler) Heartbeat() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	return s.setVar(s.objs.Heartbeat, monotonicNow())
}

// setVar writes one of the scheduler's globals.
func (s *Scheduler) setVar(v *ebpf.Variable, value any) error {
	if err := v.Set(value); err != nil {
		return fmt.Errorf("writing the alps global %s: %w", v, err)
	}
	return nil
}

// SetCgroupFunction classifies the tasks of a cgroup (by its cgroup v2 id, the inode
// number of its directory; see CgroupID) as function fn. Tasks are classified when they
// fork, exec or change cgroup, and existing tasks at their next enqueue.
func (s *Scheduler) SetCgroupFunction(cgroupID uint64, fn uint32) error {
	if fn >= policy.MaxFunctions {
		return fmt.Errorf("cgroup %d: function id %d is not below %d", cgroupID, fn, policy.MaxFunctions)
	}
	return s.classifierChange(func() error { return s.objs.CgroupFn.Update(cgroupID, fn, ebpf.UpdateAny) },
		"classifying cgroup %d", cgroupID)
}

// DeleteCgroupFunction removes a cgroup's classification.
func (s *Scheduler) DeleteCgroupFunction(cgroupID uint64) error {
	return s.classifierChange(func() error { return classify.DeleteKey(s.objs.CgroupFn, cgroupID) },
		"unclassifying cgroup %d", cgroupID)
}

// SetCommFunction classifies processes whose name (comm, at most 15 bytes: the base
// name of the executable) is comm as function fn.
func (s *Scheduler) SetCommFunction(comm string, fn uint32) error {
	key, err := classify.CommKey(comm)
	if err != nil {
		return err
	}
	if fn >= policy.MaxFunctions {
		return fmt.Errorf("process name %q: function id %d is not below %d", comm, fn, policy.MaxFunctions)
	}
	return s.classifierChange(func() error { return s.objs.CommFn.Update(key, fn, ebpf.UpdateAny) },
		"classifying process name %q", comm)
}

// DeleteCommFunction removes a process name's classification.
func (s *Scheduler) DeleteCommFunction(comm string) error {
	key, err := classify.CommKey(comm)
	if err != nil {
		return err
	}
	return s.classifierChange(func() error { return classify.DeleteKey(s.objs.CommFn, key) },
		"unclassifying process name %q", comm)
}

// classifierChange applies a classifier map change and bumps the classifier generation
// so that running tasks are classified again at their next enqueue.
func (s *Scheduler) classifierChange(change func() error, format string, args ...any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if err := change(); err != nil {
		return fmt.Errorf(format+": %w", append(args, err)...)
	}
	var g uint32
	if err := s.objs.ClsGen.Get(&g); err != nil {
		return fmt.Errorf("reading the classifier generation: %w", err)
	}
	return s.setVar(s.objs.ClsGen, g+1)
}

// CgroupID returns the cgroup v2 id of a cgroup directory (e.g. /sys/fs/cgroup/fn7): the
// inode number of the directory, which the kernel's BPF helpers report as its id.
func CgroupID(dir string) (uint64, error) {
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		return 0, fmt.Errorf("cgroup %s: %w", dir, err)
	}
	return st.Ino, nil
}

// InjectFault is a debug knob for tests: when the scheduler's enqueue count (since
// load) reaches n, it calls scx_bpf_error, which ejects it with the message
// "alps: injected fault after n enqueues". 0 turns it off.
func (s *Scheduler) InjectFault(n uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	return s.setVar(s.objs.FaultAfter, n)
}

// Records returns the channel of finished invocations. It is closed by Close.
func (s *Scheduler) Records() <-chan policy.Record { return s.records }

// Dropped returns how many records found the Records channel full.
func (s *Scheduler) Dropped() uint64 { return s.dropped.Load() }

// Done is closed when the scheduler stopped: ejected by the kernel, detached or closed.
func (s *Scheduler) Done() <-chan struct{} { return s.done }

// ExitInfo returns why the scheduler stopped; ok is false while it has not.
func (s *Scheduler) ExitInfo() (info policy.ExitInfo, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.exit == nil {
		return policy.ExitInfo{}, false
	}
	return *s.exit, true
}

// Wait blocks until the scheduler stops or ctx ends, and returns its exit info.
func (s *Scheduler) Wait(ctx context.Context) (policy.ExitInfo, error) {
	select {
	case <-s.done:
		info, _ := s.ExitInfo()
		return info, nil
	case <-ctx.Done():
		return policy.ExitInfo{}, ctx.Err()
	}
}

// VirtualNow returns the scheduler's global virtual time (vnow of ORDERING.md), ns: the
// fairness base within a level.
func (s *Scheduler) VirtualNow() (int64, error) {
	var v uint64
	if err := s.objs.VtimeNow.Get(&v); err != nil {
		return 0, fmt.Errorf("reading vnow: %w", err)
	}
	return int64(v), nil
}

// Counters returns the scheduler's event counts.
func (s *Scheduler) Counters() (Counters, error) {
	c, err := sumCounters(s.objs.Counters)
	c.RecordsDropped = s.dropped.Load()
	return c, err
}

// SetRecordLatency changes Options.RecordLatency (a daemon whose update interval was
// reloaded) and ends the reader's current sleep, so a shorter latency applies at once.
func (s *Scheduler) SetRecordLatency(d time.Duration) {
	s.latency.Store(int64(max(d, 0)))
	select {
	case s.relax <- struct{}{}:
	default: // a wake-up is already pending
	}
}

// readRecords forwards ring buffer records until Close.
func (s *Scheduler) readRecords() {
	defer s.wg.Done()
	defer close(s.records)
	var pause *time.Timer
	for {
		if d := time.Duration(s.latency.Load()); d > 0 && s.rd.AvailableBytes() == 0 {
			// Drained: let records gather for a period rather than wake up for each.
			if pause == nil {
				pause = time.NewTimer(d)
			} else {
				pause.Reset(d)
			}
			select {
			case <-pause.C:
			case <-s.relax:
			case <-s.stop:
			}
		}
		rec, err := s.rd.Read()
		if err != nil {
			if errors.Is(err, ringbuf.ErrClosed) {
				s.markDone(nil)
				return
			}
			continue
		}
		raw, err := classify.Decode[alpsRecord](rec.RawSample)
		if err != nil {
			continue
		}
		switch raw.Kind {
		case alpsRecordKindREC_EXIT:
			s.markDone(s.readExitInfo())
		case alpsRecordKindREC_INVOCATION:
			select {
			case s.records <- recordOf(raw):
			default:
				s.dropped.Add(1)
			}
		}
	}
}

// recordOf is the policy record of the kernel's record r.
func recordOf(r alpsRecord) policy.Record {
	return policy.Record{Function: r.Fn, PID: r.Pid, Class: r.Class, Start: int64(r.Start), End: int64(r.End), CPU: int64(r.Cpu),
		RunDelay: int64(r.RunDelay), Nvcsw: r.Nvcsw, Nivcsw: r.Nivcsw}
}

func (s *Scheduler) readExitInfo() *policy.ExitInfo {
	var raw alpsExitRec
	if err := s.objs.ExitInfo.Lookup(uint32(0), &raw); err != nil {
		return &policy.ExitInfo{Reason: fmt.Sprintf("exit info unreadable: %v", err)}
	}
	info := &policy.ExitInfo{Kind: int64(raw.Kind), Code: raw.Code, Reason: cString(raw.Reason[:]), Message: cString(raw.Msg[:])}
	var dump alpsDump
	if err := s.objs.ExitDump.Lookup(uint32(0), &dump); err == nil {
		info.Dump = cString(dump.Text[:])
	}
	return info
}

// cString is the NUL-terminated string in b.
func cString[T int8 | byte](b []T) string {
	out := make([]byte, 0, len(b))
	for _, c := range b {
		if c == 0 {
			break
		}
		out = append(out, byte(c))
	}
	return string(out)
}

func (s *Scheduler) markDone(info *policy.ExitInfo) {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.done:
		return
	default:
	}
	if info != nil {
		s.exit = info
	}
	close(s.done)
}

// pin pins the maps tools may want under dir, files 0600.
func (s *Scheduler) pin(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("pin directory %s: %w", dir, err)
	}
	maps := map[string]*ebpf.Map{PinPolicy: s.objs.Policy, PinTables: s.objs.Tables, PinState: s.objs.Data, PinConfig: s.objs.Rodata,
		PinCgroupFn: s.objs.CgroupFn, PinCommFn: s.objs.CommFn, PinCounters: s.objs.Counters, PinExitInfo: s.objs.ExitInfo,
		PinClasses: s.objs.ClassPolicy}
	for name, m := range maps {
		p := filepath.Join(dir, name)
		os.Remove(p) // a stale pin of a previous run
		if err := m.Pin(p); err != nil {
			return fmt.Errorf("pinning %s: %w", p, err)
		}
		s.pinned = append(s.pinned, p)
		if err := os.Chmod(p, 0o600); err != nil {
			return fmt.Errorf("pinning %s: %w", p, err)
		}
	}
	return nil
}

// ProgramCost is what one of the scheduler's BPF programs costs the kernel.
type ProgramCost struct {
	Name string // the sched_ext op, e.g. "enqueue"
	// Insns is the program's length after the verifier rewrote it (xlated instructions,
	// its subprograms and inlined helpers included); a run executes at most these once
	// each, plus its loops.
	Insns int
	// VerifiedInsns is how many instructions the verifier processed to prove the program
	// safe, over all the paths it explored (the "processed insns" of its log).
	VerifiedInsns uint32
	// Runs and RunTime count its runs and their total time, only while the kernel's BPF
	// statistics are on (ebpf.EnableStats, or sysctl kernel.bpf_stats_enabled=1).
	Runs    uint64
	RunTime time.Duration
}

// Costs returns the cost of the scheduler's ops that run per scheduling event (select_cpu,
// enqueue, dispatch, running, stopping) and of init, whose program holds the starvation
// guard's timer callback (the kernel does not count the callback's runs).
func (s *Scheduler) Costs() ([]ProgramCost, error) {
	progs := []struct {
		name string
		p    *ebpf.Program
	}{{"select_cpu", s.objs.AlpsSelectCpu}, {"enqueue", s.objs.AlpsEnqueue}, {"dispatch", s.objs.AlpsDispatch},
		{"running", s.objs.AlpsRunning}, {"stopping", s.objs.AlpsStopping}, {"init", s.objs.AlpsInit}}
	out := make([]ProgramCost, 0, len(progs))
	for _, pr := range progs {
		info, err := pr.p.Info()
		if err != nil {
			return nil, fmt.Errorf("reading the info of the alps program %s: %w", pr.name, err)
		}
		c := ProgramCost{Name: pr.name}
		if n, err := info.TranslatedSize(); err == nil {
			c.Insns = n / asm.InstructionSize
		}
		c.VerifiedInsns, _ = info.VerifiedInstructions()
		st, err := pr.p.Stats()
		if err != nil {
			return nil, fmt.Errorf("reading the run statistics of the alps program %s: %w", pr.name, err)
		}
		c.Runs, c.RunTime = st.RunCount, st.Runtime
		out = append(out, c)
	}
	return out, nil
}
