package outfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// TestWrite (issue 11, defects 9 and 10 and the hardening of written files): a failed write
// leaves the destination as it was and no temporary file; a symlink at the destination is
// replaced, never followed.
func TestWrite(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "out.csv")
	if err := WriteBytes(p, 0o644, []byte("old\n")); err != nil {
		t.Fatal(err)
	}
	failing := func(w io.Writer) error {
		io.WriteString(w, strings.Repeat("partial ", 1<<18)) // beyond the buffer: reaches the file
		return errors.New("disk full")
	}
	if err := Write(p, 0o644, failing); err == nil || err.Error() != "disk full" {
		t.Fatalf("error %v, want the writer's", err)
	}
	if b, _ := os.ReadFile(p); string(b) != "old\n" {
		t.Errorf("destination after a failed write: %q", b)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("temporary files left: %v", ents)
	}

	target := filepath.Join(dir, "target")
	os.WriteFile(target, []byte("precious\n"), 0o600)
	link := filepath.Join(dir, "link")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if err := WriteBytes(link, 0o644, []byte("new\n")); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("writing through a symlink: %v", err)
	}
	if b, _ := os.ReadFile(target); string(b) != "precious\n" {
		t.Errorf("the symlink's target was written: %q", b)
	}
	if st, _ := os.Lstat(link); st.Mode()&os.ModeSymlink == 0 {
		t.Error("the symlink was replaced")
	}
}

// TestWriteDevice: a device is written in place, not replaced: a copy of /dev/full (made
// in a temporary directory, so the real one is never at risk) reports the full disk and
// stays a device.
func TestWriteDevice(t *testing.T) {
	dev := filepath.Join(t.TempDir(), "full")
	if err := unix.Mknod(dev, unix.S_IFCHR|0o666, int(unix.Mkdev(1, 7))); err != nil {
		t.Skipf("mknod (needs root): %v", err)
	}
	err := WriteBytes(dev, 0o644, []byte("data\n"))
	if !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("writing to a full device: %v, want ENOSPC", err)
	}
	if st, err := os.Lstat(dev); err != nil || st.Mode()&os.ModeCharDevice == 0 {
		t.Errorf("the device was replaced: %v %v", st.Mode(), err)
	}
	if err := Check(dev); err != nil {
		t.Errorf("Check of a device: %v", err)
	}
}

// TestCheck: a destination that cannot be written fails before any work.
func TestCheck(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	os.WriteFile(file, nil, 0o644)
	os.Symlink(file, filepath.Join(dir, "link"))
	tests := []struct {
		path, want string
	}{
		{filepath.Join(dir, "missing", "x"), "no such file or directory"},
		{dir, "is a directory"},
		{filepath.Join(dir, "link"), "symbolic link"},
		{filepath.Join(file, "x"), "not a directory"},
	}
	for _, tt := range tests {
		if err := Check(tt.path); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Check(%s) = %v, want %q", tt.path, err, tt.want)
		}
	}
	if err := Check(filepath.Join(dir, "new")); err != nil {
		t.Errorf("a new file in a writable directory: %v", err)
	}
	if err := CheckDir(filepath.Join(file, "sub")); err == nil {
		t.Error("CheckDir under a file succeeded")
	}
	if err := CheckDir(filepath.Join(dir, "a", "b")); err != nil {
		t.Errorf("CheckDir of a new directory: %v", err)
	}
}
