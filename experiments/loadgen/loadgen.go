// Package loadgen replays a trace with real processes. Each invocation is a process of the
// payload binary, started at its arrival time in its function's cgroup and under its
// function's name, doing its demand of calibrated CPU work; its arrival, start and end are
// recorded.
package loadgen

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/alps-sched/alps/experiments/workload"
)

// Invocation is one invocation to replay. Times are nanoseconds.
type Invocation struct {
	ID       int
	Function uint32 // index into Plan.Functions
	Arrival  int64  // offset from the start of the replay
	Demand   int64  // CPU time the invocation needs
	Blocks   int    // sleeps (blocking I/O) splitting the CPU into Blocks+1 bursts
	Sleep    int64  // length of each sleep
	Class    uint32 // the class hint a warm worker marks its start with (0: none)
}

// Plan is what to replay: the function names (id = index) and the invocations in arrival
// order.
type Plan struct {
	Functions   []string
	Invocations []Invocation
}

// Validate reports a plan that cannot be replayed.
func (p Plan) Validate() error {
	var last int64
	for i, inv := range p.Invocations {
		switch {
		case int(inv.Function) >= len(p.Functions):
			return fmt.Errorf("invocation %d: function %d not in the %d functions", inv.ID, inv.Function, len(p.Functions))
		case inv.Arrival < last:
			return fmt.Errorf("invocation %d: arrival %d before the previous one's %d", inv.ID, inv.Arrival, last)
		case inv.Demand < 0 || inv.Blocks < 0 || inv.Sleep < 0:
			return fmt.Errorf("invocation %d: negative demand, blocks or sleep", inv.ID)
		}
		last = p.Invocations[i].Arrival
	}
	for i, f := range p.Functions {
		if !ValidName(f) {
			return fmt.Errorf("function %d: name %q is not a valid process name (1-15 of [A-Za-z0-9_.-])", i, f)
		}
	}
	return nil
}

// ValidName reports whether name can be both a process name (comm, at most 15 bytes) and a
// cgroup directory name.
func ValidName(name string) bool {
	if name == "" || len(name) > 15 || name == "." || name == ".." {
		return false
	}
	for _, c := range name {
		ok := c == '_' || c == '-' || c == '.' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		if !ok {
			return false
		}
	}
	return true
}

// Config says how to run the payloads.
type Config struct {
	// Payload is the path of the alps-payload binary.
	Payload string
	// LinkDir receives one symbolic link to Payload per function, named after it, so that
	// each process's name (comm) is its function's name from exec on.
	LinkDir string
	// CgroupRoot, when set, is a cgroup v2 directory under which each function gets a child
	// cgroup named after it; its processes are started inside it (CLONE_INTO_CGROUP).
	CgroupRoot string
	// Calibration converts demands to work units.
	Calibration workload.Calibration
	// Drain is how long to wait after the last arrival before killing what still runs; the
	// killed invocations are lost.
	Drain time.Duration
}

// Result is what happened to one invocation. Times are nanoseconds from the start of the
// replay.
type Result struct {
	ID       int
	Function string
	Arrival  int64
	Start    int64 // when the process was started (0 and Lost if it never was)
	Exec     int64 // when starting it returned: the child had exec'd the payload
	End      int64 // when it was reaped
	CPU      int64 // user + system CPU of the process (wait4)
	Demand   int64 // CPU demand
	IO       int64 // total blocking time asked for (Blocks * Sleep)
	Blocks   int
	Lost     bool
	Err      string
}

// FCT is the invocation's flow completion time: end minus arrival.
func (r Result) FCT() int64 { return r.End - r.Arrival }

// Stats describe the machine during a replay: how busy its CPUs were over the arrivals'
// span (the measured counterpart of the plan's offered load) and until the last invocation
// ended, from /proc/stat (-1 where it cannot be read).
type Stats struct {
	CPUs int `json:"cpus"`
	// SpanS is the time from the replay's start to its last arrival, WallS to its last end.
	SpanS float64 `json:"span_s"`
	WallS float64 `json:"wall_s"`
	// UtilSpan and UtilWall are the fraction of the CPUs' time not idle over those periods.
	UtilSpan float64 `json:"util_span"`
	UtilWall float64 `json:"util_wall"`
	// ContextSwitches over the whole replay.
	ContextSwitches int64 `json:"context_switches"`
	// StartWait (warm mode): how long requests waited from their sending to their start
	// mark, ms; nil for process invocations.
	StartWait *Quantiles `json:"start_wait_ms,omitempty"`
}

// Quantiles of a distribution.
type Quantiles struct {
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// Run replays plan and returns one result per invocation, in invocation order, and what the
// machine did meanwhile. It returns early with what it has when ctx is cancelled (the rest
// lost).
func Run(ctx context.Context, plan Plan, cfg Config) ([]Result, Stats, error) {
	var stats Stats
	if err := plan.Validate(); err != nil {
		return nil, stats, fmt.Errorf("loadgen: %w", err)
	}
	if err := cfg.Calibration.Validate(); err != nil {
		return nil, stats, fmt.Errorf("loadgen: calibration: %w", err)
	}
	links, err := makeLinks(cfg.Payload, cfg.LinkDir, plan.Functions)
	if err != nil {
		return nil, stats, err
	}
	cgfds, err := openCgroups(cfg.CgroupRoot, plan.Functions)
	if err != nil {
		return nil, stats, err
	}
	defer func() {
		for _, fd := range cgfds {
			syscall.Close(fd)
		}
	}()
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return nil, stats, fmt.Errorf("loadgen: %w", err)
	}
	defer devnull.Close()

	results := make([]Result, len(plan.Invocations))
	for i, inv := range plan.Invocations {
		results[i] = Result{ID: inv.ID, Function: plan.Functions[inv.Function], Arrival: inv.Arrival,
			Demand: inv.Demand, IO: int64(inv.Blocks) * inv.Sleep, Blocks: inv.Blocks, Lost: true}
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		procs = map[int]*os.Process{}
		// draining is set once the stragglers are killed: a process whose start returns
		// after that is killed at once.
		draining bool
	)
	t0, c0 := time.Now(), workload.ReadCPUTimes()
	since := func() int64 { return int64(time.Since(t0)) }
	// Each invocation is started by its own goroutine: starting a process returns only once
	// the child has exec'd (vfork), which on a loaded machine takes as long as the scheduler
	// under test makes it, and must not delay the arrivals after it (forks run concurrently).
	start := func(i int, inv Invocation) {
		defer wg.Done()
		args := []string{plan.Functions[inv.Function],
			strconv.FormatInt(cfg.Calibration.Units(float64(inv.Demand)/1e6), 10)}
		if inv.Blocks > 0 {
			args = append(args, strconv.Itoa(inv.Blocks), strconv.FormatInt(inv.Sleep/1000, 10))
		}
		attr := &os.ProcAttr{Env: payloadEnv, Files: []*os.File{devnull, devnull, os.Stderr}}
		if cgfds != nil {
			attr.Sys = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: cgfds[inv.Function]}
		}
		r := &results[i]
		r.Start = since()
		p, err := os.StartProcess(links[inv.Function], args, attr)
		if err != nil {
			r.Err = err.Error()
			return
		}
		r.Exec = since()
		mu.Lock()
		procs[i] = p
		if draining {
			p.Kill()
		}
		mu.Unlock()
		st, err := p.Wait()
		r.End = since()
		mu.Lock()
		delete(procs, i)
		mu.Unlock()
		switch {
		case err != nil:
			r.Err = err.Error()
		case !st.Success():
			r.Err = st.String()
		default:
			r.Lost = false
		}
		if st != nil {
			r.CPU = int64(st.UserTime() + st.SystemTime())
		}
	}
	for i, inv := range plan.Invocations {
		if err := waitUntil(ctx, time.Duration(inv.Arrival-since())); err != nil {
			results[i].Err = "not started: " + err.Error()
			continue
		}
		wg.Add(1)
		go start(i, inv)
	}
	stats.SpanS, stats.UtilSpan = time.Since(t0).Seconds(), c0.Util(workload.ReadCPUTimes())
	// Drain, then kill the stragglers: they are lost.
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	drainFor(ctx, done, cfg.Drain)
	mu.Lock()
	draining = true
	for _, p := range procs {
		p.Kill()
	}
	mu.Unlock()
	<-done
	stats.finish(c0, results)
	return results, stats, nil
}

// waitUntil waits d (nothing when d <= 0) or until ctx is done, and returns ctx's error.
func waitUntil(ctx context.Context, d time.Duration) error {
	if d > 0 {
		select {
		case <-ctx.Done():
		case <-time.After(d):
		}
	}
	return ctx.Err()
}

// drainFor waits until done is closed, ctx is done or drain (a minute when <= 0) passes.
func drainFor(ctx context.Context, done <-chan struct{}, drain time.Duration) {
	if drain <= 0 {
		drain = time.Minute
	}
	select {
	case <-done:
	case <-ctx.Done():
	case <-time.After(drain):
	}
}

// finish fills in what the replay's end tells: the CPUs' use since c0 and the last end of rs.
func (s *Stats) finish(c0 workload.CPUTimes, rs []Result) {
	c1 := workload.ReadCPUTimes()
	s.CPUs, s.UtilWall, s.ContextSwitches = runtime.NumCPU(), c0.Util(c1), c1.Switches-c0.Switches
	for _, r := range rs {
		s.WallS = max(s.WallS, float64(r.End)/1e9)
	}
}

func makeLinks(payload, dir string, functions []string) ([]string, error) {
	abs, err := filepath.Abs(payload)
	if err != nil {
		return nil, fmt.Errorf("loadgen: payload: %w", err)
	}
	if _, err := os.Stat(abs); err != nil {
		return nil, fmt.Errorf("loadgen: payload: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("loadgen: link dir: %w", err)
	}
	links := make([]string, len(functions))
	for i, f := range functions {
		links[i] = filepath.Join(dir, f)
		os.Remove(links[i])
		if err := os.Symlink(abs, links[i]); err != nil {
			return nil, fmt.Errorf("loadgen: link for %s: %w", f, err)
		}
	}
	return links, nil
}

// openCgroups creates root/<function> for each function and opens it for CLONE_INTO_CGROUP.
func openCgroups(root string, functions []string) ([]int, error) {
	if root == "" {
		return nil, nil
	}
	fds := make([]int, 0, len(functions))
	for _, f := range functions {
		dir := filepath.Join(root, f)
		if err := os.MkdirAll(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			closeAll(fds)
			return nil, fmt.Errorf("loadgen: cgroup: %w", err)
		}
		fd, err := syscall.Open(dir, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
		if err != nil {
			closeAll(fds)
			return nil, fmt.Errorf("loadgen: cgroup %s: %w", dir, err)
		}
		fds = append(fds, fd)
	}
	return fds, nil
}

func closeAll(fds []int) {
	for _, fd := range fds {
		syscall.Close(fd)
	}
}

// payloadEnv is the payloads' environment: none (os.StartProcess would pass the load
// generator's).
var payloadEnv = []string{}

// SortByID orders results by invocation id.
func SortByID(rs []Result) {
	sort.Slice(rs, func(i, j int) bool { return rs[i].ID < rs[j].ID })
}
