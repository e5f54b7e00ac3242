package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alps-sched/alps/cmd/internal/cli"
	"github.com/alps-sched/alps/experiments/loadgen"
)

// writeRecords writes a recorded-invocations file (load generator results CSV): every 100 ms
// an invocation of "short" (5 ms of CPU), every 300 ms one of "long" (300 ms), for n periods,
// and one lost invocation at the end. It returns the path and the completed invocations.
func writeRecords(t *testing.T, n int) (string, []loadgen.Result) {
	t.Helper()
	ms := int64(time.Millisecond)
	var rs []loadgen.Result
	for k := range n {
		at := int64(k) * 100 * ms
		rs = append(rs, loadgen.Result{ID: len(rs), Function: "short", Arrival: at, Start: at, End: at + 6*ms, CPU: 5 * ms, Demand: 5 * ms})
		if k%3 == 0 {
			rs = append(rs, loadgen.Result{ID: len(rs), Function: "long", Arrival: at, Start: at, End: at + 320*ms, CPU: 300 * ms, Demand: 300 * ms})
		}
	}
	done := len(rs)
	rs = append(rs, loadgen.Result{ID: len(rs), Function: "long", Arrival: int64(n) * 100 * ms, Demand: 300 * ms, Lost: true, Err: "spawn failed"})
	p := filepath.Join(t.TempDir(), "results.csv")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := loadgen.WriteResults(f, rs); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return p, rs[:done]
}

// noPins is a status environment that must not be reached.
func noPins(t *testing.T) statusEnv {
	return statusEnv{
		open: func(string) (statusSource, error) {
			t.Error("status opened pins in a test that does not run status")
			return nil, fmt.Errorf("unexpected")
		},
		schedExt: func() (string, string, error) { return "", "", fmt.Errorf("unexpected") },
	}
}

// policyRow is one row of the dry run's printed table.
type policyRow struct {
	rank          int
	slice, demand float64
}

func parsePolicy(t *testing.T, out string) map[string]policyRow {
	t.Helper()
	rows := map[string]policyRow{}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for i, l := range lines {
		if !strings.HasPrefix(l, "FUNCTION") {
			continue
		}
		for _, r := range lines[i+1:] {
			f := strings.Fields(r)
			if len(f) != 4 {
				t.Fatalf("table row %q: want 4 fields", r)
			}
			rank, err1 := strconv.Atoi(f[1])
			slice, err2 := strconv.ParseFloat(f[2], 64)
			demand, err3 := strconv.ParseFloat(f[3], 64)
			if err1 != nil || err2 != nil || err3 != nil {
				t.Fatalf("table row %q: not rank, slice, demand numbers", r)
			}
			rows[f[0]] = policyRow{rank, slice, demand}
		}
		return rows
	}
	t.Fatalf("no policy table in:\n%s", out)
	return nil
}

func TestDryRunOverRecords(t *testing.T) {
	recs, done := writeRecords(t, 30) // 30 x short, 10 x long; completions from 6 ms to 2.72 s
	tests := []struct {
		name        string
		config      string
		wantUpdates int
	}{
		// One update per interval of recorded time from the first completion (6 ms), then a
		// final one: 1 s -> 1.006, 2.006, 3.006 s (+ final) = 4; 0.5 s -> 0.506..3.006 s (+ final) = 7.
		{"default interval", "", 4},
		{"half-second interval", "learner:\n  update_interval_ms: 500\n", 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"--dry-run", "--records", recs, "--log-level", "error"}
			if tt.config != "" {
				args = append(args, "--config", writeConfig(t, tt.config))
			}
			code, out, errOut := runFrontend(t, noPins(t), args...)
			if code != 0 {
				t.Fatalf("exit %d, stderr %q", code, errOut)
			}
			head := fmt.Sprintf("dry run over %d recorded invocations, %d updates; final policy (version %d):",
				len(done)+1, tt.wantUpdates, tt.wantUpdates)
			if !strings.HasPrefix(out, head) {
				t.Errorf("output starts %q, want %q", strings.SplitN(out, "\n", 2)[0], head)
			}
			rows := parsePolicy(t, out)
			short, long := rows["short"], rows["long"]
			if len(rows) != 2 {
				t.Fatalf("policy rows %v, want short and long", rows)
			}
			if short.demand != 5 || long.demand != 300 {
				t.Errorf("demands: short %.2f, long %.2f ms; want 5 and 300 (the recorded CPU)", short.demand, long.demand)
			}
			if short.rank >= long.rank {
				t.Errorf("short ranked %d, long %d: SRPT must run the short function first", short.rank, long.rank)
			}
			if short.slice <= 0 || short.slice > long.slice {
				t.Errorf("slices: short %.2f ms, long %.2f ms; want 0 < short <= long", short.slice, long.slice)
			}
		})
	}
}

// TestDryRunLive runs the daemon's dry run without records (the scheduler is not loaded)
// while processes of a classified name run, until its context ends: it stops cleanly, writes
// the stats file and, where the tracer loads (root, BTF), learned from their live records.
func TestDryRunLive(t *testing.T) {
	stats := filepath.Join(t.TempDir(), "stats.json")
	app, err := newApp(noPins(t))
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	errb := &syncBuffer{}
	app.SetOutput(&out, errb)
	// The daemon runs until a second (five update intervals) after the invocations ended,
	// however long they take on a loaded machine; the timeout only ends a hung test.
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cfg := writeConfig(t, "learner:\n  update_interval_ms: 200\n"+
		"frontend:\n  metrics_addr: \"\"\n  cgroup_root: /nonexistent\n  process_names: [\"alpsdrytest=dryfn\"]\n")
	code := make(chan int, 1)
	go func() {
		code <- app.Execute(ctx, []string{"--dry-run", "--config", cfg, "--stats-file", stats, "--log-level", "debug"})
	}()
	// Three invocations of dryfn once the daemon has classified.
	for !strings.Contains(errb.String(), "learning loop started") && ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
	}
	link := filepath.Join(t.TempDir(), "alpsdrytest")
	if err := os.Symlink("/bin/sh", link); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := exec.Command(link, "-c", "i=0; while [ $i -lt 5000 ]; do i=$((i+1)); done").Run(); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(time.Second)
	cancel()
	if c := <-code; c != 0 {
		t.Fatalf("exit %d, stderr %q", c, errb.String())
	}
	data, err := os.ReadFile(stats)
	if err != nil {
		t.Fatalf("no stats file: %v (stderr %q)", err, errb.String())
	}
	var s struct {
		Updates *uint64  `json:"updates"`
		Records *uint64  `json:"records"`
		Wall    *float64 `json:"wall_seconds"`
	}
	if err := json.Unmarshal(data, &s); err != nil || s.Updates == nil || s.Records == nil || s.Wall == nil {
		t.Fatalf("stats file %s: %v", data, err)
	}
	if *s.Wall < 1 {
		t.Errorf("stats %s: want >= 1 s of wall time", data)
	}
	log := errb.String()
	if strings.Contains(log, "dry run without live records") {
		if *s.Records != 0 {
			t.Errorf("stats %s: records without a tracer", data)
		}
		t.Skipf("the tracer could not be loaded here; the dry run ran without live records")
	}
	if !strings.Contains(log, "dry run: invocation records from tracepoints") {
		t.Errorf("log lacks the live dry-run notice:\n%s", log)
	}
	if *s.Records != 3 || *s.Updates < 1 {
		t.Errorf("stats %s: want the 3 invocations of dryfn recorded and at least one update", data)
	}
	if !strings.Contains(log, "dryfn:") {
		t.Errorf("no pushed policy ranks dryfn:\n%s", log)
	}
}

// syncBuffer is a strings.Builder safe for the daemon's logger and the test to share.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	badHeader := filepath.Join(dir, "bad-header.csv")
	badNumber := filepath.Join(dir, "bad-number.csv")
	allLost := filepath.Join(dir, "all-lost.csv")
	files := map[string]string{
		badHeader: "id,fn,arrival_ms\n1,a,0\n",
		badNumber: "id,function,arrival_ms,start_ms,end_ms,cpu_ms,demand_ms,io_ms,blocks,lost,error\n" +
			"0,a,0,0,10,5,5,0,0,0,\n1,a,0,0,ten,5,5,0,0,0,\n",
		allLost: "id,function,arrival_ms,start_ms,end_ms,cpu_ms,demand_ms,io_ms,blocks,lost,error\n0,a,0,0,0,0,5,0,0,1,boom\n",
	}
	for p, body := range files {
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	recs, _ := writeRecords(t, 3)
	missing := filepath.Join(dir, "missing.csv")
	tests := []struct {
		name     string
		config   string // written to a file and passed with --config when not empty
		args     []string
		wantCode int
		wantErr  []string // substrings of the one stderr line
	}{
		{"unknown config key", "learner:\n  window_sise: 5\n", []string{"--dry-run", "--records", recs},
			cli.ExitFailure, []string{`alps.yaml:2: unknown key "learner.window_sise"`}},
		{"unknown config section", "frontnd:\n  pin_path: /x\n", []string{"status"},
			cli.ExitFailure, []string{`alps.yaml:1: unknown key "frontnd"`}},
		{"bad config value", "frontend:\n  heartbeat_interval_ms: 0\n", []string{"--dry-run", "--records", recs},
			cli.ExitFailure, []string{"frontend.heartbeat_interval_ms"}},
		{"simulator-only key", "learner:\n  censored: true\n", []string{"--dry-run", "--records", recs},
			cli.ExitFailure, []string{"alps.yaml:2: learner.censored: the backend does not report running invocations"}},
		{"bad process-name rule", "frontend:\n  process_names: [\"a-name-longer-than-15=f\"]\n", []string{"--dry-run", "--records", recs},
			cli.ExitFailure, []string{"frontend.process_names[0]"}},
		{"bad log level", "", []string{"--log-level", "loud", "--dry-run", "--records", recs},
			cli.ExitFailure, []string{"log.level"}},
		{"missing config file", "", []string{"--config", missing, "--dry-run", "--records", recs},
			cli.ExitFailure, []string{missing}},
		{"records without dry run", "", []string{"--records", recs},
			cli.ExitUsage, []string{"--records needs --dry-run"}},
		{"missing records file", "", []string{"--dry-run", "--records", missing},
			cli.ExitFailure, []string{missing, "no such file"}},
		{"records with a foreign header", "", []string{"--dry-run", "--records", badHeader},
			cli.ExitFailure, []string{badHeader}},
		{"records with a bad number", "", []string{"--dry-run", "--records", badNumber},
			cli.ExitFailure, []string{badNumber + ":3:5: end_ms: \"ten\" is not a number"}},
		{"records with nothing completed", "", []string{"--dry-run", "--records", allLost},
			cli.ExitFailure, []string{allLost, "no completed invocations"}},
		{"unknown flag", "", []string{"--dryrun"}, cli.ExitUsage, []string{"unknown flag: --dryrun"}},
		{"bad boolean", "", []string{"--learning=maybe", "--dry-run", "--records", recs}, cli.ExitUsage, []string{"--learning"}},
		{"stray argument", "", []string{"serve"}, cli.ExitUsage, []string{`"serve"`}},
		{"unknown subcommand flag", "", []string{"status", "--topp", "3"}, cli.ExitUsage, []string{"--topp"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.args
			if tt.config != "" {
				args = append([]string{"--config", writeConfig(t, tt.config)}, args...)
			}
			code, out, errOut := runFrontend(t, noPins(t), args...)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d", code, tt.wantCode)
			}
			if !strings.HasPrefix(errOut, "alps-frontend: ") || strings.Count(errOut, "\n") != 1 {
				t.Errorf("stderr %q: want one line starting with the program name", errOut)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr %q lacks %q", errOut, w)
				}
			}
			if out != "" {
				t.Errorf("stdout %q, want nothing", out)
			}
		})
	}
}

// TestNoSchedExt runs the daemon for real on a host without sched_ext: one line naming what is
// missing, exit 1. make vm-test runs it on the host (the tests named TestNoSchedExt*).
func TestNoSchedExt(t *testing.T) {
	if _, err := os.Stat("/sys/kernel/sched_ext"); err == nil {
		t.Skip("this host has sched_ext: the daemon would attach")
	}
	code, out, errOut := runFrontend(t, noPins(t), "--metrics-addr=")
	if code != cli.ExitFailure || out != "" || strings.Count(errOut, "\n") != 1 {
		t.Fatalf("exit %d, stdout %q, stderr %q; want exit 1 and one line", code, out, errOut)
	}
	if !strings.Contains(errOut, "sched_ext") && !strings.Contains(errOut, "BTF") && !strings.Contains(errOut, "root") {
		t.Errorf("stderr %q does not say what is missing (sched_ext, BTF or root)", errOut)
	}
	t.Logf("alps-frontend: exit %d, one line: %s", code, strings.TrimSpace(errOut))
}
