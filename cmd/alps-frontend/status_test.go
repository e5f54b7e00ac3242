package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/alps-sched/alps/backend"
	"github.com/alps-sched/alps/cmd/internal/cli"
	"github.com/alps-sched/alps/configs"
	"github.com/alps-sched/alps/frontend"
	"github.com/alps-sched/alps/policy"
)

// fakePins is a statusSource over a fixed snapshot.
type fakePins struct {
	snap   backend.Snapshot
	err    error
	closed bool
}

func (f *fakePins) Snapshot() (backend.Snapshot, error) { return f.snap, f.err }
func (f *fakePins) Close() error                        { f.closed = true; return nil }

// fakeEnv serves src for the directory want and ErrNotPinned elsewhere.
func fakeEnv(want string, src *fakePins) (statusEnv, *string) {
	var opened string
	return statusEnv{
		open: func(dir string) (statusSource, error) {
			opened = dir
			if dir != want || src == nil {
				return nil, fmt.Errorf("%s: %w", dir, backend.ErrNotPinned)
			}
			return src, nil
		},
		schedExt: func() (string, string, error) { return "enabled", "alps", nil },
	}, &opened
}

func testSnapshot() backend.Snapshot {
	ms := time.Millisecond
	return backend.Snapshot{
		Knobs: policy.Knobs{WakeLag: int64(20 * ms), DefaultSlice: int64(20 * ms), MaxWait: int64(2 * time.Second),
			Preempt: true},
		Default: policy.Entry{Rank: 3, NSteps: 2, StepAt: [policy.MaxSteps]int64{0, int64(80 * ms)},
			StepRank: [policy.MaxSteps]uint32{3, 9}},
		HasDefault:     true,
		HeartbeatStale: 3 * time.Second,
		Layout:         backend.LayoutVersion,
		Generation:     1,
		Heartbeat:      10_000 * int64(ms),
		Now:            10_250 * int64(ms),
		Policy: map[uint32]policy.Entry{
			0: {Rank: 2, Slice: int64(5 * ms)},
			1: {Rank: 0}, // default slice
			2: {Rank: 1, Slice: int64(12 * ms), NSteps: 2, StepAt: [policy.MaxSteps]int64{0, int64(40 * ms)},
				StepRank: [policy.MaxSteps]uint32{1, 6}},
			7: {Rank: 1, Slice: int64(3 * ms)}, // ties with 2: by id
		},
		Counters: backend.Counters{Enqueues: 1000, Ranked: 900, Default: 50, Aged: 3, Preempted: 7, Kept: 11, Records: 42},
		Comms:    map[string]uint32{"resize": 0, "thumbnail-gen": 1},
	}
}

// runFrontend runs alps-frontend with args and returns the exit code, stdout and stderr.
func runFrontend(t *testing.T, env statusEnv, args ...string) (int, string, string) {
	t.Helper()
	app, err := newApp(env)
	if err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	app.SetOutput(&out, &errb)
	code := app.Execute(t.Context(), args)
	return code, out.String(), errb.String()
}

func writeConfig(t *testing.T, yaml string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "alps.yaml")
	if err := os.WriteFile(p, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestBuildStatusOrderAndTop(t *testing.T) {
	snap := testSnapshot()
	names := map[uint32]functionName{0: {name: "resize", by: []string{"comm resize"}}}
	tests := []struct {
		top     int
		wantIDs []uint32
	}{
		{0, []uint32{1, 2, 7, 0}},
		{2, []uint32{1, 2}},
		{10, []uint32{1, 2, 7, 0}},
	}
	for _, tt := range tests {
		r := buildStatus(snap, names, "/pins", tt.top)
		var ids []uint32
		for _, row := range r.Top {
			ids = append(ids, row.ID)
		}
		if fmt.Sprint(ids) != fmt.Sprint(tt.wantIDs) {
			t.Errorf("top %d: ids %v, want %v (by rank, ties by id)", tt.top, ids, tt.wantIDs)
		}
		if r.Functions != 4 {
			t.Errorf("top %d: Functions = %d, want 4 (the whole table)", tt.top, r.Functions)
		}
	}
	r := buildStatus(snap, names, "/pins", 0)
	byID := map[uint32]statusRow{}
	for _, row := range r.Top {
		byID[row.ID] = row
	}
	if byID[1].SliceMs != 20 || byID[0].SliceMs != 5 {
		t.Errorf("slices: id 1 %.2f ms (want the default 20), id 0 %.2f ms (want 5)", byID[1].SliceMs, byID[0].SliceMs)
	}
	if byID[0].Name != "resize" || byID[7].Name != "#7" {
		t.Errorf("names: %q and %q, want resize and #7", byID[0].Name, byID[7].Name)
	}
	if r.HeartbeatAgeMs != 250 || r.HeartbeatStale || r.StaleAfterMs != 3000 || r.Generation != 1 {
		t.Errorf("heartbeat: age %.1f stale %v bound %.0f gen %d", r.HeartbeatAgeMs, r.HeartbeatStale, r.StaleAfterMs, r.Generation)
	}
}

func TestFunctionNames(t *testing.T) {
	root := t.TempDir()
	video := filepath.Join(root, "kubepods", "pod1", "fn-video")
	other := filepath.Join(root, "system.slice", "cron")
	for _, d := range []string{video, other} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	videoID, err := frontend.CgroupID(video)
	if err != nil {
		t.Fatal(err)
	}
	otherID, _ := frontend.CgroupID(other)
	snap := testSnapshot()
	snap.Cgroups = map[uint64]uint32{videoID: 2, otherID: 7, 1 << 60: 9} // the last one is gone
	cfg := loadTestConfig(t, fmt.Sprintf(`
frontend:
  cgroup_root: %s
  cgroup_patterns: ["fn-([^/]+)$"]
  process_names: ["thumbnail-gen=thumbs"]
`, root))
	names := functionNames(snap, cfg)
	want := map[uint32]functionName{
		0: {"resize", []string{"comm resize"}},                  // no rule: the process name
		1: {"thumbs", []string{"comm thumbnail-gen"}},           // NAME=FUNCTION rule
		2: {"video", []string{"cgroup kubepods/pod1/fn-video"}}, // pattern's capture group
		7: {"system.slice/cron", []string{"cgroup system.slice/cron"}},
	}
	if len(names) != len(want) {
		t.Errorf("names = %v, want %v", names, want)
	}
	for id, w := range want {
		if got := names[id]; got.name != w.name || fmt.Sprint(got.by) != fmt.Sprint(w.by) {
			t.Errorf("names[%d] = %+v, want %+v", id, got, w)
		}
	}
}

func loadTestConfig(t *testing.T, yaml string) (cfg configs.Config) {
	t.Helper()
	app, err := cli.New("t", "t")
	if err != nil {
		t.Fatal(err)
	}
	path := writeConfig(t, yaml)
	app.Root().RunE = func(*cobra.Command, []string) error { cfg = app.Config(); return nil }
	var errb bytes.Buffer
	app.SetOutput(&bytes.Buffer{}, &errb)
	if code := app.Execute(t.Context(), []string{"--config", path}); code != 0 {
		t.Fatalf("config: %s", errb.String())
	}
	return cfg
}

func TestStatusText(t *testing.T) {
	src := &fakePins{snap: testSnapshot()}
	env, opened := fakeEnv("/run/pins", src)
	cfgPath := writeConfig(t, "frontend:\n  pin_path: /run/pins\n  process_names: [\"thumbnail-gen=thumbs\"]\n")
	code, out, errOut := runFrontend(t, env, "status", "--config", cfgPath, "--top", "3")
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	if *opened != "/run/pins" || !src.closed {
		t.Errorf("opened %q (closed %v), want /run/pins from frontend.pin_path, closed", *opened, src.closed)
	}
	for _, want := range []string{
		"pinned maps:    /run/pins\n",
		`sched_ext:      enabled (ops "alps")`,
		"heartbeat:      250ms ago (ranks apply; stale after 3s)",
		"policy:         4 functions ranked (table 1); wake lag 20 ms, default slice 20 ms, max wait 2000 ms, preempt true\n",
		"default entry:  rank 3, slice 20.00 ms, steps 0ms:3 80ms:9 (functions without an entry)\n",
		"enqueues 1000,", "ranked 900,", "default 50,", "aged 3,", "preempted 7,", "kept 11,", "records 42,",
		"(top 3 of 4; --top 0 shows all)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// The table: a header and three rows, columns aligned (each column starts at the same
	// offset on every line).
	lines := strings.Split(out, "\n")
	var table []string
	for i, l := range lines {
		if strings.HasPrefix(l, "RANK") {
			table = lines[i : i+4]
		}
	}
	if table == nil {
		t.Fatalf("no table header:\n%s", out)
	}
	wantRows := [][]string{
		{"RANK", "ID", "FUNCTION", "SLICE_MS", "STEPS", "(CPU", "USED", "->", "RANK)", "CLASSIFIED", "BY"},
		{"0", "1", "thumbs", "20.00", "-", "comm", "thumbnail-gen"},
		{"1", "2", "#2", "12.00", "0ms:1", "40ms:6"},
		{"1", "7", "#7", "3.00", "-"},
	}
	col := regexp.MustCompile(`\S+`)
	header := col.FindAllStringIndex(table[0], -1)
	for i, l := range table {
		if got := strings.Fields(l); fmt.Sprint(got) != fmt.Sprint(wantRows[i]) {
			t.Errorf("table line %d = %q, want fields %v", i, l, wantRows[i])
		}
		cells := col.FindAllStringIndex(l, -1)
		for c := 0; c < 5; c++ {
			if cells[c][0] != header[c][0] {
				t.Errorf("table line %d: column %d starts at %d, header at %d:\n%s", i, c, cells[c][0], header[c][0], strings.Join(table, "\n"))
			}
		}
	}
}

func TestStatusStaleAndEmpty(t *testing.T) {
	snap := testSnapshot()
	snap.Now = snap.Heartbeat + int64(5*time.Second)
	snap.Policy = nil
	snap.HasDefault = false
	const leftOver = "alps is not attached; these pins were left by a daemon that did not stop cleanly"
	env, _ := fakeEnv("/sys/fs/bpf/alps", &fakePins{snap: snap})
	code, out, errOut := runFrontend(t, env, "status")
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	for _, want := range []string{"5s ago STALE: older than 3s, the kernel ignores the ranks", "no function is ranked yet",
		"default entry:  none (functions without an entry are unranked)"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, leftOver) {
		t.Errorf("alps attached, yet the pins are called left over:\n%s", out)
	}
	env.schedExt = func() (string, string, error) { return "disabled", "", nil }
	if code, out, errOut = runFrontend(t, env, "status"); code != 0 || !strings.Contains(out, "sched_ext:      disabled: "+leftOver) {
		t.Errorf("sched_ext disabled: exit %d (stderr %q), output lacks the left-over note:\n%s", code, errOut, out)
	}
}

func TestStatusJSON(t *testing.T) {
	env, _ := fakeEnv("/sys/fs/bpf/alps", &fakePins{snap: testSnapshot()})
	code, out, errOut := runFrontend(t, env, "status", "--json", "--top", "2")
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	var r struct {
		PinPath        string  `json:"pin_path"`
		SchedExt       string  `json:"sched_ext"`
		Ops            string  `json:"ops"`
		HeartbeatAgeMs float64 `json:"heartbeat_age_ms"`
		HeartbeatStale *bool   `json:"heartbeat_stale"`
		Functions      int     `json:"functions"`
		Knobs          struct {
			DefaultSliceMs float64 `json:"default_slice_ms"`
			MaxWaitMs      float64 `json:"max_wait_ms"`
			Preempt        bool    `json:"preempt"`
		} `json:"knobs"`
		Default *struct {
			Rank  uint32 `json:"rank"`
			Steps []struct {
				FromMs float64 `json:"from_ms"`
				Rank   uint32  `json:"rank"`
			} `json:"steps"`
		} `json:"default"`
		Top []struct {
			ID      uint32  `json:"id"`
			Name    string  `json:"name"`
			Rank    uint32  `json:"rank"`
			SliceMs float64 `json:"slice_ms"`
			Steps   []struct {
				FromMs float64 `json:"from_ms"`
				Rank   uint32  `json:"rank"`
			} `json:"steps"`
			ClassifiedBy []string `json:"classified_by"`
		} `json:"top"`
		Counters struct {
			Enqueues uint64 `json:"enqueues"`
		} `json:"counters"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if r.PinPath != "/sys/fs/bpf/alps" || r.SchedExt != "enabled" || r.Ops != "alps" || r.HeartbeatAgeMs != 250 ||
		r.HeartbeatStale == nil || *r.HeartbeatStale || r.Functions != 4 || r.Knobs.DefaultSliceMs != 20 || r.Counters.Enqueues != 1000 ||
		r.Knobs.MaxWaitMs != 2000 || !r.Knobs.Preempt || r.Default == nil || r.Default.Rank != 3 || fmt.Sprint(r.Default.Steps) != "[{0 3} {80 9}]" {
		t.Errorf("header fields wrong: %+v", r)
	}
	if len(r.Top) != 2 || r.Top[0].ID != 1 || r.Top[0].Name != "thumbnail-gen" || r.Top[0].SliceMs != 20 ||
		fmt.Sprint(r.Top[0].ClassifiedBy) != "[comm thumbnail-gen]" || r.Top[1].ID != 2 || r.Top[1].Rank != 1 || r.Top[1].SliceMs != 12 {
		t.Errorf("top = %+v", r.Top)
	}
	if len(r.Top) == 2 && (len(r.Top[0].Steps) != 0 || fmt.Sprint(r.Top[1].Steps) != "[{0 1} {40 6}]") {
		t.Errorf("steps = %+v and %+v, want none and [{0 1} {40 6}]", r.Top[0].Steps, r.Top[1].Steps)
	}
}

func TestStatusFailures(t *testing.T) {
	tests := []struct {
		name     string
		env      statusEnv
		args     []string
		wantCode int
		wantErr  string
	}{
		{"nothing pinned", func() statusEnv { e, _ := fakeEnv("/elsewhere", nil); return e }(), []string{"status"},
			cli.ExitFailure, "alps-frontend: status (frontend.pin_path): /sys/fs/bpf/alps: no alps maps are pinned here"},
		{"not root", statusEnv{open: func(d string) (statusSource, error) {
			return nil, fmt.Errorf("%s: %w", d, backend.ErrPinnedAccess)
		}}, []string{"status"}, cli.ExitFailure, "needs root"},
		{"unreadable maps", func() statusEnv {
			e, _ := fakeEnv("/sys/fs/bpf/alps", &fakePins{err: errors.New("reading the pinned knobs: bad fd")})
			return e
		}(), []string{"status"}, cli.ExitFailure, "status: /sys/fs/bpf/alps: reading the pinned knobs: bad fd"},
		{"negative top", func() statusEnv { e, _ := fakeEnv("", nil); return e }(), []string{"status", "--top", "-1"},
			cli.ExitUsage, "--top -1"},
		{"stray argument", func() statusEnv { e, _ := fakeEnv("", nil); return e }(), []string{"status", "now"},
			cli.ExitUsage, "alps-frontend: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runFrontend(t, tt.env, tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d (stderr %q)", code, tt.wantCode, errOut)
			}
			if !strings.Contains(errOut, tt.wantErr) || strings.Count(errOut, "\n") != 1 {
				t.Errorf("stderr %q: want one line containing %q", errOut, tt.wantErr)
			}
			if out != "" {
				t.Errorf("stdout %q, want nothing", out)
			}
		})
	}
}

// TestStatusRealPinsAbsent runs the real reader: a pin path with nothing pinned fails with one
// line and a non-zero exit, without root.
func TestStatusRealPinsAbsent(t *testing.T) {
	cfg := writeConfig(t, fmt.Sprintf("frontend:\n  pin_path: %s\n", filepath.Join(t.TempDir(), "alps")))
	code, out, errOut := runFrontend(t, kernelStatus(), "status", "--config", cfg)
	if code != cli.ExitFailure || out != "" || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, "no alps maps are pinned") {
		t.Errorf("exit %d, stdout %q, stderr %q; want exit 1 and one line saying nothing is pinned", code, out, errOut)
	}
}

// TestStatusWarm: status says which functions are learned per class hint, with their class
// entries, and what the warm workers' marks came to.
func TestStatusWarm(t *testing.T) {
	snap := testSnapshot()
	snap.Classes = map[policy.ClassKey]policy.Entry{{Function: 1, Class: 3}: {Rank: 4}, {Function: 1, Class: 1}: {Rank: 0}}
	snap.Counters.MarkedStarts, snap.Counters.NestedStarts, snap.Counters.Classed = 120, 2, 77
	env, _ := fakeEnv("/run/pins", &fakePins{snap: snap})
	cfgPath := writeConfig(t, "frontend:\n  pin_path: /run/pins\n  process_names: [\"thumbnail-gen=thumbs\"]\n")
	code, out, errOut := runFrontend(t, env, "status", "--config", cfgPath)
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	for _, want := range []string{
		"learned per class:  thumbs (id 1): 1: rank 0 steps -, 3: rank 4 steps -\n",
		"warm invocations:   starts 120, ordered by a class 77; ignored: starts inside an invocation 2,",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = runFrontend(t, env, "status", "--config", cfgPath, "--json")
	var r statusReport
	if err := json.Unmarshal([]byte(out), &r); code != 0 || err != nil {
		t.Fatalf("exit %d, %v", code, err)
	}
	if len(r.Classed) != 1 || r.Classed[0].Name != "thumbs" || len(r.Classed[0].Classes) != 2 || r.Classed[0].Classes[1].Class != 3 ||
		r.Counters.MarkedStarts != 120 {
		t.Errorf("JSON classed %+v, counters %+v", r.Classed, r.Counters)
	}
	// Without warm workers status says nothing of them.
	env, _ = fakeEnv("/run/pins", &fakePins{snap: testSnapshot()})
	if _, out, _ := runFrontend(t, env, "status", "--config", cfgPath); strings.Contains(out, "warm") || strings.Contains(out, "per class") {
		t.Errorf("status without warm workers mentions them:\n%s", out)
	}
}
