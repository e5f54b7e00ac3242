package sim

import (
	"math"
	"slices"
)

// Gittins is the gittins policy of alps-sim: multiclass Gittins index scheduling with each
// function's true demand distribution. A task's priority is the Gittins index of its
// function's demand distribution at the CPU it has used so far in its invocation (over all
// its bursts; an I/O wait neither resets it nor earns priority):
//
//	G(a) = sup over Δ > 0 of P(D - a <= Δ | D > a) / E[min(D - a, Δ) | D > a],
//
// and the C tasks with the highest index run (strict priority; ties go to the earlier
// arrival; a task that becomes runnable preempts a running one only if strictly better).
// The distribution of D is the empirical one of the function's invocations in the trace,
// read once at Start through the Oracle; in use the policy is non-anticipating: it sees a
// task's function and attained CPU, never its demand. With sizes unknown but drawn from known
// per-class distributions, Gittins minimises the mean response time in the M/G/1 (on C cores
// it is near-optimal in heavy traffic), so this is the bound for any policy that knows
// functions but not invocations.
//
// The index is evaluated on a grid of attained CPU, a step at least every 5% of the attained
// CPU or 1 ms (whichever is larger), and held between grid points; equal consecutive values
// are one step. As a task is re-ranked at grid points, Δ ranges over the grid (and
// completion): the index of the process observed on the grid. A running task stops at the
// first step where it ranks below a waiting task, and runs on otherwise.
type Gittins struct {
	env *Env
	or  Oracle
	tab []gittinsTable // by function
	att []int64        // per task: CPU used in its invocation, as of its last stop
	stp []int32        // per task: its step for att
	q   minHeap[gittinsKey]

	stopping []bool // core has a preemption due now
	nstop    int
	// open[c]: core c's task runs to the end of its burst, as it never ranks below
	// openVs[c], a task that waited, nor so below any task ranked behind that one (after
	// an empty queue, openVs ranks behind every task).
	open   []bool
	openVs []gittinsKey
}

// gittinsTable is a function's index as a step function of attained CPU.
type gittinsTable struct {
	at  []int64   // thresholds: at[0] = 0 < at[1] < ...; step k holds on [at[k], at[k+1])
	idx []float64 // index of each step (per ns): the leaves of tree
	// tree is a min segment tree over the steps: tree[p+k] = idx[k] for p the power of two
	// at or above len(idx) (+Inf beyond), tree[i] = min(tree[2i], tree[2i+1]).
	tree []float64
}

// gittinsKey orders the run queue: higher index first, then earlier arrival.
type gittinsKey struct {
	g float64
	t TaskID
}

func (a gittinsKey) less(b gittinsKey) bool { return a.g > b.g || (a.g == b.g && a.t < b.t) }

// Grid of the index: a step at least every gittinsRel of the attained CPU or gittinsAbs ns.
const (
	gittinsRel = 0.05
	gittinsAbs = 1e6
)

// NewGittins returns the gittins policy.
func NewGittins() *Gittins { return &Gittins{} }

func (*Gittins) Name() string         { return "gittins" }
func (g *Gittins) UseOracle(o Oracle) { g.or = o }

// Start implements Policy: the index tables from every invocation's demand.
func (g *Gittins) Start(e *Env) {
	g.env = e
	n := e.Tasks()
	g.att = make([]int64, n)
	g.stp = make([]int32, n)
	g.q = g.q[:0]
	g.stopping = make([]bool, e.Cores())
	g.open = make([]bool, e.Cores())
	g.openVs = make([]gittinsKey, e.Cores())
	g.nstop = 0
	// Every function's demands, grouped by function (a counting sort into one slice).
	var nf uint32
	for t := range TaskID(n) {
		nf = max(nf, e.Func(t)+1)
	}
	off := make([]int, nf+1)
	for t := range TaskID(n) {
		off[e.Func(t)+1]++
	}
	for f := range nf {
		off[f+1] += off[f]
	}
	xs := make([]float64, n)
	fill := slices.Clone(off[:nf])
	for t := range TaskID(n) {
		f := e.Func(t)
		xs[fill[f]] = float64(g.or.Remaining(t))
		fill[f]++
	}
	g.tab = make([]gittinsTable, nf)
	for f := range nf {
		if off[f+1] > off[f] {
			g.tab[f] = newGittinsTable(xs[off[f]:off[f+1]])
		}
	}
}

// newGittinsTable returns the index table of the empirical distribution of the demands xs
// (ns; sorted in place).
func newGittinsTable(xs []float64) gittinsTable {
	slices.Sort(xs)
	n := len(xs)
	// The grid, then per grid point the samples at or below it and their sum.
	var grid []float64
	for a := 0.0; a < xs[n-1]; a = float64(int64(a + max(gittinsAbs, gittinsRel*a))) {
		grid = append(grid, a)
	}
	below := make([]int, len(grid)+1)
	sum := make([]float64, len(grid)+1)
	i := 0
	var s float64
	for k, a := range grid {
		for i < n && xs[i] <= a {
			s += xs[i]
			i++
		}
		below[k], sum[k] = i, s
	}
	for ; i < n; i++ { // the last "grid point" is completion
		s += xs[i]
	}
	below[len(grid)], sum[len(grid)] = n, s
	var tb gittinsTable
	for k, a := range grid {
		gi := gittinsIndex(a, k, grid, below, sum)
		if m := len(tb.idx); m > 0 && tb.idx[m-1] == gi {
			continue
		}
		tb.at = append(tb.at, int64(a))
		tb.idx = append(tb.idx, gi)
	}
	p := 1
	for p < len(tb.idx) {
		p *= 2
	}
	tb.tree = make([]float64, 2*p)
	for i := range tb.tree[p:] {
		tb.tree[p+i] = math.Inf(1)
	}
	copy(tb.tree[p:], tb.idx)
	for i := p - 1; i >= 1; i-- {
		tb.tree[i] = min(tb.tree[2*i], tb.tree[2*i+1])
	}
	tb.idx = tb.tree[p : p+len(tb.idx)]
	return tb
}

// gittinsIndex is the Gittins index at the k-th grid point a of a task re-ranked at the grid
// points: the supremum over the later grid points b, and completion, of
// P(D <= b | D > a) / E[min(D, b) - a | D > a]. below[l] and sum[l] are the count and sum of
// the samples at or below grid point l (l = len(grid): all of them). Taking Δ over the
// grid, rather than over every sample, keeps a sample just above a from lending the whole
// step the index of an instant.
func gittinsIndex(a float64, k int, grid []float64, below []int, sum []float64) float64 {
	n := below[len(grid)]
	m := float64(n - below[k]) // samples above a
	best := 0.0
	for l := k + 1; l <= len(grid); l++ {
		done := float64(below[l] - below[k])
		if done == 0 {
			continue
		}
		// m * E[min(D, b) - a | D > a]: the finished ones' service, then the rest's b - a.
		served := sum[l] - sum[k] - done*a
		if l < len(grid) {
			served += (m - done) * (grid[l] - a)
		}
		if gi := done / served; gi > best {
			best = gi
		}
	}
	return best
}

// stepOf advances task t's step to the one holding attained a (a never decreases).
func (g *Gittins) stepOf(t TaskID, a int64) int32 {
	tb := &g.tab[g.env.Func(t)]
	k := g.stp[t]
	for int(k)+1 < len(tb.at) && tb.at[k+1] <= a {
		k++
	}
	g.stp[t] = k
	return k
}

// losesAt returns the first step from k on at which a task t of table tb ranks below the
// waiting task w (index gw), or -1 if it never does: the first index below gw, or equal to
// it if w arrived first. It walks the segment tree up from k to the first subtree to the
// right that holds such a step, then down to its leftmost one.
func losesAt(tb *gittinsTable, k int32, t TaskID, gw float64, w TaskID) int32 {
	tr := tb.tree
	tie := w < t
	if v := tr[1]; v > gw || (v == gw && !tie) {
		return -1 // no step ranks below w
	}
	p := len(tr) / 2
	i := int(k) + p
	if v := tr[i]; v < gw || (tie && v == gw) {
		return k
	}
	for {
		if i == 1 {
			return -1
		}
		if i%2 == 0 {
			if v := tr[i+1]; v < gw || (tie && v == gw) {
				i++
				break
			}
		}
		i /= 2
	}
	for i < p {
		i *= 2
		if v := tr[i]; !(v < gw || (tie && v == gw)) {
			i++
		}
	}
	return int32(i - p)
}

// Runnable implements Policy. A newcomer that is the best waiting task preempts the worst
// running task it beats, and every other running task is set to stop when its index falls
// below the newcomer's. A newcomer behind a better waiting task changes nothing: every
// running task already stops no later than it would lose to that one.
func (g *Gittins) Runnable(t TaskID, why Reason) {
	k := g.stepOf(t, g.att[t])
	gt := g.tab[g.env.Func(t)].idx[k]
	g.q.push(gittinsKey{gt, t})
	if len(g.q) <= g.env.Idle()+g.nstop || g.q[0].t != t {
		return
	}
	g.restopAll(true)
}

// restopAll sets each running task's stop against the best waiting task: when its index
// falls below that task's, or at the end of its burst if it never does. With earlier it
// only brings stops forward (Env.Preempt). Open runs are left alone unless the best waiting
// task ranks above the one they were checked against. Of the tasks that lose now, the worst
// is preempted (one per waiting task).
func (g *Gittins) restopAll(earlier bool) {
	now := g.env.Now()
	victim := -1
	var worst gittinsKey
	for c, stopping := range g.stopping {
		r := g.env.Running(c)
		if r == NoTask || stopping || (g.open[c] && (len(g.q) == 0 || !g.q[0].less(g.openVs[c]))) {
			continue
		}
		a := g.att[r] + ran(g.env, c)
		d, loses := g.runFor(r, a)
		switch {
		case !loses:
			if !earlier {
				g.env.restop(c, never)
			}
			g.setOpen(c)
		case d == 0:
			if kk := (gittinsKey{g.tab[g.env.Func(r)].idx[g.stp[r]], r}); victim < 0 || worst.less(kk) {
				victim, worst = c, kk
			}
		case earlier:
			g.env.Preempt(c, now+d)
			g.open[c] = false
		default:
			g.env.restop(c, now+d)
			g.open[c] = false
		}
	}
	if victim >= 0 {
		g.stopping[victim] = true
		g.nstop++
		g.env.Preempt(victim, now)
	}
}

// setOpen records that core c's task runs to the end of its burst as it never ranks below
// the best waiting task; with none waiting, it must be checked against the next one.
func (g *Gittins) setOpen(c int) {
	g.open[c] = true
	g.openVs[c] = gittinsKey{g: math.Inf(-1), t: math.MaxInt32}
	if len(g.q) > 0 {
		g.openVs[c] = g.q[0]
	}
}

// Pick implements Policy: the best task runs until its index falls below the best waiting
// one's. At the last pick of an instant the running tasks' stops are set against the new
// best waiting task: later ones, if the old best got a core.
func (g *Gittins) Pick(core int) (TaskID, int64, bool) {
	if len(g.q) == 0 {
		return NoTask, 0, false
	}
	t := g.q.pop().t
	d, loses := g.runFor(t, g.att[t])
	g.open[core] = false
	if !loses {
		g.setOpen(core)
	}
	if len(g.q) == 0 || g.env.Idle() == 1 { // no other idle core picks now
		g.restopAll(false)
	}
	return t, d, true
}

// runFor is how long task t, having used a, may run before its index falls below the best
// waiting task's, and whether it ever does.
func (g *Gittins) runFor(t TaskID, a int64) (int64, bool) {
	if len(g.q) == 0 {
		return 0, false
	}
	w := g.q[0]
	tb := &g.tab[g.env.Func(t)]
	j := losesAt(tb, g.stepOf(t, a), t, w.g, w.t)
	if j < 0 {
		return 0, false
	}
	return max(tb.at[j]-a, 0), true
}

// Stopped implements Policy: account the run.
func (g *Gittins) Stopped(t TaskID, core int, ran int64, _ StopReason) {
	g.att[t] += ran
	if g.stopping[core] {
		g.stopping[core] = false
		g.nstop--
	}
}
