// Package kerneltest is what the kernel tests of alps share. A kernel test loads BPF into the
// running kernel; its name starts with TestKernel so that make vm-test (experiments/vm/vmtest)
// finds it, builds its package with go test -c and runs it inside a VM booting a sched_ext
// kernel. Elsewhere it skips with a one-line reason: on a kernel without sched_ext, without
// root, and (for the tests that attach a scheduler) unless $ALPS_KERNEL_TESTS=1, because
// attaching replaces the CPU scheduler of the machine that runs the test.
//
// A kernel test ends with one t.Logf line of what it measured: make vm-test prints it beside
// the verdict.
//
// The workloads of a test (CPU hogs, short invocations, a loader to kill) are the test binary
// itself, started under a chosen process name so the scheduler classifies it: a package with
// kernel tests has
//
//	func TestMain(m *testing.M) { kerneltest.Main(m, nil) }
package kerneltest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// EnvRun is the environment variable that makes the kernel tests run here ("1"): the VM sets
// it, and then a missing requirement fails the test instead of skipping it.
const EnvRun = "ALPS_KERNEL_TESTS"

// envWorkload marks a process started by Workloads.Start: it runs a workload, not the tests.
const envWorkload = "ALPS_KERNELTEST_WORKLOAD"

func required() bool { return os.Getenv(EnvRun) == "1" }

// missing skips t with reason, or fails it when the kernel tests must run here.
func missing(t testing.TB, reason string) {
	t.Helper()
	if required() {
		t.Fatalf("%s=1 but %s", EnvRun, reason)
	}
	t.Skip(reason)
}

// Root skips t unless it runs as root (loading BPF programs needs CAP_BPF and more).
func Root(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		missing(t, "kernel test: needs root (make vm-test runs it in a VM)")
	}
}

// SchedExt skips t unless the kernel has sched_ext and t runs as root.
func SchedExt(t testing.TB) {
	t.Helper()
	if _, err := os.Stat("/sys/kernel/sched_ext"); err != nil {
		missing(t, "kernel test: this kernel has no sched_ext (make vm-test runs it in a VM)")
	}
	Root(t)
}

// Attach skips t unless it may attach a sched_ext scheduler here: SchedExt, and $ALPS_KERNEL_TESTS=1
// (the VM sets it), since attaching replaces this machine's CPU scheduler for the test's length.
func Attach(t testing.TB) {
	t.Helper()
	SchedExt(t)
	if !required() {
		t.Skipf("kernel test: attaches a sched_ext scheduler to this machine; set %s=1 to run it here (make vm-test runs it in a VM)", EnvRun)
	}
}

// Main is the TestMain of a package with kernel tests. In a process started by
// Workloads.Start it runs the workload named by its first argument instead of the tests and
// exits: "hog" spins forever, "work D" spins until the process used D of CPU, "probe D [PID]"
// records the machine's stalls and a process's waits (StartProbe), and roles adds the package's own (e.g. a
// loader that attaches and waits to be killed).
func Main(m *testing.M, roles map[string]func(args []string) int) {
	if os.Getenv(envWorkload) != "1" {
		os.Exit(m.Run())
	}
	args := os.Args[1:]
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "kerneltest: a workload process needs a role")
		os.Exit(2)
	}
	switch role, rest := args[0], args[1:]; {
	case role == "hog":
		for {
			Spin(time.Hour)
		}
	case role == "work" && len(rest) == 1:
		d, err := time.ParseDuration(rest[0])
		if err != nil {
			fmt.Fprintf(os.Stderr, "kerneltest: work: %v\n", err)
			os.Exit(2)
		}
		Spin(d)
		os.Exit(0)
	case role == "probe":
		os.Exit(probe(rest))
	case roles[role] != nil:
		os.Exit(roles[role](rest))
	default:
		fmt.Fprintf(os.Stderr, "kerneltest: unknown workload %q\n", strings.Join(args, " "))
		os.Exit(2)
	}
}

// cpuTime is the CPU time this process used so far.
func cpuTime() time.Duration {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_PROCESS_CPUTIME_ID, &ts)
	return time.Duration(ts.Nano())
}

// Spin burns CPU until the process used d of CPU time: calibrated by the clock, not by
// iterations, since the speed of an emulated CPU is unknown.
func Spin(d time.Duration) {
	x := 1
	for cpuTime() < d {
		for range 10000 {
			x = x*1103515245 + 12345
		}
	}
	if x == 42 {
		fmt.Print("")
	}
}

// Workloads starts workload processes of the test binary under chosen process names.
type Workloads struct {
	t    testing.TB
	self string
	dir  string
	mu   sync.Mutex
	have map[string]bool
}

// NewWorkloads returns the workload starter of t; every process it starts is killed and reaped
// when t ends.
func NewWorkloads(t testing.TB) *Workloads {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return &Workloads{t: t, self: self, dir: t.TempDir(), have: map[string]bool{}}
}

// Command returns the command that runs workload args (e.g. "work", "5ms") as a process
// named name (at most 15 bytes: the kernel's comm), with one spinning thread.
func (w *Workloads) Command(name string, args ...string) *exec.Cmd {
	w.t.Helper()
	w.mu.Lock()
	link := filepath.Join(w.dir, name)
	if !w.have[name] {
		if err := os.Symlink(w.self, link); err != nil {
			w.mu.Unlock()
			w.t.Fatalf("workload %s: %v", name, err)
		}
		w.have[name] = true
	}
	w.mu.Unlock()
	cmd := exec.Command(link, args...)
	cmd.Env = append(os.Environ(), envWorkload+"=1", "GOMAXPROCS=1")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	return cmd
}

// Start starts workload args as a process named name; it is killed when the test ends.
// It is safe to call from several goroutines.
func (w *Workloads) Start(name string, args ...string) (*exec.Cmd, error) {
	cmd := w.Command(name, args...)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting workload %s: %w", name, err)
	}
	w.t.Cleanup(func() { Kill(cmd) })
	return cmd, nil
}

// Kill kills and reaps the processes that are still running.
func Kill(cmds ...*exec.Cmd) {
	for _, c := range cmds {
		if c.Process != nil && c.ProcessState == nil {
			c.Process.Kill()
		}
	}
	for _, c := range cmds {
		if c.Process != nil && c.ProcessState == nil {
			c.Wait()
		}
	}
}

// ProcCPU returns the CPU time all threads of pid used so far (their schedstat run times).
func ProcCPU(pid int) time.Duration {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	var sum time.Duration
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		if f := strings.Fields(string(b)); len(f) > 0 {
			n, _ := strconv.ParseInt(f[0], 10, 64)
			sum += time.Duration(n)
		}
	}
	return sum
}

// State returns the kernel's sched_ext state ("enabled", "disabled", ...) and the running
// scheduler's name, or a description of why it cannot be read.
func State() (state, ops string) {
	b, err := os.ReadFile("/sys/kernel/sched_ext/state")
	if err != nil {
		return "unreadable: " + err.Error(), ""
	}
	o, _ := os.ReadFile("/sys/kernel/sched_ext/root/ops")
	return strings.TrimSpace(string(b)), strings.TrimSpace(string(o))
}

// WaitState waits up to within for the sched_ext state want and returns the last state seen.
func WaitState(want string, within time.Duration) (string, bool) {
	deadline := time.Now().Add(within)
	for {
		s, _ := State()
		if s == want || time.Now().After(deadline) {
			return s, s == want
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Ms is d in milliseconds, rounded to 0.01 ms.
func Ms(d time.Duration) float64 { return float64(d.Round(10*time.Microsecond)) / 1e6 }
