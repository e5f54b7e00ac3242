package sim

import (
	"fmt"
	"math"
)

// LAS is the las policy of alps-sim: least attained service first (foreground-background,
// FB) on C cores. The runnable invocations that have received the least CPU so far in their
// invocation (over all its bursts: I/O neither resets it nor earns credit) run; invocations
// with equal attained CPU share the cores left to them equally (processor sharing among the
// tied). LAS needs no knowledge of demand; it is optimal for mean response time in the
// M/G/1 when demand has a decreasing hazard rate.
//
// It is simulated exactly, as a fluid, by its own event loop (no quanta, no ticks). Tasks at
// one attained level form a cluster that rises as one. With the clusters sorted by level,
// each member of the lowest ones runs at rate 1 while fewer than C tasks are below; the
// cluster where the count reaches C shares the cores left over, (C - j) / m each for its m
// members above j lower tasks; clusters above it wait. Events are arrivals, I/O wake-ups,
// ends of CPU bursts, a rate-1 cluster catching the sharing one, and the sharing one
// reaching the level of a waiting one. Service is float64 ns; event times are rounded up to
// the ns and levels within 1 ns of each other are one level.
//
// A new invocation has the least attained CPU (none), so it starts at once. Preemptions are
// the times a task stopped being served while runnable (its cluster was pushed above the
// sharing one); context switches are the times a task started being served (arrival,
// wake-up, resumption): sharing within a cluster is fluid and costs nothing. LAS has no run
// segments: an Observer is an error.
type LAS struct{}

// NewLAS returns the las policy.
func NewLAS() *LAS { return &LAS{} }

func (*LAS) Name() string { return "las" }

// LAS is simulated by simulate; the Policy methods are never called.
func (*LAS) Start(*Env)                             {}
func (*LAS) Runnable(TaskID, Reason)                {}
func (*LAS) Pick(int) (TaskID, int64, bool)         { return NoTask, 0, false }
func (*LAS) Stopped(TaskID, int, int64, StopReason) {}

// lasCluster is the set of runnable tasks at one attained level: a pairing heap of its
// members by the level at which their current burst ends.
type lasCluster struct {
	level  float64 // attained CPU of every member, ns
	root   TaskID
	n      int
	served bool // it ran (rate > 0) since the last normalisation
}

// lasWaiting is a cluster above the sharing one, in the heap of waiting clusters.
type lasWaiting struct {
	level float64
	c     int32
}

func (a lasWaiting) less(b lasWaiting) bool {
	return a.level < b.level || (a.level == b.level && a.c < b.c)
}

// lasSameLevel: attained levels within this many ns are one level.
const lasSameLevel = 1.0

type lasSim struct {
	cores int
	inv   []Invocation
	rec   []Record

	// Per task: the attained level at which its current burst ends, and its node in its
	// cluster's pairing heap. pre is a lazy count of preemptions: a task's count in its
	// current cluster is the sum of pre over its path from the heap's root.
	end        []float64
	child, sib []TaskID
	pre        []int32

	cl   []lasCluster
	free []int32
	act  []int32 // served clusters by level; after normalise, every one but the last runs at rate 1
	wait minHeap[lasWaiting]

	wakes    eventHeap
	kids     []TaskID // scratch of popMin
	switches int64
}

func (l *LAS) simulate(tr *Trace, o Options) (*Result, error) {
	if o.Observer != nil {
		return nil, fmt.Errorf("policy %s is simulated as a fluid and has no run segments to observe", l.Name())
	}
	n := len(tr.Inv)
	s := &lasSim{
		cores: o.Cores,
		inv:   tr.Inv,
		rec:   make([]Record, n),
		end:   make([]float64, n),
		child: make([]TaskID, n),
		sib:   make([]TaskID, n),
		pre:   make([]int32, n),
		wakes: make(eventHeap, 0, 64),
	}
	for i := range tr.Inv {
		s.rec[i] = Record{Arrival: tr.Inv[i].Arrival, Start: -1, End: -1, Func: tr.Inv[i].Func}
		s.child[i], s.sib[i] = NoTask, NoTask
	}
	var now int64
	next, completed := 0, 0
	for completed < n {
		r := s.shareRate()
		tNext := int64(never)
		if dt := s.nextChange(r); dt < math.Inf(1) {
			tNext = now + int64(math.Ceil(dt))
		}
		if len(s.wakes) > 0 && s.wakes[0].t < tNext {
			tNext = s.wakes[0].t
		}
		if next < n && tr.Inv[next].Arrival < tNext {
			tNext = tr.Inv[next].Arrival
		}
		if tNext == never {
			return nil, fmt.Errorf("policy %s: %d invocations unfinished", l.Name(), n-completed)
		}
		if err := o.poll(); err != nil {
			return nil, err
		}
		s.advance(float64(tNext-now), r)
		now = tNext
		if err := s.burstsEnd(now, &completed, o); err != nil {
			return nil, err
		}
		for len(s.wakes) > 0 && s.wakes[0].t == now {
			t := TaskID(s.wakes.pop().key)
			rc := &s.rec[t]
			rc.Wakeups++
			lv := s.end[t]
			s.end[t] = lv + float64(burst(&s.inv[t], rc.Wakeups))
			s.act = append(s.act, s.newCluster(t, lv))
		}
		arrived := int32(-1) // the cluster of this instant's arrivals
		for ; next < n && tr.Inv[next].Arrival == now; next++ {
			t := TaskID(next)
			s.rec[t].Start = now
			s.end[t] = float64(burst(&s.inv[t], 0))
			if arrived < 0 {
				arrived = s.newCluster(t, 0)
				s.act = append(s.act, arrived)
				continue
			}
			s.child[t], s.sib[t], s.pre[t] = NoTask, NoTask, 0
			k := &s.cl[arrived]
			k.root = s.meld(k.root, t)
			k.n++
		}
		s.normalise()
	}
	if o.Progress != nil {
		o.Progress(completed)
	}
	var pre int64
	for i := range s.rec {
		pre += int64(s.rec[i].Preemptions)
	}
	return &Result{
		Policy:          l.Name(),
		Cores:           o.Cores,
		Records:         s.rec,
		Busy:            tr.TotalCPU(),
		ContextSwitches: s.switches,
		Preemptions:     pre,
	}, nil
}

// shareRate is the service rate of each member of the highest served cluster (the others
// run at rate 1): the cores the lower clusters leave, shared by its members, at most 1.
func (s *lasSim) shareRate() float64 {
	if len(s.act) == 0 {
		return 1
	}
	below := 0
	for _, c := range s.act[:len(s.act)-1] {
		below += s.cl[c].n
	}
	m := s.cl[s.act[len(s.act)-1]].n
	return min(1, float64(s.cores-below)/float64(m))
}

// rateOf is the service rate of the members of the i-th served cluster.
func (s *lasSim) rateOf(i int, share float64) float64 {
	if i == len(s.act)-1 {
		return share
	}
	return 1
}

// nextChange is the time (ns, not rounded) until the next burst end, catch-up or reach
// of a waiting level; +Inf if nothing runs.
func (s *lasSim) nextChange(share float64) float64 {
	dt := math.Inf(1)
	for i, c := range s.act {
		k := &s.cl[c]
		dt = min(dt, (s.end[k.root]-k.level)/s.rateOf(i, share))
	}
	if len(s.act) == 0 {
		return dt
	}
	top := s.cl[s.act[len(s.act)-1]].level
	if len(s.act) >= 2 && share < 1 {
		dt = min(dt, (top-s.cl[s.act[len(s.act)-2]].level)/(1-share))
	}
	if len(s.wait) > 0 {
		dt = min(dt, (s.wait[0].level-top)/share)
	}
	return max(dt, 0)
}

func (s *lasSim) advance(dt, share float64) {
	if dt <= 0 {
		return
	}
	for i, c := range s.act {
		s.cl[c].level += s.rateOf(i, share) * dt
	}
}

// reached reports whether a burst ending at level e has ended at level lv (allowing for the
// rounding of the float service, far below a ns).
func reached(e, lv float64) bool { return e-lv <= 1e-9+1e-12*e }

// burstsEnd takes out of the served clusters every task whose burst ended by now: it blocks
// or completes. Emptied clusters are freed.
func (s *lasSim) burstsEnd(now int64, completed *int, o Options) error {
	keep := s.act[:0]
	for _, c := range s.act {
		k := &s.cl[c]
		for k.n > 0 && reached(s.end[k.root], k.level) {
			t := k.root
			k.root = s.popMin(t)
			k.n--
			rc := &s.rec[t]
			in := &s.inv[t]
			rc.Preemptions += uint32(s.pre[t])
			s.pre[t] = 0
			if rc.Wakeups < in.Waits {
				w := wait(in, rc.Wakeups)
				rc.Blocked += w
				s.wakes.push(event{t: now + w, key: uint64(t)})
				continue
			}
			rc.End, rc.CPU = now, in.CPU
			*completed++
			if err := o.tick(*completed); err != nil {
				return err
			}
		}
		if k.n == 0 {
			s.free = append(s.free, c)
			continue
		}
		keep = append(keep, c)
	}
	s.act = keep
	return nil
}

func (s *lasSim) newCluster(t TaskID, level float64) int32 {
	var c int32
	if n := len(s.free); n > 0 {
		c = s.free[n-1]
		s.free = s.free[:n-1]
	} else {
		c = int32(len(s.cl))
		s.cl = append(s.cl, lasCluster{})
	}
	s.child[t], s.sib[t], s.pre[t] = NoTask, NoTask, 0
	s.cl[c] = lasCluster{level: level, root: t, n: 1}
	return c
}

// sortAct sorts the served clusters by level (an insertion sort: they are sorted but for
// the few added at this instant) and makes levels within lasSameLevel of the one before equal
// to it.
func (s *lasSim) sortAct() {
	a := s.act
	for i := 1; i < len(a); i++ {
		c := a[i]
		j := i
		for ; j > 0 && s.below(c, a[j-1]); j-- {
			a[j] = a[j-1]
		}
		a[j] = c
	}
	for i := 1; i < len(a); i++ {
		if p, k := &s.cl[a[i-1]], &s.cl[a[i]]; k.level-p.level <= lasSameLevel {
			k.level = p.level
		}
	}
}

// below orders clusters by level, then id.
func (s *lasSim) below(a, b int32) bool {
	la, lb := s.cl[a].level, s.cl[b].level
	return la < lb || (la == lb && a < b)
}

// normalise restores the served set after the events of an instant: the clusters are
// sorted by level, the lowest run until the count of their members reaches the cores (the
// last of them shares), the waiting clusters at or below that level join, and clusters above
// it wait. Tasks that stop being served count a preemption; tasks that start, a switch.
// Clusters at one level are merged.
func (s *lasSim) normalise() {
	s.sortAct()
	var cut int // clusters act[:cut] stay served
	for {
		cut = len(s.act)
		count := 0
		for i, c := range s.act {
			count += s.cl[c].n
			if count >= s.cores {
				cut = i + 1
				// The rest of the boundary's level joins it.
				for cut < len(s.act) && s.cl[s.act[cut]].level == s.cl[c].level {
					cut++
				}
				break
			}
		}
		if len(s.wait) == 0 {
			break
		}
		if count >= s.cores && s.wait[0].level > s.cl[s.act[cut-1]].level+lasSameLevel {
			break
		}
		s.act = append(s.act, s.wait.pop().c)
		s.sortAct()
	}
	for _, c := range s.act[cut:] {
		k := &s.cl[c]
		if k.served {
			s.pre[k.root]++
			k.served = false
		}
	}
	for _, c := range s.act[:cut] {
		if k := &s.cl[c]; !k.served {
			s.switches += int64(k.n)
			k.served = true
		}
	}
	// Merge each level's clusters, then push the waiting ones.
	served := s.mergeLevels(s.act[:cut])
	waiting := s.mergeLevels(s.act[cut:])
	for _, c := range waiting {
		s.wait.push(lasWaiting{level: s.cl[c].level, c: c})
	}
	s.act = served
}

// mergeLevels merges the clusters of cs (sorted by level) that share a level, in place,
// and returns the merged list.
func (s *lasSim) mergeLevels(cs []int32) []int32 {
	out := cs[:0]
	for _, c := range cs {
		if n := len(out); n > 0 {
			if p := &s.cl[out[n-1]]; p.level == s.cl[c].level {
				p.root = s.meld(p.root, s.cl[c].root)
				p.n += s.cl[c].n
				s.free = append(s.free, c)
				continue
			}
		}
		out = append(out, c)
	}
	return out
}

// before orders tasks in a cluster's heap: by burst end, then task.
func (s *lasSim) before(a, b TaskID) bool {
	return s.end[a] < s.end[b] || (s.end[a] == s.end[b] && a < b)
}

// meld joins two pairing heaps and returns the root.
func (s *lasSim) meld(a, b TaskID) TaskID {
	if a == NoTask {
		return b
	}
	if b == NoTask {
		return a
	}
	if s.before(b, a) {
		a, b = b, a
	}
	s.pre[b] -= s.pre[a] // b's subtree does not inherit a's count
	s.sib[b] = s.child[a]
	s.child[a] = b
	return a
}

// popMin removes root from its heap and returns the new root. The caller reads pre[root]
// first: as a root, that is its whole count.
func (s *lasSim) popMin(root TaskID) TaskID {
	kids := s.kids[:0]
	for c := s.child[root]; c != NoTask; {
		nx := s.sib[c]
		s.pre[c] += s.pre[root]
		s.sib[c] = NoTask
		kids = append(kids, c)
		c = nx
	}
	s.child[root] = NoTask
	// Two-pass pairing: meld pairs left to right, then fold right to left.
	m := 0
	for i := 0; i < len(kids); i += 2 {
		if i+1 < len(kids) {
			kids[m] = s.meld(kids[i], kids[i+1])
		} else {
			kids[m] = kids[i]
		}
		m++
	}
	r := NoTask
	for i := m - 1; i >= 0; i-- {
		r = s.meld(kids[i], r)
	}
	s.kids = kids
	return r
}
