// Package workload is the work an experiment's invocations do: a calibrated CPU burn with
// optional blocking, and the calibration that maps work units to milliseconds of CPU on the
// machine at hand.
package workload

import (
	"fmt"
	"sync/atomic"
	"time"
)

// unitIterations is the number of xorshift steps in one work unit: a few microseconds of CPU
// on a current core, so that demands of a millisecond are representable.
const unitIterations = 2000

// sink keeps the compiler from removing the burn loop (atomic: burns run in parallel).
var sink atomic.Uint64

// Burn does units work units of pure CPU and returns a value derived from the work.
func Burn(units int64) uint64 {
	x := uint64(88172645463325252)
	for u := int64(0); u < units; u++ {
		for i := 0; i < unitIterations; i++ {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
		}
	}
	sink.Add(x)
	return x
}

// Spec is the work of one invocation: CPU in work units, split evenly into Blocks+1 bursts
// separated by Blocks sleeps of Sleep each (an I/O-bound invocation).
type Spec struct {
	Units  int64
	Blocks int
	Sleep  time.Duration
}

// Validate reports a spec that cannot be run.
func (s Spec) Validate() error {
	switch {
	case s.Units < 0:
		return fmt.Errorf("units: must be >= 0, got %d", s.Units)
	case s.Blocks < 0:
		return fmt.Errorf("blocks: must be >= 0, got %d", s.Blocks)
	case s.Sleep < 0:
		return fmt.Errorf("sleep: must be >= 0, got %v", s.Sleep)
	}
	return nil
}

// Run does the work of s: burst, sleep, burst, ... ending with a burst.
func Run(s Spec) { run(s, time.Sleep) }

// run is Run with the given sleep.
func run(s Spec, sleep func(time.Duration)) {
	bursts := int64(s.Blocks) + 1
	per, rest := s.Units/bursts, s.Units%bursts
	for b := int64(0); b < bursts; b++ {
		n := per
		if b < rest {
			n++
		}
		Burn(n)
		if b < bursts-1 && s.Sleep > 0 {
			sleep(s.Sleep)
		}
	}
}
