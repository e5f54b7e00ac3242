package invocation

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"unsafe"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"golang.org/x/sys/unix"
)

func TestAreaLayout(t *testing.T) {
	var a Area
	got := []uintptr{unsafe.Sizeof(a), unsafe.Offsetof(a.Magic), unsafe.Offsetof(a.TID), unsafe.Offsetof(a.NEvents),
		unsafe.Offsetof(a.Seq), unsafe.Offsetof(a.Ev), unsafe.Sizeof(a.Ev[0]), unsafe.Offsetof(a.Ev[0].Class)}
	want := []uintptr{AreaSize, 0, 8, 12, 16, 24, 16, 12}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("Area layout (size, magic, tid, nevents, seq, ev, event size, class) = %v, want %v", got, want)
	}
}

// checkMarks checks that a holds the events of marks ("s CLASS" or "e"), the newest Events
// of them, with times in [from, to].
func checkMarks(t *testing.T, a Area, marks []string, tid int, from, to uint64) {
	t.Helper()
	if a.Magic != Magic || a.TID != uint32(tid) || a.NEvents != Events || a.Seq != uint64(len(marks)) {
		t.Fatalf("area header magic %#x tid %d nevents %d seq %d, want %#x %d %d %d", a.Magic, a.TID, a.NEvents, a.Seq,
			uint64(Magic), tid, Events, len(marks))
	}
	var last uint64
	for n := max(0, len(marks)-Events); n < len(marks); n++ {
		e := a.Ev[n%Events]
		var class uint32
		kind := uint32(KindEnd)
		if _, err := fmt.Sscanf(marks[n], "s %d", &class); err == nil {
			kind = KindStart
		}
		if e.Kind != kind || e.Class != class {
			t.Errorf("event %d (%q) = kind %d class %d, want %d %d", n, marks[n], e.Kind, e.Class, kind, class)
		}
		if e.Time < from || e.Time > to || e.Time < last {
			t.Errorf("event %d at %d: not in [%d, %d] after the previous one (%d)", n, e.Time, from, to, last)
		}
		last = e.Time
	}
}

// marks returns n alternating boundaries, starts with class i%4.
func marks(n int) []string {
	var ms []string
	for i := range n {
		if i%2 == 0 {
			ms = append(ms, fmt.Sprintf("s %d", i%4))
		} else {
			ms = append(ms, "e")
		}
	}
	return ms
}

func TestThreadMarks(t *testing.T) {
	for _, n := range []int{0, 1, 2, Events, Events + 5} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			th := NewThread()
			defer th.Close()
			from := uint64(nanotime())
			ms := marks(n)
			for _, m := range ms {
				if m == "e" {
					th.End()
				} else {
					var c uint32
					fmt.Sscanf(m, "s %d", &c)
					th.Start(c)
				}
			}
			checkMarks(t, th.Area(), ms, unix.Gettid(), from, uint64(nanotime()))
			if th.Registered() {
				t.Fatal("NewThread's thread is registered")
			}
		})
	}
}

// harness builds testdata/harness.c (alps_invocation.h) with cc, or skips.
func harness(t *testing.T) string {
	t.Helper()
	cc, err := exec.LookPath("cc")
	if err != nil {
		t.Skip("no C compiler (cc) on PATH")
	}
	bin := filepath.Join(t.TempDir(), "harness")
	if out, err := exec.Command(cc, "-O2", "-Wall", "-Werror", "-o", bin, "testdata/harness.c").CombinedOutput(); err != nil {
		t.Fatalf("cc: %v\n%s", err, out)
	}
	return bin
}

// runHarness runs the harness with the map path, marks ms and returns its output lines by
// their first word, once it waits; the caller's check runs then, before it exits.
func runHarness(t *testing.T, bin, mapPath string, ms []string, check func(out map[string][]string)) {
	t.Helper()
	cmd := exec.Command(bin, mapPath)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer stdin.Close()
	io.WriteString(stdin, strings.Join(append(ms, "."), "\n")+"\n")
	out := map[string][]string{}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		out[f[0]] = f[1:]
		if f[0] == "area" {
			break
		}
	}
	check(out)
}

// TestHeaderMatchesGo: the C header's area has Area's layout, and its marks are Thread's.
func TestHeaderMatchesGo(t *testing.T) {
	bin := harness(t)
	ms := marks(Events + 3)
	from := uint64(nanotime())
	runHarness(t, bin, "-", ms, func(out map[string][]string) {
		to := uint64(nanotime())
		var a Area
		want := fmt.Sprint(unsafe.Sizeof(a), unsafe.Offsetof(a.Magic), unsafe.Offsetof(a.TID), unsafe.Offsetof(a.NEvents),
			unsafe.Offsetof(a.Seq), unsafe.Offsetof(a.Ev), unsafe.Sizeof(a.Ev[0]), unsafe.Offsetof(a.Ev[0].Class))
		if got := strings.Join(out["layout"], " "); got != want {
			t.Fatalf("C layout %s, Go %s", got, want)
		}
		raw, err := hex.DecodeString(strings.Join(out["area"], ""))
		if err != nil {
			t.Fatal(err)
		}
		if err := binary.Read(bytes.NewReader(raw), binary.NativeEndian, &a); err != nil {
			t.Fatal(err)
		}
		var tid int
		fmt.Sscan(out["tid"][0], &tid)
		checkMarks(t, a, ms, tid, from, to)
	})
}

// newAreaMap creates a registration map as the backend defines it (task storage of u64
// addresses), or skips without root or BPF.
func newAreaMap(t testing.TB) *ebpf.Map {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (BPF)")
	}
	m, err := ebpf.NewMap(&ebpf.MapSpec{
		Name: "alps_inv_test", Type: ebpf.TaskStorage, KeySize: 4, ValueSize: 8, Flags: unix.BPF_F_NO_PREALLOC,
		Key: &btf.Int{Name: "int", Size: 4, Encoding: btf.Signed}, Value: &btf.Int{Name: "u64", Size: 8},
	})
	if err != nil {
		t.Skipf("task-storage map: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// lookup returns thread tid's registered address.
func lookup(m *ebpf.Map, tid int) (uint64, error) {
	pidfd, err := unix.PidfdOpen(tid, unix.PIDFD_THREAD)
	if err != nil {
		return 0, err
	}
	defer unix.Close(pidfd)
	var addr uint64
	err = m.Lookup(uint32(pidfd), &addr)
	return addr, err
}

func TestRegister(t *testing.T) {
	m := newAreaMap(t)
	r := NewRegistry(m)
	th, err := r.Register()
	if err != nil {
		t.Fatal(err)
	}
	if !th.Registered() {
		t.Fatal("Register returned an unregistered thread")
	}
	addr, err := lookup(m, unix.Gettid())
	if err != nil || addr != uint64(uintptr(unsafe.Pointer(th.area))) {
		t.Fatalf("registered address %#x (%v), want the area's %p", addr, err, th.area)
	}
	tid := unix.Gettid()
	if err := th.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := lookup(m, tid); !errors.Is(err, ebpf.ErrKeyNotExist) {
		t.Fatalf("after Close the thread's entry: %v, want none", err)
	}
}

// TestHeaderRegister: alps_inv_register stores the area's address for the calling thread in
// a pinned map (a bpffs mounted for the test).
func TestHeaderRegister(t *testing.T) {
	m := newAreaMap(t)
	bin := harness(t)
	dir := t.TempDir()
	if err := unix.Mount("bpf", dir, "bpf", 0, ""); err != nil {
		t.Skipf("mounting a bpffs: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
	pin := filepath.Join(dir, "alps-invocations")
	if err := m.Pin(pin); err != nil {
		t.Fatal(err)
	}
	runHarness(t, bin, pin, marks(4), func(out map[string][]string) {
		if got := strings.Join(out["register"], " "); got != "0 0" {
			t.Fatalf("alps_inv_register: %s (result errno), want 0 0", got)
		}
		var tid int
		var want uint64
		fmt.Sscan(out["tid"][0], &tid)
		fmt.Sscan(out["tid"][2], &want)
		if addr, err := lookup(m, tid); err != nil || addr != want {
			t.Fatalf("registered address %#x (%v), want %#x", addr, err, want)
		}
	})
	// Without the map: -1 and ENOENT, and the marks still work.
	runHarness(t, bin, filepath.Join(dir, "missing"), marks(2), func(out map[string][]string) {
		if got := strings.Join(out["register"], " "); got != fmt.Sprintf("-1 %d", unix.ENOENT) {
			t.Fatalf("alps_inv_register without a map: %s, want -1 %d", got, unix.ENOENT)
		}
	})
}

func TestOpenMissing(t *testing.T) {
	_, err := Open(filepath.Join(t.TempDir(), "none"))
	if !errors.Is(err, ErrNoMap) {
		t.Fatalf("Open of a missing pin: %v, want ErrNoMap", err)
	}
}
