package workload

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Calibration maps work units to CPU time on one machine.
type Calibration struct {
	// UnitsPerMs is how many work units one millisecond of CPU does.
	UnitsPerMs float64 `json:"units_per_ms"`
	// SpawnMs is the CPU an empty payload process costs (fork, exec, runtime start, exit),
	// in milliseconds; the load generator takes it off each invocation's demand.
	SpawnMs float64 `json:"spawn_ms"`
	// CPUs is how many CPUs the machine has (runtime.NumCPU) and EffectiveCPUs how many it
	// delivers at once: CPUs burns in parallel against one (MeasureParallelism). Under
	// single-threaded qemu TCG every vCPU shares one host thread and EffectiveCPUs is about 1
	// whatever CPUs is. 0 when not measured.
	CPUs          int     `json:"cpus,omitempty"`
	EffectiveCPUs float64 `json:"effective_cpus,omitempty"`
	// ShareOverhead is the fraction of CPU that payloads sharing the machine under its
	// default scheduler use beyond what they use one at a time (MeasureSharing), and
	// SwitchUs the same extra CPU per preemption of a payload, in microseconds.
	// Under emulation a switch between processes costs far more than on hardware (the
	// emulated TLB is flushed). 0 when not measured.
	ShareOverhead float64 `json:"share_overhead,omitempty"`
	SwitchUs      float64 `json:"switch_us,omitempty"`
	// ProcessOverheadMs is the CPU the machine spends per payload process outside it (the
	// parent's start and reap, the kernel's clean-up), in milliseconds
	// (MeasureProcessOverhead). 0 when not measured.
	ProcessOverheadMs float64 `json:"process_overhead_ms,omitempty"`
	// SliceMs is the kernel's base slice for its fair scheduler (EEVDF's
	// /sys/kernel/debug/sched/base_slice_ns), 0 when it could not be read; RunMs the CPU
	// time payloads sharing the machine ran per preemption (MeasureSharing), the slice as
	// delivered.
	SliceMs float64 `json:"slice_ms,omitempty"`
	RunMs   float64 `json:"run_ms,omitempty"`
}

// Units returns the work units that make ms milliseconds of CPU, spawn cost excluded.
func (c Calibration) Units(ms float64) int64 {
	ms -= c.SpawnMs
	if ms <= 0 {
		return 0
	}
	return int64(ms*c.UnitsPerMs + 0.5)
}

// Validate reports an unusable calibration.
func (c Calibration) Validate() error {
	if !(c.UnitsPerMs > 0) {
		return fmt.Errorf("units_per_ms: must be > 0, got %g", c.UnitsPerMs)
	}
	if c.SpawnMs < 0 {
		return fmt.Errorf("spawn_ms: must be >= 0, got %g", c.SpawnMs)
	}
	if c.SwitchUs < 0 || c.ShareOverhead < 0 || c.SliceMs < 0 || c.RunMs < 0 || c.EffectiveCPUs < 0 || c.ProcessOverheadMs < 0 {
		return fmt.Errorf("switch_us, share_overhead, slice_ms, effective_cpus and process_overhead_ms: must be >= 0, got %g, %g, %g, %g and %g",
			c.SwitchUs, c.ShareOverhead, c.SliceMs, c.EffectiveCPUs, c.ProcessOverheadMs)
	}
	return nil
}

// threadCPU returns the CPU time the calling OS thread has used. The caller must hold
// runtime.LockOSThread across the two readings it compares: a goroutine may otherwise move
// to another thread between them, and the difference is meaningless.
func threadCPU() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

// MeasureUnits burns units work units rounds times and returns the median CPU time per unit
// measured with the thread CPU clock, so time-sharing with other work does not skew it.
func MeasureUnits(units int64, rounds int) (perUnit time.Duration, err error) {
	if units <= 0 || rounds <= 0 {
		return 0, fmt.Errorf("calibrate: units and rounds must be > 0")
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	samples := make([]float64, rounds)
	for r := range samples {
		t0 := threadCPU()
		Burn(units)
		samples[r] = float64(threadCPU()-t0) / float64(units)
	}
	sort.Float64s(samples)
	return time.Duration(samples[rounds/2]), nil
}

// MeasureParallelism returns how many CPUs of work the machine does at once: n threads each
// burning units in parallel against one thread burning units alone, n * t1 / tn in wall time
// (median of rounds, capped at n). It needs GOMAXPROCS >= n.
func MeasureParallelism(units int64, n, rounds int) (float64, error) {
	if units <= 0 || n <= 0 || rounds <= 0 {
		return 0, fmt.Errorf("calibrate: units, threads and rounds must be > 0")
	}
	burn := func(threads int) time.Duration {
		var wg sync.WaitGroup
		t0 := time.Now()
		for range threads {
			wg.Go(func() {
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				Burn(units)
			})
		}
		wg.Wait()
		return time.Since(t0)
	}
	samples := make([]float64, rounds)
	for r := range samples {
		one, all := burn(1), burn(n)
		if all <= 0 {
			return 0, fmt.Errorf("calibrate: the wall clock did not advance")
		}
		samples[r] = math.Min(float64(n)*float64(one)/float64(all), float64(n))
	}
	sort.Float64s(samples)
	return samples[rounds/2], nil
}

// runPayload runs the payload at path with units work units and returns the CPU time
// (user + system, from wait4) its process used.
func runPayload(path string, units int64) (time.Duration, error) {
	cmd := exec.Command(path, strconv.FormatInt(units, 10))
	cmd.Stdout, cmd.Stderr = nil, os.Stderr
	if err := cmd.Run(); err != nil {
		return 0, fmt.Errorf("calibrate: payload %s: %w", path, err)
	}
	return cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), nil
}

// MeasureSpawn runs the payload at path with zero work rounds times and returns the median
// CPU time (user + system, from wait4) one process costs.
func MeasureSpawn(path string, rounds int) (time.Duration, error) {
	if rounds <= 0 {
		return 0, fmt.Errorf("calibrate: rounds must be > 0")
	}
	samples := make([]time.Duration, rounds)
	for r := range samples {
		d, err := runPayload(path, 0)
		if err != nil {
			return 0, err
		}
		samples[r] = d
	}
	slices.Sort(samples)
	return samples[rounds/2], nil
}

// MeasurePayloadUnits runs the payload at path with units work units rounds times and
// returns the median CPU time per unit, its process cost spawn taken off. The median, not
// the fastest round: on a shared host an emulated CPU's speed varies with the host's other
// work, and what a replay meets is the typical speed.
func MeasurePayloadUnits(path string, units int64, spawn time.Duration, rounds int) (time.Duration, error) {
	if units <= 0 || rounds <= 0 {
		return 0, fmt.Errorf("calibrate: units and rounds must be > 0")
	}
	samples := make([]time.Duration, rounds)
	for r := range samples {
		d, err := runPayload(path, units)
		if err != nil {
			return 0, err
		}
		samples[r] = d - spawn
	}
	slices.Sort(samples)
	if samples[rounds/2] <= 0 {
		return 0, fmt.Errorf("calibrate: %d units of payload %s took no CPU beyond its process cost", units, path)
	}
	return samples[rounds/2] / time.Duration(units), nil
}

// MeasureSharing runs k payloads of units work units each at once, rounds times, and
// returns the medians of the extra CPU they use together: as a fraction of k times what one
// uses alone (the median of k runs one at a time, before each round), and per time one of
// them was preempted (its involuntary context switches, from wait4). Noise below zero counts
// as 0. It also returns the median CPU time the payloads ran per preemption: the time slice
// the kernel gives tasks that share a CPU, where it cannot be read (ReadBaseSlice). On a machine
// with several CPUs the payloads share them and the overhead is what sharing costs there.
func MeasureSharing(path string, units int64, k, rounds int) (overhead float64, perSwitch, run time.Duration, err error) {
	if units <= 0 || k < 2 || rounds <= 0 {
		return 0, 0, 0, fmt.Errorf("calibrate: units and rounds must be > 0 and payloads >= 2")
	}
	fracs := make([]float64, rounds)
	costs := make([]float64, rounds)
	runs := make([]float64, rounds)
	for r := range rounds {
		alone := make([]time.Duration, k)
		for i := range alone {
			if alone[i], err = runPayload(path, units); err != nil {
				return 0, 0, 0, err
			}
		}
		slices.Sort(alone)
		cmds := make([]*exec.Cmd, k)
		for i := range cmds {
			cmds[i] = exec.Command(path, strconv.FormatInt(units, 10))
			if err := cmds[i].Start(); err != nil {
				return 0, 0, 0, fmt.Errorf("calibrate: payload %s: %w", path, err)
			}
		}
		var together time.Duration
		var switches int64
		for _, c := range cmds {
			if err := c.Wait(); err != nil {
				return 0, 0, 0, fmt.Errorf("calibrate: payload %s: %w", path, err)
			}
			together += c.ProcessState.UserTime() + c.ProcessState.SystemTime()
			if ru, ok := c.ProcessState.SysUsage().(*syscall.Rusage); ok {
				switches += ru.Nivcsw // preemptions: the payloads never block
			}
		}
		extra := max(float64(together-time.Duration(k)*alone[k/2]), 0)
		fracs[r] = extra / float64(time.Duration(k)*alone[k/2])
		costs[r] = extra / float64(max(switches, 1))
		runs[r] = float64(together) / float64(max(switches, 1))
	}
	slices.Sort(fracs)
	slices.Sort(costs)
	slices.Sort(runs)
	return fracs[rounds/2], time.Duration(costs[rounds/2]), time.Duration(runs[rounds/2]), nil
}

// CPUTimes is a reading of the machine's aggregate CPU time (/proc/stat).
type CPUTimes struct {
	Busy, Total time.Duration // all CPUs: not idle, and in all
	Switches    int64         // context switches since boot
	OK          bool          // the reading succeeded
}

// clockTicks is USER_HZ, the unit of /proc/stat (100 on every architecture Go supports).
const clockTicks = 100

// ReadCPUTimes reads /proc/stat; OK is false where it cannot be read.
func ReadCPUTimes() CPUTimes {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return CPUTimes{}
	}
	var t CPUTimes
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) > 5 && f[0] == "cpu":
			// user nice system idle iowait irq softirq steal [guest guest_nice, already
			// counted in user and nice]
			for i, v := range f[1:min(len(f), 9)] {
				n, _ := strconv.ParseInt(v, 10, 64)
				d := time.Duration(n) * time.Second / clockTicks
				t.Total += d
				if i != 3 && i != 4 {
					t.Busy += d
				}
			}
			t.OK = true
		case len(f) == 2 && f[0] == "ctxt":
			t.Switches, _ = strconv.ParseInt(f[1], 10, 64)
		}
	}
	return t
}

// Util is the busy fraction of the CPUs from reading t to reading u, -1 if either failed.
func (t CPUTimes) Util(u CPUTimes) float64 {
	if !t.OK || !u.OK || u.Total <= t.Total {
		return -1
	}
	return float64(u.Busy-t.Busy) / float64(u.Total-t.Total)
}

// MeasureProcessOverhead runs n payloads of no work one after the other and returns the CPU
// the machine spent per payload beyond the payload's own (its starting and reaping in the
// parent, the kernel's clean-up after it): all CPUs' busy time (/proc/stat) less the
// payloads' CPU, per payload, 0 if noise makes it negative. It includes whatever else ran
// meanwhile, so it is measured on a quiet machine (a guest at the start of its job).
func MeasureProcessOverhead(path string, n int) (time.Duration, error) {
	if n <= 0 {
		return 0, fmt.Errorf("calibrate: n must be > 0")
	}
	t0 := ReadCPUTimes()
	var own time.Duration
	for range n {
		d, err := runPayload(path, 0)
		if err != nil {
			return 0, err
		}
		own += d
	}
	t1 := ReadCPUTimes()
	if !t0.OK || !t1.OK {
		return 0, fmt.Errorf("calibrate: /proc/stat unreadable")
	}
	return max((t1.Busy-t0.Busy-own)/time.Duration(n), 0), nil
}

// BaseSliceFile is where the kernel exposes its fair scheduler's base slice (debugfs).
const BaseSliceFile = "/sys/kernel/debug/sched/base_slice_ns"

// ReadBaseSlice returns the fair scheduler's base slice in ms from BaseSliceFile, or 0 when
// it cannot be read (debugfs not mounted, not root, a kernel before EEVDF).
func ReadBaseSlice() float64 {
	data, err := os.ReadFile(BaseSliceFile)
	if err != nil {
		return 0
	}
	ns, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
	if err != nil || ns <= 0 {
		return 0
	}
	return float64(ns) / 1e6
}

// sharePayloads is how many payloads share the machine when MeasureSharing runs, shareMs
// the CPU each does and shareRounds how many times.
const (
	sharePayloads = 8
	shareMs       = 30
	shareRounds   = 3
	// overheadPayloads is how many payloads MeasureProcessOverhead runs: enough that
	// /proc/stat's 10 ms ticks are a small part of what it measures.
	overheadPayloads = 40
)

// Calibrate measures this machine with a work of about target CPU time per round. Without
// a payload it times the burn in this process and measures how many CPUs work at once.
// With the payload binary at path payload it also measures what one payload process costs
// (spawn), times the units in payload processes (what the experiment runs) and measures
// what payloads sharing the machine cost (MeasureSharing); and it reads the kernel's base
// slice.
func Calibrate(target time.Duration, rounds int, payload string) (Calibration, error) {
	probe, err := MeasureUnits(50, 3)
	if err != nil {
		return Calibration{}, err
	}
	if probe <= 0 {
		probe = time.Microsecond
	}
	units := int64(target / probe)
	if units < 1 {
		units = 1
	}
	perUnit, err := MeasureUnits(units, rounds)
	if err != nil {
		return Calibration{}, err
	}
	if perUnit <= 0 {
		return Calibration{}, fmt.Errorf("calibrate: the thread CPU clock did not advance")
	}
	c := Calibration{UnitsPerMs: float64(time.Millisecond) / float64(perUnit), CPUs: runtime.NumCPU(), SliceMs: ReadBaseSlice()}
	if c.CPUs > 1 {
		if c.EffectiveCPUs, err = MeasureParallelism(units, c.CPUs, rounds); err != nil {
			return Calibration{}, err
		}
	} else {
		c.EffectiveCPUs = 1
	}
	if payload == "" {
		return c, nil
	}
	spawn, err := MeasureSpawn(payload, 2*rounds+1)
	if err != nil {
		return Calibration{}, err
	}
	c.SpawnMs = float64(spawn) / float64(time.Millisecond)
	over, err := MeasureProcessOverhead(payload, overheadPayloads)
	if err != nil {
		return Calibration{}, err
	}
	c.ProcessOverheadMs = float64(over) / float64(time.Millisecond)
	if perUnit, err = MeasurePayloadUnits(payload, units, spawn, 2*rounds-1); err != nil {
		return Calibration{}, err
	}
	c.UnitsPerMs = float64(time.Millisecond) / float64(perUnit)
	f, sw, run, err := MeasureSharing(payload, int64(shareMs*c.UnitsPerMs), sharePayloads, shareRounds)
	if err != nil {
		return Calibration{}, err
	}
	c.ShareOverhead, c.SwitchUs, c.RunMs = f, float64(sw)/float64(time.Microsecond), float64(run)/float64(time.Millisecond)
	return c, nil
}

// Average is the calibration of cs taken together: the mean CPU time per unit (UnitsPerMs
// its inverse), the means of the other figures. cs must not be empty.
func Average(cs []Calibration) Calibration {
	var a Calibration
	n := float64(len(cs))
	var perUnit float64
	for _, c := range cs {
		perUnit += 1 / c.UnitsPerMs / n
		a.SpawnMs += c.SpawnMs / n
		a.EffectiveCPUs += c.EffectiveCPUs / n
		a.ShareOverhead += c.ShareOverhead / n
		a.SwitchUs += c.SwitchUs / n
		a.ProcessOverheadMs += c.ProcessOverheadMs / n
		a.SliceMs += c.SliceMs / n
		a.RunMs += c.RunMs / n
		a.CPUs = max(a.CPUs, c.CPUs)
	}
	a.UnitsPerMs = 1 / perUnit
	return a
}

// ReadCalibration reads a calibration written by WriteCalibration.
func ReadCalibration(path string) (Calibration, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Calibration{}, fmt.Errorf("calibration: %w", err)
	}
	var c Calibration
	if err := json.Unmarshal(data, &c); err != nil {
		return Calibration{}, fmt.Errorf("calibration %s: %w", path, err)
	}
	if err := c.Validate(); err != nil {
		return Calibration{}, fmt.Errorf("calibration %s: %w", path, err)
	}
	return c, nil
}

// WriteCalibration writes c as JSON to path.
func WriteCalibration(path string, c Calibration) error {
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}
