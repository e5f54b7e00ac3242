package sim

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/alps-sched/alps/policy"
)

// tickSim is the reference simulator: time advances in 1 ms ticks and every tick each core
// runs its task for 1 ms. It implements fifo, srpt and vtime (slice by slice, no open runs)
// directly from their definitions, for traces whose arrivals, CPU bursts and I/O waits are
// whole milliseconds (srpt: CPU-only). It returns each invocation's completion time (ns).
func tickSim(tr *Trace, cores int, name string, p policy.Knobs) []int64 {
	const tick = int64(1e6)
	n := len(tr.Inv)
	end := make([]int64, n)
	rem := make([]int64, n)   // ticks
	woke := make([]uint32, n) // bursts done
	for i := range tr.Inv {
		rem[i] = burst(&tr.Inv[i], 0) / tick
	}
	wakes := map[int64][]TaskID{} // wake-up time -> tasks
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
				if in := &tr.Inv[id]; woke[id] < in.Waits {
					at := now + wait(in, woke[id])
					wakes[at] = append(wakes[at], id)
				} else {
					end[id] = now
					done++
				}
				running[c] = NoTask
				if name == "vtime" {
					v[id] = policy.Charge(v[id], (sliceTicks-quantum[c])*tick, policy.NiceZeroWeight)
					vnow = policy.AdvanceNow(vnow, v[id])
				}
			case name == "vtime" && quantum[c] == 0:
				v[id] = policy.Charge(v[id], sliceTicks*tick, policy.NiceZeroWeight)
				vnow = policy.AdvanceNow(vnow, v[id])
				v[id] = policy.ClampLag(v[id], vnow, p.WakeLag) // ORDERING.md step 2: every enqueue
				vq.push(v[id], id)                              // unranked: level 0, the key is the vtime
				running[c] = NoTask
			}
		}
		ws := wakes[now]
		slices.Sort(ws) // wake-ups at equal times in task order, as the simulator does
		for _, id := range ws {
			woke[id]++
			rem[id] = burst(&tr.Inv[id], woke[id]) / tick
			switch name {
			case "fifo":
				fifo.push(id)
			case "vtime":
				v[id] = policy.ClampLag(v[id], vnow, p.WakeLag)
				vq.push(v[id], id) // unranked: level 0, the key is the vtime
			}
		}
		delete(wakes, now)
		for ; next < n && tr.Inv[next].Arrival == now; next++ {
			id := TaskID(next)
			switch name {
			case "fifo":
				fifo.push(id)
			case "srpt":
				runnable = append(runnable, id)
			case "vtime":
				v[id] = policy.ClampLag(vnow, vnow, p.WakeLag)
				vq.push(v[id], id) // unranked: level 0, the key is the vtime
			}
		}
		switch name {
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
					vnow = policy.AdvanceNow(vnow, v[id])
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

// ioTrace is msTrace with a fraction of invocations blocking 1-3 times for whole ms.
func ioTrace(seed uint64, n, cores int, rho float64) *Trace {
	tr := msTrace(seed, n, cores, rho)
	r := rand.New(rand.NewPCG(seed, 4))
	for i := range tr.Inv {
		if r.Float64() < 0.3 {
			in := &tr.Inv[i]
			in.Waits = uint32(1 + r.IntN(3))
			k := int64(in.Waits) + 1
			in.CPU = (in.CPU/1e6/k + 1) * k * 1e6 // whole-ms bursts
			in.IO = int64(1+r.IntN(30)) * int64(in.Waits) * 1e6
		}
	}
	return tr
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
// exact on whole-millisecond traces: fifo (with I/O waits) and vtime played slice by slice
// or fast-forwarded over round-robin phases, without open runs (with I/O waits), must agree
// invocation by invocation; srpt (CPU-only) may break ties
// between equal remaining demands differently, which permutes completion times among tied
// tasks but cannot change their sum. vtime as simulated (with open runs) must agree
// invocation by invocation on CPU-only traces; with I/O, whole-ms traces make wake-ups,
// arrivals and slice boundaries of many cores coincide to the nanosecond, where open runs
// may order ties differently: its mean FCT must then be within 0.1% (TestVtimeOpenRuns
// shows the schedules are identical once instants do not coincide).
func TestTickOracle(t *testing.T) {
	p := testParams(t, 1).Knobs
	for _, cores := range []int{1, 4, 16} {
		cpuOnly, withIO := msTrace(uint64(cores), 3000, cores, 0.9), ioTrace(uint64(cores), 3000, cores, 0.9)
		cases := []struct {
			name   string
			tr     *Trace
			pol    Policy
			oracle string
			exact  bool
		}{
			{"fifo+io", withIO, NewFIFO(), "fifo", true},
			{"srpt", cpuOnly, NewSRPT(), "srpt", false},
			{"vtime", cpuOnly, NewVtime(p), "vtime", true},
			{"vtime slice by slice+io", withIO, &Vtime{p: p, closed: true, stepwise: true}, "vtime", true},
			{"vtime fast-forwarded, no open runs+io", withIO, &Vtime{p: p, closed: true}, "vtime", true},
			{"vtime+io", withIO, NewVtime(p), "vtime", false},
		}
		for _, tc := range cases {
			want := tickSim(tc.tr, cores, tc.oracle, p)
			res, err := Run(tc.tr, tc.pol, Options{Cores: cores})
			if err != nil {
				t.Fatal(err)
			}
			var sumGot, sumWant int64
			for i, r := range res.Records {
				sumGot += r.End - r.Arrival
				sumWant += want[i] - r.Arrival
				if tc.exact && r.End != want[i] {
					t.Fatalf("%s/%d cores: invocation %d ends at %d, tick oracle %d", tc.name, cores, i, r.End, want[i])
				}
			}
			tol := int64(0)
			if tc.name == "vtime+io" {
				tol = sumWant / 1000
			}
			if d := sumGot - sumWant; d > tol || d < -tol {
				t.Errorf("%s/%d cores: total FCT %d, tick oracle %d", tc.name, cores, sumGot, sumWant)
			}
		}
	}
}

// TestVtimeOpenRuns: with instants that do not coincide to the nanosecond, vtime's open
// runs give exactly the slice-by-slice schedule, I/O waits included.
func TestVtimeOpenRuns(t *testing.T) {
	p := testParams(t, 1).Knobs
	for _, cores := range []int{1, 4, 16} {
		tr := ioTrace(uint64(cores)+20, 3000, cores, 0.9)
		for i := range tr.Inv {
			tr.Inv[i].Arrival += int64(i * 7919 % 100000)
			tr.Inv[i].CPU += int64(i * 104729 % 1000000)
		}
		tr.Sort()
		open, err := Run(tr, NewVtime(p), Options{Cores: cores})
		if err != nil {
			t.Fatal(err)
		}
		closed, err := Run(tr, &Vtime{p: p, closed: true, stepwise: true}, Options{Cores: cores})
		if err != nil {
			t.Fatal(err)
		}
		for i := range open.Records {
			if open.Records[i].End != closed.Records[i].End {
				t.Fatalf("%d cores: invocation %d ends at %d with open runs, %d slice by slice", cores, i, open.Records[i].End, closed.Records[i].End)
			}
		}
	}
}

// heavyTrace is an Azure-like whole-ms CPU-only trace: log-normal demands (mu = -0.38,
// sigma = 2.36 in seconds, the published fit) clamped to [1 ms, 60 s], Poisson arrivals at
// load rho on cores.
func heavyTrace(seed uint64, n, cores int, rho float64) *Trace {
	r := rand.New(rand.NewPCG(seed, 5))
	tr := &Trace{Functions: []string{"f"}, Inv: make([]Invocation, n)}
	var total float64
	for i := range tr.Inv {
		d := math.Min(math.Max(1, math.Round(1000*math.Exp(-0.38+2.36*r.NormFloat64()))), 60000)
		tr.Inv[i].CPU = int64(d) * 1e6
		total += d
	}
	var at float64
	for i := range tr.Inv {
		at += r.ExpFloat64() * total / float64(n) / (rho * float64(cores))
		tr.Inv[i].Arrival = int64(at) * 1e6
	}
	return tr
}

// benchTraces are the traces the tick oracle and the event-driven simulator are timed on:
// short demands (median 20 ms) and Azure-like heavy-tailed ones, 16 cores, 90% load.
var benchTraces = []struct {
	name string
	tr   func() *Trace
}{
	{"short", func() *Trace { return msTrace(9, 20_000, 16, 0.9) }},
	{"azure", func() *Trace { return heavyTrace(9, 5_000, 16, 0.9) }},
}

// BenchmarkTickOracle and BenchmarkEventSameTrace run the same traces through the tick
// oracle and the event-driven simulator; the ratio of their ns/op is the event-driven
// speed-up.
func BenchmarkTickOracle(b *testing.B) {
	p := testParams(b, 16).Knobs
	for _, bt := range benchTraces {
		tr := bt.tr()
		for _, name := range []string{"fifo", "srpt", "vtime"} {
			b.Run(bt.name+"/"+name, func(b *testing.B) {
				for b.Loop() {
					tickSim(tr, 16, name, p)
				}
			})
		}
	}
}

func BenchmarkEventSameTrace(b *testing.B) {
	for _, bt := range benchTraces {
		tr := bt.tr()
		for _, name := range []string{"fifo", "srpt", "vtime"} {
			b.Run(bt.name+"/"+name, func(b *testing.B) {
				for b.Loop() {
					runPolicy(b, name, tr, 16, nil)
				}
			})
		}
	}
}
