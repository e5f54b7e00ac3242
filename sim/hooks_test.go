package sim

import (
	"context"
	"errors"
	"testing"
)

// hookPolicy is fifo with a quantum, recording the optional hooks' calls.
type hookPolicy struct {
	FIFO
	env       *Env
	quantum   int64
	timers    []int64
	completed []Record
	reasons   map[Reason]int
	stops     map[StopReason]int
}

func (h *hookPolicy) Start(e *Env) {
	h.env = e
	h.reasons = map[Reason]int{}
	h.stops = map[StopReason]int{}
	e.SetTimer(5e6)
}

func (h *hookPolicy) Runnable(t TaskID, why Reason) {
	h.reasons[why]++
	h.FIFO.Runnable(t, why)
}

func (h *hookPolicy) Pick(c int) (TaskID, int64, bool) {
	t, _, ok := h.FIFO.Pick(c)
	return t, h.quantum, ok
}

func (h *hookPolicy) Stopped(t TaskID, c int, ran int64, why StopReason) { h.stops[why]++ }

func (h *hookPolicy) Timer(now int64) {
	h.timers = append(h.timers, now)
	if now < 20e6 {
		h.env.SetTimer(now + 5e6)
	}
}

func (h *hookPolicy) Completed(t TaskID, r *Record) { h.completed = append(h.completed, *r) }

// TestHooks checks the optional hooks: timers fire at the requested times (and never after
// the last completion), every
// completion is reported with its record, and runnable/stop reasons follow the task's life.
func TestHooks(t *testing.T) {
	tr := &Trace{Functions: []string{"a", "b"}, Inv: []Invocation{
		{Arrival: 0, CPU: 10e6, Func: 0},
		{Arrival: 1e6, CPU: 3e6, IO: 4e6, Waits: 2, Func: 1},
	}}
	h := &hookPolicy{quantum: 4e6}
	res, err := Run(tr, h, Options{Cores: 1})
	if err != nil {
		t.Fatal(err)
	}
	// Timers fire every 5 ms while invocations remain; they do not prolong the simulation.
	var want []int64
	for at := int64(5e6); at <= 20e6 && at <= max(res.Records[0].End, res.Records[1].End); at += 5e6 {
		want = append(want, at)
	}
	if len(want) < 2 || len(h.timers) != len(want) {
		t.Errorf("timers at %v, want %v", h.timers, want)
	} else {
		for i := range want {
			if h.timers[i] != want[i] {
				t.Errorf("timers at %v, want %v", h.timers, want)
			}
		}
	}
	if len(h.completed) != 2 {
		t.Fatalf("%d completions reported", len(h.completed))
	}
	for _, r := range h.completed {
		if r != res.Records[r.Func] {
			t.Errorf("reported %+v, result has %+v", r, res.Records[r.Func])
		}
	}
	b := res.Records[1]
	if b.Wakeups != 2 || b.Blocked != 4e6 || b.CPU != 3e6 {
		t.Errorf("I/O invocation record %+v", b)
	}
	if h.reasons[Arrived] != 2 || h.reasons[Woke] != 2 || h.reasons[Requeued] == 0 {
		t.Errorf("runnable reasons %v", h.reasons)
	}
	if h.stops[Completed] != 2 || h.stops[Blocked] != 2 || h.stops[QuantumExpired] != h.reasons[Requeued] {
		t.Errorf("stop reasons %v (requeued %d)", h.stops, h.reasons[Requeued])
	}
}

// oracleProbe checks that a clairvoyant policy's oracle sees remaining demand over all
// bursts, decreasing while the task runs.
type oracleProbe struct {
	SRPT
	seen []int64
}

func (o *oracleProbe) Runnable(t TaskID, why Reason) {
	if t == 1 && why == Arrived {
		o.seen = append(o.seen, o.or.Remaining(0), o.or.Remaining(1))
	}
	o.SRPT.Runnable(t, why)
}

func TestOracle(t *testing.T) {
	tr := &Trace{Functions: []string{"f"}, Inv: []Invocation{
		{Arrival: 0, CPU: 10e6, IO: 2e6, Waits: 1},
		{Arrival: 3e6, CPU: 1e6},
	}}
	p := &oracleProbe{}
	if _, err := Run(tr, p, Options{Cores: 1}); err != nil {
		t.Fatal(err)
	}
	// At 3 ms task 0 has run 3 ms of its 5 ms first burst and has a 5 ms burst to come.
	if len(p.seen) != 2 || p.seen[0] != 7e6 || p.seen[1] != 1e6 {
		t.Errorf("oracle saw %v, want [7e6 1e6]", p.seen)
	}
}

// TestCancel: a done context stops a simulation with its error.
func TestCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	tr := randomTrace(1, 1000, 1e6, 1e6, 0)
	for _, name := range []string{"vtime", "cfs"} {
		p, err := New(name, testParams(t, 2))
		if err != nil {
			t.Fatal(err)
		}
		_, err = Run(tr, p, Options{Cores: 2, Context: ctx, ProgressEvery: 100})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s: error %v, want context.Canceled", name, err)
		}
	}
}
