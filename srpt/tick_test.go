package srpt

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// tickSim is the reference simulator: time advances in 1 ms ticks and every tick each core
// runs its task for 1 ms. It implements fifo, srpt and vtime (slice by slice, no open runs)
// directly from their definitions, for CPU-only traces whose arrivals and demands are whole
// milliseconds. It returns each invocation's completion time (ns).
func tickSim(tr *Trace, cores int, policy string, p OrderParams) []int64 {
	const tick = int64(1e6)
	n := len(tr.Inv)
	end := make([]int64, n)
	rem := make([]int64, n) // ticks
	for i := range tr.Inv {
		rem[i] = tr.Inv[i].CPU / tick
	}
	running := make([]TaskID, cores)
	quantum := make([]int64, cores) // ticks left, vtime only
	for c := range running {
		running[c] = NoTask
	}
	var fifo taskQueue
	var vq keyHeap
	v := make([]int64, n)
	var vnow int64
	var runnable []TaskID // srpt: all runnable tasks not running
	next, done := 0, 0
	var order []int
	sliceTicks := p.DefaultSlice / tick
	for t := int64(0); done < n; t++ {
		now := t * tick
		// Stops at this instant, in task order (as the simulator orders simultaneous stops):
		// completions and quantum ends (vtime).
		order = order[:0]
		for c, id := range running {
			if id != NoTask {
				order = append(order, c)
			}
		}
		slices.SortFunc(order, func(a, b int) int { return int(running[a] - running[b]) })
		for _, c := range order {
			id := running[c]
			switch {
			case rem[id] == 0:
				end[id] = now
				done++
				running[c] = NoTask
				if policy == "vtime" {
					v[id] = Charge(v[id], (sliceTicks-quantum[c])*tick, NiceZeroWeight)
					vnow = AdvanceNow(vnow, v[id])
				}
			case policy == "vtime" && quantum[c] == 0:
				v[id] = Charge(v[id], sliceTicks*tick, NiceZeroWeight)
				vnow = AdvanceNow(vnow, v[id])
				v[id] = WakeVtime(v[id], vnow, p.WakeLag) // ORDERING.md step 2: every enqueue
				vq.push(Key(v[id], vnow, false, 0, p), id)
				running[c] = NoTask
			}
		}
		for ; next < n && tr.Inv[next].Arrival == now; next++ {
			id := TaskID(next)
			switch policy {
			case "fifo":
				fifo.push(id)
			case "srpt":
				runnable = append(runnable, id)
			case "vtime":
				v[id] = WakeVtime(vnow, vnow, p.WakeLag)
				vq.push(Key(v[id], vnow, false, 0, p), id)
			}
		}
		switch policy {
		case "fifo":
			for c := range running {
				if running[c] == NoTask && fifo.len() > 0 {
					running[c] = fifo.pop()
				}
			}
		case "vtime":
			for c := range running {
				if running[c] == NoTask && vq.len() > 0 {
					id := vq.pop().t
					vnow = AdvanceNow(vnow, v[id])
					running[c], quantum[c] = id, sliceTicks
				}
			}
		case "srpt":
			// The cores run the tasks with the least remaining demand; a running task keeps
			// its core on ties.
			for c := range running {
				if running[c] != NoTask {
					runnable = append(runnable, running[c])
					running[c] = NoTask
				}
			}
			for c := range running {
				best := -1
				for k, id := range runnable {
					if best < 0 || rem[id] < rem[runnable[best]] {
						best = k
					}
				}
				if best < 0 {
					break
				}
				running[c] = runnable[best]
				runnable[best] = runnable[len(runnable)-1]
				runnable = runnable[:len(runnable)-1]
			}
		}
		for c, id := range running {
			if id != NoTask {
				rem[id]--
				quantum[c]--
			}
		}
	}
	return end
}

// msTrace draws n CPU-only invocations with whole-millisecond arrivals (Poisson, load rho on
// cores) and heavy-tailed whole-millisecond demands (log-normal, median 20 ms, sigma 1.5).
func msTrace(seed uint64, n, cores int, rho float64) *Trace {
	r := rand.New(rand.NewPCG(seed, 3))
	tr := &Trace{Functions: []string{"f"}, Inv: make([]Invocation, n)}
	mean := 20 * math.Exp(1.5*1.5/2)
	var at float64
	for i := range tr.Inv {
		at += r.ExpFloat64() * mean / (rho * float64(cores))
		d := math.Max(1, math.Round(20*math.Exp(1.5*r.NormFloat64())))
		tr.Inv[i] = Invocation{Arrival: int64(at) * 1e6, CPU: int64(d) * 1e6}
	}
	return tr
}

// TestTickOracle checks the event-driven simulator against the tick simulator. Both are
// exact on whole-millisecond traces, so fifo and vtime must agree invocation by invocation;
// srpt may break ties between equal remaining demands differently, which permutes
// completion times among tied tasks but cannot change their sum.
func TestTickOracle(t *testing.T) {
	p := testParams(t, 1).Order()
	for _, cores := range []int{1, 4, 16} {
		tr := msTrace(uint64(cores), 3000, cores, 0.9)
		for _, name := range []string{"fifo", "srpt", "vtime"} {
			want := tickSim(tr, cores, name, p)
			res := runPolicy(t, name, tr, cores, nil)
			var sumGot, sumWant int64
			for i, r := range res.Records {
				sumGot += r.End
				sumWant += want[i]
				if name != "srpt" && r.End != want[i] {
					t.Fatalf("%s/%d cores: invocation %d ends at %d, tick oracle %d", name, cores, i, r.End, want[i])
				}
			}
			if sumGot != sumWant {
				t.Errorf("%s/%d cores: total completion %d, tick oracle %d", name, cores, sumGot, sumWant)
			}
		}
	}
}

// BenchmarkTickOracle and BenchmarkEventSameTrace run the same 20,000-invocation trace
// (16 cores, 90% load) through the tick oracle and the event-driven simulator; the ratio of
// their ns/op is the event-driven speed-up.
func BenchmarkTickOracle(b *testing.B) {
	tr := msTrace(9, 20_000, 16, 0.9)
	p := testParams(b, 16).Order()
	for _, name := range []string{"fifo", "srpt", "vtime"} {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				tickSim(tr, 16, name, p)
			}
		})
	}
}

func BenchmarkEventSameTrace(b *testing.B) {
	tr := msTrace(9, 20_000, 16, 0.9)
	for _, name := range []string{"fifo", "srpt", "vtime"} {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				runPolicy(b, name, tr, 16, nil)
			}
		})
	}
}
