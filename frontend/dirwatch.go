package frontend

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// dirWatcher reports the directories created and removed in the directories it watches. It
// asks inotify for directory-entry events only: on cgroupfs every write to a cgroup's
// cgroup.procs (one per process started in it) is a modification event, and a watcher that
// also takes those wakes up several times per invocation for nothing.
type dirWatcher struct {
	f *os.File // the inotify descriptor, non-blocking, so reads park in the runtime's poller

	mu   sync.Mutex
	dirs map[int32]string // watch descriptor -> directory
}

// dirEvent is one change: a directory created (or moved in) or removed (or moved out), or
// an overflow of the kernel's event queue (events were lost; rescan).
type dirEvent struct {
	path     string
	created  bool
	overflow bool
}

const dirMask = unix.IN_CREATE | unix.IN_DELETE | unix.IN_DELETE_SELF | unix.IN_MOVED_FROM |
	unix.IN_MOVED_TO | unix.IN_ONLYDIR

func newDirWatcher() (*dirWatcher, error) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("inotify: %w", err)
	}
	return &dirWatcher{f: os.NewFile(uintptr(fd), "inotify"), dirs: map[int32]string{}}, nil
}

// add watches dir.
func (w *dirWatcher) add(dir string) error {
	wd, err := unix.InotifyAddWatch(int(w.f.Fd()), dir, dirMask)
	if err != nil {
		return fmt.Errorf("watch %s: %w", dir, err)
	}
	w.mu.Lock()
	w.dirs[int32(wd)] = dir
	w.mu.Unlock()
	return nil
}

// close ends the watch; a read in progress returns os.ErrClosed.
func (w *dirWatcher) close() error { return w.f.Close() }

// read waits for events and appends them to dst.
func (w *dirWatcher) read(buf []byte, dst []dirEvent) ([]dirEvent, error) {
	n, err := w.f.Read(buf)
	if err != nil {
		return dst, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for off := 0; off+unix.SizeofInotifyEvent <= n; {
		ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
		nameEnd := off + unix.SizeofInotifyEvent + int(ev.Len)
		if nameEnd > n {
			return dst, errors.New("inotify: short read")
		}
		name := bytes.TrimRight(buf[off+unix.SizeofInotifyEvent:nameEnd], "\x00") // NUL padding
		off = nameEnd
		dir, known := w.dirs[ev.Wd]
		switch {
		case ev.Mask&unix.IN_Q_OVERFLOW != 0:
			dst = append(dst, dirEvent{overflow: true})
		case ev.Mask&unix.IN_IGNORED != 0:
			delete(w.dirs, ev.Wd) // the watched directory is gone
		case !known:
		case ev.Mask&unix.IN_DELETE_SELF != 0:
			dst = append(dst, dirEvent{path: dir})
		case ev.Mask&unix.IN_ISDIR == 0 || len(name) == 0:
		case ev.Mask&(unix.IN_CREATE|unix.IN_MOVED_TO) != 0:
			dst = append(dst, dirEvent{path: filepath.Join(dir, string(name)), created: true})
		case ev.Mask&(unix.IN_DELETE|unix.IN_MOVED_FROM) != 0:
			dst = append(dst, dirEvent{path: filepath.Join(dir, string(name))})
		}
	}
	return dst, nil
}
