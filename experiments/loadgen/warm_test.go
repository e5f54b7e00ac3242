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
	plan := hostPlan("wshort", "wlong", "wunused")
	links := t.TempDir()
	rs, st, err := RunWarm(context.Background(), plan, WarmConfig{Config: Config{LinkDir: links, Calibration: cal, Drain: 20 * time.Second}, Worker: worker})
	if err != nil {
		t.Fatal(err)
	}
	checkHostReplay(t, plan, rs, 1.0/3, 20*time.Millisecond)
	if st.UtilWall <= 0 || st.UtilWall > 1 || st.SpanS <= 0 || st.WallS < st.SpanS {
		t.Errorf("replay stats %+v", st)
	}
	// Each request's start mark (Exec) falls between its sending and its reply, and the
	// serving CPU fits between the mark and the reply.
	for _, r := range rs {
		if r.Exec < r.Start || r.Exec > r.End || r.End-r.Exec < r.CPU {
			t.Errorf("invocation %d: sent %d, start mark %d, reply %d, CPU %d (ns)", r.ID, r.Start, r.Exec, r.End, r.CPU)
		}
	}
	if w := st.StartWait; w == nil || w.P50 < 0 || w.P50 > w.P90 || w.P90 > w.P99 || w.P99 > w.Max || w.Max > 1000 {
		t.Errorf("start waits %+v", w)
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
