package sim

import (
	"math"
	"slices"
	"testing"

	"gonum.org/v1/gonum/integrate/quad"
)

// runLAS runs las on tr and returns its result.
func runLAS(t *testing.T, tr *Trace, cores int) *Result {
	t.Helper()
	res, err := Run(tr, NewLAS(), Options{Cores: cores})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestLASClosedForms checks las against schedules worked out by hand (times in ms).
func TestLASClosedForms(t *testing.T) {
	type job struct{ at, cpu, io float64 }
	tests := []struct {
		name  string
		cores int
		jobs  []job
		end   []float64
	}{
		{"a core each", 4, []job{{0, 5, 0}, {1, 2, 0}, {1, 7, 0}}, []float64{5, 3, 8}},
		// All at 0 on one core, demands 1, 2, 4: sharing three ways until 1 ms each (3 ms),
		// two ways until 2 ms each (5 ms), then alone (7 ms).
		{"batch, one core", 1, []job{{0, 4, 0}, {0, 1, 0}, {0, 2, 0}}, []float64{7, 3, 5}},
		// Four at 0 on two cores, demands 1, 2, 3, 4: rate 1/2 until 1 ms each (2 ms), three
		// share two cores at 2/3 until 2 ms each (3.5 ms), two run alone: 4.5 and 5.5 ms.
		{"batch, two cores", 2, []job{{0, 1, 0}, {0, 2, 0}, {0, 3, 0}, {0, 4, 0}}, []float64{2, 3.5, 4.5, 5.5}},
		// The newcomer runs alone until it catches up: A has 4 ms at 4 ms, B needs 3.
		{"newcomer first", 1, []job{{0, 10, 0}, {4, 3, 0}}, []float64{13, 7}},
		// B catches A at 2 ms of service each (A: 2 at 2 ms; B from 2 to 4 ms), they share.
		// A (3 ms) needs 1 more at rate 1/2: done at 6; B (5 ms) then alone: 3 - 1 = 2 more: 8.
		{"catch up and share", 1, []job{{0, 3, 0}, {2, 5, 0}}, []float64{6, 8}},
		// A's 4 ms are two 2 ms bursts around a 1 ms wait. B arrives at 1 ms (A has 1 ms) and
		// runs alone to 1 ms at 2 ms; they share until A's first burst ends at 4 ms (2 ms
		// each). B runs alone to 3 ms by 5 ms, when A wakes with its 2 ms: A runs alone to
		// 3 ms (6 ms), they share until A's 4 ms (8 ms), then B's last 2 ms: 10 ms.
		{"io keeps attained", 1, []job{{0, 4, 1}, {1, 6, 0}}, []float64{8, 10}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := &Trace{Functions: []string{"f"}}
			for _, j := range tt.jobs {
				in := Invocation{Arrival: int64(j.at * 1e6), CPU: int64(j.cpu * 1e6)}
				if j.io > 0 {
					in.Waits, in.IO = 1, int64(j.io*1e6)
				}
				tr.Inv = append(tr.Inv, in)
			}
			res := runLAS(t, tr, tt.cores)
			for i, r := range res.Records {
				if math.Abs(float64(r.End)/1e6-tt.end[i]) > 1e-6 {
					t.Errorf("job %d ends at %.7f ms, want %.7f", i, float64(r.End)/1e6, tt.end[i])
				}
			}
		})
	}
}

// lasReference is a direct fluid LAS in float64 time: at every event it sorts the runnable
// tasks by attained CPU, fills the cores from the lowest level up (a level shares what is
// left equally, at most a core per task) and runs to the next arrival, wake-up, burst end
// or catch-up of two levels. It returns the completion times (ns, not rounded) and the
// preemptions (a runnable task's rate drops to 0) of each invocation.
func lasReference(tr *Trace, cores int) ([]float64, []uint32) {
	type task struct {
		t        int
		att, end float64
		rate     float64
	}
	const eps = 1e-6
	n := len(tr.Inv)
	ends := make([]float64, n)
	wakeups := make([]uint32, n)
	pre := make([]uint32, n)
	served := make([]bool, n)
	type wake struct {
		at  float64
		t   int
		att float64
	}
	var run []task
	var wakes []wake
	now, next, done := 0.0, 0, 0
	for done < n {
		slices.SortStableFunc(run, func(a, b task) int {
			switch {
			case a.att < b.att:
				return -1
			case a.att > b.att:
				return 1
			}
			return 0
		})
		left := float64(cores)
		for i := 0; i < len(run); {
			j := i
			for j < len(run) && run[j].att-run[i].att <= eps {
				run[j].att = run[i].att
				j++
			}
			r := min(1, max(left, 0)/float64(j-i))
			for k := i; k < j; k++ {
				run[k].rate = r
				if served[run[k].t] && r == 0 {
					pre[run[k].t]++
				}
				served[run[k].t] = r > 0
			}
			left -= r * float64(j-i)
			i = j
		}
		dt := math.Inf(1)
		if next < n {
			dt = float64(tr.Inv[next].Arrival) - now
		}
		for _, w := range wakes {
			dt = min(dt, w.at-now)
		}
		for i, x := range run {
			if x.rate > 0 {
				dt = min(dt, (x.end-x.att)/x.rate)
			}
			if i > 0 && run[i-1].rate > x.rate && run[i-1].att < x.att {
				dt = min(dt, (x.att-run[i-1].att)/(run[i-1].rate-x.rate))
			}
		}
		now += dt
		keep := run[:0]
		for _, x := range run {
			x.att += x.rate * dt
			if x.end-x.att > eps {
				keep = append(keep, x)
				continue
			}
			in := &tr.Inv[x.t]
			served[x.t] = false
			if wakeups[x.t] < in.Waits {
				wakes = append(wakes, wake{at: now + float64(wait(in, wakeups[x.t])), t: x.t, att: x.end})
				continue
			}
			ends[x.t] = now
			done++
		}
		run = keep
		wk := wakes[:0]
		for _, w := range wakes {
			if w.at-now > eps {
				wk = append(wk, w)
				continue
			}
			wakeups[w.t]++
			run = append(run, task{t: w.t, att: w.att, end: w.att + float64(burst(&tr.Inv[w.t], wakeups[w.t]))})
		}
		wakes = wk
		for ; next < n && float64(tr.Inv[next].Arrival)-now <= eps; next++ {
			run = append(run, task{t: next, end: float64(burst(&tr.Inv[next], 0))})
		}
	}
	return ends, pre
}

// TestLASAgainstReference compares las with the direct fluid reference on random
// instances (exponential demands, some with I/O waits) on 1 to 8 cores. The event-driven
// model rounds each event up to the ns, so a task may end later than the exact fluid by
// under 1 ns per event before its end; the instances have at most a few thousand events.
func TestLASAgainstReference(t *testing.T) {
	worst := 0.0
	for seed := uint64(1); seed <= 40; seed++ {
		cores := []int{1, 2, 3, 8}[seed%4]
		tr := randomTrace(seed, 150, 0.9e6/float64(cores), 0.85e6, 0.3)
		res := runLAS(t, tr, cores)
		want, pre := lasReference(tr, cores)
		for i, r := range res.Records {
			if r.Preemptions != pre[i] {
				t.Fatalf("seed %d, %d cores: invocation %d preempted %d times, in the reference %d", seed, cores, i, r.Preemptions, pre[i])
			}
			d := float64(r.End) - want[i]
			worst = max(worst, math.Abs(d))
			if d < -1 || d > 2000 {
				t.Fatalf("seed %d, %d cores: invocation %d ends at %d ns, the reference at %.1f", seed, cores, i, r.End, want[i])
			}
		}
	}
	t.Logf("largest difference from the reference: %.1f ns", worst)
}

// schrageFB is the mean response time of FB (LAS) in the M/G/1 (Schrage 1967):
// E[T(x)] = λ m2(x) / (2 (1 - ρ(x))²) + x / (1 - ρ(x)), with ρ(x) = λ E[min(S, x)] and
// m2(x) = E[min(S, x)²], averaged over the demand density, for a mixture of exponentials
// (probabilities p, means m, ms).
func schrageFB(lambda float64, p, m []float64) float64 {
	dens := func(x float64) (f, m1, m2 float64) {
		for i := range p {
			e := math.Exp(-x / m[i])
			f += p[i] * e / m[i]
			m1 += p[i] * m[i] * (1 - e)
			m2 += p[i] * 2 * m[i] * m[i] * (1 - e*(1+x/m[i]))
		}
		return f, m1, m2
	}
	tx := func(x float64) float64 {
		f, m1, m2 := dens(x)
		rho := lambda * m1
		return f * (lambda*m2/(2*(1-rho)*(1-rho)) + x/(1-rho))
	}
	return integrate(tx)
}

// integrate is the integral of f over [0, ∞): gonum's fixed Gauss-Legendre rule after the
// substitution x = t / (1 - t).
func integrate(f func(float64) float64) float64 { return quad.Fixed(f, 0, math.Inf(1), 2000, nil, 0) }

func TestSchrageFormula(t *testing.T) {
	// For exponential demand every non-anticipating policy has the M/M/1 mean 1 / (μ - λ).
	if got, want := schrageFB(0.7, []float64{1}, []float64{1}), 1/(1-0.7); math.Abs(got-want) > 1e-6 {
		t.Fatalf("FB formula for M/M/1: %.8f, want %.8f", got, want)
	}
}

// TestLASStartsAtOnce: an invocation that arrives always starts at once.
func TestLASStartsAtOnce(t *testing.T) {
	tr := randomTrace(3, 2000, 0.5e6, 0.85e6, 0.2)
	for _, cores := range []int{1, 4} {
		res := runLAS(t, tr, cores)
		for i, r := range res.Records {
			if r.Start != r.Arrival {
				t.Fatalf("%d cores: invocation %d starts %d ns after it arrives", cores, i, r.Start-r.Arrival)
			}
		}
	}
}
