// Package tracer reports finished invocations from tracepoints, without the sched_ext
// scheduler: it is the kernel side of "alps-frontend --dry-run" on kernels without
// sched_ext (bpf/tracer.bpf.c). Processes are classified into functions exactly as the
// alps backend does it (by cgroup id, then process name, else the parent's function),
// and every finished classified process yields one policy.Record.
//
//	t, err := tracer.Load(tracer.Options{})
//	defer t.Close()
//	t.SetCommFunction("resize", 7)
//	for r := range t.Records() { ... }
//
// Unlike the scheduler, the tracer sees a classification change only at a task's next
// fork, exec or cgroup move: processes already running when their cgroup or name is
// classified are not reported.
package tracer

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"
	"github.com/cilium/ebpf/rlimit"

	"github.com/alps-sched/alps/backend/internal/classify"
	"github.com/alps-sched/alps/policy"
)

// Errors of Load, one line each.
var (
	// ErrNoBTF: the kernel exposes no BTF, which tp_btf programs need.
	ErrNoBTF = errors.New("this kernel has no BTF (/sys/kernel/btf/vmlinux, CONFIG_DEBUG_INFO_BTF): the alps tracer needs it")
	// ErrNotRoot: loading tracing programs needs root.
	ErrNotRoot = errors.New("loading the alps tracer needs root (CAP_BPF and CAP_PERFMON)")
)

// Options configure Load.
type Options struct {
	// RecordBuffer is the capacity of the Records channel; 0 means 4096. A record that
	// finds the channel full is dropped and counted (Dropped).
	RecordBuffer int
}

// Tracer is the loaded and attached tracer. Its methods are safe for concurrent use.
type Tracer struct {
	objs    tracerObjects
	links   []link.Link
	rd      *ringbuf.Reader
	records chan policy.Record
	dropped atomic.Uint64
	wg      sync.WaitGroup
	once    sync.Once
}

// Load loads the tracer and attaches its tracepoints; records flow from then on.
func Load(opts Options) (*Tracer, error) {
	if _, err := os.Stat("/sys/kernel/btf/vmlinux"); err != nil {
		return nil, ErrNoBTF
	}
	if os.Geteuid() != 0 {
		return nil, ErrNotRoot
	}
	if err := rlimit.RemoveMemlock(); err != nil {
		return nil, fmt.Errorf("raising the memlock limit: %w", err)
	}
	t := &Tracer{}
	if err := loadTracerObjects(&t.objs, nil); err != nil {
		var ve *ebpf.VerifierError
		if errors.As(err, &ve) {
			return nil, fmt.Errorf("the kernel rejected the alps tracer: %v", ve)
		}
		return nil, fmt.Errorf("loading the alps tracer: %w", err)
	}
	rd, err := ringbuf.NewReader(t.objs.Records)
	if err != nil {
		t.objs.Close()
		return nil, fmt.Errorf("opening the record ring buffer: %w", err)
	}
	t.rd = rd
	n := opts.RecordBuffer
	if n <= 0 {
		n = 4096
	}
	t.records = make(chan policy.Record, n)
	for _, p := range []*ebpf.Program{t.objs.TraceFork, t.objs.TraceExec, t.objs.TraceCgroupAttach, t.objs.TraceExit, t.objs.TraceFree} {
		l, err := link.AttachTracing(link.TracingOptions{Program: p})
		if err != nil {
			t.Close()
			return nil, fmt.Errorf("attaching the alps tracepoint %v: %w", p, err)
		}
		t.links = append(t.links, l)
	}
	t.wg.Add(1)
	go t.read()
	return t, nil
}

// read forwards ring buffer records until Close.
func (t *Tracer) read() {
	defer t.wg.Done()
	defer close(t.records)
	for {
		rec, err := t.rd.Read()
		if errors.Is(err, ringbuf.ErrClosed) {
			return
		}
		if err != nil {
			continue
		}
		raw, err := classify.Decode[tracerRecord](rec.RawSample)
		if err != nil || raw.Kind != tracerRecordKindREC_INVOCATION {
			continue
		}
		r := policy.Record{Function: raw.Fn, PID: raw.Pid, Start: int64(raw.Start), End: int64(raw.End),
			CPU: int64(raw.Cpu), RunDelay: int64(raw.RunDelay), Nvcsw: raw.Nvcsw, Nivcsw: raw.Nivcsw}
		select {
		case t.records <- r:
		default:
			t.dropped.Add(1)
		}
	}
}

// Records returns the channel of finished invocations; Close closes it.
func (t *Tracer) Records() <-chan policy.Record { return t.records }

// Dropped returns how many records found the Records channel full.
func (t *Tracer) Dropped() uint64 { return t.dropped.Load() }

// Lost returns how many records the kernel could not send (ring buffer full).
func (t *Tracer) Lost() (uint64, error) {
	n, err := classify.SumCounter(t.objs.Counters, tracerCounterCNT_RECORD_LOST)
	if err != nil {
		return 0, fmt.Errorf("reading the lost-record counter: %w", err)
	}
	return n, nil
}

// SetCommFunction classifies processes named comm (1 to 15 bytes) as function fn, from
// their next exec.
func (t *Tracer) SetCommFunction(comm string, fn uint32) error {
	key, err := classify.CommKey(comm)
	if err != nil {
		return err
	}
	if fn >= policy.MaxFunctions {
		return fmt.Errorf("process name %q: function id %d is not below %d", comm, fn, policy.MaxFunctions)
	}
	if err := t.objs.CommFn.Update(key, fn, ebpf.UpdateAny); err != nil {
		return fmt.Errorf("classifying process name %q: %w", comm, err)
	}
	return nil
}

// SetCgroupFunction classifies the tasks of a cgroup (its cgroup v2 id) as function fn,
// from their next fork, exec or move into it.
func (t *Tracer) SetCgroupFunction(cgroupID uint64, fn uint32) error {
	if fn >= policy.MaxFunctions {
		return fmt.Errorf("cgroup %d: function id %d is not below %d", cgroupID, fn, policy.MaxFunctions)
	}
	if err := t.objs.CgroupFn.Update(cgroupID, fn, ebpf.UpdateAny); err != nil {
		return fmt.Errorf("classifying cgroup %d: %w", cgroupID, err)
	}
	return nil
}

// DeleteCgroupFunction removes a cgroup's classification.
func (t *Tracer) DeleteCgroupFunction(cgroupID uint64) error {
	if err := classify.DeleteKey(t.objs.CgroupFn, cgroupID); err != nil {
		return fmt.Errorf("unclassifying cgroup %d: %w", cgroupID, err)
	}
	return nil
}

// Close detaches the tracepoints, closes the Records channel and frees the maps.
func (t *Tracer) Close() error {
	var err error
	t.once.Do(func() {
		for _, l := range t.links {
			l.Close()
		}
		if t.rd != nil {
			t.rd.Close()
			t.wg.Wait()
		}
		err = t.objs.Close()
	})
	return err
}
