package loadgen

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/alps-sched/alps/experiments/workload"
)

func buildWorker(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "alps-worker")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/alps-sched/alps/cmd/alps-worker").CombinedOutput()
	if err != nil {
		t.Fatalf("build worker: %v\n%s", err, out)
	}
	return bin
}

// TestRunWarmOnHost replays a tiny trace in warm mode under the host's scheduler: one worker
// per function, every invocation answered after its arrival with about its demand of CPU,
// the I/O invocation slowed by its sleeps, invocations of one function served at once.
func TestRunWarmOnHost(t *testing.T) {
	worker := buildWorker(t)
	cal, err := workload.Calibrate(20*time.Millisecond, 3, "")
	if err != nil {
		t.Fatal(err)
	}
	plan := Plan{Functions: []string{"wshort", "wlong", "wunused"}}
	for i := range 8 {
		fn, demand := uint32(0), int64(5*time.Millisecond)
		if i%4 == 3 {
			fn, demand = 1, int64(60*time.Millisecond)
		}
		plan.Invocations = append(plan.Invocations, Invocation{ID: i, Function: fn, Class: uint32(i % 3),
			Arrival: int64(i) * int64(15*time.Millisecond), Demand: demand})
	}
	plan.Invocations = append(plan.Invocations, Invocation{ID: 8, Function: 0, Arrival: int64(130 * time.Millisecond),
		Demand: int64(10 * time.Millisecond), Blocks: 2, Sleep: int64(20 * time.Millisecond)})
	links := t.TempDir()
	rs, _, err := RunWarm(context.Background(), plan, WarmConfig{Config: Config{LinkDir: links, Calibration: cal, Drain: 20 * time.Second}, Worker: worker})
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
		if r.CPU < r.Demand/3 || r.CPU > r.Demand*3+int64(20*time.Millisecond) {
			t.Errorf("invocation %d: CPU %v for a demand of %v", r.ID, time.Duration(r.CPU), time.Duration(r.Demand))
		}
	}
	if io := rs[8]; io.FCT() < int64(40*time.Millisecond) {
		t.Errorf("I/O invocation with 2 sleeps of 20ms finished in %v", time.Duration(io.FCT()))
	}
	if target, err := os.Readlink(filepath.Join(links, "wlong")); err != nil || target != worker {
		t.Errorf("link wlong -> %q, %v; want %q", target, err, worker)
	}
}

// TestRunWarmDrain: an invocation still running at the end of the drain is lost, and the
// worker is stopped.
func TestRunWarmDrain(t *testing.T) {
	worker := buildWorker(t)
	plan := Plan{Functions: []string{"whog"}, Invocations: []Invocation{{ID: 0, Demand: int64(time.Hour)}}}
	cal := workload.Calibration{UnitsPerMs: 1000}
	start := time.Now()
	rs, _, err := RunWarm(context.Background(), plan, WarmConfig{Config: Config{LinkDir: t.TempDir(), Calibration: cal, Drain: 200 * time.Millisecond}, Worker: worker})
	if err != nil {
		t.Fatal(err)
	}
	if !rs[0].Lost || rs[0].Err == "" {
		t.Errorf("straggler not counted lost: %+v", rs[0])
	}
	if el := time.Since(start); el > 10*time.Second {
		t.Errorf("RunWarm took %v to give up a straggler", el)
	}
}

func TestRunWarmMissingMap(t *testing.T) {
	worker := buildWorker(t)
	plan := Plan{Functions: []string{"wa"}, Invocations: []Invocation{{}}}
	_, _, err := RunWarm(context.Background(), plan, WarmConfig{Config: Config{LinkDir: t.TempDir(), Calibration: workload.Calibration{UnitsPerMs: 1}},
		Worker: worker, Map: filepath.Join(t.TempDir(), "none"), Ready: 5 * time.Second})
	if err == nil || !strings.Contains(err.Error(), "did not start") {
		t.Errorf("workers without their map: %v, want an error", err)
	}
}
