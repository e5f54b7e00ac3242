package kerneltest

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// A Stall is an interval in which the machine did not run a real-time task that was due:
// in the emulated guest, the host did not run the emulator. Every task's waits and CPU
// times stretch by it. Times are CLOCK_MONOTONIC ns.
type Stall struct{ Start, End int64 }

// A Wait is the time a thread of the watched process spent runnable without a CPU, from
// when it became runnable to when it got a CPU, which was in (After, Before] (CLOCK_MONOTONIC
// ns). When two waits of one thread end between two samples, they make one Wait, whose
// second part is shorter than Before - After.
type Wait struct {
	After, Before int64
	Len           time.Duration
}

// Net is w without the stalls that certainly fell within it.
func (w Wait) Net(stalls []Stall) time.Duration {
	return w.Len - Stalled(stalls, w.Before-int64(w.Len), w.After)
}

// The probe wakes every probeTick; a wake-up later than probeSlack is a stall. It samples
// the watched process every probeSample.
const (
	probeTick   = time.Millisecond
	probeSlack  = time.Millisecond
	probeSample = 5 * time.Millisecond
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

func readSchedstats(pid int) map[string]schedstat {
	out := map[string]schedstat{}
	files, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		var st schedstat
		var run int64
		if _, err := fmt.Sscan(string(b), &run, &st.delay, &st.count); err == nil {
			out[f] = st
		}
	}
	return out
}

// probe is the workload "probe D [PID]": a SCHED_FIFO thread, above every sched_ext task,
// that for D sleeps probeTick at a time and prints each wake-up later than probeSlack as
// "stall START END", and every probeSample the waits of PID's threads that ended as
// "wait AFTER BEFORE LEN".
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
	runtime.LockOSThread()
	attr := unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_FIFO, Priority: 50}
	if err := unix.SchedSetAttr(0, &attr, 0); err != nil {
		fmt.Fprintf(os.Stderr, "kerneltest: probe: SCHED_FIFO: %v\n", err)
		return 1
	}
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	tick := unix.NsecToTimespec(int64(probeTick))
	var last map[string]schedstat
	lastAt := Monotonic()
	if pid > 0 {
		last = readSchedstats(pid)
	}
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
		if pid == 0 || after-lastAt < int64(probeSample) {
			continue
		}
		cur := readSchedstats(pid)
		for f, st := range cur {
			if prev, ok := last[f]; ok && st.count != prev.count {
				fmt.Fprintf(out, "wait %d %d %d\n", lastAt, after, st.delay-prev.delay)
			}
		}
		last, lastAt = cur, after
	}
}

// Probe is a running probe (StartProbe).
type Probe struct {
	cmd *exec.Cmd
	out bytes.Buffer
}

// StartProbe starts a probe of the machine's stalls, and of the waits for a CPU of process
// pid's threads unless pid is 0, for d. It runs as a real-time task, so neither it nor its
// samples wait behind the tasks sched_ext schedules.
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
		} else if _, err := fmt.Sscanf(sc.Text(), "wait %d %d %d", &w.After, &w.Before, &n); err == nil {
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
