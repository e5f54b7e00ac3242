package frontend

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestDirWatcher: directories created, moved and removed are reported; writes to files and
// files created are not (cgroupfs reports a write to cgroup.procs for every process started).
func TestDirWatcher(t *testing.T) {
	root := t.TempDir()
	w, err := newDirWatcher()
	if err != nil {
		t.Fatal(err)
	}
	defer w.close()
	if err := w.add(root); err != nil {
		t.Fatal(err)
	}
	procs := filepath.Join(root, "cgroup.procs")
	for i := 0; i < 3; i++ {
		if err := os.WriteFile(procs, []byte("1\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	a, b := filepath.Join(root, "a"), filepath.Join(root, "b")
	if err := os.Mkdir(a, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(a, b); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(b); err != nil {
		t.Fatal(err)
	}
	want := []dirEvent{{path: a, created: true}, {path: a}, {path: b, created: true}, {path: b}}
	var got []dirEvent
	buf := make([]byte, 4096)
	w.f.SetReadDeadline(time.Now().Add(5 * time.Second))
	for len(got) < len(want) {
		if got, err = w.read(buf, got); err != nil {
			t.Fatalf("after %v: %v", got, err)
		}
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("events %+v, want %+v", got, want)
		}
	}
	// Nothing else is pending: the file writes gave no events.
	w.f.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if more, err := w.read(buf, nil); len(more) > 0 || !os.IsTimeout(err) {
		t.Errorf("extra events %+v (%v)", more, err)
	}
}
