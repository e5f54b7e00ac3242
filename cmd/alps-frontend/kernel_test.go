package main

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/alps-sched/alps/backend"
	"github.com/alps-sched/alps/cmd/internal/cli"
	"github.com/alps-sched/alps/internal/kerneltest"
	"github.com/alps-sched/alps/policy"
)

// The kernel test's workload is this test binary under a process name the scheduler classifies.
func TestMain(m *testing.M) { kerneltest.Main(m, nil) }

// TestKernelStatus: while alps runs a classified hog with a policy table and heartbeats every
// 100 ms, as the daemon does,
// "alps-frontend status" and backend.OpenPinned show the live table (its default entry
// included), knobs, classifier, a fresh heartbeat and counters that move; after a table
// switch the new table; after Close, status fails with one line.
func TestKernelStatus(t *testing.T) {
	kerneltest.Attach(t)
	pins := fmt.Sprintf("/sys/fs/bpf/alps-kerneltest-%d", os.Getpid())
	t.Cleanup(func() { os.Remove(pins) })
	knobs := policy.Knobs{WakeLag: int64(20 * time.Millisecond), DefaultSlice: int64(20 * time.Millisecond),
		MaxWait: int64(time.Second), Preempt: true}
	pooled := policy.Entry{Rank: 1, Slice: int64(4 * time.Millisecond), NSteps: 2, StepAt: [policy.MaxSteps]int64{0, int64(60 * time.Millisecond)},
		StepRank: [policy.MaxSteps]uint32{1, 4}}
	first := map[uint32]policy.Entry{0: {Rank: 1, Slice: int64(7 * time.Millisecond)}, 5: {Rank: 0, Slice: int64(3 * time.Millisecond)},
		6: {Rank: 2, NSteps: 2, StepAt: [policy.MaxSteps]int64{0, int64(30 * time.Millisecond)}, StepRank: [policy.MaxSteps]uint32{2, 5}}}
	s, err := backend.Load(backend.Options{Knobs: knobs, HeartbeatStale: heartbeatStale, PinPath: pins})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		s.Close()
		kerneltest.WaitState("disabled", 5*time.Second)
	}()
	if err := s.SetCommFunction("hogA", 0); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPolicy(&policy.Table{Knobs: knobs, Entries: first, Default: pooled, HasDefault: true}); err != nil {
		t.Fatal(err)
	}
	if err := s.Attach(); err != nil {
		t.Fatal(err)
	}
	w := kerneltest.NewWorkloads(t)
	hog, err := w.Start("hogA", "hog")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Heartbeat(); err != nil {
		t.Fatal(err)
	}
	stopBeat, beating := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(beating)
		for {
			select {
			case <-stopBeat:
				return
			case <-time.After(100 * time.Millisecond):
				s.Heartbeat() // fails once s is closed, harmlessly
			}
		}
	}()
	defer func() { close(stopBeat); <-beating }()
	time.Sleep(500 * time.Millisecond)
	cfg := writeConfig(t, fmt.Sprintf("frontend:\n  pin_path: %s\n", pins))
	var snapMs float64
	// read checks what OpenPinned and the status command show against the table want and
	// its default entry (nil: none).
	read := func(want map[uint32]policy.Entry, dflt *policy.Entry) (backend.Snapshot, statusReport) {
		t.Helper()
		begin := time.Now()
		p, err := backend.OpenPinned(pins)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		snap, err := p.Snapshot()
		snapMs = kerneltest.Ms(time.Since(begin))
		if err != nil {
			t.Fatal(err)
		}
		if len(snap.Policy) != len(want) {
			t.Fatalf("pinned table %v, want %v", snap.Policy, want)
		}
		for fn, e := range want {
			if snap.Policy[fn] != e {
				t.Fatalf("pinned table[%d] = %+v, want %+v", fn, snap.Policy[fn], e)
			}
		}
		if snap.Knobs != knobs {
			t.Fatalf("pinned knobs %+v, want %+v", snap.Knobs, knobs)
		}
		if snap.HasDefault != (dflt != nil) || (dflt != nil && snap.Default != *dflt) {
			t.Fatalf("pinned default entry %+v (present %v), want %+v", snap.Default, snap.HasDefault, dflt)
		}
		if age := snap.HeartbeatAge(); age < 0 || age > time.Second || snap.Stale() {
			t.Fatalf("heartbeat age %v (stale %v), want < 1s after heartbeats every 100 ms", age, snap.Stale())
		}
		code, out, errOut := runFrontend(t, kernelStatus(), "status", "--json", "--config", cfg)
		if code != 0 {
			t.Fatalf("status: exit %d, stderr %q", code, errOut)
		}
		var r statusReport
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("status --json: %v:\n%s", err, out)
		}
		if r.PinPath != pins || r.SchedExt != "enabled" || !strings.HasPrefix(r.Ops, "alps") || r.HeartbeatStale ||
			r.Functions != len(want) || len(r.Top) != len(want) || r.Knobs.MaxWaitMs != nsMs(knobs.MaxWait) ||
			r.Knobs.Preempt != knobs.Preempt || (r.Default != nil) != (dflt != nil) {
			t.Fatalf("status --json shows %s", out)
		}
		if dflt != nil && (r.Default.Rank != dflt.Rank || len(r.Default.Steps) != int(dflt.NSteps)) {
			t.Fatalf("status --json shows the default entry %+v, want %+v", r.Default, dflt)
		}
		for i, row := range r.Top {
			e := want[row.ID]
			if row.Rank != e.Rank || row.SliceMs != nsMs(cmp.Or(e.Slice, knobs.DefaultSlice)) || (i > 0 && r.Top[i-1].Rank > row.Rank) {
				t.Fatalf("status row %d %+v: want %+v, first-ranked first", i, row, e)
			}
			if len(row.Steps) != int(e.NSteps) {
				t.Fatalf("status row %+v: want the %d steps of %+v", row, e.NSteps, e)
			}
			for j, st := range row.Steps {
				if st.Rank != e.StepRank[j] || st.FromMs != nsMs(e.StepAt[j]) {
					t.Fatalf("status row %+v: step %d is not %d ms -> rank %d", row, j, e.StepAt[j]/1e6, e.StepRank[j])
				}
			}
			if row.ID == 0 && !slices.Contains(row.ClassifiedBy, "comm hogA") {
				t.Fatalf("status row %+v: want it classified by comm hogA", row)
			}
		}
		return snap, r
	}
	snap, _ := read(first, &pooled)
	if fn, ok := snap.Comms["hogA"]; !ok || fn != 0 {
		t.Fatalf("pinned process names %v, want hogA -> 0", snap.Comms)
	}
	if snap.Counters.Classified == 0 || snap.Counters.Enqueues+snap.Counters.Direct == 0 {
		t.Fatalf("pinned counters %+v: want classifications and enqueues", snap.Counters)
	}
	before := snap.Counters.Enqueues + snap.Counters.Direct
	second := map[uint32]policy.Entry{0: {Rank: 2}}
	if err := s.SetPolicy(&policy.Table{Knobs: knobs, Entries: second}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	snap2, r2 := read(second, nil)
	if snap2.Generation == snap.Generation || r2.Generation != snap2.Generation {
		t.Fatalf("generation %d after a table switch (status %d), want it flipped from %d", snap2.Generation, r2.Generation, snap.Generation)
	}
	after := snap2.Counters.Enqueues + snap2.Counters.Direct
	if after <= before {
		t.Fatalf("pinned counters did not move while a hog ran: %d then %d", before, after)
	}
	kerneltest.Kill(hog)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := backend.OpenPinned(pins); !errors.Is(err, backend.ErrNotPinned) {
		t.Fatalf("after Close OpenPinned = %v, want ErrNotPinned", err)
	}
	code, out, errOut := runFrontend(t, kernelStatus(), "status", "--config", cfg)
	if code != cli.ExitFailure || out != "" || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, "no alps maps are pinned") {
		t.Fatalf("status after Close: exit %d, stdout %q, stderr %q; want exit 1 and one line", code, out, errOut)
	}
	t.Logf("status shows a table of %d then %d while attached (gen %d -> %d), hogA -> fn 0, heartbeat %v old, "+
		"enqueues %d -> %d, snapshot %.1f ms; after Close one line: %s",
		len(first), len(second), snap.Generation, snap2.Generation, snap2.HeartbeatAge().Round(time.Millisecond), before, after,
		snapMs, strings.TrimSpace(errOut))
}
