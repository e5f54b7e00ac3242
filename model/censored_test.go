package model

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/alps-sched/alps/policy"
)

// TestCensorKaplanMeier checks censor against Kaplan-Meier estimates worked by hand.
func TestCensorKaplanMeier(t *testing.T) {
	tests := []struct {
		name   string
		done   []float64
		cens   []float64
		cw     float64
		wantXs []float64
		wantWs []float64
	}{
		{"none", []float64{1, 3}, nil, 1, []float64{1, 3}, []float64{1, 1}},
		// 1, 2+, 3, 4+, 5: S drops by 1/5 at 1, by 1/3 at 3 (risk 3), to 0 at 5 (risk 1):
		// masses 1/5, 4/15, 8/15 of a total of 5.
		{"textbook", []float64{1, 3, 5}, []float64{2, 4}, 1, []float64{1, 3, 5}, []float64{1, 4.0 / 3, 8.0 / 3}},
		// Censored below every point: its mass spreads in proportion (the estimate is the
		// completed samples' own distribution).
		{"below all", []float64{2, 4}, []float64{1, 1}, 1, []float64{2, 4}, []float64{2, 2}},
		// Censored equal to a point survives it: 3 completes one of two at risk, the rest
		// stays at the censored bound 3.
		{"tie", []float64{1, 3}, []float64{3}, 1, []float64{1, 3}, []float64{1, 2}},
		// Censored above every point: its mass stays at its bound.
		{"above all", []float64{1, 2}, []float64{10}, 1, []float64{1, 2, 10}, []float64{1, 1, 1}},
		// Censored samples of mass 1/2 (a subsampled pool): 1 at risk 2.5 of 2.5.
		{"half mass", []float64{1, 3}, []float64{2}, 0.5, []float64{1, 3}, []float64{1, 1.5}},
	}
	for _, tc := range tests {
		d := distOf(tc.done)
		d.censor(tc.cens, tc.cw)
		if !slices.Equal(d.xs, tc.wantXs) || len(d.ws) != len(tc.wantWs) {
			t.Errorf("%s: points %v masses %v, want %v %v", tc.name, d.xs, d.ws, tc.wantXs, tc.wantWs)
			continue
		}
		for i := range d.ws {
			if math.Abs(d.ws[i]-tc.wantWs[i]) > 1e-12 {
				t.Errorf("%s: masses %v, want %v", tc.name, d.ws, tc.wantWs)
				break
			}
		}
		if n := len(d.xs); math.Abs(d.pw[n]-(float64(len(tc.done))+tc.cw*float64(len(tc.cens)))) > 1e-12 {
			t.Errorf("%s: total mass %g", tc.name, d.pw[n])
		}
	}
}

// TestCensorUnbiased: demands from a known distribution observed at a random moment (short
// ones more often completed): the completed samples alone are biased short, Kaplan-Meier with
// the running ones as censored recovers the mean.
func TestCensorUnbiased(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	const n, mean = 20000, 100.0
	var done, cens []float64
	for range n {
		d := rng.ExpFloat64() * mean
		seen := rng.ExpFloat64() * mean // how far the invocation got when the learner looked
		if d <= seen {
			done = append(done, d)
		} else {
			cens = append(cens, seen)
		}
	}
	slices.Sort(cens)
	d := distOf(done)
	naive := d.pwx[len(d.xs)] / d.pw[len(d.xs)]
	d.censor(cens, 1)
	km := d.pwx[len(d.xs)] / d.pw[len(d.xs)]
	if naive > 0.6*mean {
		t.Errorf("completed samples' mean %.1f: want the bias the test is about (about %.0f)", naive, mean/2)
	}
	if math.Abs(km-mean) > 0.05*mean {
		t.Errorf("Kaplan-Meier mean %.1f, want %.0f within 5%%", km, mean)
	}
}

// TestLearnerCensored: a function whose long invocations are still running is ranked longer
// with them as censored samples than from its completed (short) ones alone; records from
// before the cohort are left out; without running invocations nothing changes.
func TestLearnerCensored(t *testing.T) {
	cfg := testConfig()
	cfg.RankScale, cfg.RankLevels, cfg.RankStep = RankByLog, 32, 10*msec
	cfg.AttainedRanks, cfg.AttainedSteps, cfg.AttainedRule = true, 4, AttainedGittins
	var recs []policy.Record
	for i := range 50 {
		at := int64(i) * 100 * msec
		recs = append(recs, policy.Record{Function: 1, CPU: 20 * msec, Start: at, End: at + 20*msec})
	}
	now := recs[len(recs)-1].End
	var running []Running
	for i := range 50 { // as many long ones, arrived with the short ones, 1 s in so far
		running = append(running, Running{Function: 1, Start: int64(i) * 100 * msec, CPU: 1000 * msec})
	}
	// An old invocation that arrived before the window's oldest completion: not in the cohort.
	running = append(running, Running{Function: 1, Start: -1, CPU: 1})
	entry := func(censored bool, rs []Running) policy.Entry {
		t.Helper()
		c := cfg
		c.Censored = censored
		l, err := NewLearner(c)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			l.Observe(r)
		}
		l.SetRunning(rs)
		e, ok := l.Update(now).Lookup(1)
		if !ok {
			t.Fatal("no entry")
		}
		return e
	}
	plain, withRunning, noneRunning := entry(false, running), entry(true, running), entry(true, nil)
	if plain != noneRunning {
		t.Errorf("censored with nothing running: %+v, want %+v", noneRunning, plain)
	}
	if withRunning.RankAt(0) <= plain.RankAt(0) {
		t.Errorf("rank at 0: %d with the long ones running, %d without; want higher with",
			withRunning.RankAt(0), plain.RankAt(0))
	}
}

// TestCohort: the update learns from the invocations that arrived since the window's oldest
// completion, completed or running.
func TestCohort(t *testing.T) {
	l := &Learner{
		recs: []policy.Record{
			{Function: 1, Start: 0, End: 50},  // the oldest completion: the cohort starts at 50
			{Function: 2, Start: 40, End: 90}, // arrived before it: left out
			{Function: 3, Start: 60, End: 70},
		},
		running: []Running{{Function: 4, Start: 49}, {Function: 5, Start: 50}, {Function: 6, Start: 80}},
	}
	if !l.cohort() {
		t.Fatal("cohort: false with running invocations")
	}
	var fns []uint32
	for _, r := range l.recs {
		fns = append(fns, r.Function)
	}
	for _, r := range l.running {
		fns = append(fns, r.Function)
	}
	if !slices.Equal(fns, []uint32{3, 5, 6}) {
		t.Errorf("cohort keeps functions %v, want [3 5 6]", fns)
	}
	l = &Learner{recs: []policy.Record{{Function: 1, Start: 0, End: 50}, {Function: 2, Start: 40, End: 90}}}
	if l.cohort() || len(l.recs) != 2 {
		t.Errorf("nothing running: cohort changed the window to %v", l.recs)
	}
}
