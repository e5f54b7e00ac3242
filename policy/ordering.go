package policy

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
