package frontend

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/alps-sched/alps/configs"
	"github.com/alps-sched/alps/model"
	"github.com/alps-sched/alps/policy"
)

// TestStateRoundTrip: records saved on one monotonic clock come back on another (a reboot),
// aged by the wall time between the save and the load, in the order they ended; records of
// a function without a name are not saved, those older than the window's span not restored,
// and at most limit (the newest) are.
func TestStateRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	names := map[uint32]string{1: "fn-a", 2: "fn-b"}
	const s = int64(time.Second)
	saveNow, wall := 1000*s, time.Unix(1_700_000_000, 0)
	recs := []policy.Record{
		{Function: 1, Start: 900 * s, End: 990 * s, CPU: 3 * s, RunDelay: s, Nvcsw: 4, Nivcsw: 5, Class: 2},
		{Function: 3, Start: 950 * s, End: 995 * s, CPU: s}, // no name: left out
		{Function: 2, Start: 400 * s, End: 500 * s, CPU: 7 * s},
		{Function: 2, Start: 998 * s, End: 999 * s, CPU: s / 2},
	}
	if err := saveState(path, recs, func(id uint32) string { return names[id] }, saveNow, wall); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("state file mode %v (%v), want 0600", st.Mode(), err)
	}
	// Loaded 30 s later on a clock that restarted (now = 50 s).
	loadNow, later := 50*s, wall.Add(30*time.Second)
	tests := []struct {
		name  string
		span  int64
		limit int
		want  []namedRecord
	}{
		{"all", 1000 * s, 10, []namedRecord{
			{"fn-b", policy.Record{Start: loadNow - 530*s - 100*s, End: loadNow - 530*s, CPU: 7 * s}},
			{"fn-a", policy.Record{Start: loadNow - 40*s - 90*s, End: loadNow - 40*s, CPU: 3 * s, RunDelay: s, Nvcsw: 4, Nivcsw: 5, Class: 2}},
			{"fn-b", policy.Record{Start: loadNow - 31*s - s, End: loadNow - 31*s, CPU: s / 2}},
		}},
		{"span", 100 * s, 10, []namedRecord{
			{"fn-a", policy.Record{Start: loadNow - 130*s, End: loadNow - 40*s, CPU: 3 * s, RunDelay: s, Nvcsw: 4, Nivcsw: 5, Class: 2}},
			{"fn-b", policy.Record{Start: loadNow - 32*s, End: loadNow - 31*s, CPU: s / 2}},
		}},
		{"limit", 1000 * s, 1, []namedRecord{
			{"fn-b", policy.Record{Start: loadNow - 32*s, End: loadNow - 31*s, CPU: s / 2}},
		}},
	}
	for _, tc := range tests {
		got, err := loadState(path, loadNow, later, tc.span, tc.limit)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if len(got) != len(tc.want) {
			t.Fatalf("%s: %d records %+v, want %d", tc.name, len(got), got, len(tc.want))
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%s: record %d = %+v, want %+v", tc.name, i, got[i], tc.want[i])
			}
		}
	}
	// A wall clock set back before the save counts as no time passed.
	got, err := loadState(path, loadNow, wall.Add(-time.Hour), 1000*s, 10)
	if err != nil || len(got) != 3 || got[2].End != loadNow-s {
		t.Errorf("clock set back: %+v, %v", got, err)
	}
}

// TestStateBad: a state file that cannot be used is one line naming it; a missing one is
// fs.ErrNotExist.
func TestStateBad(t *testing.T) {
	dir := t.TempDir()
	if _, err := loadState(filepath.Join(dir, "none.json"), 0, time.Now(), 1, 1); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v, want fs.ErrNotExist", err)
	}
	tests := []struct{ name, data, want string }{
		{"empty", "", "not a state file"},
		{"not json", "hello\nworld", "not a state file"},
		{"unknown field", `{"version":1,"records":[],"extra":1}`, "not a state file"},
		{"version", `{"version":2,"records":[]}`, "version 2"},
		{"no name", `{"version":1,"records":[{"function":"","age_ns":1}]}`, "record 1: function name"},
		{"long name", `{"version":1,"records":[{"function":"` + strings.Repeat("x", 300) + `"}]}`, "record 1: function name of 300 bytes"},
		{"negative", `{"version":1,"records":[{"function":"f"},{"function":"g","cpu_ns":-5}]}`, "record 2: a negative time"},
		{"huge", `{"version":1,"records":[{"function":"f","age_ns":1e30}]}`, "not a state file"},
		{"long", `{"version":1,"records":[{"function":"f","wall_ns":2000000000000000}]}`, "record 1: a time beyond 1e+15 ns"},
	}
	for _, tc := range tests {
		path := filepath.Join(dir, tc.name+".json")
		if err := os.WriteFile(path, []byte(tc.data), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := loadState(path, 0, time.Now(), 1, 1)
		if err == nil {
			t.Errorf("%s: accepted", tc.name)
			continue
		}
		if msg := err.Error(); strings.Contains(msg, "\n") || !strings.HasPrefix(msg, "state file "+path+": ") || !strings.Contains(msg, tc.want) {
			t.Errorf("%s: %q, want one line naming the file with %q", tc.name, msg, tc.want)
		}
	}
}

// TestDaemonKeepsWindowAcrossRestart: a daemon with frontend.state_file saves its window when
// it stops; the next one starts with it (functions by name, whatever ids they get) and pushes
// a table that ranks them before any record arrives. A broken state file is ignored.
func TestDaemonKeepsWindowAcrossRestart(t *testing.T) {
	cfg := testConfig(t)
	cfg.Frontend.StateFile = filepath.Join(t.TempDir(), "state.json")
	learner := func(t *testing.T) Learner {
		l, err := model.NewLearner(configs.LearnerConfig(cfg))
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	k := newFakeKernel(16)
	d, cancel, done := startDaemon(t, cfg, k, learner(t))
	idA, _ := d.reg.ID("short-fn")
	idB, _ := d.reg.ID("long-fn")
	now := Monotonic()
	ms := int64(time.Millisecond)
	for i := range 6 {
		k.records <- policy.Record{Function: idA, Start: now - 50*ms, End: now - int64(i)*ms, CPU: 2 * ms}
		k.records <- policy.Record{Function: idB, Start: now - 900*ms, End: now - int64(i)*ms, CPU: 800 * ms}
	}
	waitFor(t, "a table with both functions", func() bool {
		pols, _, _, _ := k.snapshot()
		return len(pols) > 0 && pols[len(pols)-1] != nil && pols[len(pols)-1].Len() == 2
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// The next daemon: a new registry, and no record sent.
	k2 := newFakeKernel(16)
	d2, cancel2, done2 := startDaemon(t, cfg, k2, learner(t))
	waitFor(t, "a table from the restored window", func() bool {
		pols, _, _, _ := k2.snapshot()
		return len(pols) > 0 && pols[len(pols)-1] != nil && pols[len(pols)-1].Len() == 2
	})
	cancel2()
	if err := <-done2; err != nil {
		t.Fatal(err)
	}
	pols, _, _, _ := k2.snapshot()
	tab := pols[len(pols)-1]
	a, okA := tab.Lookup(idOf(t, d2, "short-fn"))
	b, okB := tab.Lookup(idOf(t, d2, "long-fn"))
	if !okA || !okB || a.Demand >= b.Demand || a.Rank >= b.Rank {
		t.Errorf("restored table: short-fn %+v (%v), long-fn %+v (%v): want both, short-fn ahead", a, okA, b, okB)
	}
	// A broken file: the daemon starts and learns from scratch.
	if err := os.WriteFile(cfg.Frontend.StateFile, []byte("{broken"), 0o600); err != nil {
		t.Fatal(err)
	}
	k3 := newFakeKernel(16)
	_, cancel3, done3 := startDaemon(t, cfg, k3, learner(t))
	waitFor(t, "heartbeats", func() bool { _, b, _, _ := k3.snapshot(); return b > 2 })
	cancel3()
	if err := <-done3; err != nil {
		t.Fatalf("with a broken state file: %v", err)
	}
}

func idOf(t *testing.T, d *Daemon, name string) uint32 {
	t.Helper()
	for id, n := range d.reg.Names() {
		if n == name {
			return id
		}
	}
	t.Fatalf("%s has no id", name)
	return 0
}

// FuzzReadState: whatever a state file holds, reading it either fails in one line naming it
// or gives at most limit records within the window, in the order they ended, each with a
// name and times that a learner can take.
func FuzzReadState(f *testing.F) {
	f.Add([]byte(`{"version":1,"saved_unix_ns":1,"records":[{"function":"f","age_ns":5,"wall_ns":3,"cpu_ns":2}]}`))
	f.Add([]byte(`{"version":1,"records":[{"function":"a","age_ns":9},{"function":"b","age_ns":1,"class":7}]}`))
	f.Add([]byte(`{"version":2}`))
	f.Add([]byte(`{"version":1,"records":[{"function":"f","cpu_ns":-1}]}`))
	const now, span, limit = int64(1e12), int64(1e11), 4
	wall := time.Unix(100, 0)
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, err := readState(bytes.NewReader(data), "/s.json", now, wall, span, limit)
		if err != nil {
			if msg := err.Error(); strings.Contains(msg, "\n") || !strings.HasPrefix(msg, "state file /s.json: ") {
				t.Fatalf("error %q: want one line naming the file", msg)
			}
			return
		}
		if len(recs) > limit {
			t.Fatalf("%d records, more than the limit %d", len(recs), limit)
		}
		for i, r := range recs {
			switch {
			case r.Function == "" || len(r.Function) > maxStateName:
				t.Fatalf("record %d: name %q", i, r.Function)
			case r.End > now || r.End < now-span || r.Start > r.End || r.CPU < 0 || r.RunDelay < 0:
				t.Fatalf("record %d: %+v outside the window or inconsistent", i, r)
			case i > 0 && r.End < recs[i-1].End:
				t.Fatalf("record %d ended before record %d", i, i-1)
			}
		}
	})
}
