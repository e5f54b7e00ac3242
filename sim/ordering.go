package sim

// This file is the Go implementation of the alps ordering rule, written down in
// backend/ORDERING.md. The BPF scheduler implements the same rule in
// backend/bpf/ordering.h; both are tested against backend/testdata/ordering_vectors.csv.

// OrderParams are the global knobs of the ordering rule, in nanoseconds.
type OrderParams struct {
	RankStep     int64 // vtime offset per rank level
	MaxPenalty   int64 // no key sits more than this ahead of the global vtime
	WakeLag      int64 // the most vtime credit a sleeper keeps
	DefaultSlice int64 // slice of an unranked task
}

// NiceZeroWeight is the sched_ext weight of a nice-0 task.
const NiceZeroWeight = 100

// WakeVtime clamps the vtime v of a task being enqueued so that it keeps at most lag of
// credit behind the global vtime vnow (rule step 2). Apply it on every enqueue: arrival,
// wake-up and the requeue after a slice expiry or preemption.
func WakeVtime(v, vnow, lag int64) int64 {
	if v < vnow-lag {
		return vnow - lag
	}
	return v
}

// Key returns the DSQ key of a task with vtime v (rule step 3). ranked says whether the
// task's function has a rank in a fresh policy table.
func Key(v, vnow int64, ranked bool, rank uint32, p OrderParams) int64 {
	var off int64
	if ranked {
		off = int64(rank) * p.RankStep
		if off > p.MaxPenalty {
			off = p.MaxPenalty
		}
	}
	key := v + off
	if key > vnow+p.MaxPenalty {
		key = vnow + p.MaxPenalty
	}
	return key
}

// Slice returns the run quantum of a task (rule step 4).
func Slice(ranked bool, slice int64, p OrderParams) int64 {
	if ranked && slice > 0 {
		return slice
	}
	return p.DefaultSlice
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
