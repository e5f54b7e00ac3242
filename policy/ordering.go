package policy

import "math/bits"

// This file is the Go implementation of the alps ordering rule, ORDERING.md. The BPF
// scheduler implements the same rule in ordering.h; both are tested against the vectors of
// ordering_vectors.csv.

// NiceZeroWeight is the sched_ext weight of a nice-0 task.
const NiceZeroWeight = 100

// MaxLevels is the number of priority levels: a rank is a level, 0 runs first, and ranks
// beyond the last level share it.
const MaxLevels = 32

// MinQuantum is the shortest quantum a task is given to reach its next step.
const MinQuantum = 1_000_000

// levelShift places the level above the vtime in a queue key.
const levelShift = 56

// ClampLag clamps the vtime v of a task being enqueued so that it keeps at most lag of
// credit behind the global vtime vnow (rule step 2). Apply it on every enqueue: arrival,
// wake-up and the requeue after a slice expiry or preemption.
func ClampLag(v, vnow, lag int64) int64 {
	if v < vnow-lag {
		return vnow - lag
	}
	return v
}

// Level returns the priority level of a task (rule step 3): the step of its function's entry
// e at the CPU attained its current invocation has used, 0 when it is not ranked (no entry,
// or a stale heartbeat). Past its last step (at a > 0) a task drops one level per doubling
// of its CPU beyond it: the table says nothing about demands the samples did not show, and
// an invocation that outlives them is taken to be in a heavy tail, where the expected
// remainder grows with what was used (as least-attained-service assumes).
func Level(e *Entry, ranked bool, attained int64) uint32 {
	if !ranked {
		return 0
	}
	r := e.RankAt(attained)
	if n := int(e.NSteps); n > 0 && e.StepAt[n-1] > 0 && attained >= 2*e.StepAt[n-1] {
		r += uint32(bits.Len64(uint64(attained/e.StepAt[n-1]))) - 1
	}
	return min(r, MaxLevels-1)
}

// Key returns the queue key of a task at level with vtime v (rule step 4): levels in strict
// order, vtime within a level. Keys compare as unsigned 64-bit numbers; the vtime is taken
// modulo 2^56.
func Key(level uint32, v int64) uint64 {
	return uint64(min(level, MaxLevels-1))<<levelShift | uint64(v)&(1<<levelShift-1)
}

// Quantum returns how long a task may run once picked (rule step 5): its function's slice
// (the default slice without an entry or a slice), cut at its next step so that it is queued
// again at its new level, but never below MinQuantum.
func Quantum(e *Entry, ranked bool, attained int64, k Knobs) int64 {
	q := k.DefaultSlice
	if !ranked {
		return q
	}
	if e.Slice > 0 {
		q = e.Slice
	}
	for i := 1; i < int(e.NSteps); i++ {
		if attained < e.StepAt[i] {
			return min(q, max(e.StepAt[i]-attained, MinQuantum))
		}
	}
	return q
}

// Charge returns the vtime of a task after it ran for used ns at the given weight
// (rule step 7).
func Charge(v, used int64, weight uint32) int64 {
	if weight == 0 {
		weight = NiceZeroWeight
	}
	return v + used*NiceZeroWeight/int64(weight)
}

// AdvanceNow returns the global vtime after a task with vtime v started or stopped
// running (rule steps 6 and 7): the global vtime never goes back.
func AdvanceNow(vnow, v int64) int64 {
	if v > vnow {
		return v
	}
	return vnow
}

// Aged reports whether a task queued at enq has waited long enough (MaxWait) at now to run
// before every level (rule step 8, the starvation guard).
func Aged(enq, now int64, k Knobs) bool { return k.MaxWait > 0 && now-enq >= k.MaxWait }

// Preempts reports whether a task queued at level, with no CPU idle, preempts a running task
// at running (rule step 9).
func Preempts(level, running uint32, k Knobs) bool { return k.Preempt && level < running }
