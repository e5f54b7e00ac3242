package sim

import (
	"math/rand/v2"
	"testing"

	"github.com/alps-sched/alps/model"
	"github.com/alps-sched/alps/policy"
)

const ms = int64(1_000_000)

func alpsTestConfig(cores int) model.Config {
	return model.Config{
		WindowSize: 10000, WindowSpan: 60_000 * ms, UpdateInterval: 100 * ms, Cores: cores,
		Predictor: "mean", EWMAAlpha: 0.2, Percentile: 0.9,
		Alpha: 1, Beta: 0, Gamma: 1, Theta: 100, SliceCap: 200 * ms, MinSlice: ms, SRPTSlice: true,
		RankLevels: 16, RankScale: model.RankByDemand, RankStep: 10 * ms, MaxFunctions: 100, IORule: true,
		Knobs: policy.Knobs{WakeLag: 20 * ms, DefaultSlice: 20 * ms, MaxWait: 2000 * ms, Preempt: true},
	}
}

func newTestALPS(t *testing.T, cfg model.Config) *ALPS {
	t.Helper()
	l, err := model.NewLearner(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return NewALPS(l)
}

// twoClassTrace mixes a short function (0: 2 ms) and a long one (1: 200 ms) on one core at
// about 80% load, arrivals Poisson.
func twoClassTrace(n int, seed uint64) *Trace {
	rng := rand.New(rand.NewPCG(seed, 1))
	tr := &Trace{Functions: []string{"short", "long"}}
	var at float64
	for range n {
		at += rng.ExpFloat64() * 27 * float64(ms) // mean demand 0.9*2+0.1*200 = 21.8 ms
		in := Invocation{Arrival: int64(at), CPU: 2 * ms}
		if rng.Float64() < 0.1 {
			in = Invocation{Arrival: int64(at), CPU: 200 * ms, Func: 1}
		}
		tr.Inv = append(tr.Inv, in)
	}
	return tr
}

func meanFCT(res *Result, fn int) float64 {
	var s float64
	var n int
	for i := range res.Records {
		r := &res.Records[i]
		if fn < 0 || int(r.Func) == fn {
			s += float64(r.FCT())
			n++
		}
	}
	return s / float64(n)
}

// TestALPSLearnsShortFirst: once the learner has seen both functions, the short one runs
// ahead of the long one and its mean FCT is far below what the unlearned rule (the same
// policy with learning off, i.e. plain vtime) gives it.
func TestALPSLearnsShortFirst(t *testing.T) {
	tr := twoClassTrace(4000, 1)
	a := newTestALPS(t, alpsTestConfig(1))
	res, err := Run(tr, a, Options{Cores: 1})
	if err != nil {
		t.Fatal(err)
	}
	off := alpsTestConfig(1)
	off.UpdateInterval = 0
	plain, err := Run(tr, newTestALPS(t, off), Options{Cores: 1})
	if err != nil {
		t.Fatal(err)
	}
	if a.Tables == 0 || a.Table().Len() != 2 {
		t.Fatalf("%d tables installed, last has %d functions; want several and 2", a.Tables, a.Table().Len())
	}
	s, _ := a.Table().Lookup(0)
	l, _ := a.Table().Lookup(1)
	if s.Rank >= l.Rank {
		t.Errorf("short rank %d, long rank %d: want short first", s.Rank, l.Rank)
	}
	learned, unlearned := meanFCT(res, 0), meanFCT(plain, 0)
	if learned > 0.5*unlearned {
		t.Errorf("short mean FCT %.1f ms learned vs %.1f ms plain vtime: want at least halved", learned/1e6, unlearned/1e6)
	}
	for i := range res.Records {
		r := &res.Records[i]
		if r.End < r.Arrival+r.CPU {
			t.Fatalf("invocation %d finished before its demand", i)
		}
	}
}

// gapRecorder records, per task, the longest time between the end of one of its run
// segments and the start of the next when it stopped runnable (quantum expired or preempted).
type gapRecorder struct {
	lastEnd map[TaskID]int64
	maxGap  map[TaskID]int64
}

func (g *gapRecorder) Segment(t TaskID, core int, start, end int64, why StopReason) {
	if e, ok := g.lastEnd[t]; ok {
		g.maxGap[t] = max(g.maxGap[t], start-e)
	}
	delete(g.lastEnd, t)
	if why == QuantumExpired || why == Preempted {
		g.lastEnd[t] = end
	}
}

// TestALPSStarvationBound: the guard (rule step 8) bounds how long a queued task waits behind
// work that arrived after it. A long invocation at a low level in a flood of short ones at
// 97% load on one core waits little more than MaxWait between its runs (behind the tasks that
// aged before it); without the guard it waits for gaps in the flood.
func TestALPSStarvationBound(t *testing.T) {
	cfg := alpsTestConfig(1)
	cfg.RankScale = model.RankByOrder
	cfg.SRPTSlice = false
	cfg.Knobs.DefaultSlice = 10 * ms
	rng := rand.New(rand.NewPCG(5, 5))
	tr := &Trace{Functions: []string{"short", "long"}}
	// Teach the learner: a few of each, spread out.
	for i := range 10 {
		tr.Inv = append(tr.Inv, Invocation{Arrival: int64(i) * 300 * ms, CPU: 1 * ms})
		tr.Inv = append(tr.Inv, Invocation{Arrival: int64(i)*300*ms + 10*ms, CPU: 100 * ms, Func: 1})
	}
	// Then one long invocation arriving into 3 s of short ones at 97% load.
	base := 4000 * ms
	at := float64(base)
	for at < float64(base+3000*ms) {
		at += rng.ExpFloat64() * float64(ms) / 0.97
		tr.Inv = append(tr.Inv, Invocation{Arrival: int64(at), CPU: ms})
	}
	tr.Inv = append(tr.Inv, Invocation{Arrival: base + 10*ms, CPU: 100 * ms, Func: 1})
	tr.Sort()
	long := TaskID(-1)
	for i, in := range tr.Inv {
		if in.Func == 1 && in.Arrival == base+10*ms {
			long = TaskID(i)
		}
	}
	run := func(maxWait int64) (fct, gap int64) {
		c := cfg
		c.Knobs.MaxWait = maxWait
		g := &gapRecorder{lastEnd: map[TaskID]int64{}, maxGap: map[TaskID]int64{}}
		res, err := Run(tr, newTestALPS(t, c), Options{Cores: 1, Observer: g})
		if err != nil {
			t.Fatal(err)
		}
		return res.Records[long].FCT(), g.maxGap[long]
	}
	const wait = 50 * ms
	fct, gap := run(wait)
	fctOff, gapOff := run(0)
	t.Logf("long invocation: guard %d ms: FCT %d ms, longest wait between runs %.1f ms; no guard: FCT %d ms, longest wait %.1f ms",
		wait/ms, fct/ms, float64(gap)/1e6, fctOff/ms, float64(gapOff)/1e6)
	// Once aged it runs after the tasks that aged before it (here 1 ms each, and the quanta of
	// aged tasks are not preempted): W plus a few of those.
	if gap > wait+wait/2 {
		t.Errorf("with a %d ms guard the long invocation waited %.1f ms between runs, want at most %d ms", wait/ms, float64(gap)/1e6, (wait+wait/2)/ms)
	}
	if gapOff <= 2*wait {
		t.Errorf("without the guard the longest wait was %.1f ms: want the guard to matter", float64(gapOff)/1e6)
	}
}

// TestALPSAttainedRanks: one bimodal function (90% 2 ms, 10% 200 ms invocations). With one
// rank per function its invocations are ordered as plain vtime among themselves; with
// attained-service steps an invocation starts at the rank of the short mode and is demoted
// once it has used more than it, so the short invocations finish much sooner.
func TestALPSAttainedRanks(t *testing.T) {
	tr := twoClassTrace(4000, 2)
	for i := range tr.Inv {
		tr.Inv[i].Func = 0
	}
	tr.Functions = tr.Functions[:1]
	shortFCT := func(res *Result) float64 {
		var s float64
		var n int
		for i := range res.Records {
			if r := &res.Records[i]; r.CPU == 2*ms {
				s += float64(r.FCT())
				n++
			}
		}
		return s / float64(n)
	}
	var fct [2]float64
	for i, on := range []bool{false, true} {
		cfg := alpsTestConfig(1)
		cfg.AttainedRanks, cfg.AttainedSteps, cfg.AttainedRule = on, 4, model.AttainedGittins
		a := newTestALPS(t, cfg)
		res, err := Run(tr, a, Options{Cores: 1})
		if err != nil {
			t.Fatal(err)
		}
		e, ok := a.Table().Lookup(0)
		if !ok {
			t.Fatal("no entry")
		}
		if on && (e.NSteps < 2 || e.RankAt(0) != 0 || e.RankAt(10*ms) == 0) {
			t.Errorf("steps at %v ranks %v: want rank 0 at a = 0 and a demotion by 10 ms", e.StepAt[:e.NSteps], e.StepRank[:e.NSteps])
		}
		fct[i] = shortFCT(res)
	}
	if fct[1] > 0.5*fct[0] {
		t.Errorf("short invocations' mean FCT %.2f ms with attained ranks, %.2f ms without: want at most half", fct[1]/1e6, fct[0]/1e6)
	}
	t.Logf("short mean FCT: one rank %.2f ms, attained steps %.2f ms", fct[0]/1e6, fct[1]/1e6)
}

// TestALPSInFlight: at every update, the invocations the learner is told are running are
// exactly those arrived and not completed, each with the CPU it had used by its last stop.
func TestALPSInFlight(t *testing.T) {
	tr := twoClassTrace(2000, 3)
	cfg := alpsTestConfig(2)
	cfg.AttainedRanks, cfg.AttainedSteps, cfg.AttainedRule, cfg.RankScale = true, 4, model.AttainedGittins, model.RankByLog
	cfg.Censored = true
	a := newTestALPS(t, cfg)
	done := completions{make([]bool, len(tr.Inv))}
	checks, maxRunning := 0, 0
	a.running = func() []model.Running {
		rs := a.inFlight()
		now := a.env.Now()
		want := 0
		for i, in := range tr.Inv {
			if in.Arrival <= now && !done.done[i] {
				want++
			}
		}
		if len(rs) != want {
			t.Errorf("at %d: %d running, want %d", now, len(rs), want)
		}
		for _, r := range rs {
			if r.Start > now || r.CPU < 0 {
				t.Errorf("at %d: running %+v", now, r)
			}
		}
		checks++
		maxRunning = max(maxRunning, len(rs))
		return rs
	}
	if _, err := Run(tr, a, Options{Cores: 2, Observer: done}); err != nil {
		t.Fatal(err)
	}
	if checks < 100 || maxRunning < 2 {
		t.Errorf("%d updates, at most %d running: the test saw too little", checks, maxRunning)
	}
}

// completions is an Observer that notes which tasks completed.
type completions struct{ done []bool }

func (c completions) Segment(t TaskID, _ int, _, _ int64, why StopReason) {
	if why == Completed {
		c.done[t] = true
	}
}
