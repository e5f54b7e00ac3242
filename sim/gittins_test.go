package sim

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestGittinsIndex checks the index tables against closed forms (demands in ms).
func TestGittinsIndex(t *testing.T) {
	const ms = 1e6
	tests := []struct {
		name string
		xs   []float64
		want func(a float64) float64 // index at attained a (ns), per ns
	}{
		// One size D: finishing is certain, G(a) = 1 / (D - a), rising (FCFS-like).
		{"deterministic", slices.Repeat([]float64{100 * ms}, 5), func(a float64) float64 { return 1 / (100*ms - a) }},
		// 1 ms with probability 0.8, else 50 ms. Before 1 ms: max(P(done by 1 ms) / E[min(D, 1 ms)],
		// 1 / E[D]) = max(0.8 / 1 ms, 1 / 10.8 ms); after it only the 50 ms remain: 1 / (50 ms - a).
		{"two sizes", append(slices.Repeat([]float64{1 * ms}, 8), 50*ms, 50*ms), func(a float64) float64 {
			if a < 1*ms {
				return max(0.8/(1*ms-a), 1/(0.8*(1*ms-a)+0.2*(50*ms-a)))
			}
			return 1 / (50*ms - a)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb := newGittinsTable(slices.Clone(tt.xs))
			if tb.at[0] != 0 {
				t.Fatalf("first step at %d, want 0", tb.at[0])
			}
			for k := range tb.at {
				a := float64(tb.at[k])
				if want := tt.want(a); math.Abs(tb.idx[k]-want) > 1e-12*want {
					t.Errorf("step %d at %.3f ms: index %.6g, want %.6g", k, a/ms, tb.idx[k], want)
				}
				if k > 0 && tb.idx[k] == tb.idx[k-1] {
					t.Errorf("steps %d and %d hold the same index", k-1, k)
				}
			}
			// The grid: a step at least every 5% of attained or 1 ms where the index changes.
			for k := 1; k < len(tb.at); k++ {
				gap, prev := tb.at[k]-tb.at[k-1], float64(tb.at[k-1])
				if float64(gap) > max(gittinsAbs, gittinsRel*prev)+1 {
					t.Errorf("steps at %d and %d ns: gap %d ns", tb.at[k-1], tb.at[k], gap)
				}
			}
		})
	}
}

// gittinsReference is the gittins schedule computed directly: at every event the runnable
// tasks are sorted by (index at the step of their attained CPU, descending; arrival) and the
// first C run until the next arrival, wake-up, burst end or step boundary of a running task.
// It returns the start, end and preemptions (stops while runnable) of every invocation.
func gittinsReference(tr *Trace, cores int, tab []gittinsTable) (start, end []int64, pre []uint32) {
	n := len(tr.Inv)
	start, end, pre = make([]int64, n), make([]int64, n), make([]uint32, n)
	ran := make([]bool, n)     // ran in the last interval
	att := make([]int64, n)    // attained CPU
	rem := make([]int64, n)    // remaining in the current burst
	wakes := make([]uint32, n) // wake-ups so far
	wakeAt := map[int]int64{}
	for i := range start {
		start[i] = -1
	}
	index := func(t int) float64 {
		tb := &tab[tr.Inv[t].Func]
		k := 0
		for k+1 < len(tb.at) && tb.at[k+1] <= att[t] {
			k++
		}
		return tb.idx[k]
	}
	nextStep := func(t int) int64 {
		tb := &tab[tr.Inv[t].Func]
		for _, a := range tb.at {
			if a > att[t] {
				return a - att[t]
			}
		}
		return math.MaxInt64
	}
	var run []int
	var now int64
	next, done := 0, 0
	for done < n {
		slices.SortFunc(run, func(a, b int) int {
			ga, gb := index(a), index(b)
			switch {
			case ga > gb:
				return -1
			case ga < gb:
				return 1
			}
			return a - b
		})
		top := run[:min(cores, len(run))]
		for i, t := range run {
			if i >= len(top) && ran[t] {
				pre[t]++
			}
			ran[t] = i < len(top)
		}
		dt := int64(math.MaxInt64)
		if next < n {
			dt = tr.Inv[next].Arrival - now
		}
		for _, at := range wakeAt {
			dt = min(dt, at-now)
		}
		for _, t := range top {
			dt = min(dt, rem[t], nextStep(t))
		}
		now += dt
		for _, t := range top {
			if start[t] < 0 {
				start[t] = now - dt
			}
			att[t] += dt
			rem[t] -= dt
		}
		keep := run[:0]
		for _, t := range run {
			if rem[t] > 0 {
				keep = append(keep, t)
				continue
			}
			in := &tr.Inv[t]
			ran[t] = false
			if wakes[t] < in.Waits {
				wakeAt[t] = now + wait(in, wakes[t])
				continue
			}
			end[t] = now
			done++
		}
		run = keep
		for t, at := range wakeAt {
			if at == now {
				delete(wakeAt, t)
				wakes[t]++
				rem[t] = burst(&tr.Inv[t], wakes[t])
				run = append(run, t)
			}
		}
		for ; next < n && tr.Inv[next].Arrival == now; next++ {
			rem[next] = burst(&tr.Inv[next], 0)
			run = append(run, next)
		}
	}
	return start, end, pre
}

// TestGittinsAgainstReference compares gittins with the direct schedule on random
// multi-function instances with I/O on 1 to 8 cores: schedules on integer ns, so exactly.
func TestGittinsAgainstReference(t *testing.T) {
	for seed := uint64(1); seed <= 40; seed++ {
		cores := []int{1, 2, 3, 8}[seed%4]
		tr := randomTrace(seed, 150, 20e6/float64(cores), 20e6, 0.3)
		g := NewGittins()
		res, err := Run(tr, g, Options{Cores: cores})
		if err != nil {
			t.Fatal(err)
		}
		start, end, pre := gittinsReference(tr, cores, g.tab)
		for i, r := range res.Records {
			if r.Start != start[i] || r.End != end[i] || r.Preemptions != pre[i] {
				t.Fatalf("seed %d, %d cores: invocation %d runs [%d, %d] with %d preemptions, the reference [%d, %d] with %d",
					seed, cores, i, r.Start, r.End, r.Preemptions, start[i], end[i], pre[i])
			}
		}
	}
}

// TestGittinsDeterministicIsFIFO: with one demand for every invocation the index rises with
// attained CPU, so a started task is never preempted and gittins is first come, first served.
func TestGittinsDeterministicIsFIFO(t *testing.T) {
	for _, cores := range []int{1, 4} {
		tr := queueTrace(9, 5000, 0.9*float64(cores)/30, func(*rand.Rand) float64 { return 30 })
		g := runPolicy(t, "gittins", tr, cores, nil)
		f := runPolicy(t, "fifo", tr, cores, nil)
		for i := range g.Records {
			if g.Records[i].End != f.Records[i].End {
				t.Fatalf("%d cores: invocation %d ends at %d under gittins, %d under fifo", cores, i, g.Records[i].End, f.Records[i].End)
			}
		}
		if g.Preemptions != 0 {
			t.Errorf("%d cores: %d preemptions", cores, g.Preemptions)
		}
	}
}
