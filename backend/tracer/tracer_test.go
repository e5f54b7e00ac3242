package tracer

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/alps-sched/alps/backend"
	"github.com/alps-sched/alps/internal/kerneltest"
	"github.com/alps-sched/alps/policy"
)

// load loads the tracer or skips the test where tracing programs cannot be loaded (not
// root, no BTF). A verifier rejection on a capable host fails.
func load(t *testing.T) *Tracer {
	t.Helper()
	tr, err := Load(Options{})
	if errors.Is(err, ErrNotRoot) || errors.Is(err, ErrNoBTF) || errors.Is(err, syscall.EPERM) {
		t.Skipf("no tracing here: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

// named returns a path to /bin/sh under the process name name.
func named(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.Symlink("/bin/sh", p); err != nil {
		t.Fatal(err)
	}
	return p
}

// spinScript burns a little CPU in the shell, then runs sleep in a child process and a
// subshell (a fork without exec) beside it, and prints their pids.
const spinScript = "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; /bin/sleep 0.05 & s=$!; " +
	"(i=0; while [ $i -lt 2000 ]; do i=$((i+1)); done) & wait; echo $s $!"

// collect gathers records until one for every pid in want arrived or the timeout.
func collect(t *testing.T, tr *Tracer, want []int, timeout time.Duration) map[int]policy.Record {
	t.Helper()
	got := map[int]policy.Record{}
	deadline := time.After(timeout)
	for {
		done := true
		for _, p := range want {
			if _, ok := got[p]; !ok {
				done = false
			}
		}
		if done {
			return got
		}
		select {
		case r := <-tr.Records():
			got[int(r.PID)] = r
		case <-deadline:
			return got
		}
	}
}

func TestRecordsByProcessName(t *testing.T) {
	tr := load(t)
	if err := tr.SetCommFunction("alpstrace-fn5", 5); err != nil {
		t.Fatal(err)
	}
	if err := tr.SetCommFunction("a-name-of-16-byt", 5); err == nil {
		t.Error("a 16-byte process name was accepted")
	}
	if err := tr.SetCommFunction("x", policy.MaxFunctions); err == nil {
		t.Error("a function id of MaxFunctions was accepted")
	}
	classified := exec.Command(named(t, "alpstrace-fn5"), "-c", spinScript)
	out, err := classified.Output()
	if err != nil {
		t.Fatal(err)
	}
	var sleeper, subshell int
	if _, err := fmt.Sscan(string(out), &sleeper, &subshell); err != nil {
		t.Fatalf("child pids %q: %v", out, err)
	}
	other := exec.Command(named(t, "alpstrace-none"), "-c", spinScript)
	if err := other.Run(); err != nil {
		t.Fatal(err)
	}
	pid := classified.Process.Pid
	got := collect(t, tr, []int{pid, subshell}, 5*time.Second)
	r, ok := got[pid]
	if !ok {
		t.Fatalf("no record of the classified process %d; got %v", pid, got)
	}
	if r.Function != 5 {
		t.Errorf("record function %d, want 5", r.Function)
	}
	// wait4's usage covers the shell and the children it waited for (the subshell, sleep):
	// the record, the shell's own CPU, is most of it (the shell's loop is ten times the
	// subshell's) and, with the subshell's record, never more. A tolerance in ms instead
	// fails on a loaded machine, where every part grows.
	usage := classified.ProcessState.UserTime() + classified.ProcessState.SystemTime()
	own, sub := time.Duration(r.CPU), time.Duration(got[subshell].CPU)
	if own < usage/2 || own+sub > usage+2*time.Millisecond {
		t.Errorf("record CPU %v (subshell %v), wait4 says %v for the shell and its children: want at least half of it and, with the subshell, no more",
			own, sub, usage)
	}
	if wall := time.Duration(r.End - r.Start); wall < 50*time.Millisecond || wall > 5*time.Second {
		t.Errorf("record wall time %v: the shell waited for a 50 ms sleep", wall)
	}
	if c, ok := got[subshell]; !ok || c.Function != 5 {
		t.Errorf("the subshell (pid %d) is not function 5: %+v (present %v)", subshell, c, ok)
	}
	// As in the scheduler: a child classified by its name at fork is classified again at
	// its exec, and "sleep" names no function.
	if c, ok := got[sleeper]; ok {
		t.Errorf("the child that exec'ed sleep (pid %d) was reported: %+v", sleeper, c)
	}
	if r, ok := got[other.Process.Pid]; ok {
		t.Errorf("an unclassified process was reported: %+v", r)
	}
}

func TestRecordsByCgroup(t *testing.T) {
	tr := load(t)
	dir := kerneltest.Cgroup(t)
	id, err := backend.CgroupID(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.SetCgroupFunction(id, 9); err != nil {
		t.Fatal(err)
	}
	fd, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer fd.Close()

	// Started in the cgroup (clone3 CLONE_INTO_CGROUP): classified at fork.
	inside := exec.Command(named(t, "alpstrace-cg"), "-c", "i=0; while [ $i -lt 5000 ]; do i=$((i+1)); done")
	inside.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: int(fd.Fd())}
	if err := inside.Run(); err != nil {
		t.Fatal(err)
	}
	// Moved into the cgroup while running: classified at the move.
	moved := exec.Command(named(t, "alpstrace-mv"), "-c", "read line")
	stdin, err := moved.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := moved.Start(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(moved.Process.Pid)), 0o644); err != nil {
		t.Fatal(err)
	}
	stdin.Write([]byte("go\n"))
	stdin.Close()
	if err := moved.Wait(); err != nil {
		t.Fatal(err)
	}
	got := collect(t, tr, []int{inside.Process.Pid, moved.Process.Pid}, 5*time.Second)
	for name, pid := range map[string]int{"started inside": inside.Process.Pid, "moved in": moved.Process.Pid} {
		if r, ok := got[pid]; !ok || r.Function != 9 {
			t.Errorf("%s (pid %d): record %+v (present %v), want function 9", name, pid, r, ok)
		}
	}

	// Unclassified again: a new process in the cgroup is not reported.
	if err := tr.DeleteCgroupFunction(id); err != nil {
		t.Fatal(err)
	}
	if err := tr.DeleteCgroupFunction(id); err != nil {
		t.Errorf("deleting an absent classification: %v", err)
	}
	after := exec.Command(named(t, "alpstrace-cg2"), "-c", "true")
	after.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: int(fd.Fd())}
	if err := after.Run(); err != nil {
		t.Fatal(err)
	}
	if r, ok := collect(t, tr, []int{after.Process.Pid}, 500*time.Millisecond)[after.Process.Pid]; ok {
		t.Errorf("a process of an unclassified cgroup was reported: %+v", r)
	}
}

func TestClose(t *testing.T) {
	tr := load(t)
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := <-tr.Records(); ok {
		t.Error("Records still open after Close")
	}
	if err := tr.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}
