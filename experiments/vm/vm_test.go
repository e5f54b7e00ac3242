package vm

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParseData(t *testing.T) {
	tests := []struct {
		name  string
		raw   string
		code  int
		ok    bool
		files map[string]string
	}{
		{"exit only", "=== EXIT 3 ===\n", 3, true, map[string]string{}},
		{"file and exit", "=== FILE a.json ===\naGVs\nbG8=\n=== END ===\r\n=== EXIT 0 ===\n", 0, true,
			map[string]string{"a.json": "hello"}},
		{"no exit", "=== FILE x ===\naGk=\n=== END ===\n", 0, false, map[string]string{"x": "hi"}},
		{"truncated file dropped", "=== FILE x ===\naGk=\n", 0, false, map[string]string{}},
		{"bad exit marker", "=== EXIT x ===\n", 0, false, map[string]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string][]byte{}
			code, ok := parseData([]byte(tt.raw), files)
			if code != tt.code || ok != tt.ok {
				t.Fatalf("parseData = %d, %v; want %d, %v", code, ok, tt.code, tt.ok)
			}
			if len(files) != len(tt.files) {
				t.Fatalf("files = %q, want %q", files, tt.files)
			}
			for k, v := range tt.files {
				if string(files[k]) != v {
					t.Fatalf("file %s = %q, want %q", k, files[k], v)
				}
			}
		})
	}
}

// readCpio parses a newc archive into name -> (mode, body) and the names in archive order.
func readCpio(t *testing.T, b []byte) (map[string][2]string, []string) {
	t.Helper()
	out := map[string][2]string{}
	var order []string
	pad := func(n int) int { return (n + 3) &^ 3 }
	for off := 0; off < len(b); {
		h := string(b[off : off+110])
		if h[:6] != "070701" {
			t.Fatalf("bad magic at %d", off)
		}
		field := func(i int) int {
			v, err := strconv.ParseUint(h[6+8*i:14+8*i], 16, 32)
			if err != nil {
				t.Fatal(err)
			}
			return int(v)
		}
		mode, size, nameLen := field(1), field(6), field(11)
		name := string(b[off+110 : off+110+nameLen-1])
		off = pad(off + 110 + nameLen)
		body := string(b[off : off+size])
		off = pad(off + size)
		if name == "TRAILER!!!" {
			break
		}
		out[name] = [2]string{strconv.FormatInt(int64(mode), 8), body}
		order = append(order, name)
	}
	return out, order
}

func TestInitramfs(t *testing.T) {
	if _, err := os.Stat("/bin/busybox"); err != nil {
		t.Skip("no busybox")
	}
	dir := t.TempDir()
	host := filepath.Join(dir, "tool")
	if err := os.WriteFile(host, []byte("#!/bin/sh\necho hi\n"), 0o750); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "initrd.gz")
	if err := writeInitramfs(path, Spec{Script: "echo job", Files: map[string]string{"/opt/x/tool": host, "/opt/y/z/deep": host}}); err != nil {
		t.Fatal(err)
	}
	f, _ := os.Open(path)
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(gz)
	ents, order := readCpio(t, raw)
	seen := map[string]bool{".": true}
	for _, name := range order { // the kernel's unpacker creates no missing parent
		if !seen[filepath.Dir(name)] {
			t.Errorf("entry %s comes before its directory", name)
		}
		seen[name] = true
	}
	for name, want := range map[string][2]string{
		"job.sh":     {"100755", "echo job"},
		"opt/x/tool": {"100750", "#!/bin/sh\necho hi\n"},
		"opt":        {"40755", ""},
		"opt/x":      {"40755", ""},
	} {
		if got, ok := ents[name]; !ok || got != want {
			t.Errorf("entry %s = %q (present %v), want %q", name, got, ok, want)
		}
	}
	for _, name := range []string{"init", "bin/busybox", "bin/send"} {
		if _, ok := ents[name]; !ok {
			t.Errorf("no %s in the initramfs", name)
		}
	}
	if !strings.Contains(ents["init"][1], "mount -t cgroup2") || !bytes.Contains([]byte(ents["init"][1]), []byte("=== EXIT")) {
		t.Errorf("init does not mount cgroup2 or report the exit status")
	}
}

// TestBoot boots the real VM (about 10 s); it runs when ALPS_VM_BOOT=1 (vm-test.sh runs
// the whole suite in a VM anyway).
func TestBoot(t *testing.T) {
	if os.Getenv("ALPS_VM_BOOT") != "1" {
		t.Skip("set ALPS_VM_BOOT=1 to boot the VM")
	}
	res, err := Run(context.Background(), Spec{Script: "cat /sys/kernel/sched_ext/state >/tmp/s; send /tmp/s; exit 7", Timeout: 2 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 7 || string(res.Files["s"]) != "disabled\n" {
		t.Fatalf("exit %d, files %q; want 7 and state disabled", res.ExitCode, res.Files)
	}
}

// TestProcessCPU reads this process's CPU time, which grows as it burns CPU.
func TestProcessCPU(t *testing.T) {
	before, err := processCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// Burn until the reading has moved by 50 ms (/proc counts in 10 ms ticks), or give up
	// after 20 s of wall time: a loaded host may give this test little CPU.
	x, after := 1, before
	for end := time.Now().Add(20 * time.Second); after-before < 50*time.Millisecond && time.Now().Before(end); {
		for range 1_000_000 {
			x = x*1103515245 + 12345
		}
		if after, err = processCPU(os.Getpid()); err != nil {
			t.Fatal(err)
		}
	}
	if after-before < 50*time.Millisecond {
		t.Errorf("20 s of burning moved the CPU time only from %v to %v (x=%d)", before, after, x)
	}
	if _, err := processCPU(1 << 30); err == nil {
		t.Error("no error for a process that does not exist")
	}
}

// TestMarker: a mark is timed once, when its whole line has arrived, however the console
// output is split; other lines and partial matches are not marks.
func TestMarker(t *testing.T) {
	m := &marker{marks: []string{"=== go ===", "=== end ==="}, pid: os.Getpid(), start: time.Now(), seen: map[string]HostSample{}}
	for _, chunk := range []string{"boot\n=== g", "o ===\r\n", "x === go ===\n", "=== go ===\n", "=== end =="} {
		if n, err := m.Write([]byte(chunk)); err != nil || n != len(chunk) {
			t.Fatalf("Write(%q) = %d, %v", chunk, n, err)
		}
	}
	if len(m.seen) != 1 {
		t.Fatalf("marks %v, want only \"=== go ===\" (the end line is incomplete)", m.seen)
	}
	first := m.seen["=== go ==="]
	if first.At <= 0 || first.CPU <= 0 {
		t.Errorf("mark %+v: want a time and a CPU reading", first)
	}
}
