package policy

import "math/bits"

// This file is the Go implementation of the alps ordering rule, ORDERING.md. The BPF
// scheduler implements the same rule in ordering.h; both are tested against the vectors of
// testdata/ordering_vectors.csv.

// NiceZeroWeight is the sched_ext weight of a nice-0 task.
const NiceZeroWeight = 100

// ClampLag clamps the vtime v of a task being enqueued so that it keeps at most lag of
// credit behind the global vtime vnow (rule step 2). Apply it on every enqueue: arrival,
// wake-up and the requeue after a slice expiry or preemption.
func ClampLag(v, vnow, lag int64) int64 {
	if v < vnow-lag {
		return vnow - lag
	}
	return v
}

// Key returns the queue key of a task with vtime v (rule step 3). ranked says whether the
// task's function has an entry in a fresh policy table, rank is its rank.
func Key(v, vnow int64, ranked bool, rank uint32, k Knobs) int64 {
	var off int64
	if ranked {
		off = int64(rank) * k.RankStep
		if off > k.MaxPenalty {
			off = k.MaxPenalty
		}
	}
	key := v + off
	if key > vnow+k.MaxPenalty {
		key = vnow + k.MaxPenalty
	}
	return key
}

// Slice returns the run quantum of a task (rule step 4): its function's slice when ranked
// and set, else the default slice.
func Slice(ranked bool, slice int64, k Knobs) int64 {
	if ranked && slice > 0 {
		return slice
	}
	return k.DefaultSlice
}

// Charge returns the vtime of a task after it ran for used ns at the given weight
// (rule step 6).
func Charge(v, used int64, weight uint32) int64 {
	if weight == 0 {
		weight = NiceZeroWeight
	}
	return v + used*NiceZeroWeight/int64(weight)
}

// AdvanceNow returns the global vtime after a task with vtime v started or stopped
// running (rule steps 5 and 6): the global vtime never goes back.
func AdvanceNow(vnow, v int64) int64 {
	if v > vnow {
		return v
	}
	return vnow
}

// MaxLevels is the number of priority levels: a rank is a level, 0 runs first, and ranks
// beyond the last level share it.
const MaxLevels = 32

// MinQuantum is the shortest quantum a task is given to reach its next step.
const MinQuantum = 1_000_000

// Level returns the priority level of a task whose function has entry e (ranked false: no
// entry, level 0) and whose current invocation has used attained ns of CPU.
func Level(e *Entry, ranked bool, attained int64) uint32 {
	if !ranked {
		return 0
	}
	r := e.RankAt(attained)
	if n := int(e.NSteps); n > 0 && e.StepAt[n-1] > 0 && attained >= 2*e.StepAt[n-1] {
		// Past its last step a task drops one level per doubling of its CPU: the tail the
		// samples do not show is taken as heavy (its expected remainder grows with it).
		r += uint32(bits.Len64(uint64(attained/e.StepAt[n-1]))) - 1
	}
	return min(r, MaxLevels-1)
}

// Quantum returns how long a task may run once picked: its function's slice (the default
// slice without an entry or a slice), cut at its next step so that it is queued again at its
// new level, but never below MinQuantum.
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

// Aged reports whether a task queued at enq has waited long enough (MaxWait) at now to run
// before every level: the starvation guard.
func Aged(enq, now int64, k Knobs) bool { return k.MaxWait > 0 && now-enq >= k.MaxWait }
