package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/alps-sched/alps/cmd/internal/cli"
	"github.com/alps-sched/alps/configs"
)

func executeCtx(t *testing.T, ctx context.Context, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	app, err := newApp()
	if err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	app.SetOutput(&out, &errb)
	code = app.Execute(ctx, args)
	return code, out.String(), errb.String()
}

// lastLine is the error line of a command's stderr (log lines before it are JSON).
func lastLine(stderr string) string {
	lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
	return lines[len(lines)-1]
}

// TestRunHostile (issue 11, defects 1, 5 and 14): one line, non-zero exit, before any work.
func TestRunHostile(t *testing.T) {
	dir := t.TempDir()
	trace := writeFile(t, dir, "t.csv", goodTrace)
	file := writeFile(t, dir, "file", "")
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"quote in a number", []string{"run", "--trace", writeFile(t, dir, "q.csv", "arrival_ms,function,cpu_ms\n0\"00000\n")}, cli.ExitFailure, "q.csv:2:2: "},
		{"huge core count", []string{"run", "--trace", trace, "--cores", "100000000000"}, cli.ExitUsage, "--cores: must be in [1, 8192]"},
		{"policy twice", []string{"run", "--trace", trace, "--policies", "srpt,fifo,srpt"}, cli.ExitUsage, "--policies: srpt is listed twice"},
		{"out under a file", []string{"run", "--trace", trace, "--out", filepath.Join(file, "out")}, cli.ExitFailure, "--out: "},
		{"gen functions", []string{"gen", "--functions", "2000000000"}, cli.ExitUsage, "--functions: must be in [1, 1000000]"},
		{"gen cores", []string{"gen", "--cores", "100000000000"}, cli.ExitUsage, "--cores: must be in [1, 8192]"},
		{"gen out in a missing directory", []string{"gen", "--out", filepath.Join(dir, "no", "g.csv")}, cli.ExitFailure, "--out: directory"},
		{"tune trials", []string{"tune", "--trace", trace, "--trials", "100000000"}, cli.ExitUsage, "--trials: must be in [1, 1000000]"},
		{"tune parallel", []string{"tune", "--trace", trace, "--parallel", "100000"}, cli.ExitUsage, "--parallel: must be in [0, 256]"},
		{"tune cores", []string{"tune", "--trace", trace, "--cores", "100000000000"}, cli.ExitUsage, "--cores: must be in [1, 8192]"},
		{"tune out in a missing directory", []string{"tune", "--trace", trace, "--out", "/nonexistent/x"}, cli.ExitFailure, "--out: directory /nonexistent: no such file"},
		{"tune out a directory", []string{"tune", "--trace", trace, "--out", dir}, cli.ExitFailure, "is a directory"},
		{"tune space /dev/zero", []string{"tune", "--trace", trace, "--space", "/dev/zero", "--out", filepath.Join(dir, "b.yaml")}, cli.ExitFailure, "space /dev/zero: larger than 1048576 bytes"},
		{"config /dev/zero", []string{"run", "--trace", trace, "--config", "/dev/zero"}, cli.ExitFailure, "config /dev/zero: larger than 1048576 bytes"},
		{"empty config", []string{"run", "--trace", trace, "--config", writeFile(t, dir, "empty.yaml", "")}, cli.ExitFailure, "empty.yaml: empty file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := execute(t, tt.args...)
			if code != tt.code || !strings.Contains(lastLine(stderr), tt.want) || strings.Contains(stderr, "goroutine") {
				t.Errorf("exit %d, stderr %q; want exit %d and one line containing %q", code, stderr, tt.code, tt.want)
			}
		})
	}
}

// TestRunInterruptKeepsFinished (issue 11, defects 8 and 9): SIGINT during the third policy
// (whose events are timers, not completions) stops it promptly; the two finished policies are
// printed and their files written, and the exit code is 130.
func TestRunInterruptKeepsFinished(t *testing.T) {
	dir := t.TempDir()
	trace := writeFile(t, dir, "t.csv", "arrival_ms,function,cpu_ms\n0,a,5\n10000000000,a,5\n")
	cfg := writeFile(t, dir, "c.yaml", "learner:\n  update_interval_ms: 1\n")
	out := filepath.Join(dir, "out")
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(time.Second, cancel)
	start := time.Now()
	code, stdout, stderr := executeCtx(t, ctx, "run", "--trace", trace, "--config", cfg, "--cores", "1", "--policies", "srpt,fifo,alps", "--out", out)
	if el := time.Since(start); el > 20*time.Second {
		t.Errorf("took %v after the interruption", el)
	}
	if code != 130 || !strings.Contains(lastLine(stderr), "interrupted: the 2 policies that finished are reported") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if !strings.Contains(stdout, "srpt") || !strings.Contains(stdout, "fifo") || strings.Contains(stdout, "alps") {
		t.Errorf("table:\n%s", stdout)
	}
	for _, f := range []string{"srpt.csv", "fifo.csv", "fct_cdf.png", "slowdown_by_demand.png"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "alps.csv")); err == nil {
		t.Error("alps.csv written for an interrupted policy")
	}
}

// TestRunFileErrorKeepsTable (issue 11, defect 9): a file that cannot be written does not
// lose the figures: the table is printed, the error is one line, and no partial file is left.
func TestRunFileErrorKeepsTable(t *testing.T) {
	dir := t.TempDir()
	trace := writeFile(t, dir, "t.csv", goodTrace)
	out := filepath.Join(dir, "out")
	if err := os.MkdirAll(filepath.Join(out, "srpt.csv"), 0o755); err != nil { // srpt.csv cannot be written
		t.Fatal(err)
	}
	code, stdout, stderr := execute(t, "run", "--trace", trace, "--cores", "1", "--policies", "srpt,fifo", "--out", out)
	if code != cli.ExitFailure || !strings.Contains(lastLine(stderr), "--out: srpt.csv: ") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if !strings.Contains(stdout, "srpt") || !strings.Contains(stdout, "fifo") {
		t.Errorf("table not printed:\n%s", stdout)
	}
	ents, _ := os.ReadDir(out)
	if len(ents) != 1 {
		t.Errorf("files left in --out: %v", ents)
	}
}

// TestTuneHostile (issue 11, defects 8, 9 and 14).
func TestTuneHostile(t *testing.T) {
	dir := t.TempDir()
	trace := writeFile(t, dir, "t.csv", goodTrace)
	out := filepath.Join(dir, "best.yaml")

	// Interrupted during the baselines: exit 130 at once, nothing written.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	code, _, stderr := executeCtx(t, ctx, "tune", "--trace", trace, "--cores", "1", "--trials", "2", "--out", out)
	if code != 130 || !strings.Contains(lastLine(stderr), "interrupted during the srpt baseline") {
		t.Errorf("interrupted baselines: exit %d, stderr %q", code, stderr)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("best.yaml written by an interrupted search")
	}

	// The built-in space: tune works outside the repository.
	t.Chdir(t.TempDir())
	code, _, stderr = execute(t, "tune", "--trace", trace, "--cores", "1", "--trials", "2", "--objective", "mean_fct", "--out", out)
	if code != 0 {
		t.Fatalf("tune with the built-in space: exit %d, %s", code, stderr)
	}
	// The written file loads.
	l, _ := configs.NewLoader()
	if err := l.ReadFile(out); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Load(); err != nil {
		t.Fatal(err)
	}

	// The base config is read once: trials do not depend on the file staying in place.
	base := writeFile(t, dir, "base.yaml", "learner:\n  predictor: mean\n")
	data, err := configs.ReadFile(base)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(base)
	cfg, err := configWith(configFile{name: base, data: data}, map[string]any{"learner.alpha": 2.0})
	if err != nil || cfg.Learner.Predictor != "mean" || cfg.Learner.Alpha != 2 {
		t.Errorf("config from the base read once: %+v %v", cfg.Learner, err)
	}
}

// TestTuneFileErrorKeepsTable (issue 11, defect 9): when --out cannot be written at the end
// (here a copy of /dev/full: a full disk), the table of the best trials is still printed and
// the error is one line.
func TestTuneFileErrorKeepsTable(t *testing.T) {
	dir := t.TempDir()
	trace := writeFile(t, dir, "t.csv", goodTrace)
	dev := filepath.Join(dir, "full")
	if err := unix.Mknod(dev, unix.S_IFCHR|0o666, int(unix.Mkdev(1, 7))); err != nil { // /dev/full
		t.Skipf("mknod (needs root): %v", err)
	}
	code, stdout, stderr := execute(t, "tune", "--trace", trace, "--cores", "1", "--trials", "2", "--objective", "mean_fct", "--out", dev)
	if code != cli.ExitFailure || !strings.Contains(lastLine(stderr), "no space left on device") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if !strings.Contains(stdout, "mean_fct_ms") {
		t.Errorf("table not printed:\n%s", stdout)
	}
}
