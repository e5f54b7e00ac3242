// Package invocation is the invocation-boundary interface of alps: a function runtime that
// serves many invocations from one long-lived thread (a warm worker) marks where each
// invocation starts and ends on that thread, so that the scheduler orders the thread by the
// CPU its current invocation has used, not by the thread's lifetime CPU, and reports one
// record per invocation as it does for a process that exits. The C header
// alps_invocation.h in this directory is the same interface for C runtimes.
//
// A boundary is a few plain stores into an area in the thread's own memory (no system call;
// experiments/warm.md compares it with a bpf() map update and a uprobe). Once per thread the
// area's address is registered in a BPF task-storage map that alps-frontend pins
// (frontend.invocation_map): whoever may open that pin may register. The scheduler reads a
// thread's area only while that thread is the current task of its CPU, and honours it only if
// it carries the magic and the thread's own id, which only the thread's process can write:
// a thread can only ever affect its own invocation state, and the scheduler checks every
// event (an end without a start, a start inside an invocation are counted and ignored).
//
//	reg, err := invocation.Open(invocation.DefaultMap) // once per process
//	...
//	t, err := reg.Register() // once per thread: locks the goroutine to its OS thread
//	for req := range requests {
//		t.Start(req.Class) // 0: no class hint
//		handle(req)
//		t.End()
//	}
package invocation

import (
	"runtime"
	"sync/atomic"
	_ "unsafe" // go:linkname
)

// The area's layout: struct alps_inv_area of alps_invocation.h, byte for byte.
const (
	// Magic marks a registered area ("alpsinv1", little-endian).
	Magic = 0x31766e6973706c61
	// Events is how many boundaries an area keeps: the scheduler reads them when the thread
	// stops running, so a thread may mark up to Events boundaries (Events/2 invocations)
	// between two switches without losing one.
	Events = 16
	// AreaSize is the size of Area in bytes.
	AreaSize = 24 + Events*16
)

// Kinds of boundary.
const (
	KindStart = 1
	KindEnd   = 2
)

// Event is one boundary.
type Event struct {
	Time  uint64 // CLOCK_MONOTONIC ns
	Kind  uint32 // KindStart or KindEnd
	Class uint32 // at a start: the class hint (0: none)
}

// Area is a thread's boundaries: event n (counting from 0) is Ev[n % Events].
type Area struct {
	Magic   uint64
	TID     uint32 // the thread that owns the area
	NEvents uint32 // Events
	Seq     uint64 // events written so far
	Ev      [Events]Event
}

// Thread marks the invocation boundaries of one OS thread. Its methods must be called from
// the goroutine that made it, which stays locked to its OS thread until Close.
type Thread struct {
	area *Area // on the heap, which Go never moves: the scheduler holds its address
	reg  *Registry
}

// NewThread locks the calling goroutine to its OS thread and returns its Thread, not
// registered: its marks are kept but no scheduler reads them (Registry.Register registers).
func NewThread() *Thread {
	runtime.LockOSThread()
	return &Thread{area: &Area{Magic: Magic, TID: uint32(gettid()), NEvents: Events}}
}

// Start marks the start of an invocation on this thread, with a class hint chosen by the
// platform (e.g. a request-size bucket; 0: none). It returns the time it marked
// (CLOCK_MONOTONIC ns).
func (t *Thread) Start(class uint32) uint64 { return t.mark(KindStart, class) }

// End marks the end of the invocation started last on this thread and returns the time it
// marked.
func (t *Thread) End() uint64 { return t.mark(KindEnd, 0) }

// mark appends one event. The event is written before Seq is published (an atomic store);
// the scheduler reads the area only while this thread is in the kernel.
func (t *Thread) mark(kind, class uint32) uint64 {
	a := t.area
	n := a.Seq
	e := &a.Ev[n%Events]
	now := uint64(nanotime())
	e.Time = now
	e.Kind = kind
	e.Class = class
	atomic.StoreUint64(&a.Seq, n+1)
	return now
}

// Area returns a copy of the thread's area.
func (t *Thread) Area() Area { return *t.area }

// Registered reports whether the scheduler reads this thread's marks.
func (t *Thread) Registered() bool { return t.reg != nil }

// Close unregisters the thread (if registered) and unlocks the goroutine from its OS thread.
func (t *Thread) Close() error {
	var err error
	if t.reg != nil {
		err = t.reg.unregister()
		t.reg = nil
	}
	runtime.UnlockOSThread()
	return err
}

// nanotime is the runtime's CLOCK_MONOTONIC clock (vDSO), what the scheduler's
// bpf_ktime_get_ns reads.
//
//go:linkname nanotime runtime.nanotime
func nanotime() int64
