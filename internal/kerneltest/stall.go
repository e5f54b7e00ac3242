package kerneltest

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// A Stall is an interval in which the machine did not run a real-time task that was due:
// in the emulated guest, the host did not run the emulator. Every task's waits and CPU
// times stretch by it. Times are CLOCK_MONOTONIC ns.
type Stall struct{ Start, End int64 }

// A Wait is what the probe saw of the waits for a CPU of one thread of the watched process
// that ended between two of its samples, in (After, Before] (CLOCK_MONOTONIC ns): how many
// (Count), and their sum (Len), from when the thread became runnable to when it got a CPU.
// With one wait Len is exactly that wait's length.
type Wait struct {
	After, Before int64
	Len           time.Duration
	Count         int64
}

// Longest is the least the longest of w's waits can be: Len for one wait.
func (w Wait) Longest() time.Duration { return w.Len / time.Duration(max(w.Count, 1)) }

// Net is Longest without the stalls that certainly fell within w's waits when they are one.
func (w Wait) Net(stalls []Stall) time.Duration {
	if w.Count != 1 {
		return w.Longest()
	}
	return w.Len - Stalled(stalls, w.Before-int64(w.Len), w.After)
}

// The probe wakes every probeTick, when it also samples the watched process; a wake-up later
// than probeSlack is a stall. It looks for new threads every probeThreads.
const (
	probeTick    = time.Millisecond
	probeSlack   = time.Millisecond
	probeThreads = 100 * time.Millisecond
)

// Monotonic is CLOCK_MONOTONIC in ns, the clock of Stall and Wait.
func Monotonic() int64 {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return ts.Nano()
}

// schedstat is a thread's /proc schedstat: time waited for a CPU (added when a wait ends)
// and times it got a CPU.
type schedstat struct{ delay, count int64 }

// threadStats reads the schedstat of the threads of a process through open files, so that a
// sample costs one read per thread and allocates nothing.
type threadStats struct {
	pid  int
	fds  map[string]int
	buf  []byte
	last map[string]schedstat
}

// refresh opens the schedstat files of threads that appeared since the last call.
func (ts *threadStats) refresh() {
	files, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", ts.pid))
	for _, f := range files {
		if _, ok := ts.fds[f]; ok {
			continue
		}
		if fd, err := unix.Open(f, unix.O_RDONLY|unix.O_CLOEXEC, 0); err == nil {
			ts.fds[f] = fd
		}
	}
}

// read returns the thread's current schedstat; ok is false once it is gone.
func (ts *threadStats) read(fd int) (st schedstat, ok bool) {
	n, err := unix.Pread(fd, ts.buf, 0)
	if err != nil || n <= 0 {
		return st, false
	}
	var f [3]int64
	i := 0
	for _, c := range ts.buf[:n] {
		switch {
		case c >= '0' && c <= '9' && i < len(f):
			f[i] = f[i]*10 + int64(c-'0')
		case c == ' ':
			i++
		}
	}
	return schedstat{delay: f[1], count: f[2]}, i >= 2
}

// probe is the workload "probe D [PID]": a SCHED_FIFO thread, above every sched_ext task,
// that for D sleeps probeTick at a time and prints each wake-up later than probeSlack as
// "stall START END", and at each wake-up the waits of PID's threads that ended as
// "wait AFTER BEFORE LEN COUNT".
func probe(args []string) int {
	if len(args) < 1 || len(args) > 2 {
		fmt.Fprintln(os.Stderr, "kerneltest: probe DURATION [PID]")
		return 2
	}
	d, err := time.ParseDuration(args[0])
	pid := 0
	if err == nil && len(args) == 2 {
		pid, err = strconv.Atoi(args[1])
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "kerneltest: probe: %v\n", err)
		return 2
	}
	// The probe's other threads are sched_ext's to run: it must never wait for them. No
	// garbage collection (its stop-the-world waits for every thread), and spare Ps, so that
	// the thread finds one when a system call returns even if another thread, not running,
	// holds one.
	debug.SetGCPercent(-1)
	runtime.GOMAXPROCS(4)
	runtime.LockOSThread()
	attr := unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_FIFO, Priority: 50}
	if err := unix.SchedSetAttr(0, &attr, 0); err != nil {
		fmt.Fprintf(os.Stderr, "kerneltest: probe: SCHED_FIFO: %v\n", err)
		return 1
	}
	out := bufio.NewWriterSize(os.Stdout, 1<<20)
	defer out.Flush()
	ts := &threadStats{pid: pid, fds: map[string]int{}, buf: make([]byte, 128), last: map[string]schedstat{}}
	tick := unix.NsecToTimespec(int64(probeTick))
	lastAt := Monotonic()
	nextRefresh := lastAt
	for end := lastAt + int64(d); ; {
		before := Monotonic()
		if before >= end {
			return 0
		}
		_ = unix.Nanosleep(&tick, nil) // a raw sleep: no Go timer, which another thread would fire
		after := Monotonic()
		if after-before > int64(probeTick+probeSlack) {
			fmt.Fprintf(out, "stall %d %d\n", before+int64(probeTick), after)
		}
		if pid == 0 {
			continue
		}
		if after >= nextRefresh {
			ts.refresh()
			nextRefresh = after + int64(probeThreads)
		}
		for f, fd := range ts.fds {
			st, ok := ts.read(fd)
			if !ok {
				unix.Close(fd)
				delete(ts.fds, f)
				continue
			}
			if prev, seen := ts.last[f]; seen && st.count != prev.count {
				fmt.Fprintf(out, "wait %d %d %d %d\n", lastAt, after, st.delay-prev.delay, st.count-prev.count)
			}
			ts.last[f] = st
		}
		lastAt = after
	}
}

// Probe is a running probe (StartProbe).
type Probe struct {
	cmd *exec.Cmd
	out bytes.Buffer
}

// StartProbe starts a probe of the machine's stalls, and of the waits for a CPU of process
// pid's threads unless pid is 0, for d. It runs as a real-time task, so neither it nor its
// samples (every millisecond) wait behind the tasks sched_ext schedules.
func (w *Workloads) StartProbe(d time.Duration, pid int) (*Probe, error) {
	args := []string{"probe", d.String()}
	if pid > 0 {
		args = append(args, strconv.Itoa(pid))
	}
	p := &Probe{cmd: w.Command("probe", args...)}
	p.cmd.Stdout = &p.out
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the probe: %w", err)
	}
	w.t.Cleanup(func() { Kill(p.cmd) })
	return p, nil
}

// Wait waits for the probe to end and returns the stalls and waits it saw.
func (p *Probe) Wait() (stalls []Stall, waits []Wait, err error) {
	if err := p.cmd.Wait(); err != nil {
		return nil, nil, fmt.Errorf("probe: %w", err)
	}
	sc := bufio.NewScanner(&p.out)
	for sc.Scan() {
		var s Stall
		var w Wait
		var n int64
		if _, err := fmt.Sscanf(sc.Text(), "stall %d %d", &s.Start, &s.End); err == nil {
			stalls = append(stalls, s)
		} else if _, err := fmt.Sscanf(sc.Text(), "wait %d %d %d %d", &w.After, &w.Before, &n, &w.Count); err == nil {
			w.Len = time.Duration(n)
			waits = append(waits, w)
		} else {
			return nil, nil, fmt.Errorf("probe: line %q is neither a stall nor a wait", sc.Text())
		}
	}
	return stalls, waits, nil
}

// Stalled is how much of [from, to] the stalls cover (they do not overlap).
func Stalled(stalls []Stall, from, to int64) time.Duration {
	var sum int64
	for _, s := range stalls {
		if lo, hi := max(s.Start, from), min(s.End, to); hi > lo {
			sum += hi - lo
		}
	}
	return time.Duration(sum)
}
