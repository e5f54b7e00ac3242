package model

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/alps-sched/alps/policy"
)

// Rank scales: how a predicted demand becomes a rank level.
const (
	// RankByOrder sorts the functions by predicted demand and splits them into rank_levels
	// groups of equal size (ALPS's ordinal ranking).
	RankByOrder = "order"
	// RankByDemand makes the rank offset approximate the predicted demand itself:
	// rank = round(demand / rank_step), capped at rank_levels-1. A task's key is then its
	// virtual arrival time plus its expected demand, the ordering of SRPT with aging.
	RankByDemand = "demand"
	// RankByLog puts functions into power-of-two buckets of predicted demand starting at
	// rank_step: rank = floor(log2(demand / rank_step)) + 1, capped.
	RankByLog = "log"
)

// Config configures a Learner. Durations are nanoseconds.
type Config struct {
	WindowSize     int   // most records in the window
	WindowSpan     int64 // records older than this leave the window
	UpdateInterval int64 // how often Update is meant to run (used by callers, and for the overload rule)
	Cores          int   // cores of the SRPT simulation

	Predictor  string  // mean, ewma, percentile, regression, logmean
	EWMAAlpha  float64 // ewma weight of the newest sample
	Percentile float64 // percentile predictor quantile

	// ALPS slice rule: slice = max(min(Alpha*mean_seg, SliceCap) - Beta*std_seg, MinSlice);
	// overload: when use >= Theta % (Theta < 100), slice *= Beta*(100+Theta-use)/(100*Gamma).
	Alpha, Beta, Gamma, Theta float64
	SliceCap, MinSlice        int64
	// SRPTSlice derives the slice from the SRPT simulation's segments (the rule above); when
	// false every ranked function gets policy.Knobs.DefaultSlice.
	SRPTSlice bool

	RankLevels int
	RankScale  string // order, demand or log
	// RankStep is the demand of the first rank step: on the log scale rank r >= 1 holds
	// demands from RankStep * 2^((r-1)/LevelsPerDoubling) on; on the demand scale a rank is
	// RankStep of demand.
	RankStep int64
	// LevelsPerDoubling is how many ranks the log scale puts in each doubling of demand
	// (at least 1).
	LevelsPerDoubling float64
	MaxFunctions      int
	// IORule ranks a function by its total CPU demand per invocation; when false it is ranked
	// by its mean CPU burst between sleeps (ALPS's I/O blind spot).
	IORule bool
	// AttainedRanks gives each function a step table of ranks by the attained CPU of the
	// current invocation (model/attained.go) instead of one rank; AttainedSteps is the most
	// steps (1..MaxAttainedSteps), AttainedRule how they are derived (gittins or quantile).
	// Needs the log or demand rank scale.
	AttainedRanks bool
	AttainedSteps int
	AttainedRule  string
	// AttainedDefault also gives the table a Default step table, from the whole window's
	// samples pooled, for functions without an entry (with attained ranks on).
	AttainedDefault bool
	// PriorWeight is the mass, in samples, of the pooled window's distribution mixed into each
	// function's own samples for its attained steps: a function seen a few times is assumed
	// to be partly like the host's mix, one seen often is its own.
	PriorWeight float64
	// Prior is what that mass is: PriorPooled ("" too) or PriorScaled (prior.go).
	Prior string
	// MinSamples is how many completed invocations a function needs in the window before
	// it gets an entry (fewer: no entry, unranked); 0 or 1 ranks from the first one.
	MinSamples int
	// RelativeRanks subtracts the table's smallest rank from every rank (step ranks
	// included, clamped at 0), so the shortest known functions share offset 0 with the
	// functions without an entry, which the backend orders at offset 0.
	RelativeRanks bool
	// ClassKeys learns a function whose warm invocations carry class hints per (function,
	// class) when, on the window, the class predicts demand better than the function alone
	// (classes.go): its hinted invocations get the table's class entries.
	ClassKeys bool
	// Censored counts the invocations in flight at an update (SetRunning) as censored samples
	// of their functions' attained-step distributions (Kaplan-Meier; censored.go).
	Censored bool

	Knobs policy.Knobs
}

// Learner turns the window of completed invocations into policy tables. It is not safe for
// concurrent use; the frontend calls Observe and Update from one goroutine.
type Learner struct {
	cfg     Config
	pred    Predictor
	win     *Window
	version uint64

	// scratch reused across updates
	recs     []policy.Record
	class    []int32 // per record: its function's class
	jobs     []SimJob
	jobTmp   []SimJob
	stats    []SegStats
	classOf  map[uint32]int32
	fns      []fnInfo
	samples  []float64
	scratch  []float64
	cand     []attCand
	pooled   []float64 // attained ranks: the pooled window's samples
	prior    empirical // and their distribution
	priorQ   empirical // its quantiles: the prior mixed into each function
	priorPts []float64 // scratch of pool
	shapeQ   []float64 // PriorScaled: quantiles of the demands over their function's median
	ratios   []float64 // scratch of shape
	priorF   empirical // PriorScaled: a function's prior
	dist     empirical // a function's distribution (its samples and the prior)
	sim      simulator
	base     uint32 // RelativeRanks: the rank subtracted in the last derive
	// forgot maps a forgotten function to the window's Total when it was forgotten: its
	// records added before that are skipped.
	forgot map[uint32]int64

	cls classState // ClassKeys (classes.go)

	// Censored (censored.go): the invocations in flight, and their CPU so far per group.
	running   []Running
	censoring bool // this update learns from a cohort (cohort)
	censored  []float64
	censOff   []int
	censGrp   []int32
	censAll   []float64
}

type fnInfo struct {
	id       uint32
	class    uint32  // the class hint of its records when its function is learned per class, else 0
	n        int     // samples in the window
	lastSeen int     // index of its newest record in the window
	cpu      float64 // sum of CPU demand
	demand   float64 // predicted
	off      int     // offset of its samples in Learner.samples
}

// NewLearner returns a Learner with an empty window.
func NewLearner(cfg Config) (*Learner, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("learner config: %w", err)
	}
	p, _ := NewPredictor(cfg.Predictor, cfg.EWMAAlpha, cfg.Percentile)
	return &Learner{
		cfg:     cfg,
		pred:    p,
		win:     NewWindow(cfg.WindowSize, cfg.WindowSpan),
		classOf: make(map[uint32]int32),
	}, nil
}

// Config returns the learner's configuration.
func (l *Learner) Config() Config { return l.cfg }

// Window returns the learner's window (read-only use).
func (l *Learner) Window() *Window { return l.win }

// Observe adds a completed invocation to the window. Call it in completion order.
func (l *Learner) Observe(r policy.Record) { l.win.Add(r) }

// Forget makes the records of function fn observed so far count no more (its id now names
// another function), in O(1): they are skipped until they leave the window.
func (l *Learner) Forget(fn uint32) {
	if l.forgot == nil {
		l.forgot = make(map[uint32]int64)
	}
	l.forgot[fn] = l.win.Total()
}

// Live appends the window's records that count (those not forgotten), oldest first, to dst.
func (l *Learner) Live(dst []policy.Record) []policy.Record {
	n := len(dst)
	dst = l.win.Records(dst)
	return append(dst[:n], l.live(dst[n:])...)
}

// live drops the forgotten records from recs, the whole window.
func (l *Learner) live(recs []policy.Record) []policy.Record {
	if len(l.forgot) == 0 {
		return recs
	}
	first := l.win.Total() - int64(len(recs)) // the sequence number of recs[0]
	for fn, upTo := range l.forgot {
		if first >= upTo {
			delete(l.forgot, fn) // its forgotten records have left the window
		}
	}
	out := recs[:0]
	for i, r := range recs {
		if upTo, ok := l.forgot[r.Function]; ok && first+int64(i) < upTo {
			continue
		}
		out = append(out, r)
	}
	return out
}

// Update expires old records, learns from the window as of time now and returns a new table.
// An empty window gives an empty table (every function then runs with the default slice).
func (l *Learner) Update(now int64) *policy.Table {
	l.win.Expire(now)
	l.version++
	tab := &policy.Table{Version: l.version, Knobs: l.cfg.Knobs}
	l.recs = l.live(l.win.Records(l.recs[:0]))
	l.censoring = l.cfg.Censored && l.cfg.AttainedRanks && l.cohort()
	if len(l.recs) == 0 {
		tab.Entries = map[uint32]policy.Entry{}
		return tab
	}
	l.fitClasses()
	l.group()
	l.predict()
	if l.cfg.SRPTSlice {
		l.simulate() // its segments are only used by the slice rule
	}
	tab.Entries = l.derive()
	if l.cfg.AttainedRanks && l.cfg.AttainedDefault {
		tab.Default, tab.HasDefault = l.pooledSteps(), true
		lowerRanks(&tab.Default, l.base)
	}
	tab.Classes = l.cls.entries
	return tab
}

// group assigns a dense class to every function of the window, newest functions kept when
// there are more than MaxFunctions, and gathers each function's samples.
func (l *Learner) group() {
	clear(l.classOf)
	l.fns = l.fns[:0]
	l.class = l.class[:0]
	for i, r := range l.recs {
		key, hint := l.groupOf(r)
		c, ok := l.classOf[key]
		if !ok {
			c = int32(len(l.fns))
			l.classOf[key] = c
			l.fns = append(l.fns, fnInfo{id: r.Function, class: hint})
		}
		l.class = append(l.class, c)
		f := &l.fns[c]
		f.n++
		f.lastSeen = i
		f.cpu += float64(r.CPU)
	}
	// Samples laid out contiguously per class.
	off := 0
	for i := range l.fns {
		l.fns[i].off = off
		off += l.fns[i].n
	}
	if cap(l.samples) < off {
		l.samples = make([]float64, off)
	}
	l.samples = l.samples[:off]
	fill := make([]int, len(l.fns))
	for i, r := range l.recs {
		c := l.class[i]
		l.samples[l.fns[c].off+fill[c]] = l.sample(r)
		fill[c]++
	}
}

func (l *Learner) predict() {
	for i := range l.fns {
		f := &l.fns[i]
		xs := l.samples[f.off : f.off+f.n]
		if cap(l.scratch) < len(xs) {
			l.scratch = make([]float64, len(xs))
		}
		f.demand = l.pred.Predict(xs, l.scratch[:0])
	}
}

// simulate runs SRPT over the window's invocations (their measured CPU demand: they have
// completed, so it is known) and collects per-function segment statistics.
func (l *Learner) simulate() {
	l.jobs = l.jobs[:0]
	for i, r := range l.recs {
		l.jobs = append(l.jobs, SimJob{Arrival: r.Start, Demand: r.CPU, Class: l.class[i]})
	}
	l.jobs, l.jobTmp = sortByArrival(l.jobs, l.jobTmp)
	if cap(l.stats) < len(l.fns) {
		l.stats = make([]SegStats, len(l.fns))
	}
	l.stats = l.stats[:len(l.fns)]
	clear(l.stats)
	l.sim.run(l.jobs, l.cfg.Cores, l.stats)
}

// utilisation is the window's CPU demand over the capacity of its time span, in percent.
func (l *Learner) utilisation() float64 {
	first, last := l.recs[0].Start, l.recs[0].End
	var cpu float64
	for _, r := range l.recs {
		first = min(first, r.Start)
		last = max(last, r.End)
		cpu += float64(r.CPU)
	}
	span := float64(last - first)
	if span <= 0 {
		return 0
	}
	return 100 * cpu / (span * float64(l.cfg.Cores))
}

func (l *Learner) derive() map[uint32]policy.Entry {
	c := l.cfg
	// Keep the MaxFunctions most recently seen functions with at least MinSamples samples.
	order := make([]int, 0, len(l.fns))
	for i := range l.fns {
		if l.fns[i].n >= c.MinSamples {
			order = append(order, i)
		}
	}
	if len(order) > c.MaxFunctions {
		slices.SortFunc(order, func(a, b int) int { return cmp.Compare(l.fns[b].lastSeen, l.fns[a].lastSeen) })
		order = order[:c.MaxFunctions]
	}
	// Rank.
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(l.fns[a].demand, l.fns[b].demand) })
	ranks := make([]uint32, len(l.fns))
	for i, fi := range order {
		r := l.rankOf(l.fns[fi].demand)
		if c.RankScale == RankByOrder {
			r = i * c.RankLevels / len(order)
		}
		ranks[fi] = uint32(r)
	}
	l.base = 0 // RelativeRanks: the smallest rank, subtracted from every rank
	if c.RelativeRanks && len(order) > 0 {
		l.base = ranks[order[0]]
		for _, fi := range order {
			l.base = min(l.base, ranks[fi])
		}
	}
	// Slice.
	factor := 1.0
	if c.SRPTSlice {
		if u := l.utilisation(); c.Theta < 100 && u >= c.Theta {
			factor = c.Beta * (100 + c.Theta - math.Min(u, 100)) / (100 * c.Gamma)
		}
	}
	capRank := l.capRank()
	censored := l.censoring && len(l.running) > 0
	if censored {
		l.gatherCensored()
	}
	if c.AttainedRanks {
		l.sortedSamples()
		l.pool(censored)
	}
	out := make(map[uint32]policy.Entry, len(order))
	for _, fi := range order {
		f := l.fns[fi]
		slice := c.Knobs.DefaultSlice
		if c.SRPTSlice {
			st := l.stats[fi]
			s := math.Min(c.Alpha*st.MeanSegment(), float64(c.SliceCap)) - c.Beta*st.StdSegment()
			s = math.Max(s*factor, float64(c.MinSlice))
			slice = int64(s)
		}
		if slice < 1 {
			slice = 1
		}
		e := policy.Entry{Rank: ranks[fi], Slice: slice, Demand: int64(f.demand)}
		if c.AttainedRanks {
			xs := l.samples[f.off : f.off+f.n]
			l.dist.reset(xs, l.priorOf(xs), c.PriorWeight)
			if censored {
				l.dist.censor(l.censoredOf(fi), 1)
			}
			l.cand = attainedSteps(&e, &l.dist, c.AttainedSteps, c.AttainedRule, l.rankOf, capRank, l.cand)
			if e.NSteps > 0 {
				e.Rank = e.StepRank[0]
			}
		}
		lowerRanks(&e, l.base)
		if !l.classEntry(f, e) {
			out[f.id] = e
		}
	}
	return out
}

// lowerRanks subtracts base from e's rank and step ranks, clamped at 0.
func lowerRanks(e *policy.Entry, base uint32) {
	e.Rank -= min(e.Rank, base)
	for i := range int(e.NSteps) {
		e.StepRank[i] -= min(e.StepRank[i], base)
	}
}

// capRank is the last rank that orders differently from the ones above it: the last level.
func (l *Learner) capRank() int { return min(l.cfg.RankLevels, policy.MaxLevels) - 1 }

// rankOf is the rank of a demand (ns) on the log or demand scale, in [0, RankLevels-1]
// (0 for the order scale, which ranks by position instead).
func (l *Learner) rankOf(d float64) int {
	c := l.cfg
	var r int
	switch c.RankScale {
	case RankByDemand:
		if c.RankStep > 0 {
			r = int(math.Round(d / float64(c.RankStep)))
		}
	case RankByLog:
		if c.RankStep > 0 && d >= float64(c.RankStep) {
			if lpd := c.LevelsPerDoubling; lpd <= 1 {
				_, e := math.Frexp(d / float64(c.RankStep)) // floor(log2 x) = e - 1, exactly
				r = e
			} else {
				r = int(lpd*math.Log2(d/float64(c.RankStep))) + 1
			}
		}
	}
	return min(max(r, 0), c.RankLevels-1)
}
