package model

import (
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/alps-sched/alps/policy"
)

func TestFitClasses(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	lognormal := func(median float64) float64 { return median * math.Exp(0.3*rng.NormFloat64()) }
	var recs []policy.Record
	add := func(fn, class uint32, cpu float64) {
		recs = append(recs, policy.Record{Function: fn, Class: class, CPU: int64(cpu)})
	}
	for i := range 200 {
		// fn 1: the class is a request size that sets the demand (10 ms or 500 ms).
		if c := uint32(1 + rng.IntN(2)); c == 1 {
			add(1, c, lognormal(10e6))
		} else {
			add(1, c, lognormal(500e6))
		}
		// fn 2: hints that say nothing (demand independent of them).
		add(2, uint32(rng.IntN(3)), lognormal(float64([]int{10e6, 500e6}[rng.IntN(2)])))
		// fn 3: no hints; fn 4: one class only; fn 5: too few records.
		add(3, 0, lognormal(20e6))
		add(4, 7, lognormal(20e6))
		if i < 6 {
			add(5, uint32(1+i%2), float64(1e6*(1+99*(i%2))))
		}
	}
	var cs classScratch
	fits := cs.fitClasses(nil, recs, func(r policy.Record) float64 { return float64(r.CPU) }, Mean{})
	got := map[uint32]ClassFit{}
	for _, f := range fits {
		got[f.Function] = f
	}
	if _, ok := got[3]; ok || len(fits) != 4 {
		t.Fatalf("fits %+v: want functions 1, 2, 4 and 5 (those with hints)", fits)
	}
	if f := got[1]; !f.Keyed || f.Classes != 2 || f.Tested != 100 || f.ClassErr > 0.5 || f.FnErr < 1 {
		t.Errorf("class sets the demand: %+v, want keyed, class error small, function error large", f)
	}
	if f := got[2]; f.Keyed || f.Classes != 3 || f.Tested != 100 {
		t.Errorf("class says nothing: %+v, want not keyed", f)
	}
	if f := got[4]; f.Keyed || f.Classes != 1 || f.Tested != 0 {
		t.Errorf("one class: %+v, want not compared", f)
	}
	if f := got[5]; f.Keyed || f.Tested != 0 {
		t.Errorf("6 records: %+v, want too few to compare", f)
	}
	for i := 1; i < len(fits); i++ {
		if fits[i-1].Function >= fits[i].Function {
			t.Fatalf("fits not in function order: %+v", fits)
		}
	}
}

// classWindow is a window of function 1, whose class hint (1 or 2) sets its demand (10 or
// 800 ms), and function 2, without hints (100 ms).
func classWindow() []policy.Record {
	rng := rand.New(rand.NewPCG(5, 6))
	var recs []policy.Record
	at := int64(0)
	for i := range 120 {
		at += 50 * msec
		class, d := uint32(1), int64(10*msec)
		if rng.IntN(2) == 0 {
			class, d = 2, 800*msec
		}
		recs = append(recs, policy.Record{Function: 1, Class: class, CPU: d, Start: at, End: at + d})
		if i%2 == 0 {
			recs = append(recs, policy.Record{Function: 2, CPU: 100 * msec, Start: at, End: at + 100*msec})
		}
	}
	slices.SortFunc(recs, func(a, b policy.Record) int { return int(a.End - b.End) })
	return recs
}

func updateWith(t *testing.T, cfg Config, recs []policy.Record) (*policy.Table, []ClassFit) {
	t.Helper()
	l, err := NewLearner(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		l.Observe(r)
	}
	return l.Update(recs[len(recs)-1].End), l.ClassFits()
}

// TestLearnerClassKeys: with learner.class_keys a function whose hints predict its demand gets
// one entry per class, the short class ranked ahead of the long one; without the key, or
// without hints, the table is what it always was.
func TestLearnerClassKeys(t *testing.T) {
	cfg := defaultConfig(t)
	cfg.WindowSpan, cfg.Cores = 3_600_000*msec, 1
	recs := classWindow()
	cfg.ClassKeys = true
	tab, fits := updateWith(t, cfg, recs)
	short, ok1 := tab.Classes[policy.ClassKey{Function: 1, Class: 1}]
	long, ok2 := tab.Classes[policy.ClassKey{Function: 1, Class: 2}]
	if !ok1 || !ok2 || len(tab.Classes) != 2 || short.Rank >= long.Rank {
		t.Fatalf("class entries %+v: want classes 1 and 2 of function 1, class 1 ranked ahead", tab.Classes)
	}
	if _, ok := tab.Entries[1]; ok {
		t.Errorf("function 1 has a function entry though all its invocations are learned per class")
	}
	if _, ok := tab.Entries[2]; !ok {
		t.Errorf("function 2 (no hints) lost its entry: %+v", tab.Entries)
	}
	if len(fits) != 1 || fits[0].Function != 1 || !fits[0].Keyed {
		t.Errorf("ClassFits %+v: want function 1 keyed", fits)
	}

	cfg.ClassKeys = false
	off, fits := updateWith(t, cfg, recs)
	if off.Classes != nil || len(fits) != 0 {
		t.Errorf("class_keys off: classes %+v, fits %+v; want none", off.Classes, fits)
	}
	plain := slices.Clone(recs)
	for i := range plain {
		plain[i].Class = 0
	}
	want, _ := updateWith(t, cfg, plain)
	if !reflect.DeepEqual(off.Entries, want.Entries) {
		t.Errorf("class_keys off: the hints changed the entries:\n%+v\nwant\n%+v", off.Entries, want.Entries)
	}
	cfg.ClassKeys = true
	on, _ := updateWith(t, cfg, plain)
	if on.Classes != nil || !reflect.DeepEqual(on.Entries, want.Entries) {
		t.Errorf("class_keys on, no hints: classes %+v, entries\n%+v\nwant\n%+v", on.Classes, on.Entries, want.Entries)
	}
}

// BenchmarkLearnerUpdateClassKeys is BenchmarkLearnerUpdate with learner.class_keys on and a
// class hint on every record (4 classes, which say nothing of the demand).
func BenchmarkLearnerUpdateClassKeys(b *testing.B) {
	recs := benchWindow(16)
	for i := range recs {
		recs[i].Class = uint32(1 + i%4)
	}
	benchLearnerUpdate(b, 16, recs, func(c *Config) { c.ClassKeys = true })
}
