package sim

import (
	"fmt"
	"testing"

	"github.com/alps-sched/alps/policy"
)

// maxVChecker is vtime checking, at every pick, that maxV (from runV, kept per core) equals
// the largest vtime computed from the tasks themselves, and that runV marks exactly the busy
// cores.
type maxVChecker struct {
	*Vtime
	t     *testing.T
	picks int
}

func (m *maxVChecker) Pick(core int) (TaskID, int64, bool) {
	s, e := m.Vtime, m.Vtime.env
	want := s.vnow
	for c, x := range e.running {
		if (x == NoTask) != (s.runV[c] == noRun) {
			m.t.Fatalf("at %d: core %d runs task %d but runV is %d", e.now, c, x, s.runV[c])
		}
		if x != NoTask {
			want = max(want, s.v[x]+max(e.now-e.runStart[c], 0)-s.open.settled[c])
		}
	}
	if got := s.maxV(); got != want {
		m.t.Fatalf("at %d: maxV %d, want %d", e.now, got, want)
	}
	m.picks++
	return s.Pick(core)
}

// TestVtimeMaxV: maxV, which keeps each running task's vtime at the start of its run (runV),
// agrees with the vtimes of the running tasks at every pick, with the fast-forwards (round
// robin phases and closed runs while nothing waits) and open runs, with and without I/O.
func TestVtimeMaxV(t *testing.T) {
	base := testParams(t, 1).Knobs
	params := []policy.Knobs{base, {WakeLag: 3e6, DefaultSlice: 7_300_001}}
	traces := []struct {
		name string
		tr   func(seed uint64, cores int, rho float64) *Trace
	}{
		{"ms+io", func(seed uint64, c int, rho float64) *Trace { return ioTrace(seed, 1500, c, rho) }},
		{"heavy jitter", func(seed uint64, c int, rho float64) *Trace { return jitter(heavyTrace(seed, 800, c, rho), seed) }},
	}
	seed, picks, skipped := uint64(500), 0, int64(0)
	for _, g := range traces {
		for _, cores := range []int{1, 3, 16, 70} {
			for _, rho := range []float64{0.7, 1.3} {
				for pi, p := range params {
					seed++
					name := fmt.Sprintf("%s/%d cores/load %g/params %d", g.name, cores, rho, pi)
					tr := g.tr(seed, cores, rho)
					m := &maxVChecker{Vtime: &Vtime{p: p}, t: t}
					got, err := Run(tr, m, Options{Cores: cores})
					if err != nil {
						t.Fatalf("%s: %v", name, err)
					}
					want, err := Run(tr, &Vtime{p: p, stepwise: true}, Options{Cores: cores})
					if err != nil {
						t.Fatalf("%s: %v", name, err)
					}
					if err := SameSchedule(got, want); err != nil {
						t.Fatalf("%s: %v", name, err)
					}
					picks += m.picks
					skipped += m.Vtime.ff.skipped
				}
			}
		}
	}
	if picks == 0 || skipped == 0 {
		t.Fatalf("%d picks, %d dispatches fast-forwarded: nothing checked", picks, skipped)
	}
}
