package kerneltest

import (
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	Main(m, map[string]func([]string) int{"args": func(a []string) int { return len(a) }})
}

// TestWorkloads: a workload runs under its process name and does its work, a package's role
// gets its arguments, an unknown workload fails, and Kill stops and reaps a hog.
func TestWorkloads(t *testing.T) {
	w := NewWorkloads(t)
	cmd := w.Command("alpskt-work", "work", "60ms")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	comm := ""
	for deadline := time.Now().Add(time.Second); comm == "" && time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		b, _ := os.ReadFile("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/comm")
		comm = strings.TrimSpace(string(b))
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("work: %v", err)
	}
	if comm != "alpskt-work" {
		t.Errorf("process name %q, want alpskt-work", comm)
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano()); cpu < 60*time.Millisecond {
		t.Errorf("work 60ms used %v of CPU", cpu)
	}
	var exit *exec.ExitError
	if err := w.Command("x", "args", "a", "b").Run(); !errors.As(err, &exit) || exit.ExitCode() != 2 {
		t.Errorf("role args with 2 arguments: %v, want exit status 2", err)
	}
	if err := w.Command("x", "dance").Run(); !errors.As(err, &exit) || exit.ExitCode() != 2 {
		t.Errorf("an unknown workload: %v, want exit status 2", err)
	}
	hog, err := w.Start("alpskt-hog", "hog")
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if ProcCPU(hog.Process.Pid) <= 0 {
		t.Error("the hog used no CPU")
	}
	Kill(hog)
	if hog.ProcessState == nil {
		t.Error("Kill did not reap the hog")
	}
}

// TestMissing: without ALPS_KERNEL_TESTS=1 a missing requirement skips the test.
func TestMissing(t *testing.T) {
	t.Setenv(EnvRun, "")
	skipped := false
	t.Run("optional", func(t *testing.T) {
		defer func() { skipped = t.Skipped() }()
		missing(t, "no such thing")
	})
	if !skipped {
		t.Errorf("a missing requirement did not skip without %s", EnvRun)
	}
	t.Setenv(EnvRun, "1")
	if !required() {
		t.Errorf("%s=1 does not make the kernel tests required", EnvRun)
	}
}
