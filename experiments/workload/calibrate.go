package workload

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"sync"
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

// MeasureSpawn runs the payload at path with zero work rounds times and returns the median
// CPU time (user + system, from wait4) one process costs.
func MeasureSpawn(path string, rounds int) (time.Duration, error) {
	if rounds <= 0 {
		return 0, fmt.Errorf("calibrate: rounds must be > 0")
	}
	samples := make([]time.Duration, rounds)
	for r := range samples {
		cmd := exec.Command(path, "0")
		cmd.Stdout, cmd.Stderr = nil, os.Stderr
		if err := cmd.Run(); err != nil {
			return 0, fmt.Errorf("calibrate: payload %s: %w", path, err)
		}
		samples[r] = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	sort.Slice(samples, func(i, j int) bool { return samples[i] < samples[j] })
	return samples[rounds/2], nil
}

// Calibrate measures this machine: CPU per unit with a burn of about target CPU time per round,
// and, when payload is not empty, the spawn cost of that payload binary.
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
	c := Calibration{UnitsPerMs: float64(time.Millisecond) / float64(perUnit), CPUs: runtime.NumCPU()}
	if c.CPUs > 1 {
		if c.EffectiveCPUs, err = MeasureParallelism(units, c.CPUs, rounds); err != nil {
			return Calibration{}, err
		}
	} else {
		c.EffectiveCPUs = 1
	}
	if payload != "" {
		spawn, err := MeasureSpawn(payload, rounds)
		if err != nil {
			return Calibration{}, err
		}
		c.SpawnMs = float64(spawn) / float64(time.Millisecond)
	}
	return c, nil
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
