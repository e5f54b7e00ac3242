package sim

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/alps-sched/alps/policy"
)

// jitter moves arrivals and demands off whole milliseconds (by up to 0.1 ms and 1 ms), so
// that instants of different cores rarely coincide.
func jitter(tr *Trace, seed uint64) *Trace {
	r := rand.New(rand.NewPCG(seed, 6))
	for i := range tr.Inv {
		tr.Inv[i].Arrival += r.Int64N(100_000)
		tr.Inv[i].CPU += r.Int64N(1_000_000)
	}
	tr.Sort()
	return tr
}

// TestVtimeForward: vtime with the fast-forward of round-robin phases gives exactly the
// schedule played slice by slice: every invocation's record (start, end, CPU, blocked time,
// wake-ups, preemptions) and the totals (busy time, context switches, preemptions), with and
// without open runs, on whole-millisecond traces (many coinciding instants), jittered ones,
// with I/O waits, under- and overloaded, with short and Azure-like heavy-tailed demands; and
// every task's final vtime and the final global vtime.
func TestVtimeForward(t *testing.T) {
	base := testParams(t, 1).Knobs
	type gen func(seed uint64, cores int, rho float64) *Trace
	gens := []struct {
		name string
		tr   gen
	}{
		{"ms", func(seed uint64, c int, rho float64) *Trace { return msTrace(seed, 1500, c, rho) }},
		{"ms+io", func(seed uint64, c int, rho float64) *Trace { return ioTrace(seed, 1500, c, rho) }},
		{"jitter+io", func(seed uint64, c int, rho float64) *Trace { return jitter(ioTrace(seed, 1500, c, rho), seed) }},
		{"heavy", func(seed uint64, c int, rho float64) *Trace { return heavyTrace(seed, 800, c, rho) }},
		{"heavy jitter", func(seed uint64, c int, rho float64) *Trace { return jitter(heavyTrace(seed, 800, c, rho), seed) }},
	}
	params := []policy.Knobs{base, {WakeLag: 0, DefaultSlice: 5e6}, {WakeLag: 3e6, DefaultSlice: 7_300_001}}
	var skipped int64
	seed := uint64(100)
	for _, g := range gens {
		for _, cores := range []int{1, 2, 3, 16} {
			for _, rho := range []float64{0.7, 0.95, 1.3} {
				for pi, p := range params {
					for _, closed := range []bool{false, true} {
						seed++
						name := fmt.Sprintf("%s/%d cores/load %g/params %d/closed %v", g.name, cores, rho, pi, closed)
						tr := g.tr(seed, cores, rho)
						fast := &Vtime{p: p, closed: closed}
						got, err := Run(tr, fast, Options{Cores: cores})
						if err != nil {
							t.Fatal(err)
						}
						slow := &Vtime{p: p, closed: closed, stepwise: true}
						want, err := Run(tr, slow, Options{Cores: cores})
						if err != nil {
							t.Fatal(err)
						}
						skipped += fast.ff.skipped
						if err := SameSchedule(got, want); err != nil {
							t.Fatalf("%s: fast-forwarded vs slice by slice: %v", name, err)
						}
						if fast.vnow != slow.vnow || !slices.Equal(fast.v, slow.v) {
							t.Fatalf("%s: final vtimes differ (vnow %d fast-forwarded, %d slice by slice)", name, fast.vnow, slow.vnow)
						}
					}
				}
			}
		}
	}
	if skipped == 0 {
		t.Fatal("no phase was fast-forwarded: the test compared nothing")
	}
	t.Logf("%d dispatches fast-forwarded", skipped)
}
