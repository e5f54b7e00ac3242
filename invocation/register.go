package invocation

import (
	"errors"
	"fmt"
	"os"
	"unsafe"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

// DefaultMap is where alps-frontend pins the registration map unless configured otherwise
// (frontend.invocation_map); alps_invocation.h's ALPS_INV_MAP.
const DefaultMap = "/sys/fs/bpf/alps-invocations"

// ErrNoMap is returned by Open when nothing is pinned at the path: no alps scheduler with
// warm invocations runs on this host.
var ErrNoMap = errors.New("no alps invocation map pinned")

// Registry registers threads' areas in the scheduler's map (a BPF task-storage map of area
// addresses, keyed by a pidfd of the thread). It is safe for concurrent use.
type Registry struct {
	m    *ebpf.Map
	owns bool
}

// Open opens the registration map pinned at path.
func Open(path string) (*Registry, error) {
	m, err := ebpf.LoadPinnedMap(path, nil)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%s: %w", path, ErrNoMap)
		}
		return nil, fmt.Errorf("opening the alps invocation map %s: %w", path, err)
	}
	return &Registry{m: m, owns: true}, nil
}

// NewRegistry uses m, an open registration map (the backend's, in tests); Close leaves it
// open.
func NewRegistry(m *ebpf.Map) *Registry { return &Registry{m: m} }

// Close closes the map (threads registered stay registered until they exit or Close).
func (r *Registry) Close() error {
	if r.owns {
		return r.m.Close()
	}
	return nil
}

// Register locks the calling goroutine to its OS thread and registers the thread's area.
// On error the goroutine is unlocked again.
func (r *Registry) Register() (*Thread, error) {
	t := NewThread()
	if err := r.update(int(t.area.TID), uint64(uintptr(unsafe.Pointer(t.area)))); err != nil {
		t.Close()
		return nil, fmt.Errorf("registering thread %d: %w", t.area.TID, err)
	}
	t.reg = r
	return t, nil
}

// unregister removes the calling thread's entry.
func (r *Registry) unregister() error {
	pidfd, err := unix.PidfdOpen(gettid(), unix.PIDFD_THREAD)
	if err != nil {
		return fmt.Errorf("pidfd of thread %d: %w", gettid(), err)
	}
	defer unix.Close(pidfd)
	if err := r.m.Delete(uint32(pidfd)); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
		return fmt.Errorf("unregistering thread %d: %w", gettid(), err)
	}
	return nil
}

// update stores addr as thread tid's area.
func (r *Registry) update(tid int, addr uint64) error {
	pidfd, err := unix.PidfdOpen(tid, unix.PIDFD_THREAD)
	if err != nil {
		return fmt.Errorf("pidfd: %w", err)
	}
	defer unix.Close(pidfd)
	return r.m.Update(uint32(pidfd), addr, ebpf.UpdateAny)
}

func gettid() int { return unix.Gettid() }
