package model

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/alps-sched/alps/policy"
)

// distOf returns the empirical distribution of xs (mass 1 each).
func distOf(xs []float64) *empirical {
	xs = slices.Clone(xs)
	slices.Sort(xs)
	var d empirical
	d.reset(xs, nil, 0)
	return &d
}

func repeat(x float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = x
	}
	return out
}

// logRank is the default log rank scale with a 50 ms step (demands in ms), 32 levels.
func logRank(d float64) int {
	if d < 50 {
		return 0
	}
	return min(int(math.Log2(d/50))+1, 31)
}

func TestGittinsR(t *testing.T) {
	bimodal := append(repeat(10, 8), repeat(2000, 2)...)
	tests := []struct {
		name string
		xs   []float64
		a    float64
		want float64
	}{
		// Cutoff at the short mode: E[min(D,10)] = 10, P(D <= 10) = 0.8.
		{"bimodal a=0", bimodal, 0, 12.5},
		{"bimodal past the mode", bimodal, 10, 1990},
		{"bimodal inside the long mode", bimodal, 500, 1500},
		{"constant", repeat(40, 5), 0, 40},
		{"constant, half done", repeat(40, 5), 20, 20},
		// 1, 2, 3: cutoff 1 gives 1/(1/3) = 3, cutoff 2 gives (1+2+2)/3/(2/3) = 2.5, cutoff 3 gives 2.
		{"uniform 1..3", []float64{3, 1, 2}, 0, 2},
		// Ties count as done together: cutoff 1 gives (1+1+1+1)/(3/4)... = 4/3, cutoff 9 gives 3.
		{"ties", []float64{1, 1, 1, 9}, 0, 4.0 / 3},
	}
	for _, tc := range tests {
		if got := fullGridR(distOf(tc.xs), tc.a); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("%s: R(%g) = %g, want %g", tc.name, tc.a, got, tc.want)
		}
	}
}

// fullGridR is R(a) with a cutoff at every support point above a (the empirical Gittins
// index, unrestricted): gridR on the grid of a and every support point above it.
func fullGridR(d *empirical, a float64) float64 {
	grid := []gridPoint{{a: a}}
	for _, x := range d.xs {
		if x > a {
			grid = append(grid, gridPoint{a: x})
		}
	}
	for i := range grid {
		s := d.above(grid[i].a)
		grid[i].pw, grid[i].pwx = d.pw[s], d.pwx[s]
	}
	return gridR(grid, 0, d.pw[len(d.xs)])
}

// TestGridRWeighted: with masses, R is the mass-weighted form: a sample of mass 2 counts as
// two samples of mass 1, and a prior mixed in at weight w moves R between the two.
func TestGridRWeighted(t *testing.T) {
	var twice, doubled empirical
	twice.reset([]float64{10, 10, 50, 50, 50, 2000}, nil, 0)
	doubled.xs, doubled.ws = []float64{10, 50, 2000}, []float64{2, 3, 1}
	doubled.sums()
	for _, a := range []float64{0, 10, 49} {
		if x, y := fullGridR(&twice, a), fullGridR(&doubled, a); math.Abs(x-y) > 1e-9 {
			t.Errorf("R(%g): %g with repeated samples, %g with masses", a, x, y)
		}
	}
	short := distOf(repeat(10, 20))
	long := distOf(repeat(1000, 20))
	var mixed empirical
	mixed.reset(repeat(10, 20), long, 20) // as much prior as own mass
	r0, r1, rm := fullGridR(short, 0), fullGridR(long, 0), fullGridR(&mixed, 0)
	if !(r0 < rm && rm < r1) {
		t.Errorf("R(0): own %g, prior %g, mixed %g: want the mix in between", r0, r1, rm)
	}
}

func TestServedIn(t *testing.T) {
	d := distOf([]float64{1, 4, 10})
	for _, tc := range []struct{ lo, hi, want float64 }{
		{0, 2, 1 + 2 + 2},
		{2, 5, 0 + 2 + 3},
		{4, math.Inf(1), 6},
		{0, math.Inf(1), 15},
	} {
		if got := d.servedIn(tc.lo, tc.hi); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("servedIn(%g, %g) = %g, want %g", tc.lo, tc.hi, got, tc.want)
		}
	}
}

func TestAttainedSteps(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	gen := func(n int, f func() float64) []float64 {
		out := make([]float64, n)
		for i := range out {
			out[i] = f()
		}
		return out
	}
	bimodal := gen(400, func() float64 { // ms: 80% about 20 ms, 20% about 4 s
		if rng.Float64() < 0.8 {
			return 20 * math.Exp(0.1*rng.NormFloat64())
		}
		return 4000 * math.Exp(0.1*rng.NormFloat64())
	})
	expo := gen(2000, func() float64 { return 1000 * rng.ExpFloat64() })
	lognormal := gen(2000, func() float64 { return 500 * math.Exp(1.5*rng.NormFloat64()) })
	tests := []struct {
		name       string
		xs         []float64
		k          int
		rule       string
		first      [2]int  // rank at a = 0 within [lo, hi]
		top        [2]int  // highest rank of the steps within [lo, hi]
		spread     int     // max - min rank over the steps at most this
		demoteNear float64 // if > 0: the first step above rank 0 starts at most at this (ms)
	}{
		// Mostly short: runs first at a = 0 (R(0) ~ 25 ms), demoted to the long mode's rank
		// (4 s: rank 7) once it has run past its short mode.
		{"bimodal", bimodal, 4, AttainedGittins, [2]int{0, 0}, [2]int{7, 7}, 7, 30},
		{"bimodal K=2", bimodal, 2, AttainedGittins, [2]int{0, 0}, [2]int{7, 7}, 7, 30},
		// Memoryless: R(a) is the mean (1 s, rank 5) whatever a; sampling noise moves it a level at most.
		{"exponential", expo, 4, AttainedGittins, [2]int{4, 5}, [2]int{4, 5}, 1, 0},
		// Heavy-tailed (mean 1.5 s, rank 5): a smaller rank at a = 0, growing with a.
		{"lognormal", lognormal, 4, AttainedGittins, [2]int{0, 4}, [2]int{6, 10}, 10, 0},
		{"one sample", []float64{300}, 4, AttainedGittins, [2]int{3, 3}, [2]int{3, 3}, 0, 0},
		{"K=1 is one rank", bimodal, 1, AttainedGittins, [2]int{0, 7}, [2]int{0, 7}, 0, 0},
		// Quantile rule: the median's rank (20 ms: 0), past p75 (also about 20 ms) the rank of
		// the mean remaining demand of the longer samples (mostly 4 s: rank 6 or 7).
		{"quantile bimodal", bimodal, 2, AttainedQuantile, [2]int{0, 0}, [2]int{6, 7}, 7, 30},
	}
	for _, tc := range tests {
		var e policy.Entry
		attainedSteps(&e, distOf(tc.xs), tc.k, tc.rule, func(d float64) int { return logRank(d) }, 10, nil)
		if e.NSteps < 1 || int(e.NSteps) > tc.k || e.StepAt[0] != 0 {
			t.Fatalf("%s: %d steps from %d, want 1..%d from 0", tc.name, e.NSteps, e.StepAt[0], tc.k)
		}
		lo, hi := int(e.StepRank[0]), int(e.StepRank[0])
		for i := 1; i < int(e.NSteps); i++ {
			if e.StepAt[i] <= e.StepAt[i-1] {
				t.Errorf("%s: thresholds not increasing: %v", tc.name, e.StepAt[:e.NSteps])
			}
			lo, hi = min(lo, int(e.StepRank[i])), max(hi, int(e.StepRank[i]))
		}
		first := int(e.StepRank[0])
		if first < tc.first[0] || first > tc.first[1] || hi < tc.top[0] || hi > tc.top[1] || hi-lo > tc.spread {
			t.Errorf("%s: steps at %v ranks %v: want first in %v, top in %v, spread <= %d",
				tc.name, e.StepAt[:e.NSteps], e.StepRank[:e.NSteps], tc.first, tc.top, tc.spread)
		}
		t.Logf("%s: steps at %v ranks %v", tc.name, e.StepAt[:e.NSteps], e.StepRank[:e.NSteps])
		if tc.demoteNear > 0 && (e.NSteps < 2 || float64(e.StepAt[1]) > tc.demoteNear) {
			t.Errorf("%s: steps at %v ranks %v: want a demotion by %g", tc.name, e.StepAt[:e.NSteps], e.StepRank[:e.NSteps], tc.demoteNear)
		}
		// RankAt follows the table.
		if got := e.RankAt(0); got != e.StepRank[0] {
			t.Errorf("%s: RankAt(0) = %d, want %d", tc.name, got, e.StepRank[0])
		}
		if got := e.RankAt(math.MaxInt64); got != e.StepRank[e.NSteps-1] {
			t.Errorf("%s: RankAt(max) = %d, want %d", tc.name, got, e.StepRank[e.NSteps-1])
		}
	}
}

func TestEntryRankAt(t *testing.T) {
	e := policy.Entry{Rank: 7}
	if e.RankAt(1e12) != 7 {
		t.Fatal("an entry without steps must use Rank")
	}
	e = policy.Entry{Rank: 1, NSteps: 3, StepAt: [policy.MaxSteps]int64{0, 10, 20}, StepRank: [policy.MaxSteps]uint32{1, 4, 9}}
	for _, tc := range []struct {
		a    int64
		want uint32
	}{{0, 1}, {9, 1}, {10, 4}, {19, 4}, {20, 9}, {1 << 40, 9}} {
		if got := e.RankAt(tc.a); got != tc.want {
			t.Errorf("RankAt(%d) = %d, want %d", tc.a, got, tc.want)
		}
	}
}

// TestLearnerAttainedRanks: with attained ranks on, a bimodal function's a = 0 rank is below
// the rank of its mean, and it is demoted after its short mode; off, entries carry no steps.
func TestLearnerAttainedRanks(t *testing.T) {
	cfg := testConfig()
	cfg.RankScale, cfg.RankLevels, cfg.RankStep = RankByLog, 32, 50*msec
	rng := rand.New(rand.NewPCG(5, 6))
	var recs []policy.Record
	at := int64(0)
	for range 500 {
		d := int64(20 * msec)
		if rng.Float64() < 0.2 {
			d = 4000 * msec
		}
		recs = append(recs, policy.Record{Function: 1, CPU: d, Start: at, End: at + d})
		at += 100 * msec
	}
	slices.SortFunc(recs, func(a, b policy.Record) int { return int(a.End - b.End) })
	for _, on := range []bool{false, true} {
		c := cfg
		c.AttainedRanks, c.AttainedSteps, c.AttainedRule = on, 4, AttainedGittins
		l, err := NewLearner(c)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			l.Observe(r)
		}
		e, ok := l.Update(recs[len(recs)-1].End).Lookup(1)
		if !ok {
			t.Fatal("no entry")
		}
		if !on {
			if e.NSteps != 0 {
				t.Errorf("off: %d steps", e.NSteps)
			}
			continue
		}
		if _, ok := l.Update(recs[len(recs)-1].End).LookupOrDefault(2); ok {
			t.Error("an unknown function has an entry without attained_default")
		}
		l.cfg.AttainedDefault = true
		tab := l.Update(recs[len(recs)-1].End)
		if d, ok := tab.LookupOrDefault(2); !ok || d.NSteps < 2 || d.RankAt(0) != e.RankAt(0) {
			t.Errorf("attained_default: unknown function's entry %+v (ok %v), want the pooled steps (one function: its own)", d, ok)
		}
		mean := uint32(l.rankOf(0.8*20*msec + 0.2*4000*msec))
		if e.NSteps < 2 || e.Rank != e.StepRank[0] || e.RankAt(0) >= mean || e.RankAt(30*msec) <= mean {
			t.Errorf("on: steps at %v ranks %v rank %d, want a = 0 below the mean's rank %d and above it past 20 ms",
				e.StepAt[:e.NSteps], e.StepRank[:e.NSteps], e.Rank, mean)
		}
	}
}
