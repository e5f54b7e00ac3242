package model

import (
	"cmp"
	"math"
	"slices"

	"github.com/alps-sched/alps/policy"
)

// Functions whose warm invocations carry class hints (policy.Record.Class) may be learned per
// (function, class) instead of per function: when, on the window, the class predicts an
// invocation's demand better than the function alone does.

// classGain is how much better the class must predict: its error at most this fraction of
// the function's, so that a function does not flip between keyings on noise.
const classGain = 0.8

// minClassTest is the fewest records of the newer half a comparison is made on.
const minClassTest = 4

// MaxClasses is the most distinct class hints a function may have in the window to be
// learned per class (more: it is learned per function).
const MaxClasses = 64

// ClassFit is how well a function's class hints predict its demand on the window: each model
// predicts the newer half of the function's records from the older half, and its error is
// the mean absolute difference of the logarithms (a factor of e is an error of 1).
type ClassFit struct {
	Function uint32
	Classes  int     // distinct class hints among its records, 0 (no hint) included
	Tested   int     // records the error is measured on
	FnErr    float64 // predicting every record by the function's older records
	ClassErr float64 // predicting by its class's older records (the function's where it has none)
	Keyed    bool    // ClassErr <= classGain * FnErr: learned per (function, class)
}

// classState is what the learner keeps for class keying.
type classState struct {
	fits    []ClassFit                       // the last update's comparisons
	keyed   map[uint32]bool                  // the functions it learns per class
	virtual map[uint64]uint32                // (function, class) -> its group's id, from policy.MaxFunctions on
	entries map[policy.ClassKey]policy.Entry // the class entries derived
	scratch classScratch
}

// ClassFits returns how well class hints predicted demand at the last update, per function
// with hints (with ClassKeys on; Keyed: learned per class).
func (l *Learner) ClassFits() []ClassFit { return slices.Clone(l.cls.fits) }

// fitClasses decides, at the start of an update, which functions are learned per class.
func (l *Learner) fitClasses() {
	c := &l.cls
	if c.keyed == nil {
		c.keyed, c.virtual = make(map[uint32]bool), make(map[uint64]uint32)
	}
	clear(c.keyed)
	clear(c.virtual)
	c.fits, c.entries = c.fits[:0], nil
	if !l.cfg.ClassKeys {
		return
	}
	c.fits = c.scratch.fitClasses(c.fits, l.recs, l.sample, l.pred)
	for _, f := range c.fits {
		if f.Keyed {
			c.keyed[f.Function] = true
		}
	}
}

// sample is a record's demand as the learner sees it: its CPU, or with the I/O rule off its
// mean burst.
func (l *Learner) sample(r policy.Record) float64 {
	if !l.cfg.IORule {
		return float64(r.Burst())
	}
	return float64(r.CPU)
}

// groupOf is the group a record is learned in: its function's id, or when the function is
// learned per class and the record has a hint, an id from policy.MaxFunctions on standing for
// (function, class) in this update.
func (l *Learner) groupOf(r policy.Record) (id, class uint32) {
	c := &l.cls
	if r.Class == 0 || !c.keyed[r.Function] {
		return r.Function, 0
	}
	k := uint64(r.Function)<<32 | uint64(r.Class)
	id, ok := c.virtual[k]
	if !ok {
		id = policy.MaxFunctions + uint32(len(c.virtual))
		c.virtual[k] = id
	}
	return id, r.Class
}

// classEntry records e as the entry of group f if f is a function's class, and says so.
func (l *Learner) classEntry(f fnInfo, e policy.Entry) bool {
	if f.class == 0 {
		return false
	}
	if l.cls.entries == nil {
		l.cls.entries = make(map[policy.ClassKey]policy.Entry)
	}
	l.cls.entries[policy.ClassKey{Function: f.id, Class: f.class}] = e
	return true
}

// classScratch is fitClasses's memory, reused across updates.
type classScratch struct {
	dense   map[uint32]int32 // hinted function -> dense index
	ids     []uint32         // dense index -> function
	start   []int32          // records of dense function f: idx[start[f]:start[f+1]]
	next    []int32
	fidx    []int32 // per record: its function's dense index, or -1
	idx     []int32 // record indices grouped by function, in window order
	pairs   []classSample
	xs      []float64
	preds   []classPred
	scratch []float64
}

type classSample struct {
	class uint32
	x     float64
}

type classPred struct {
	class uint32
	pred  float64
}

// fitClasses compares the two keyings for every function of recs (oldest first) that has a
// record with a class hint; sample is the demand of a record as the learner sees it. The fits
// are appended to dst in function order.
func (cs *classScratch) fitClasses(dst []ClassFit, recs []policy.Record, sample func(policy.Record) float64, pred Predictor) []ClassFit {
	if cs.dense == nil {
		cs.dense = make(map[uint32]int32)
	}
	clear(cs.dense)
	cs.ids = cs.ids[:0]
	for _, r := range recs {
		if _, ok := cs.dense[r.Function]; r.Class != 0 && !ok {
			cs.dense[r.Function] = int32(len(cs.ids))
			cs.ids = append(cs.ids, r.Function)
		}
	}
	if len(cs.ids) == 0 {
		return dst
	}
	// Counting sort of the hinted functions' records by function, stable.
	cs.start = append(cs.start[:0], make([]int32, len(cs.ids)+1)...)
	cs.fidx = cs.fidx[:0]
	for _, r := range recs {
		f, ok := cs.dense[r.Function]
		if !ok {
			f = -1
		}
		cs.fidx = append(cs.fidx, f)
		if f >= 0 {
			cs.start[f+1]++
		}
	}
	for f := range cs.ids {
		cs.start[f+1] += cs.start[f]
	}
	n := cs.start[len(cs.ids)]
	cs.idx = append(cs.idx[:0], make([]int32, n)...)
	cs.next = append(cs.next[:0], cs.start[:len(cs.ids)]...)
	for i, f := range cs.fidx {
		if f >= 0 {
			cs.idx[cs.next[f]] = int32(i)
			cs.next[f]++
		}
	}
	first := len(dst)
	for f, fn := range cs.ids {
		rs := cs.idx[cs.start[f]:cs.start[f+1]]
		dst = append(dst, cs.fit(fn, recs, rs, sample, pred))
	}
	slices.SortFunc(dst[first:], func(a, b ClassFit) int { return cmp.Compare(a.Function, b.Function) })
	return dst
}

// fit compares the keyings for function fn, whose records are recs[i] for i in rs.
func (cs *classScratch) fit(fn uint32, recs []policy.Record, rs []int32, sample func(policy.Record) float64, pred Predictor) ClassFit {
	fit := ClassFit{Function: fn}
	cs.pairs = cs.pairs[:0]
	for _, i := range rs {
		cs.pairs = append(cs.pairs, classSample{class: recs[i].Class})
	}
	slices.SortFunc(cs.pairs, func(a, b classSample) int { return cmp.Compare(a.class, b.class) })
	fit.Classes = len(slices.CompactFunc(cs.pairs, func(a, b classSample) bool { return a.class == b.class }))
	old, recent := rs[:len(rs)/2], rs[len(rs)/2:]
	if len(recent) < minClassTest || len(old) == 0 || fit.Classes < 2 || fit.Classes > MaxClasses {
		return fit
	}
	// The older half by class (stable: each class's samples stay oldest first).
	cs.pairs, cs.xs = cs.pairs[:0], cs.xs[:0]
	for _, i := range old {
		x := sample(recs[i])
		cs.xs = append(cs.xs, x)
		cs.pairs = append(cs.pairs, classSample{recs[i].Class, x})
	}
	fnPred := pred.Predict(cs.xs, cs.scratch[:0])
	slices.SortStableFunc(cs.pairs, func(a, b classSample) int { return cmp.Compare(a.class, b.class) })
	cs.preds = cs.preds[:0]
	for lo := 0; lo < len(cs.pairs); {
		hi := lo
		cs.xs = cs.xs[:0]
		for ; hi < len(cs.pairs) && cs.pairs[hi].class == cs.pairs[lo].class; hi++ {
			cs.xs = append(cs.xs, cs.pairs[hi].x)
		}
		cs.preds = append(cs.preds, classPred{cs.pairs[lo].class, pred.Predict(cs.xs, cs.scratch[:0])})
		lo = hi
	}
	for _, i := range recent {
		x := sample(recs[i])
		p := fnPred
		if j, ok := slices.BinarySearchFunc(cs.preds, recs[i].Class, func(c classPred, t uint32) int { return cmp.Compare(c.class, t) }); ok {
			p = cs.preds[j].pred
		}
		fit.FnErr += logErr(fnPred, x)
		fit.ClassErr += logErr(p, x)
	}
	fit.Tested = len(recent)
	fit.FnErr /= float64(len(recent))
	fit.ClassErr /= float64(len(recent))
	fit.Keyed = fit.ClassErr <= classGain*fit.FnErr
	return fit
}

// logErr is |ln p - ln x|, both at least 1 ns.
func logErr(p, x float64) float64 {
	return math.Abs(math.Log(math.Max(p, 1)) - math.Log(math.Max(x, 1)))
}
