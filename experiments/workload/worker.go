package workload

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
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

// Serve reads requests from in until EOF and serves each on a thread of its own (a pool of
// OS threads, each registered once), writing a reply to out when it is done. It first
// writes a reply with ID HelloID once Prestart threads are ready. It returns when in ends
// and every request has been answered, or on the first error.
func Serve(in io.Reader, out io.Writer, o ServeOptions) error {
	if o.Threads < 1 {
		return fmt.Errorf("serve: threads must be >= 1, got %d", o.Threads)
	}
	s := &server{out: out, reg: o.Registry, max: o.Threads, idle: make(chan *servingThread, o.Threads)}
	defer s.stop()
	for range min(o.Prestart, o.Threads) {
		th, err := s.newThread()
		if err != nil {
			return err
		}
		s.idle <- th
	}
	if err := s.reply(Reply{ID: HelloID}); err != nil {
		return err
	}
	buf := make([]byte, RequestSize)
	for {
		if _, err := io.ReadFull(in, buf); err != nil {
			if errors.Is(err, io.EOF) {
				s.wg.Wait()
				return s.failed()
			}
			return fmt.Errorf("serve: reading a request: %w", err)
		}
		r := DecodeRequest(buf)
		if r.Units < 0 || r.Units > MaxWorkerUnits {
			return fmt.Errorf("serve: request %d: units %d not in [0, %d]", r.ID, r.Units, int64(MaxWorkerUnits))
		}
		if err := s.failed(); err != nil {
			return err
		}
		th, err := s.get()
		if err != nil {
			return err
		}
		s.wg.Add(1)
		th.work <- r
	}
}

type server struct {
	out  io.Writer
	reg  *invocation.Registry
	max  int
	idle chan *servingThread
	wg   sync.WaitGroup
	all  []*servingThread // started (used by Serve's goroutine only)

	mu  sync.Mutex // out and err
	err error
}

// servingThread is one OS thread of the pool.
type servingThread struct {
	work chan Request
}

// get returns an idle thread, starting one while fewer than Threads exist, else waiting.
func (s *server) get() (*servingThread, error) {
	select {
	case th := <-s.idle:
		return th, nil
	default:
	}
	if len(s.all) < s.max {
		return s.newThread()
	}
	return <-s.idle, nil
}

// newThread starts a serving thread and waits until it is registered.
func (s *server) newThread() (*servingThread, error) {
	th := &servingThread{work: make(chan Request)}
	ready := make(chan error)
	go s.serve(th, ready)
	if err := <-ready; err != nil {
		return nil, err
	}
	s.all = append(s.all, th)
	return th, nil
}

// serve is a serving thread's goroutine, locked to its OS thread for its whole life.
func (s *server) serve(th *servingThread, ready chan<- error) {
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
	for r := range th.work {
		start := t.Start(r.Class)
		c0 := threadCPU()
		run(Spec{Units: r.Units, Blocks: int(r.Blocks), Sleep: time.Duration(r.SleepUs) * time.Microsecond}, nanosleep)
		cpu := threadCPU() - c0
		end := t.End()
		s.reply(Reply{ID: r.ID, Flags: flags, CPU: int64(cpu), Start: int64(start), End: int64(end)}) // Serve sees an error
		s.wg.Done()
		s.idle <- th
	}
}

// reply writes r (one write: atomic on a pipe); the first error is kept.
func (s *server) reply(r Reply) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	if _, err := s.out.Write(r.Encode(make([]byte, 0, ReplySize))); err != nil {
		s.err = fmt.Errorf("serve: writing a reply: %w", err)
	}
	return s.err
}

func (s *server) failed() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// stop ends the serving threads.
func (s *server) stop() {
	for _, th := range s.all {
		close(th.work)
	}
}

// nanosleep blocks the calling thread (not only its goroutine) for d.
func nanosleep(d time.Duration) {
	ts := unix.NsecToTimespec(int64(d))
	for unix.Nanosleep(&ts, &ts) == unix.EINTR {
	}
}
