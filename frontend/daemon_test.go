package frontend

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/alps-sched/alps/configs"
	"github.com/alps-sched/alps/policy"
)

func testConfig(tb testing.TB) configs.Config {
	tb.Helper()
	l, err := configs.NewLoader()
	if err != nil {
		tb.Fatal(err)
	}
	c, err := l.Load()
	if err != nil {
		tb.Fatal(err)
	}
	c.Learner.UpdateIntervalMs = 20
	c.Frontend.HeartbeatIntervalMs = 10
	c.Frontend.CgroupRoot = tb.TempDir()
	c.Frontend.MetricsAddr = ""
	return c
}

func startDaemon(t *testing.T, cfg configs.Config, k *fakeKernel, l Learner) (*Daemon, context.CancelFunc, chan error) {
	t.Helper()
	built := false // l is the daemon's learner; later builds (the warm-up's) get their own
	d, err := New(Options{Config: cfg, Kernel: k, Log: zerolog.Nop(),
		NewLearner: func(configs.Config) (Learner, error) {
			if built {
				return newFakeLearner(), nil
			}
			built = true
			return l, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	return d, cancel, done
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// TestLoopPushesLearnedTables: records reach the learner and every update pushes its table,
// with heartbeats; a graceful stop detaches.
func TestLoopPushesLearnedTables(t *testing.T) {
	k := newFakeKernel(16)
	l := newFakeLearner()
	cfg := testConfig(t)
	d, cancel, done := startDaemon(t, cfg, k, l)
	for i := 0; i < 3; i++ {
		k.records <- policy.Record{Function: 7, Start: 1, End: 10, CPU: 5}
	}
	k.records <- policy.Record{Function: 9, Start: 1, End: 10, CPU: 5}
	waitFor(t, "a table with both functions", func() bool {
		pols, _, _, _ := k.snapshot()
		return len(pols) > 0 && pols[len(pols)-1].Len() == 2
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run after stop: %v", err)
	}
	pols, beats, _, closed := k.snapshot()
	last := pols[len(pols)-1]
	if last.Entries[9].Rank != 1 || last.Entries[7].Rank != 3 {
		t.Errorf("table %+v does not reflect the records", last.Entries)
	}
	if beats < 2 || !closed {
		t.Errorf("beats %d closed %v", beats, closed)
	}
	if s := d.Stats(); s.Records != 4 || s.Updates == 0 || s.UpdateP99Ms <= 0 || s.UpdateFirstMs <= 0 || s.UpdateMaxMs < s.UpdateFirstMs {
		t.Errorf("stats %+v", s)
	}
	// The warm-up's synthetic window went to a throwaway learner, not to the daemon's.
	if len(l.seen) != 2 || l.seen[7] != 3 || l.seen[9] != 1 {
		t.Errorf("the daemon's learner saw %v, want only the 4 records", l.seen)
	}
}

func TestLearningOffPushesNoRanks(t *testing.T) {
	k := newFakeKernel(16)
	cfg := testConfig(t)
	cfg.Frontend.Learning = false
	_, cancel, done := startDaemon(t, cfg, k, newFakeLearner())
	k.records <- policy.Record{Function: 1, End: 5}
	waitFor(t, "heartbeats", func() bool { _, b, _, _ := k.snapshot(); return b > 3 })
	cancel()
	<-done
	pols, _, _, _ := k.snapshot()
	if len(pols) != 1 || pols[0] != nil {
		t.Errorf("learning off pushed %d tables (%v), want only the initial clear", len(pols), pols)
	}
}

func TestEjection(t *testing.T) {
	tests := []struct {
		name    string
		info    policy.ExitInfo
		want    error
		restart bool
	}{
		{"stall", policy.ExitInfo{Kind: 1026, Reason: "runnable task stall", Message: "watchdog failed"}, ErrEjected, false},
		{"bpf error asking restart", policy.ExitInfo{Kind: 1025, Code: 1 << 48, Reason: "scx_bpf_error"}, ErrRestart, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := newFakeKernel(1)
			d, cancel, done := startDaemon(t, testConfig(t), k, newFakeLearner())
			defer cancel()
			k.exited <- tt.info
			err := <-done
			var ee *EjectedError
			if !errors.Is(err, tt.want) || !errors.As(err, &ee) || ee.Info != tt.info {
				t.Fatalf("Run = %v, want %v carrying %+v", err, tt.want, tt.info)
			}
			if !strings.Contains(err.Error(), tt.info.Reason) {
				t.Errorf("error %q lacks the reason", err)
			}
			if got := counterValue(d.metrics.Ejections); got != 1 {
				t.Errorf("ejections metric %g", got)
			}
		})
	}
}

// TestFloodIsDropped: records beyond the buffer are counted as dropped and the kernel side
// is never blocked.
func TestFloodIsDropped(t *testing.T) {
	k := newFakeKernel(0)
	cfg := testConfig(t)
	cfg.Learner.UpdateIntervalMs = 100000 // no update during the flood
	cfg.Frontend.RecordBuffer = 10
	d, cancel, done := startDaemon(t, cfg, k, newFakeLearner())
	const n = 5000
	sent := make(chan time.Duration)
	go func() {
		t0 := time.Now()
		for i := 0; i < n; i++ {
			k.records <- policy.Record{Function: uint32(i % 3), End: 1}
		}
		sent <- time.Since(t0)
	}()
	select {
	case <-sent:
	case <-time.After(5 * time.Second):
		t.Fatal("the kernel side blocked on a flood")
	}
	waitFor(t, "all records received", func() bool {
		d.mu.Lock()
		defer d.mu.Unlock()
		return d.received == n
	})
	d.mu.Lock()
	pending, dropped := len(d.pending), d.dropped
	d.mu.Unlock()
	if pending != 10 || dropped != n-10 {
		t.Errorf("pending %d dropped %d, want 10 and %d", pending, dropped, n-10)
	}
	cancel()
	<-done
}

func TestReloadKeepsWindowAndAttachment(t *testing.T) {
	k := newFakeKernel(4)
	cfg := testConfig(t)
	var builds atomic.Int32 // the learner is built on the daemon's goroutine
	d, err := New(Options{Config: cfg, Kernel: k, Log: zerolog.Nop(),
		NewLearner: func(configs.Config) (Learner, error) { builds.Add(1); return newFakeLearner(), nil }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	bad := cfg
	bad.Learner.Alpha = -1
	if err := d.Reload(bad); err == nil || !strings.Contains(err.Error(), "learner.alpha") {
		t.Errorf("bad reload: %v", err)
	}
	next := cfg
	next.Frontend.Learning = false
	next.Learner.UpdateIntervalMs = cfg.Learner.UpdateIntervalMs * 2
	if err := d.Reload(next); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the reload", func() bool {
		pols, _, _, _ := k.snapshot()
		return len(pols) > 0 && pols[len(pols)-1] == nil
	})
	// The same interval again: the record latency is left alone.
	same := next
	same.Learner.Alpha = next.Learner.Alpha / 2
	if err := d.Reload(same); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the second reload", func() bool { return builds.Load() == 4 })
	cancel()
	<-done
	if n := builds.Load(); n != 4 { // New's, the warm-up's throwaway, the two reloads'
		t.Errorf("learner built %d times, want 4", n)
	}
	k.mu.Lock()
	lat := k.latencies
	k.mu.Unlock()
	want := time.Duration(next.Learner.UpdateIntervalMs) * time.Millisecond
	if len(lat) != 1 || lat[0] != want {
		t.Errorf("record latencies set %v, want [%v] (the new update interval, once)", lat, want)
	}
	if _, _, _, closed := k.snapshot(); !closed {
		t.Error("not detached at stop")
	}
}

// TestCgroupClassification: existing and newly created cgroups matching a pattern are
// classified (by inode), others not, and a removed one is forgotten.
func TestCgroupClassification(t *testing.T) {
	k := newFakeKernel(1)
	cfg := testConfig(t)
	root := cfg.Frontend.CgroupRoot
	cfg.Frontend.CgroupPatterns = []string{`^faas/([^/]+)$`}
	cfg.Frontend.ProcessNames = []string{"resize", "thumb=resize"}
	if err := os.MkdirAll(filepath.Join(root, "faas", "hello"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(root, "system.slice", "sshd"), 0o755)
	d, cancel, done := startDaemon(t, cfg, k, newFakeLearner())
	defer func() { cancel(); <-done }()
	hello, _ := CgroupID(filepath.Join(root, "faas", "hello"))
	waitFor(t, "the existing cgroup", func() bool { _, _, cg, _ := k.snapshot(); _, ok := cg[hello]; return ok })
	if err := os.Mkdir(filepath.Join(root, "faas", "world"), 0o755); err != nil {
		t.Fatal(err)
	}
	world, _ := CgroupID(filepath.Join(root, "faas", "world"))
	waitFor(t, "the new cgroup", func() bool { _, _, cg, _ := k.snapshot(); _, ok := cg[world]; return ok })
	_, _, cg, _ := k.snapshot()
	if len(cg) != 2 || cg[hello] == cg[world] {
		t.Errorf("cgroups %v", cg)
	}
	if d.Registry().Name(cg[world]) != "world" {
		t.Errorf("id %d names %q", cg[world], d.Registry().Name(cg[world]))
	}
	k.mu.Lock()
	if k.comms["resize"] != k.comms["thumb"] {
		t.Errorf("process rules %v: thumb should share resize's function", k.comms)
	}
	k.mu.Unlock()
	os.Remove(filepath.Join(root, "faas", "world"))
	waitFor(t, "the removed cgroup forgotten", func() bool { _, _, cg, _ := k.snapshot(); _, ok := cg[world]; return !ok })
}

func TestMissingCgroupRootKeepsRunning(t *testing.T) {
	k := newFakeKernel(1)
	cfg := testConfig(t)
	cfg.Frontend.CgroupRoot = filepath.Join(t.TempDir(), "absent")
	cfg.Frontend.CgroupPatterns = []string{`.*`}
	var logs strings.Builder
	d, err := New(Options{Config: cfg, Kernel: k, Log: zerolog.New(&syncWriter{b: &logs}),
		NewLearner: func(configs.Config) (Learner, error) { return newFakeLearner(), nil }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	waitFor(t, "an update", func() bool { p, _, _, _ := k.snapshot(); return len(p) > 0 })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "cgroup root does not exist") {
		t.Errorf("no warning in %s", logs.String())
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name string
		edit func(*configs.Config)
		key  string
	}{
		{"pattern", func(c *configs.Config) { c.Frontend.CgroupPatterns = []string{"("} }, "frontend.cgroup_patterns[0]"},
		{"process name", func(c *configs.Config) { c.Frontend.ProcessNames = []string{"a-name-longer-than-15"} }, "frontend.process_names[0]"},
		{"buffer", func(c *configs.Config) { c.Frontend.RecordBuffer = 0 }, "frontend.record_buffer"},
		{"heartbeat", func(c *configs.Config) { c.Frontend.HeartbeatIntervalMs = -1 }, "frontend.heartbeat_interval_ms"},
	}
	for _, tt := range tests {
		cfg := testConfig(t)
		tt.edit(&cfg)
		_, err := New(Options{Config: cfg, Kernel: newFakeKernel(1), NewLearner: func(configs.Config) (Learner, error) { return newFakeLearner(), nil }})
		if err == nil || !strings.HasPrefix(err.Error(), tt.key) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: New = %v, want one line starting with %s", tt.name, err, tt.key)
		}
	}
}

func TestRegistryBounded(t *testing.T) {
	r := NewRegistry(2)
	a, _ := r.ID("a")
	b, _ := r.ID("b")
	r.Touch(a)
	c, ev := r.ID("c")
	if ev != "b" || c != b || r.Len() != 2 || r.Name(c) != "c" {
		t.Errorf("evicted %q, c=%d b=%d len %d", ev, c, b, r.Len())
	}
	if again, _ := r.ID("a"); again != a {
		t.Errorf("a changed id %d -> %d", a, again)
	}
}

type syncWriter struct {
	mu sync.Mutex
	b  *strings.Builder
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}
