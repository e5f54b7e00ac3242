// Package outfile writes the files the alps commands produce so that a failure never leaves a
// partial file behind and a symlink is never followed: a regular file is written to a
// temporary file in its directory, synced, and renamed over the destination
// (github.com/google/renameio); a destination that is a symlink is refused; one that is a
// device or a pipe (/dev/null, /dev/stdout's target) is written in place. Check and CheckDir
// test a destination before a long computation, so that a wrong path fails at once instead
// of after it.
package outfile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/google/renameio/v2"
)

// Write creates or replaces path atomically with what write writes (buffered), with
// permissions perm (before the umask). On any error the destination is left as it was.
func Write(path string, perm os.FileMode, write func(w io.Writer) error) error {
	kind, err := destination(path)
	if err != nil {
		return err
	}
	if kind == special {
		return writeInPlace(path, write)
	}
	pf, err := renameio.NewPendingFile(path, renameio.WithTempDir(filepath.Dir(path)), renameio.WithPermissions(perm))
	if err != nil {
		return unwrap(err)
	}
	defer pf.Cleanup()
	bw := bufio.NewWriterSize(pf, 1<<20)
	if err := write(bw); err != nil {
		return unwrap(err)
	}
	if err := bw.Flush(); err != nil {
		return unwrap(err)
	}
	return unwrap(pf.CloseAtomicallyReplace())
}

type kind int

const (
	regular kind = iota // a regular file or nothing yet: replaced by rename
	special             // a device, pipe or socket: written in place
)

// destination classifies path without following a symlink at its end.
func destination(path string) (kind, error) {
	st, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return regular, nil
	case err != nil:
		return 0, unwrap(err)
	case st.Mode()&fs.ModeSymlink != 0:
		return 0, errors.New("is a symbolic link (not followed: give the path it points to)")
	case st.IsDir():
		return 0, errors.New("is a directory")
	case st.Mode().IsRegular():
		return regular, nil
	}
	return special, nil
}

// writeInPlace writes to an existing device or pipe.
func writeInPlace(path string, write func(w io.Writer) error) error {
	f, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return unwrap(err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	err = write(bw)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return unwrap(err)
}

// WriteBytes is Write of a byte slice.
func WriteBytes(path string, perm os.FileMode, data []byte) error {
	return Write(path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// Check reports whether path can be written by Write: it is not a directory or a symlink,
// and its directory exists and takes new files.
func Check(path string) error {
	kind, err := destination(path)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if kind == special {
		return nil
	}
	dir := filepath.Dir(path)
	st, err := os.Stat(dir)
	switch {
	case err != nil:
		return fmt.Errorf("directory %s: %w", dir, unwrap(err))
	case !st.IsDir():
		return fmt.Errorf("%s is not a directory", dir)
	}
	return probe(dir)
}

// CheckDir creates dir if needed (mode 0755 before the umask) and checks that it takes new
// files.
func CheckDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return unwrap(err)
	}
	return probe(dir)
}

// probe creates and removes a temporary file in dir.
func probe(dir string) error {
	f, err := os.CreateTemp(dir, ".probe-*")
	if err != nil {
		return fmt.Errorf("directory %s: %w", dir, unwrap(err))
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

// unwrap drops the operation and temporary path of an *os.PathError (the caller names the
// destination) and keeps its cause.
func unwrap(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
