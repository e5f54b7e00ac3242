package sim

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestOracleRemainingClosedForm (issue 11, defect 4): the oracle's remaining demand is the
// sum of the remaining bursts, computed without walking them, so a clairvoyant policy over
// an invocation with a million waits runs in time linear in its events.
func TestOracleRemainingClosedForm(t *testing.T) {
	tests := []struct {
		cpu     int64
		waits   uint32
		wakeups uint32
	}{
		{10, 0, 0},
		{10, 3, 0},
		{10, 3, 2},
		{10, 3, 3},
		{7, 6, 1}, // bursts of 1, the last takes the remainder
		{1_000_003, 1 << 20, 0},
		{1_000_003, 1 << 20, 1<<20 - 1},
	}
	for _, tt := range tests {
		in := Invocation{CPU: tt.cpu, IO: int64(tt.waits), Waits: tt.waits}
		e := &Env{inv: []Invocation{in}, rec: []Record{{Wakeups: tt.wakeups}}, rem: []int64{burst(&in, tt.wakeups)},
			loc: []int32{locRunnable}}
		want := e.rem[0]
		for k := tt.wakeups + 1; k <= in.Waits; k++ {
			want += burst(&in, k)
		}
		if got := (oracle{e}).Remaining(0); got != want {
			t.Errorf("cpu %d waits %d after %d wakeups: remaining %d, want %d", tt.cpu, tt.waits, tt.wakeups, got, want)
		}
	}
}

// timerPolicy is fifo with a timer every period: events that are not completions.
type timerPolicy struct {
	FIFO
	env    *Env
	period int64
}

func (p *timerPolicy) Start(e *Env)    { p.env = e; e.SetTimer(p.period) }
func (p *timerPolicy) Timer(now int64) { p.env.SetTimer(now + p.period) }
func (p *timerPolicy) Name() string    { return "timer" }

// TestRunStopsWithoutCompletions (issue 11, defect 8): a run whose events are timers (two
// invocations 1e10 ms apart, a timer every millisecond) stops promptly once its context is
// cancelled, although no invocation completes meanwhile.
func TestRunStopsWithoutCompletions(t *testing.T) {
	tr := &Trace{Functions: []string{"f"}, Inv: []Invocation{
		{Arrival: 0, CPU: 1e6}, {Arrival: 1e16, CPU: 1e6},
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := Run(tr, &timerPolicy{period: 1e6}, Options{Cores: 1, Context: ctx})
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Run returned %v, want the context's error", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run ignored its cancelled context for 30 s")
	}
}

// TestRunCores (issue 11, defect 5): a core count beyond MaxCores is an error, not an
// allocation.
func TestRunCores(t *testing.T) {
	tr := &Trace{Functions: []string{"f"}, Inv: []Invocation{{CPU: 1}}}
	for _, cores := range []int{0, -1, MaxCores + 1, 100_000_000_000} {
		if _, err := Run(tr, NewFIFO(), Options{Cores: cores}); err == nil {
			t.Errorf("cores %d accepted", cores)
		}
	}
	if _, err := Run(tr, NewFIFO(), Options{Cores: MaxCores}); err != nil {
		t.Errorf("cores %d: %v", MaxCores, err)
	}
}
