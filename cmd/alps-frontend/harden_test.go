package main

import (
	"github.com/alps-sched/alps/configs"
	"golang.org/x/sys/unix"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/alps-sched/alps/cmd/internal/cli"
)

const recordsHead = "id,function,arrival_ms,start_ms,end_ms,cpu_ms,demand_ms,io_ms,blocks,lost,error\n"

// TestRecordsHostile (issue 11, defects 6, 7 and 13): a hostile records file is one line
// naming the file, line and column; a legitimate one with a long idle gap replays at once.
func TestRecordsHostile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ok := "0,a,0,0,10,5,5,0,0,0,\n"
	tests := []struct {
		name, body, want string
	}{
		{"end beyond the limit", "0,a,0,0,9223372036854,5,5,0,0,0,\n", ":2:5: end_ms: 9223372036854 is not in [0, 1e+10]"},
		{"NaN cpu", "0,a,0,0,10,NaN,5,0,0,0,\n", `:2:6: cpu_ms: "NaN" is not a finite number`},
		{"Inf end", "0,a,0,0,Inf,5,5,0,0,0,\n", `:2:5: end_ms: "Inf" is not a finite number`},
		{"negative cpu", "0,a,0,0,10,-5,5,0,0,0,\n", ":2:6: cpu_ms: -5 is not in [0, 1e+10]"},
		{"huge cpu", "0,a,0,0,10,1e300,5,0,0,0,\n", ":2:6: cpu_ms: 1e300 is not in [0, 1e+10]"},
		{"empty function", "0,,0,0,10,5,5,0,0,0,\n", ":2:2: function: empty name"},
		{"long function", "0," + strings.Repeat("f", 300) + ",0,0,10,5,5,0,0,0,\n", ":2:2: function: name of 300 bytes"},
		{"bad lost flag", "0,a,0,0,10,5,5,0,0,yes,\n", `:2:10: lost: "yes" is not 0 or 1`},
		{"long line", "0,a,0,0,10,5,5,0,0,0," + strings.Repeat("e", 70000) + "\n", ":2:1: line longer than 65536 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := write(strings.ReplaceAll(tt.name, " ", "-")+".csv", recordsHead+ok+tt.body)
			want := strings.Replace(tt.want, ":2:", ":3:", 1)
			code, _, errOut := runFrontend(t, noPins(t), "--dry-run", "--records", p)
			if code != cli.ExitFailure || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, p+want) {
				t.Errorf("exit %d, stderr %q; want one line containing %q", code, errOut, p+want)
			}
		})
	}
	t.Run("dev zero", func(t *testing.T) {
		code, _, errOut := runFrontend(t, noPins(t), "--dry-run", "--records", "/dev/zero")
		if code != cli.ExitFailure || !strings.Contains(errOut, "/dev/zero:1:1: line longer than") {
			t.Errorf("exit %d, stderr %q", code, errOut)
		}
	})
	t.Run("byte-order mark", func(t *testing.T) {
		p := write("bom.csv", "\ufeff"+recordsHead+ok)
		if code, _, errOut := runFrontend(t, noPins(t), "--dry-run", "--records", p); code != 0 {
			t.Errorf("exit %d, stderr %q", code, errOut)
		}
	})
	t.Run("idle gap of 100 days at a 1 ms interval", func(t *testing.T) {
		p := write("gap.csv", recordsHead+ok+"1,a,9000000000,9000000000,9000000010,5,5,0,0,0,\n")
		cfg := writeConfig(t, "learner:\n  update_interval_ms: 1\n")
		start := time.Now()
		code, out, errOut := runFrontend(t, noPins(t), "--config", cfg, "--dry-run", "--records", p)
		if code != 0 || !strings.Contains(out, "dry run over 2 recorded invocations") {
			t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
		}
		if el := time.Since(start); el > 10*time.Second {
			t.Errorf("took %v", el)
		}
	})
}

// TestPrintable (issue 11, defect 14): names with control bytes are shown quoted.
func TestPrintable(t *testing.T) {
	tests := []struct{ in, want string }{
		{"resize", "resize"},
		{"fn-ü", "fn-ü"},
		{"evil\x1b[2J", `"evil\x1b[2J"`},
		{"tab\there", `"tab\there"`},
		{"bad\xffutf8", `"bad\xffutf8"`},
		{"c1\u009b", `"c1\u009b"`},
	}
	for _, tt := range tests {
		if got := printable(tt.in); got != tt.want {
			t.Errorf("printable(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
	// And in the table status prints.
	snap := testSnapshot()
	snap.Comms = map[string]uint32{"evil\x1b[2J": 0}
	src := &fakePins{snap: snap}
	env, _ := fakeEnv("/run/pins", src)
	cfgPath := writeConfig(t, "frontend:\n  pin_path: /run/pins\n")
	code, out, _ := runFrontend(t, env, "status", "--config", cfgPath)
	if code != 0 || strings.Contains(out, "\x1b") || !strings.Contains(out, `"evil\x1b[2J"`) {
		t.Errorf("status printed %q", out)
	}
}

// TestPinDirChecks (issue 11, hardening): a pin directory another user could have prepared
// is refused; one that is not on a bpffs is named as such.
func TestPinDirChecks(t *testing.T) {
	dir := t.TempDir()
	mk := func(name string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.Mkdir(p, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil { // past the umask
			t.Fatal(err)
		}
		return p
	}
	wide := mk("wide", 0o755)
	private := mk("private", 0o700)
	link := filepath.Join(dir, "link")
	os.Symlink(private, link)
	file := filepath.Join(dir, "file")
	os.WriteFile(file, nil, 0o600)
	tests := []struct{ path, want string }{
		{wide, "has mode 0755, wider than 0700"},
		{link, "is a symbolic link"},
		{file, "is not a directory"},
		{private, "is not on a bpffs"},
	}
	if os.Geteuid() == 0 {
		other := mk("other", 0o700)
		if err := os.Chown(other, 65534, 65534); err == nil {
			tests = append(tests, struct{ path, want string }{other, "is owned by uid 65534"})
		}
	}
	for _, tt := range tests {
		if err := checkPinDir(tt.path); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("checkPinDir(%s) = %v, want %q", tt.path, err, tt.want)
		}
	}
	if err := checkPinDir(filepath.Join(dir, "missing")); err != nil {
		t.Errorf("a missing pin directory (the backend creates it 0700): %v", err)
	}
	// status on a directory of ordinary files: not "needs root".
	if _, err := kernelStatus().open(private); err == nil || !strings.Contains(err.Error(), "is not on a bpffs") {
		t.Errorf("status on a non-bpffs directory: %v", err)
	}
}

// TestInvocationGroup: the registration map's pin must be on a bpffs and not a symlink; its
// group resolves by name or number, and an unknown one is named.
func TestInvocationGroup(t *testing.T) {
	dir := t.TempDir()
	link := filepath.Join(dir, "link")
	os.Symlink(dir, link)
	for _, tt := range []struct {
		f    configs.Frontend
		want string
	}{
		{configs.Frontend{InvocationMap: filepath.Join(dir, "inv")}, "is not on a bpffs"},
		{configs.Frontend{InvocationMap: filepath.Join(dir, "missing", "inv")}, "frontend.invocation_map"},
	} {
		if _, err := invocationGroup(tt.f); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("invocationGroup(%+v) = %v, want %q", tt.f, err, tt.want)
		}
	}
	if gid, err := invocationGroup(configs.Frontend{}); gid != -1 || err != nil {
		t.Errorf("no invocation map: gid %d, %v; want -1 (root only)", gid, err)
	}
	bpf := "/sys/fs/bpf"
	var st unix.Statfs_t
	if unix.Statfs(bpf, &st) != nil || st.Type != unix.BPF_FS_MAGIC {
		t.Skip("no bpffs at /sys/fs/bpf for the group checks")
	}
	m := filepath.Join(bpf, "alps-inv-test")
	for _, tt := range []struct {
		group string
		gid   int
		want  string
	}{{"", -1, ""}, {"root", 0, ""}, {"0", 0, ""}, {"no-such-group-alps", 0, `no group "no-such-group-alps"`}} {
		gid, err := invocationGroup(configs.Frontend{InvocationMap: m, InvocationGroup: tt.group})
		if (tt.want == "" && (err != nil || gid != tt.gid)) || (tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want))) {
			t.Errorf("group %q: gid %d, %v; want %d %q", tt.group, gid, err, tt.gid, tt.want)
		}
	}
}
