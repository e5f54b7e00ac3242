package kerneltest

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Record is the part of an invocation record that CheckRecords compares with wait4.
type Record struct {
	PID        int
	Function   uint32
	Start, End int64 // CLOCK_MONOTONIC ns
	CPU        time.Duration
}

// Classifier classifies processes into functions (backend.Scheduler, tracer.Tracer).
type Classifier interface {
	SetCommFunction(comm string, fn uint32) error
	SetCgroupFunction(cgroupID uint64, fn uint32) error
}

// RecordTolerance is how far a record's CPU time may be from what wait4 reports for the same
// process.
const RecordTolerance = 5 * time.Millisecond

// CheckRecords runs 20 short processes of 5 to 24 ms of CPU, half classified by their process
// name (shortfn, function 3) and half by the cgroup they start in (function 9; cgroupID gives
// a cgroup directory's id), and checks that records, converted by rec, report every one of
// them with its function, end >= start and a CPU time within RecordTolerance of wait4's. It
// returns the line a test logs.
func CheckRecords[R any](t testing.TB, c Classifier, cgroupID func(dir string) (uint64, error), records <-chan R, rec func(R) Record) string {
	t.Helper()
	const n = 20
	if err := c.SetCommFunction("shortfn", 3); err != nil {
		t.Fatal(err)
	}
	cg := Cgroup(t)
	id, err := cgroupID(cg)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SetCgroupFunction(id, 9); err != nil {
		t.Fatal(err)
	}
	cgfd, err := syscall.Open(cg, syscall.O_DIRECTORY|syscall.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(cgfd)
	w := NewWorkloads(t)
	want := map[int]time.Duration{}
	wantFn := map[int]uint32{}
	for i := range n {
		name, fn := "shortfn", uint32(3)
		if i%2 == 1 {
			name, fn = "bystander", 9
		}
		cmd := w.Command(name, "work", fmt.Sprintf("%dms", 5+i))
		if fn == 9 {
			cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: cgfd}
		}
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		want[cmd.Process.Pid] = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		wantFn[cmd.Process.Pid] = fn
	}
	got := map[int]Record{}
	timeout := time.After(10 * time.Second)
	for len(got) < n {
		select {
		case raw := <-records:
			r := rec(raw)
			if _, ok := want[r.PID]; ok {
				got[r.PID] = r
			}
		case <-timeout:
			t.Fatalf("%d of %d records arrived within 10 s", len(got), n)
		}
	}
	var worst time.Duration
	for pid, cpu := range want {
		r := got[pid]
		worst = max(worst, (r.CPU - cpu).Abs())
		if r.Function != wantFn[pid] || r.End < r.Start || r.CPU <= 0 {
			t.Fatalf("record %+v: want function %d, end >= start, cpu > 0", r, wantFn[pid])
		}
	}
	line := fmt.Sprintf("%d/%d records (by name and by cgroup), worst |record CPU - wait4 CPU| = %.3f ms (want <= %v)",
		len(got), n, Ms(worst), RecordTolerance)
	if worst > RecordTolerance {
		t.Fatal(line)
	}
	return line
}

// Cgroup creates a cgroup v2 directory for t under the cgroup2 mount (/sys/fs/cgroup, or
// /sys/fs/cgroup/unified on a hybrid host) and removes it when t ends. It skips t when there
// is none or it cannot create one (fails when the kernel tests must run here).
func Cgroup(t testing.TB) string {
	t.Helper()
	root := ""
	if f, err := os.Open("/proc/self/mountinfo"); err == nil {
		s := bufio.NewScanner(f)
		for s.Scan() { // ... mount-point ... - fstype ...
			fields := strings.Fields(s.Text())
			if i := slices.Index(fields, "-"); i > 4 && i+1 < len(fields) && fields[i+1] == "cgroup2" {
				root = fields[4]
			}
		}
		f.Close()
	}
	if root == "" {
		missing(t, "no cgroup v2 hierarchy is mounted")
	}
	dir := filepath.Join(root, fmt.Sprintf("alps-kerneltest-%d-%d", os.Getpid(), cgroupSeq.Add(1)))
	if err := os.Mkdir(dir, 0o755); err != nil {
		missing(t, fmt.Sprintf("cannot create a cgroup: %v", err))
	}
	t.Cleanup(func() {
		for range 50 { // its last processes may still be exiting
			if os.Remove(dir) == nil {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
	return dir
}

// cgroupSeq numbers the cgroups of one test process.
var cgroupSeq atomic.Int64
