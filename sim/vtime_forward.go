package sim

import (
	"math"
	"math/bits"

	"github.com/alps-sched/alps/policy"
)

// Fast-forward of vtime's round-robin phases (Forwarder).
//
// While more tasks are runnable than there are cores and every core runs a full slice s,
// the slice-by-slice schedule is often a plain rotation. Write the queue in pick order
// q_1..q_n (keys k(q_1) <= ... <= k(q_n)) and the running tasks in the order their slices
// end, x_1..x_C at e_1 < ... < e_C (within (now, now+s]), each requeued with key v(x_i)+s.
// If
//
//	k(q_n) <= v(x_1)+s <= v(x_2)+s <= ... <= v(x_C)+s <= k(q_1)+s   and   v(x_1)+s >= vnow-L,
//
// then every requeued key is >= every queued key (ties go behind: they are inserted later),
// so the queue is first-in first-out, and the lag clamp never moves a key (the requeued keys
// never decrease, and vnow is the largest of them or the old vnow). The cycle
// L = q_1..q_n, x_1..x_C (N = n+C tasks) then repeats with every key s larger: the j-th
// dispatch from now (j = 0, 1, ...) happens at D(j) = e_{j mod C} + (j div C)*s on the core
// whose slice ends at e_{j mod C}, and runs L[j mod N]; the running x_i is dispatch i-C. Each
// dispatch is a context switch (N > C) and, until a burst ends, each stop is a quantum end
// after which the task is runnable. So up to the horizon T, the earlier of the next arrival,
// wake-up or timer and the first end of a burst (both computable per task), every task's
// slices, vtime, remaining demand, preemptions and place (core or queue position, with the
// insertion order the slice-by-slice schedule gives it) follow in closed form, in O(N) per
// phase instead of O(1) per slice. A running task may also be an open run that was closed
// (it stops at a boundary, charged its earlier slices already) or one that ends its burst
// within its slice (it is then the horizon); the phase may be shorter than a round.
// Forward checks every assumption at run time (slice ends distinct to the nanosecond, full
// slices, no other pending preemption, no open run, the inequalities above) and otherwise
// leaves the instant to the event loop; the boundaries at T itself are left to the loop as
// well, so ties at T are ordered by the loop's own rules. When nothing waits, forwardAlone
// (below) skips the slice ends of the closed runs instead. TestVtimeForward compares the
// result with the schedule played slice by slice: every record, the totals and the final
// vtimes.

// forward is the scratch state of Vtime.Forward (allocated once, in Start).
type forward struct {
	cores   []int    // core of each slot, by slice end
	ends    []int64  // slice end of each slot
	cycle   []TaskID // L
	rem     []int64  // remaining burst at the task's first dispatch of the phase
	settled bool     // some running task has charged slices (open.settled) before its slice
	order   []int    // cores by their next stop, after the phase
	slice   int64
	// div and divC multiply by these instead of dividing (integer division is slow).
	mslice, mcores uint64 // (2^64-1) div slice, (2^64-1) div cores
	// Forward does not try again before retry (when nothing can be skipped until then) or
	// for hold instants (after a failed check).
	retry   int64
	hold    int
	skipped int64 // dispatches fast-forwarded (tests)
	alone   []alone
	opens   []int // cores running open runs (forwardAlone)
	touched []int
	// valid says whether cores and ends were right at the end of the last phase; the
	// event loop has since stopped or dispatched on the stale cores.
	valid   bool
	isStale []bool
	stale   []int
	// next cores and ends, for the end of the phase (apply swaps them with cores and ends)
	nextCores []int
	nextEnds  []int64
}

func (f *forward) init(cores int, slice int64) {
	f.slice = slice
	if slice > 0 {
		f.mslice = math.MaxUint64 / uint64(slice)
	}
	f.mcores = math.MaxUint64 / uint64(cores)
	f.cores = make([]int, cores)
	f.ends = make([]int64, cores)
	f.order = make([]int, cores)
	f.isStale = make([]bool, cores)
	f.nextCores, f.nextEnds = make([]int, cores), make([]int64, cores)
	for c := range f.cores {
		f.cores[c] = c
	}
}

// maxForwardRem bounds the remaining bursts Forward handles, so that its dispatch times
// cannot overflow (2^45 ns is about 9.8 hours).
const maxForwardRem = 1 << 45

// maxForwardTasks bounds the cycle length for the same reason.
const maxForwardTasks = 1 << 15

// minForward is the fewest dispatches worth a fast-forward.
const minForward = 3

// Forward skips ahead over a round-robin phase when it can prove the phase (see above).
func (s *Vtime) Forward(until int64) {
	e, f := s.env, &s.ff
	if s.stepwise || e.now < f.retry {
		return
	}
	n, C := s.q.len(), e.cores
	if n == 0 && e.idle == 0 && s.nEarly == 0 {
		s.forwardAlone(until)
		return
	}
	if n == 0 || e.idle > 0 || s.open.n > 0 || s.nEarly > 0 {
		return
	}
	if f.hold > 0 {
		f.hold--
		return
	}
	if n+C > maxForwardTasks {
		f.hold = C
		return
	}
	if !s.sortRunning() {
		return
	}
	rmin, ok := s.rotation()
	if !ok {
		f.hold = C
		return
	}
	T := s.horizon(until, rmin)
	if T <= f.ends[min(minForward, C)-1] {
		f.retry = T // too little before T: the event loop is as quick
		return
	}
	s.apply(T)
}

// sortRunning checks the running tasks (full closed slices, all ends distinct) and sorts
// f.cores by slice end (f.ends). If f.cores was right at the end of the last phase, only the
// cores the event loop has stopped or dispatched on since are looked at again. It reports
// false if a running task does not fit a phase.
func (s *Vtime) sortRunning() bool {
	f, C := &s.ff, s.env.cores
	switch {
	case !f.valid || len(f.stale) > C/2:
		for i := range f.cores {
			if !f.place(s, i, i) {
				return false
			}
		}
	case len(f.stale) > 0:
		w, ends := 0, f.ends[:len(f.cores)]
		for i, c := range f.cores {
			if !f.isStale[c] {
				f.cores[w], ends[w] = c, ends[i]
				w++
			}
		}
		copy(f.cores[w:], f.stale) // f.cores stays a permutation if place fails
		for ; w < C; w++ {
			if !f.place(s, w, w) {
				return false
			}
		}
	}
	f.unstale()
	f.valid = true
	return true
}

// rotation sorts the queue (s.q.s) in pick order, fills f.cycle (L) and f.rem (each task's
// remaining burst at its first dispatch of the phase), and checks the rotation conditions.
// It returns the smallest remaining burst.
func (s *Vtime) rotation() (rmin int64, ok bool) {
	e, f := s.env, &s.ff
	n, C, sl := s.q.len(), e.cores, f.slice
	N := n + C
	// Sorted in place: a sorted array is a heap, so the queue stays one.
	q := s.q.s
	for i := 1; i < n; i++ { // insertion sort: the heap is often sorted already
		k := q[i]
		j := i
		for ; j > 0 && k.less(q[j-1]); j-- {
			q[j] = q[j-1]
		}
		q[j] = k
	}
	if cap(f.cycle) < N {
		f.cycle, f.rem = make([]TaskID, 2*N), make([]int64, 2*N)
	}
	f.cycle, f.rem = f.cycle[:N], f.rem[:N]
	rmin = maxForwardRem
	vt, left := s.v, e.rem
	cyc, rem := f.cycle[:len(q)], f.rem[:len(q)]
	for p, k := range q {
		r := left[k.t]
		if k.key != vt[k.t] || r > maxForwardRem {
			return 0, false
		}
		cyc[p], rem[p] = k.t, r
		rmin = min(rmin, r)
	}
	// The running tasks, by slice end, each requeued with key v+s at its slice end.
	prev, low := q[n-1].key, s.vnow-s.p.WakeLag
	cores, running, settled := f.cores, e.running, s.open.settled
	anySettled := false
	cyc, rem = f.cycle[n:][:len(cores)], f.rem[n:][:len(cores)]
	for i, c := range cores {
		x := running[c]
		key := vt[x] + sl
		if key < prev || key < low { // low: for the first; the others' keys are larger
			return 0, false
		}
		prev = key
		st := settled[c]
		anySettled = anySettled || st > 0
		r := left[x] - st
		cyc[i], rem[i] = x, r
		rmin = min(rmin, r)
	}
	f.settled = anySettled
	if prev > q[0].key+sl {
		return 0, false
	}
	return rmin, true
}

// horizon is the end of the phase: until, or the first end of a burst (see Forward).
func (s *Vtime) horizon(until, rmin int64) int64 {
	f := &s.ff
	n, C, sl := s.q.len(), s.env.cores, f.slice
	N := n + C
	// Task p's dispatches are first+k*N, k = 0, 1, ..., with first = p (queued) or p-N
	// (running); its burst ends in dispatch j_p = first + k_p*N, k_p = (rem-1) div s,
	// rem - k_p*s after it starts. A task with k_p >= k_min+2 cannot end first (j_p >=
	// k_p*N - C > k_min*N + N > j_pmin + C), so only tasks with rem-1 < (k_min+2)*s are
	// looked at: their k is k_min or k_min+1 (rem >= rmin). Nor can one with j_p >=
	// j_pmin + C: it ends after dispatch j_pmin + C, at(j_pmin) + s, when j_pmin's burst
	// has ended. The running minimum of j_p is at least j_pmin, so fewer are skipped, none
	// wrongly.
	kmin := f.div(rmin - 1)
	lim1, lim2 := (kmin+1)*sl, (kmin+2)*sl
	jmin := int(maxForwardTasks * maxForwardRem)
	T := until
	for p, r := range f.rem {
		if r-1 < lim2 {
			k := kmin
			if r-1 >= lim1 {
				k++
			}
			j := p + int(k)*N
			if p >= n {
				j -= N
			}
			if j < jmin+C {
				jmin = min(jmin, j)
				T = min(T, f.at(j)+r-k*sl)
			}
		}
	}
	return T
}

// apply advances the schedule to T: every task gets the slices of the phase, the cores
// the tasks of the last C dispatches before T, the queue the others (see Forward).
func (s *Vtime) apply(T int64) {
	e, f := s.env, &s.ff
	n, C, sl := s.q.len(), e.cores, f.slice
	N := n + C
	// J, the dispatches before T: e_i + k*s < T for k < K, or k < K-1 for the last
	// slots (the ends are sorted).
	K := f.div(T - f.ends[0] + sl - 1)
	J := int(K) * C
	for i := C - 1; i >= 0 && f.ends[i]+(K-1)*sl >= T; i-- {
		J--
	}
	// After the phase, dispatches base = J-C .. J-1 run and J .. J+n-1 wait; these N
	// consecutive dispatches are one of each task. Task p's is dispatch j = a*N + p
	// (p >= b) or (a+1)*N + p (p < b), where a*N + b = base; before it came
	// (j - first)/N of its dispatches, all stopped, each after a full slice: a or a+1, one
	// more if it was running before the phase (first = p-N). So the number of stops is
	// constant between the breakpoints b and n of the cycle.
	base := J - C
	a := -1 // base >= -C > -N
	if base >= 0 {
		a = base / N
	}
	b := base - a*N
	lo, hi := min(b, n), max(b, n)
	vmax, busy := s.charge(0, lo, a+1, J)
	if b < n {
		vmax, busy = s.chargeMore(vmax, busy, lo, hi, a, J)
	} else {
		vmax, busy = s.chargeMore(vmax, busy, lo, hi, a+2, J)
	}
	vmax, busy = s.chargeMore(vmax, busy, hi, N, a+1, J)
	// Dispatches base+m, m < C, run (those before 0 are the runs of before the phase), on
	// the cores in the order of their slice ends: slot i's next dispatch after base is
	// base+m, m = (i - base) mod C, at ends[i] + round*s.
	round := int64(-1) // floor(base/C), base >= -C
	if base >= 0 {
		round = int64(f.divC(base))
	}
	slot := base - int(round)*C
	cores, ends, cycle := f.cores, f.ends[:len(f.cores)], f.cycle[:N]
	order, nextCores, nextEnds := f.order[:C], f.nextCores[:C], f.nextEnds[:C]
	p := b
	for m := range C {
		c, start := cores[slot], ends[slot]+round*sl
		order[m], nextCores[m], nextEnds[m] = c, c, start+sl
		if base+m >= 0 {
			t := cycle[p]
			e.resume(c, t, start, sl)
			s.runV[c] = s.v[t] // open.settled[c] is 0
		}
		if slot++; slot == C {
			slot, round = 0, round+1
		}
		if p++; p == N {
			p = 0
		}
	}
	// Dispatches J+m wait, with the queue's order: requeued at dispatch J+m-n, or waiting
	// since before the phase (a queued task not dispatched in it).
	seq0 := s.q.seq
	waiting := s.q.s[:n]
	for m := range waiting {
		t := cycle[p]
		seq := seq0 + uint32(J+m-n) + 1
		if p < n && a+b2i(p < b) == 0 {
			// p = J+m > m: its entry is not overwritten yet.
			seq = waiting[p].seq
		}
		waiting[m] = keyed{key: s.v[t], t: t, seq: seq}
		if p++; p == N {
			p = 0
		}
	}
	s.q.s = waiting
	e.resumed(f.order, J, J, busy)
	// By slice end, as dispatched (the buffers swap).
	f.cores, f.nextCores, f.ends, f.nextEnds = f.nextCores, f.cores, f.nextEnds, f.ends
	s.q.seq = seq0 + uint32(J)
	s.vnow = max(s.vnow, vmax)
	f.skipped += int64(J)
}

// chargeMore is charge added to the totals so far.
func (s *Vtime) chargeMore(vmax, busy int64, lo, hi, stops, J int) (int64, int64) {
	v, b := s.charge(lo, hi, stops, J)
	return max(vmax, v), busy + b
}

// charge accounts the phase (see apply) of the tasks at positions lo..hi-1 of the cycle, all
// queued or all running before the phase: each was stopped stops times after a full slice.
// A running one's run began before its slice by its settled part (charged already); a
// queued one dispatched first in the phase (dispatch p < J) starts then. It returns the
// largest of their new vtimes (math.MinInt64 if none changed) and the time they ran.
func (s *Vtime) charge(lo, hi, stops, J int) (vmax, busy int64) {
	e, f := s.env, &s.ff
	n := s.q.len()
	vmax = math.MinInt64
	if lo >= hi || lo >= n && stops == 0 { // running ones still in their first slice
		return vmax, 0
	}
	d := int64(stops) * f.slice
	cycle, vt, rec := f.cycle[lo:hi], s.v, e.rec
	if lo < n { // queued
		for i, t := range cycle {
			if rec[t].Start < 0 && lo+i < J {
				rec[t].Start = f.at(lo + i)
			}
			v := vt[t] + d
			vt[t] = v
			vmax = max(vmax, v)
			e.skip(t, stops, d)
		}
		busy = d * int64(len(cycle))
	} else {
		for i, t := range cycle {
			ran := d
			if f.settled {
				ran += f.unsettle(s, lo+i-n)
			}
			v := vt[t] + d
			vt[t] = v
			vmax = max(vmax, v)
			busy += ran
			e.skip(t, stops, ran)
		}
	}
	if stops == 0 {
		vmax = math.MinInt64
	}
	return vmax, busy
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// unsettle returns, for the task that ran in slot i before the phase, the part of its run
// that preceded its current slice (settled, charged already), and clears it.
func (f *forward) unsettle(s *Vtime, i int) int64 {
	c := f.cores[i]
	settled := s.open.settled[c]
	s.open.settled[c] = 0
	return settled
}

// div is x div slice for x >= 0 and slice > 0. Below 2^62 it multiplies: with m = (2^64-1)
// div slice > 2^64/slice - 1, x*m/2^64 lies in (x/slice - 1, x/slice], so the high half of
// x*m is the quotient or one less.
func (f *forward) div(x int64) int64 {
	if x >= 1<<62 {
		return x / f.slice
	}
	hi, _ := bits.Mul64(uint64(x), f.mslice)
	q := int64(hi)
	if (q+1)*f.slice <= x {
		q++
	}
	return q
}

// touch records that the event loop stopped or dispatched on core c.
func (f *forward) touch(c int) {
	if !f.isStale[c] {
		f.isStale[c] = true
		f.stale = append(f.stale, c)
	}
}

func (f *forward) unstale() {
	for _, c := range f.stale {
		f.isStale[c] = false
	}
	f.stale = f.stale[:0]
}

// place checks the running task of core f.cores[i] (see Forward) and inserts it by its
// slice end among f.cores[:n], which are sorted. It reports false (and forgets f.cores'
// order) if the task does not fit a phase.
func (f *forward) place(s *Vtime, i, n int) bool {
	e, c, sl := s.env, f.cores[i], f.slice
	// Its slice ends at end: a quantum end, or the stop at a boundary requested when an
	// open run was closed (settled: the whole slices it had run and been charged), unless
	// it ends its burst before (then end is only the slot's phase).
	x, settled := e.running[c], s.open.settled[c]
	end := e.runStart[c] + settled + sl
	if r := e.rem[x] - settled; r > sl && e.stopAt[c] != end || r <= sl && e.stopAt[c] != e.runStart[c]+e.rem[x] ||
		e.preemptAt[c] != never && e.preemptAt[c] != e.stopAt[c] || e.rem[x] > maxForwardRem {
		f.fail(e.cores)
		return false
	}
	j := n
	for ; j > 0 && f.ends[j-1] > end; j-- {
		f.ends[j], f.cores[j] = f.ends[j-1], f.cores[j-1]
	}
	f.ends[j], f.cores[j] = end, c
	if j > 0 && f.ends[j-1] == end {
		f.fail(e.cores)
		return false
	}
	return true
}

// fail makes Forward wait for hold instants and check every core again.
func (f *forward) fail(hold int) {
	f.hold, f.valid = hold, false
	f.unstale()
}

// at is the time of dispatch j of the phase (j >= -C).
func (f *forward) at(j int) int64 {
	C := len(f.ends)
	u := j + C
	q := f.divC(u)
	return f.ends[u-q*C] + int64(q-1)*f.slice
}

// divC is u div C (the number of cores) for u >= 0, like div.
func (f *forward) divC(u int) int {
	if u >= 1<<62 {
		return u / len(f.ends)
	}
	hi, _ := bits.Mul64(uint64(u), f.mcores)
	q := int(hi)
	if (q+1)*len(f.ends) <= u {
		q++
	}
	return q
}

// Fast-forward while nothing waits (forwardAlone).
//
// With the queue empty and every core busy, a task picked while its vtime lagged more than
// L behind the largest one runs closed slices (Pick), and at each slice end it is stopped,
// charged, requeued (clamped) and picked again by its own core, the only idle one, for a
// closed slice again or, once within L, for an open run; the other cores run open runs
// (charged whole slices at every enqueue) or end their bursts. Until the horizon T (next
// arrival, wake-up or timer, or the first end of a burst) these are the only events, and
// each needs only a few numbers: at x's k-th slice end t, the open runs are charged to
// v_o - settled_o + floor((t - runStart_o)/s)*s = M_x + k*s (M_x, the largest such at x's
// first slice end, since t moves by s each time; runs opened during the phase are counted
// as the round robin passes them), and the pick compares x's vtime with the largest
// running vtime, v_o - settled_o + (t - runStart_o) for the open runs and v_y + (t -
// start_y) for the closed ones. The slice ends come round robin in the order of the first
// ones. forwardAlone replays them in O(1) each instead of through the event loop, and
// leaves to the loop the ones at or after a tie (two cores' slice ends, or one and an open
// run's boundary, at the same nanosecond).

// alone is a closed run while nothing waits.
type alone struct {
	core    int
	t       TaskID
	start   int64 // start of its current slice
	v, m    int64 // vtime; M_x
	n       int   // slice ends replayed
	b       int64 // its first slice end in the phase
	extra   int64 // run before start in the engine's current run (settled)
	hasOpen bool
	open    bool  // picked for an open run at start: no more slice ends
	c       int64 // then: its vtime as charged at the next slice end of another
}

func (s *Vtime) forwardAlone(until int64) {
	e, f := s.env, &s.ff
	sl, L := s.p.DefaultSlice, s.p.WakeLag
	if until-e.now <= sl {
		f.retry = until
		return
	}
	if s.open.n == e.cores { // all open: nothing happens before the next stop or until
		_, next := e.cq.top()
		f.retry = min(until, next)
		return
	}
	if f.hold > 0 {
		f.hold--
		return
	}
	const minV = -1 << 62
	T, rmax := until, int64(minV) // rmax: largest v_o - settled_o - runStart_o
	f.alone, f.opens = f.alone[:0], f.opens[:0]
	for c := 0; c < e.cores; c++ {
		x, end := e.running[c], e.stopAt[c]
		if e.preemptAt[c] != never && (s.open.open[c] || e.preemptAt[c] != end) {
			f.hold = e.cores
			return
		}
		settled := s.open.settled[c]
		if s.open.open[c] || end != e.runStart[c]+settled+sl || e.rem[x]-settled <= sl {
			// An open run, or a run that ends its burst at end: no events before then.
			T = min(T, end)
			rmax = max(rmax, s.v[x]-settled-e.runStart[c])
			if s.open.open[c] {
				f.opens = append(f.opens, c)
			}
			continue
		}
		if e.rem[x] > maxForwardRem {
			f.hold = e.cores
			return
		}
		T = min(T, e.runStart[c]+e.rem[x]) // it ends its burst if it keeps running
		f.alone = append(f.alone, alone{core: c, t: x, start: end - sl, b: end, v: s.v[x], m: minV, extra: settled})
	}
	if len(f.alone) == 0 {
		f.retry = T
		return
	}
	for i := range f.alone {
		a := &f.alone[i]
		b := a.start + sl // first slice end
		for _, c := range f.opens {
			d := b - e.runStart[c] // > 0
			k := f.div(d) * sl
			if k == d { // coincides with an open run's boundary
				f.hold = e.cores
				return
			}
			a.m = max(a.m, s.v[e.running[c]]-s.open.settled[c]+k)
			a.hasOpen = true
		}
	}
	// The slice ends come round robin in the order of the first ones (they are all in one
	// slice). Ties are left to the event loop: the phase stops before the first.
	as := f.alone
	for i := 1; i < len(as); i++ {
		a, j := as[i], i
		for ; j > 0 && as[j-1].b > a.b; j-- {
			as[j] = as[j-1]
		}
		as[j] = a
	}
	for i := 1; i < len(as); i++ {
		if as[i].b == as[i-1].b {
			T = min(T, as[i].b)
		}
	}
	// top is the closed run with the largest v - start: the largest running vtime of the
	// closed runs at t is t + that of top.
	top := 0
	for i := range as {
		if as[i].v-as[i].start > as[top].v-as[top].start {
			top = i
		}
	}
	// mopen is the largest vtime, as charged at the next slice end, of the runs opened in
	// the phase: one that opened at t is charged v2 + floor((t' - t)/s)*s at t', one slice
	// more each time the round robin passes its place.
	vnow, events, last, opened, mopen := s.vnow, 0, int64(0), 0, int64(minV)
	for i := 0; opened < len(as); i++ {
		if i == len(as) {
			i = 0
		}
		a := &as[i]
		if a.open {
			a.c += sl
			mopen = max(mopen, a.c)
			continue
		}
		t := a.start + sl
		if t >= T {
			break
		}
		v1 := a.v + sl // Stopped
		vn := max(vnow, v1, mopen)
		if a.hasOpen {
			vn = max(vn, a.m+int64(a.n)*sl) // closeOpen charges the open runs
		}
		v2 := policy.ClampLag(v1, vn, L) // enqueue
		// Pick: maxV (x's own running vtime before the stop, v1, is at most vn).
		mv := max(vn, rmax+t, as[top].v+t-as[top].start)
		a.v, a.start, a.n = v2, t, a.n+1
		vnow, events, last = vn, events+1, t
		if a.v-a.start > as[top].v-as[top].start { // v - start never decreases
			top = i
		}
		if !s.closed && mv-v2 <= L {
			a.open, a.c = true, v2 // it runs open from here
			opened++
			mopen = max(mopen, v2)
		}
	}
	if events == 0 {
		f.hold = e.cores
		return
	}
	busy := int64(0)
	f.touched = f.touched[:0]
	for i := range f.alone {
		a := &f.alone[i]
		if a.n == 0 {
			continue
		}
		ran := int64(a.n)*sl + a.extra
		busy += ran
		e.skip(a.t, a.n, ran)
		s.v[a.t] = a.v
		s.open.settled[a.core] = 0
		q := sl
		if a.open {
			s.open.open[a.core] = true
			s.opens.add(a.core)
			s.open.n++
			q = 0
		}
		e.resume(a.core, a.t, a.start, q)
		s.runV[a.core] = a.v
		f.touched = append(f.touched, a.core)
	}
	for c, open := range s.open.open { // charged at the last slice end, as closeOpen did
		if open {
			if k := (last - e.runStart[c]) / sl * sl; k > s.open.settled[c] {
				s.v[e.running[c]] += k - s.open.settled[c]
				s.open.settled[c] = k
			}
		}
	}
	s.vnow, s.nextB, f.valid = vnow, 0, false
	s.q.seq += uint32(events)
	e.resumed(f.touched, 0, events, busy)
	f.skipped += int64(events)
}
