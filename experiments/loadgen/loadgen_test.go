package loadgen

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/alps-sched/alps/experiments/workload"
)

func TestPlanValidate(t *testing.T) {
	tests := []struct {
		name string
		plan Plan
		err  string
	}{
		{"ok", Plan{Functions: []string{"fa"}, Invocations: []Invocation{{Arrival: 1}, {Arrival: 2}}}, ""},
		{"unknown function", Plan{Functions: []string{"fa"}, Invocations: []Invocation{{Function: 1}}}, "not in the 1 functions"},
		{"out of order", Plan{Functions: []string{"fa"}, Invocations: []Invocation{{Arrival: 5}, {Arrival: 2}}}, "before the previous"},
		{"negative demand", Plan{Functions: []string{"fa"}, Invocations: []Invocation{{Demand: -1}}}, "negative"},
		{"long name", Plan{Functions: []string{"a-very-long-function-name"}}, "not a valid process name"},
		{"slash", Plan{Functions: []string{"a/b"}}, "not a valid process name"},
	}
	for _, tt := range tests {
		err := tt.plan.Validate()
		if (tt.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("%s: Validate() = %v, want %q", tt.name, err, tt.err)
		}
	}
}

func buildPayload(t *testing.T) string {
	t.Helper()
	bin, err := workload.BuildPayload(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// TestRunReplaysOnHost replays a tiny trace with real processes under the host's scheduler:
// every invocation completes, starts no earlier than its arrival, uses about its demand of CPU
// and runs under its function's name.
func TestRunReplaysOnHost(t *testing.T) {
	payload := buildPayload(t)
	cal, err := workload.Calibrate(20*time.Millisecond, 3, payload)
	if err != nil {
		t.Fatal(err)
	}
	plan := Plan{Functions: []string{"fshort", "flong"}}
	for i := 0; i < 8; i++ {
		fn, demand := uint32(0), int64(5*time.Millisecond)
		if i%4 == 3 {
			fn, demand = 1, int64(60*time.Millisecond)
		}
		plan.Invocations = append(plan.Invocations, Invocation{ID: i, Function: fn,
			Arrival: int64(i) * int64(15*time.Millisecond), Demand: demand})
	}
	plan.Invocations = append(plan.Invocations, Invocation{ID: 8, Function: 0, Arrival: int64(130 * time.Millisecond),
		Demand: int64(10 * time.Millisecond), Blocks: 2, Sleep: int64(20 * time.Millisecond)})
	links := t.TempDir()
	rs, st, err := Run(context.Background(), plan, Config{Payload: payload, LinkDir: links, Calibration: cal, Drain: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != len(plan.Invocations) {
		t.Fatalf("%d results, want %d", len(rs), len(plan.Invocations))
	}
	for _, r := range rs {
		if r.Lost {
			t.Errorf("invocation %d lost: %s", r.ID, r.Err)
			continue
		}
		if r.Start < r.Arrival || r.End < r.Start {
			t.Errorf("invocation %d: arrival %d start %d end %d out of order", r.ID, r.Arrival, r.Start, r.End)
		}
		if r.CPU > r.Demand*3+int64(50*time.Millisecond) {
			t.Errorf("invocation %d: CPU %v for a demand of %v", r.ID, time.Duration(r.CPU), time.Duration(r.Demand))
		}
	}
	if io := rs[8]; io.FCT() < int64(40*time.Millisecond) {
		t.Errorf("I/O invocation with 2 sleeps of 20ms finished in %v", time.Duration(io.FCT()))
	}
	if long := rs[3]; long.CPU < int64(30*time.Millisecond) {
		t.Errorf("60ms invocation used only %v of CPU", time.Duration(long.CPU))
	}
	if st.UtilWall <= 0 || st.UtilWall > 1 || st.UtilSpan > 1 || st.SpanS <= 0 || st.WallS < st.SpanS || st.ContextSwitches <= 0 {
		t.Errorf("replay stats %+v", st)
	}
	if target, err := os.Readlink(filepath.Join(links, "flong")); err != nil || target != payload {
		t.Errorf("link flong -> %q, %v; want %q", target, err, payload)
	}
}

func TestRunDrainKillsStragglers(t *testing.T) {
	payload := buildPayload(t)
	plan := Plan{Functions: []string{"fhog"}, Invocations: []Invocation{{ID: 0, Demand: int64(time.Hour)}}}
	cal := workload.Calibration{UnitsPerMs: 1000}
	rs, _, err := Run(context.Background(), plan, Config{Payload: payload, LinkDir: t.TempDir(), Calibration: cal, Drain: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if !rs[0].Lost || rs[0].Err == "" {
		t.Errorf("straggler not counted lost: %+v", rs[0])
	}
}

func TestRunMissingPayload(t *testing.T) {
	plan := Plan{Functions: []string{"fa"}, Invocations: []Invocation{{}}}
	_, _, err := Run(context.Background(), plan, Config{Payload: "/nonexistent/alps-payload", LinkDir: t.TempDir(),
		Calibration: workload.Calibration{UnitsPerMs: 1}})
	if err == nil || !strings.Contains(err.Error(), "payload") {
		t.Errorf("missing payload: %v", err)
	}
}

func TestResultsRoundTrip(t *testing.T) {
	want := []Result{
		{ID: 0, Function: "fa", Arrival: 1_000_000, Start: 1_500_000, End: 9_250_000, CPU: 7_000_000, Demand: 7_000_000, IO: 3_000_000, Blocks: 2},
		{ID: 1, Function: "fb", Arrival: 2_000_000, Lost: true, Err: "signal: killed"},
	}
	var buf bytes.Buffer
	if err := WriteResults(&buf, want); err != nil {
		t.Fatal(err)
	}
	got, err := ReadResults(&buf, "r.csv")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("got %d results", len(got))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("row %d: got %+v want %+v", i, got[i], want[i])
		}
	}
	_, err = ReadResults(strings.NewReader("id,function,arrival_ms,start_ms,end_ms,cpu_ms,demand_ms,io_ms,blocks,lost,error\n1,fa,x,0,0,0,0,0,0,0,\n"), "bad.csv")
	if err == nil || !strings.Contains(err.Error(), "bad.csv:2:3: arrival_ms") {
		t.Errorf("bad number: %v", err)
	}
}

// TestRunInCgroup checks that a payload starts inside its function's cgroup (cgroup v2),
// where the host has a writable cgroup v2 hierarchy.
func TestRunInCgroup(t *testing.T) {
	var root string
	for _, dir := range []string{"/sys/fs/cgroup/unified", "/sys/fs/cgroup"} {
		if _, err := os.Stat(filepath.Join(dir, "cgroup.procs")); err == nil {
			root = dir
			break
		}
	}
	if root == "" {
		t.Skip("no cgroup v2 hierarchy")
	}
	root, err := os.MkdirTemp(root, "alps-loadgen-test-")
	if err != nil {
		t.Skipf("cgroup v2 not writable: %v", err)
	}
	defer func() {
		os.Remove(filepath.Join(root, "fcg"))
		os.Remove(root)
	}()
	payload := buildPayload(t)
	plan := Plan{Functions: []string{"fcg"}, Invocations: []Invocation{{ID: 0, Demand: int64(time.Hour)}}}
	cfg := Config{Payload: payload, LinkDir: t.TempDir(), CgroupRoot: root,
		Calibration: workload.Calibration{UnitsPerMs: 1000}, Drain: 5 * time.Second}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan []Result)
	go func() {
		rs, _, err := Run(ctx, plan, cfg)
		if err != nil {
			t.Error(err)
		}
		done <- rs
	}()
	// The child is in the cgroup from its clone on, under the test's name until its exec.
	var comm string
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline) && comm != "fcg"; time.Sleep(20 * time.Millisecond) {
		procs, _ := os.ReadFile(filepath.Join(root, "fcg", "cgroup.procs"))
		if f := strings.Fields(string(procs)); len(f) > 0 {
			c, _ := os.ReadFile("/proc/" + f[0] + "/comm")
			comm = strings.TrimSpace(string(c))
		}
	}
	cancel()
	<-done
	if comm != "fcg" {
		t.Errorf("payload in its function's cgroup runs as %q, want fcg", comm)
	}
}
