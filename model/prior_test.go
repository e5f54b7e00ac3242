package model

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/alps-sched/alps/policy"
)

// TestScaledPrior: functions whose demands are one shape at different scales (log-normal,
// sigma 1, medians 10 ms and 1 s). The shape is that distribution over its median, and a
// function seen twice gets it at its own scale; the pooled prior has every function's scale.
func TestScaledPrior(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var recs []policy.Record
	at := int64(0)
	add := func(fn uint32, med float64, n int) {
		for range n {
			d := int64(med * math.Exp(rng.NormFloat64()))
			recs = append(recs, policy.Record{Function: fn, CPU: max(d, 1), Start: at, End: at + max(d, 1)})
			at += msec
		}
	}
	add(1, 10*msec, 2000)
	add(2, 1000*msec, 2000)
	add(3, 100*msec, 1)
	add(3, 100*msec, 1)
	for _, prior := range []string{PriorPooled, PriorScaled} {
		cfg := testConfig()
		cfg.RankScale, cfg.RankLevels, cfg.RankStep = RankByLog, 32, msec
		cfg.AttainedRanks, cfg.AttainedSteps, cfg.AttainedRule = true, 8, AttainedGittins
		cfg.Prior, cfg.PriorWeight = prior, 2
		l, err := NewLearner(cfg)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			l.Observe(r)
		}
		l.Update(at)
		f3 := l.fns[l.classOf[3]]
		xs := l.samples[f3.off : f3.off+f3.n]
		p := l.priorOf(xs)
		q := func(x float64) float64 { return p.quantile(x) / median(xs) }
		switch prior {
		case PriorPooled:
			// Half the pool is function 1's (10 ms), half function 2's (1 s).
			if q(0.25) > 0.2 || q(0.75) < 5 {
				t.Errorf("pooled: quartiles %.3g and %.3g of function 3's median, want the other functions' scales", q(0.25), q(0.75))
			}
		case PriorScaled:
			// Log-normal sigma 1: the quartiles are exp(-0.674) = 0.51 and exp(0.674) = 1.96
			// times the median.
			if math.Abs(q(0.25)-0.51) > 0.05 || math.Abs(q(0.75)-1.96) > 0.15 {
				t.Errorf("scaled: quartiles %.3g and %.3g of function 3's median, want 0.51 and 1.96", q(0.25), q(0.75))
			}
			if !slices.IsSorted(p.xs) {
				t.Error("scaled prior's points are not sorted")
			}
		}
	}
}

// TestScaledPriorFallback: with no function seen twice there is no shape, and the prior is
// the pooled one.
func TestScaledPriorFallback(t *testing.T) {
	cfg := testConfig()
	cfg.RankScale, cfg.RankLevels, cfg.RankStep = RankByLog, 32, msec
	cfg.AttainedRanks, cfg.AttainedSteps, cfg.AttainedRule, cfg.Prior = true, 8, AttainedGittins, PriorScaled
	l, err := NewLearner(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		l.Observe(policy.Record{Function: uint32(i), CPU: int64(i+1) * msec, Start: int64(i), End: int64(i) + int64(i+1)*msec})
	}
	l.Update(10 * msec)
	if len(l.shapeQ) != 0 || l.priorOf([]float64{1}) != &l.priorQ {
		t.Errorf("shape %v from functions seen once; want none and the pooled prior", l.shapeQ)
	}
}
