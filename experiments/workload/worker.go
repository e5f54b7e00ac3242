package workload

import (
	"encoding/binary"
	"fmt"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/alps-sched/alps/invocation"
)

// A warm worker (alps-worker, Serve) serves its function's invocations as requests read from
// a pipe: each on a thread of its own, between the invocation-boundary marks of package
// invocation, burning the calibrated CPU and sleeping for I/O as a payload process does.

// Request is one invocation sent to a warm worker; RequestSize bytes, little-endian.
type Request struct {
	ID      uint32
	Class   uint32 // the invocation's class hint (0: none)
	Units   int64  // work units of CPU
	Blocks  uint32 // sleeps splitting the CPU into Blocks+1 bursts
	SleepUs uint32 // length of each sleep, µs
}

// Reply says a request is done; ReplySize bytes, little-endian.
type Reply struct {
	ID    uint32
	Flags uint32 // ReplyRegistered: the thread's marks were registered with the scheduler
	CPU   int64  // CPU time of the thread between the invocation's marks (CLOCK_THREAD_CPUTIME_ID), ns
	Start int64  // CLOCK_MONOTONIC ns of the start mark
	End   int64  // and of the end mark
}

// Sizes on the wire, and the reply a worker sends once it is ready.
const (
	RequestSize     = 24
	ReplySize       = 32
	ReplyRegistered = 1
	HelloID         = ^uint32(0) // the ID of the reply a worker sends once it is ready
	// MaxWorkerUnits bounds a request's work (about 10^8 ms on a fast core).
	MaxWorkerUnits = 1 << 40
)

// Encode appends r's wire form to b.
func (r Request) Encode(b []byte) []byte {
	b = binary.LittleEndian.AppendUint32(b, r.ID)
	b = binary.LittleEndian.AppendUint32(b, r.Class)
	b = binary.LittleEndian.AppendUint64(b, uint64(r.Units))
	b = binary.LittleEndian.AppendUint32(b, r.Blocks)
	return binary.LittleEndian.AppendUint32(b, r.SleepUs)
}

// DecodeRequest decodes RequestSize bytes.
func DecodeRequest(b []byte) Request {
	return Request{ID: binary.LittleEndian.Uint32(b), Class: binary.LittleEndian.Uint32(b[4:]),
		Units: int64(binary.LittleEndian.Uint64(b[8:])), Blocks: binary.LittleEndian.Uint32(b[16:]),
		SleepUs: binary.LittleEndian.Uint32(b[20:])}
}

// Encode appends r's wire form to b.
func (r Reply) Encode(b []byte) []byte {
	b = binary.LittleEndian.AppendUint32(b, r.ID)
	b = binary.LittleEndian.AppendUint32(b, r.Flags)
	b = binary.LittleEndian.AppendUint64(b, uint64(r.CPU))
	b = binary.LittleEndian.AppendUint64(b, uint64(r.Start))
	return binary.LittleEndian.AppendUint64(b, uint64(r.End))
}

// DecodeReply decodes ReplySize bytes.
func DecodeReply(b []byte) Reply {
	return Reply{ID: binary.LittleEndian.Uint32(b), Flags: binary.LittleEndian.Uint32(b[4:]),
		CPU: int64(binary.LittleEndian.Uint64(b[8:])), Start: int64(binary.LittleEndian.Uint64(b[16:])),
		End: int64(binary.LittleEndian.Uint64(b[24:]))}
}

// ServeOptions configure Serve.
type ServeOptions struct {
	// Registry registers each serving thread's marks with the scheduler; nil: the threads
	// mark, unregistered (the same work, no scheduler reads the marks).
	Registry *invocation.Registry
	// Threads is the most requests served at once (each on its own thread); more wait.
	Threads int
	// Prestart threads are started (and registered) before the hello reply.
	Prestart int
}

// Serve serves the requests read from the pipe in until its writer closes it, each on a
// thread of its own, writing a reply to the pipe out when it is done. The serving threads
// read the requests themselves, each blocked in read(2) on in while it waits for one, so that
// a request wakes the thread that serves it and no other (a dispatcher thread would never mark
// a boundary: its CPU would grow for the worker's whole life and sink its level, delaying
// every request); while a thread serves, another waits to read, up to Threads serving at once.
// Serve first writes a reply with ID HelloID once Prestart threads (at least one) are ready.
// It returns when every thread has seen the end of in, or on the first error.
func Serve(in, out *os.File, o ServeOptions) error {
	if o.Threads < 1 {
		return fmt.Errorf("serve: threads must be >= 1, got %d", o.Threads)
	}
	s := &server{in: int(in.Fd()), out: int(out.Fd()), reg: o.Registry, max: o.Threads, failc: make(chan struct{})}
	for range max(1, min(o.Prestart, o.Threads)) {
		if err := s.spawn(); err != nil {
			s.fail(err)
			break
		}
	}
	if s.failed() == nil {
		s.reply(Reply{ID: HelloID})
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-s.failc: // the other threads may stay blocked reading: the caller exits
	}
	return s.failed()
}

type server struct {
	in, out int // the pipes' fds, read and written with plain system calls
	reg     *invocation.Registry
	max     int
	wg      sync.WaitGroup
	failc   chan struct{} // closed at the first error

	mu      sync.Mutex // the fields below
	threads int        // started
	waiting int        // blocked reading, or about to
	eof     bool
	err     error // the first error
}

// spawn starts a serving thread and waits until it is registered.
func (s *server) spawn() error { return <-s.start() }

// start starts a serving thread; its registration's outcome comes on the channel returned.
func (s *server) start() <-chan error {
	s.mu.Lock()
	s.threads++
	s.waiting++
	s.mu.Unlock()
	ready := make(chan error, 1)
	s.wg.Add(1)
	go s.serve(ready)
	return ready
}

// serve is a serving thread's goroutine, locked to its OS thread for its whole life.
func (s *server) serve(ready chan<- error) {
	defer s.wg.Done()
	var t *invocation.Thread
	if s.reg != nil {
		var err error
		if t, err = s.reg.Register(); err != nil {
			ready <- err
			return
		}
	} else {
		t = invocation.NewThread()
	}
	defer t.Close()
	ready <- nil
	var flags uint32
	if t.Registered() {
		flags = ReplyRegistered
	}
	buf := make([]byte, RequestSize)
	for s.failed() == nil {
		r, ok := s.read(buf)
		if !ok {
			return
		}
		s.took()
		start := t.Start(r.Class)
		c0 := threadCPU()
		run(Spec{Units: r.Units, Blocks: int(r.Blocks), Sleep: time.Duration(r.SleepUs) * time.Microsecond}, nanosleep)
		cpu := threadCPU() - c0
		end := t.End()
		s.reply(Reply{ID: r.ID, Flags: flags, CPU: int64(cpu), Start: int64(start), End: int64(end)})
		s.mu.Lock()
		s.waiting++
		s.mu.Unlock()
	}
}

// read reads one request; ok is false at the end of the input or on an error (kept).
func (s *server) read(buf []byte) (r Request, ok bool) {
	n, err := readFull(s.in, buf)
	switch {
	case err != nil:
		s.fail(fmt.Errorf("serve: reading a request: %w", err))
		return r, false
	case n == 0:
		s.mu.Lock()
		s.eof = true
		s.mu.Unlock()
		return r, false
	case n < len(buf):
		s.fail(fmt.Errorf("serve: a request of %d bytes, want %d", n, len(buf)))
		return r, false
	}
	r = DecodeRequest(buf)
	if r.Units < 0 || r.Units > MaxWorkerUnits {
		s.fail(fmt.Errorf("serve: request %d: units %d not in [0, %d]", r.ID, r.Units, int64(MaxWorkerUnits)))
		return r, false
	}
	return r, true
}

// took notes that this thread took a request: when no other waits to read the next one, and
// fewer than max threads exist, it starts one that will, without waiting for it (the request
// taken is served at once).
func (s *server) took() {
	s.mu.Lock()
	s.waiting--
	grow := s.waiting == 0 && s.threads < s.max && !s.eof
	s.mu.Unlock()
	if grow {
		ready := s.start()
		go func() {
			if err := <-ready; err != nil {
				s.fail(err)
			}
		}()
	}
}

// readFull reads len(buf) bytes from fd unless it ends first (n < len(buf), nil error).
func readFull(fd int, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := unix.Read(fd, buf[n:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return n, err
		}
		if m == 0 {
			break
		}
		n += m
	}
	return n, nil
}

// reply writes r in one write(2), atomic on a pipe; a failure is kept.
func (s *server) reply(r Reply) {
	b := r.Encode(make([]byte, 0, ReplySize))
	for {
		_, err := unix.Write(s.out, b)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			s.fail(fmt.Errorf("serve: writing a reply: %w", err))
		}
		return
	}
}

// fail keeps the first error.
func (s *server) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.err = err
		close(s.failc)
	}
}

// failed returns the first error, nil when none.
func (s *server) failed() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// nanosleep blocks the calling thread (not only its goroutine) for d.
func nanosleep(d time.Duration) {
	ts := unix.NsecToTimespec(int64(d))
	for unix.Nanosleep(&ts, &ts) == unix.EINTR {
	}
}
