package frontend

import (
	"testing"

	"github.com/rs/zerolog"

	"github.com/alps-sched/alps/configs"
	"github.com/alps-sched/alps/model"
	"github.com/alps-sched/alps/policy"
)

// TestStepSkipsUnchangedWindow: an update runs and pushes when records came or one expired,
// and is skipped (no push, no heartbeat, counted) when the window did not change.
func TestStepSkipsUnchangedWindow(t *testing.T) {
	cfg := testConfig(t)
	cfg.Learner.WindowSpanMs = 1000
	now := int64(0)
	k := newFakeKernel(1)
	d, err := New(Options{Config: cfg, Kernel: k, Log: zerolog.Nop(), Now: func() int64 { return now },
		NewLearner: func(c configs.Config) (Learner, error) { return model.NewLearner(configs.LearnerConfig(c)) }})
	if err != nil {
		t.Fatal(err)
	}
	add := func(fn uint32, end int64) {
		d.mu.Lock()
		d.pending = append(d.pending, policy.Record{Function: fn, Start: end - 5e6, End: end, CPU: 5e6})
		d.mu.Unlock()
	}
	pushes := func() int { p, _, _, _ := k.snapshot(); return len(p) }
	steps := []struct {
		name   string
		now    int64
		record bool
		pushed bool
	}{
		{"first update", 10e6, true, true},
		{"nothing new", 20e6, false, false},
		{"still nothing", 500e6, false, false},
		{"a record", 600e6, true, true},
		{"nothing new again", 700e6, false, false},
		{"the first record expires", 1020e6, false, true},
		{"nothing left to expire soon", 1100e6, false, false},
	}
	for i, s := range steps {
		now = s.now
		if s.record {
			add(uint32(i%2), now)
		}
		before, beatsBefore := pushes(), k.beats
		beat := d.step()
		if got := pushes() > before; got != s.pushed {
			t.Fatalf("%s: pushed %v, want %v", s.name, got, s.pushed)
		}
		if beat != s.pushed || (k.beats > beatsBefore) != s.pushed {
			t.Fatalf("%s: heartbeat %v (beats %d -> %d), want %v", s.name, beat, beatsBefore, k.beats, s.pushed)
		}
	}
	if st := d.Stats(); st.Updates != 3 || st.Skipped != 4 {
		t.Errorf("updates %d skipped %d, want 3 and 4", st.Updates, st.Skipped)
	}
}
