package backend

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"
	"github.com/cilium/ebpf/rlimit"
	"golang.org/x/sys/unix"

	"github.com/alps-sched/alps/backend/internal/classify"
)

//go:generate bash bpf/generate.sh

// The C structs of bpf/alps.bpf.c, field for field (struct record of bpf/classify.h is
// classify.Record).
type (
	rawKnobs struct {
		RankStep, MaxPenalty, WakeLag, DefaultSlice, HeartbeatStale, Heartbeat uint64
		Gen, ClsGen                                                            uint32
		FaultAfter                                                             uint64
	}
	rawPolicy struct {
		Rank, Valid uint32
		Slice       uint64
	}
	rawExitInfo struct {
		Kind   int32
		_      uint32
		Code   int64
		Reason [128]byte
		Msg    [1024]byte
	}
)

// Scheduler is the loaded alps sched_ext scheduler. Its methods are safe for
// concurrent use.
type Scheduler struct {
	objs    alpsObjects
	rd      *ringbuf.Reader
	records chan Record
	latency atomic.Int64  // Options.RecordLatency in ns; SetRecordLatency changes it
	relax   chan struct{} // SetRecordLatency ends the reader's current latency sleep
	stop    chan struct{} // closed by Close: ends the reader's latency sleep
	done    chan struct{}
	dropped atomic.Uint64
	timings Timings
	pinned  []string
	tracing []link.Link // the exec/exit/free tracepoint programs

	mu      sync.Mutex
	knobs   rawKnobs
	liveFns []uint32 // function ids of the live half of the policy array
	idleFns []uint32 // function ids still valid in the idle half
	link    link.Link
	exit    *ExitInfo
	closed  bool
	wg      sync.WaitGroup
}

// Load checks that the kernel can run the scheduler, then loads it (without attaching).
// Errors are ErrNoBTF, ErrNoSchedExt, ErrNotRoot, or a wrapped load/verifier error.
func Load(opts Options) (*Scheduler, error) {
	if err := checkKernel(); err != nil {
		return nil, err
	}
	knobs := opts.Knobs
	if knobs == (Knobs{}) {
		knobs = DefaultKnobs()
	}
	if err := knobs.Validate(); err != nil {
		return nil, fmt.Errorf("alps knobs: %w", err)
	}
	if err := rlimit.RemoveMemlock(); err != nil {
		return nil, fmt.Errorf("raising the memlock limit: %w", err)
	}
	s := &Scheduler{done: make(chan struct{}), stop: make(chan struct{}), relax: make(chan struct{}, 1)}
	s.latency.Store(int64(opts.RecordLatency))
	start := time.Now()
	if err := loadAlpsObjects(&s.objs, nil); err != nil {
		var ve *ebpf.VerifierError
		if errors.As(err, &ve) {
			return nil, fmt.Errorf("the kernel rejected the alps BPF scheduler: %v", ve)
		}
		return nil, fmt.Errorf("loading the alps BPF scheduler: %w", err)
	}
	s.timings.Load = time.Since(start)
	s.knobs = rawKnobs{Heartbeat: monotonicNow()}
	setKnobs(&s.knobs, knobs)
	if err := s.writeKnobs(); err != nil {
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
	s.records = make(chan Record, n)
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
	s.wg.Add(1)
	go s.readRecords()
	return s, nil
}

// checkKernel tells a kernel without BTF or sched_ext, or a user without root, apart.
func checkKernel() error {
	if _, err := os.Stat("/sys/kernel/btf/vmlinux"); err != nil {
		return ErrNoBTF
	}
	if _, err := os.Stat("/sys/kernel/sched_ext"); err != nil {
		spec, err := btf.LoadKernelSpec()
		if err != nil {
			return ErrNoBTF
		}
		var ops *btf.Struct
		if spec.TypeByName("sched_ext_ops", &ops) != nil {
			return ErrNoSchedExt
		}
	}
	if os.Geteuid() != 0 {
		return ErrNotRoot
	}
	return nil
}

func monotonicNow() uint64 {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return uint64(ts.Nano())
}

func setKnobs(r *rawKnobs, k Knobs) {
	r.RankStep = uint64(k.RankStep)
	r.MaxPenalty = uint64(k.MaxPenalty)
	r.WakeLag = uint64(k.WakeLag)
	r.DefaultSlice = uint64(k.DefaultSlice)
	r.HeartbeatStale = uint64(k.HeartbeatStale)
}

// writeKnobs installs s.knobs; s.mu is held or s is not yet shared.
func (s *Scheduler) writeKnobs() error {
	if err := s.objs.Knobs.Update(uint32(0), &s.knobs, ebpf.UpdateAny); err != nil {
		return fmt.Errorf("writing the alps knobs: %w", err)
	}
	return nil
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
	return err
}

// SetPolicy installs a new policy table and knobs as one switch: the new table is
// written to the idle half of the policy array, then the knobs flip the live half, so
// the kernel never sees a mix of two tables. Functions not in table are unranked.
func (s *Scheduler) SetPolicy(table map[uint32]Entry, k Knobs) error {
	if err := k.Validate(); err != nil {
		return fmt.Errorf("alps knobs: %w", err)
	}
	for fn, e := range table {
		if fn >= MaxFunctions {
			return fmt.Errorf("policy: function id %d is not below %d", fn, MaxFunctions)
		}
		if e.Slice < 0 {
			return fmt.Errorf("policy: function %d has a negative slice %v", fn, e.Slice)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	next := (s.knobs.Gen + 1) & 1
	base := next * MaxFunctions
	keys := make([]uint32, 0, len(table))
	vals := make([]rawPolicy, 0, cap(keys))
	for fn, e := range table {
		keys = append(keys, base+fn)
		vals = append(vals, rawPolicy{Rank: e.Rank, Valid: 1, Slice: uint64(e.Slice)})
	}
	if err := s.clearIdle(base, table); err != nil {
		return err
	}
	if len(keys) > 0 {
		if _, err := s.objs.Policy.BatchUpdate(keys, vals, nil); err != nil {
			return fmt.Errorf("writing the policy table: %w", err)
		}
	}
	old := s.knobs
	s.knobs.Gen = next
	setKnobs(&s.knobs, k)
	if err := s.writeKnobs(); err != nil {
		s.knobs = old
		return err
	}
	s.idleFns = s.liveFns
	s.liveFns = make([]uint32, 0, len(table))
	for fn := range table {
		s.liveFns = append(s.liveFns, fn)
	}
	return nil
}

// clearIdle invalidates the rows of the idle half (at base) that the table before last
// left valid and the new table does not set.
func (s *Scheduler) clearIdle(base uint32, table map[uint32]Entry) error {
	var keys []uint32
	for _, fn := range s.idleFns {
		if _, ok := table[fn]; !ok {
			keys = append(keys, base+fn)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	if _, err := s.objs.Policy.BatchUpdate(keys, make([]rawPolicy, len(keys)), nil); err != nil {
		return fmt.Errorf("clearing the policy table: %w", err)
	}
	return nil
}

// Heartbeat tells the scheduler the frontend is alive. Without one for
// Knobs.HeartbeatStale, ranks are ignored and ordering is plain fair vtime.
func (s *Scheduler) Heartbeat() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	s.knobs.Heartbeat = monotonicNow()
	return s.writeKnobs()
}

// SetCgroupFunction classifies the tasks of a cgroup (by its cgroup v2 id, the inode
// number of its directory; see CgroupID) as function fn. Tasks are classified when they
// fork, exec or change cgroup, and existing tasks at their next enqueue.
func (s *Scheduler) SetCgroupFunction(cgroupID uint64, fn uint32) error {
	if fn >= MaxFunctions {
		return fmt.Errorf("cgroup %d: function id %d is not below %d", cgroupID, fn, MaxFunctions)
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
	if fn >= MaxFunctions {
		return fmt.Errorf("process name %q: function id %d is not below %d", comm, fn, MaxFunctions)
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
	s.knobs.ClsGen++
	return s.writeKnobs()
}

// CgroupID returns the cgroup v2 id of a cgroup directory (e.g. /sys/fs/cgroup/fn7).
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
	s.knobs.FaultAfter = n
	return s.writeKnobs()
}

// Records returns the channel of finished invocations. It is closed by Close.
func (s *Scheduler) Records() <-chan Record { return s.records }

// Dropped returns how many records found the Records channel full.
func (s *Scheduler) Dropped() uint64 { return s.dropped.Load() }

// Done is closed when the scheduler stopped: ejected by the kernel, detached or closed.
func (s *Scheduler) Done() <-chan struct{} { return s.done }

// ExitInfo returns why the scheduler stopped; ok is false while it has not.
func (s *Scheduler) ExitInfo() (info ExitInfo, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.exit == nil {
		return ExitInfo{}, false
	}
	return *s.exit, true
}

// Wait blocks until the scheduler stops or ctx ends, and returns its exit info.
func (s *Scheduler) Wait(ctx context.Context) (ExitInfo, error) {
	select {
	case <-s.done:
		info, _ := s.ExitInfo()
		return info, nil
	case <-ctx.Done():
		return ExitInfo{}, ctx.Err()
	}
}

// VirtualNow returns the scheduler's global virtual time (vnow of ORDERING.md), ns. The
// starvation bound is stated in it: a queued task runs before vnow advances by
// MaxPenalty + WakeLag past its enqueue.
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
		raw, err := classify.DecodeRecord(rec.RawSample)
		if err != nil {
			continue
		}
		switch raw.Kind {
		case classify.RecExit:
			s.markDone(s.readExitInfo())
		case classify.RecInvocation:
			r := Record{Function: raw.Fn, PID: raw.PID, Start: int64(raw.Start), End: int64(raw.End),
				CPU: int64(raw.CPU), RunDelay: int64(raw.RunDelay), Nvcsw: raw.Nvcsw, Nivcsw: raw.Nivcsw}
			select {
			case s.records <- r:
			default:
				s.dropped.Add(1)
			}
		}
	}
}

func (s *Scheduler) readExitInfo() *ExitInfo {
	var raw rawExitInfo
	if err := s.objs.ExitInfo.Lookup(uint32(0), &raw); err != nil {
		return &ExitInfo{Reason: fmt.Sprintf("exit info unreadable: %v", err)}
	}
	return &ExitInfo{Kind: raw.Kind, Code: raw.Code, Reason: cString(raw.Reason[:]), Message: cString(raw.Msg[:])}
}

func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

func (s *Scheduler) markDone(info *ExitInfo) {
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
	maps := map[string]*ebpf.Map{PinPolicy: s.objs.Policy, PinKnobs: s.objs.Knobs, PinCgroupFn: s.objs.CgroupFn,
		PinCommFn: s.objs.CommFn, PinCounters: s.objs.Counters, PinExitInfo: s.objs.ExitInfo}
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
