package model

import (
	"math"
	"math/bits"
	"slices"
)

// This file is the learner's SRPT simulation: preemptive shortest remaining processing time
// on C identical cores, event-driven, over the invocations of the window. It is specialised
// for the learner (no I/O, no metrics beyond what the rank and slice rules use) so that an
// update on a 10,000-invocation window stays well under a millisecond or two; the general
// simulator in package sim is its oracle (TestSimulateSRPTAgainstSim: the same completion
// times, waits and run segments per job wherever the two break no tie).

// SimJob is one invocation fed to the SRPT simulation.
type SimJob struct {
	Arrival int64
	Demand  int64
	Class   int32 // index of the job's function in the caller's statistics slice
}

// SegStats accumulates, per function, what the SRPT simulation gave its invocations.
type SegStats struct {
	Jobs     int     // invocations simulated
	Segments int     // uninterrupted run segments
	SegSum   float64 // sum of segment lengths (ns)
	SegSumSq float64 // sum of squared segment lengths
	WaitSum  float64 // total time spent queued (ns)
	FCTSum   float64 // total completion time (ns)
}

// MeanSegment is the mean uninterrupted segment length (ns).
func (s SegStats) MeanSegment() float64 {
	if s.Segments == 0 {
		return 0
	}
	return s.SegSum / float64(s.Segments)
}

// StdSegment is the standard deviation of the segment length (ns).
func (s SegStats) StdSegment() float64 {
	if s.Segments < 2 {
		return 0
	}
	m := s.MeanSegment()
	v := s.SegSumSq/float64(s.Segments) - m*m
	if v < 0 {
		return 0
	}
	return math.Sqrt(v)
}

// simulator holds the SRPT simulation's reusable buffers.
type simulator struct {
	remaining []int64  // per job: remaining demand when queued
	enq       []int64  // per job: when it was last queued
	heap      []queued // queued jobs, min-heap by remaining then index
	job       []int32  // per core
	begin     []int64  // per core
	finish    []int64  // per core
}

// SimulateSRPT runs preemptive SRPT of jobs (sorted by arrival) on cores cores and adds each
// job's segments, waits and completion time to stats[job.Class]. It returns the time the last
// job completed.
func SimulateSRPT(jobs []SimJob, cores int, stats []SegStats) int64 {
	var s simulator
	return s.run(jobs, cores, stats)
}

func (s *simulator) run(jobs []SimJob, cores int, stats []SegStats) int64 {
	if cores < 1 {
		cores = 1
	}
	n := len(jobs)
	s.remaining = grow(s.remaining, n)
	s.enq = grow(s.enq, n)
	s.heap = s.heap[:0]
	// Per core: the running job (-1 idle), when its segment began and when it would finish
	// (idle cores finish at +inf, so the earliest-completion scan needs no branch).
	s.job = slices.Grow(s.job[:0], cores)[:cores]
	s.begin = grow(s.begin, cores)
	s.finish = grow(s.finish, cores)
	for i := range cores {
		s.job[i], s.finish[i] = -1, math.MaxInt64
	}
	for i := range jobs {
		stats[jobs[i].Class].Jobs++
	}
	var now int64
	next := 0 // next arrival
	busy := 0
	for next < n || busy > 0 {
		// Earliest completion among running jobs.
		ci, ct := 0, s.finish[0]
		for i, f := range s.finish[1:] {
			if f < ct {
				ci, ct = i+1, f
			}
		}
		if busy > 0 && (next >= n || ct <= jobs[next].Arrival) {
			now = ct
			j := s.job[ci]
			st := &stats[jobs[j].Class]
			s.segment(st, now-s.begin[ci])
			st.FCTSum += float64(now - jobs[j].Arrival)
			s.job[ci], s.finish[ci] = -1, math.MaxInt64
			busy--
			if len(s.heap) > 0 {
				s.start(ci, s.pop(), now, jobs, stats)
				busy++
			}
			continue
		}
		// Next arrival.
		j := int32(next)
		next++
		now = jobs[j].Arrival
		d := max(jobs[j].Demand, 1)
		s.remaining[j] = d
		s.enq[j] = now
		if busy < cores {
			for i, r := range s.job {
				if r < 0 {
					s.start(i, j, now, jobs, stats)
					busy++
					break
				}
			}
			continue
		}
		// All cores busy: preempt the running job with the most remaining work if the
		// newcomer is strictly shorter.
		vi, vf := 0, s.finish[0]
		for i, f := range s.finish[1:] {
			if f > vf {
				vi, vf = i+1, f
			}
		}
		if d < vf-now {
			pj := s.job[vi]
			s.segment(&stats[jobs[pj].Class], now-s.begin[vi])
			s.remaining[pj] = vf - now
			s.enq[pj] = now
			s.push(pj)
			s.start(vi, j, now, jobs, stats)
			continue
		}
		s.push(j)
	}
	return now
}

func (s *simulator) segment(st *SegStats, d int64) {
	if d <= 0 {
		return
	}
	f := float64(d)
	st.Segments++
	st.SegSum += f
	st.SegSumSq += f * f
}

func (s *simulator) start(core int, j int32, now int64, jobs []SimJob, stats []SegStats) {
	stats[jobs[j].Class].WaitSum += float64(now - s.enq[j])
	s.job[core], s.begin[core], s.finish[core] = j, now, now+s.remaining[j]
}

// queued is a job in the SRPT queue with its remaining demand beside it, so that heap
// operations compare without reaching into the per-job arrays.
type queued struct {
	rem int64
	j   int32
}

func (a queued) less(b queued) bool { return a.rem < b.rem || a.rem == b.rem && a.j < b.j }

func (s *simulator) push(j int32) {
	h := append(s.heap, queued{s.remaining[j], j})
	i := len(h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !h[i].less(h[p]) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
	s.heap = h
}

func (s *simulator) pop() int32 {
	h := s.heap
	top := h[0]
	last := len(h) - 1
	h[0] = h[last]
	h = h[:last]
	i := 0
	for {
		l := 2*i + 1
		if l >= len(h) {
			break
		}
		m := l
		if r := l + 1; r < len(h) && h[r].less(h[l]) {
			m = r
		}
		if !h[m].less(h[i]) {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	s.heap = h
	return top.j
}

func grow(b []int64, n int) []int64 {
	if cap(b) < n {
		return make([]int64, n)
	}
	return b[:n]
}

// sortByArrival sorts jobs by arrival with a stable LSD radix sort on the arrival offset from
// the earliest one (passes whose digit is constant are skipped). Digits are 11 bits for large
// windows and narrower for small ones, where clearing and summing 2,048 counters per pass
// would cost more than the jobs. It returns the sorted slice and the spare buffer, which
// callers keep for the next call.
func sortByArrival(jobs, tmp []SimJob) (sorted, spare []SimJob) {
	if len(jobs) < 2 {
		return jobs, tmp
	}
	lo, hi := jobs[0].Arrival, jobs[0].Arrival
	for _, j := range jobs {
		lo, hi = min(lo, j.Arrival), max(hi, j.Arrival)
	}
	span := uint64(hi - lo)
	if cap(tmp) < len(jobs) {
		tmp = make([]SimJob, len(jobs))
	}
	tmp = tmp[:len(jobs)]
	const maxBits = 11
	width := uint(min(max(bits.Len(uint(len(jobs))), 6), maxBits))
	mask := uint64(1)<<width - 1
	var countBuf [1 << maxBits]int
	count := countBuf[:1<<width]
	for shift := uint(0); shift < 64 && span>>shift != 0; shift += width {
		clear(count)
		for _, j := range jobs {
			count[(uint64(j.Arrival-lo)>>shift)&mask]++
		}
		if count[(uint64(jobs[0].Arrival-lo)>>shift)&mask] == len(jobs) {
			continue
		}
		sum := 0
		for i, c := range count {
			count[i] = sum
			sum += c
		}
		for _, j := range jobs {
			d := (uint64(j.Arrival-lo) >> shift) & mask
			tmp[count[d]] = j
			count[d]++
		}
		jobs, tmp = tmp, jobs
	}
	return jobs, tmp
}
