package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/alps-sched/alps/backend"
	"github.com/alps-sched/alps/backend/orderingcheck"
	"github.com/alps-sched/alps/backend/tracer"
	"github.com/alps-sched/alps/policy"
)

// result is one test's outcome; Figures are the measured numbers.
type result struct {
	ID      string             `json:"id"`
	Name    string             `json:"name"`
	Pass    bool               `json:"pass"`
	Detail  string             `json:"detail"`
	Figures map[string]float64 `json:"figures,omitempty"`
}

type test struct {
	id, name string
	run      func(r *result) error
}

func suite(args []string) int {
	fs := flag.NewFlagSet("suite", flag.ContinueOnError)
	only := fs.String("only", "", "comma-separated test ids to run (default all)")
	out := fs.String("out", "/tmp/vmtest.json", "where to write the results as JSON")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := setupLinks(); err != nil {
		fmt.Fprintf(os.Stderr, "alps-vmtest: %v\n", err)
		return 1
	}
	tests := []test{
		{"0", "ordering.h in the kernel", testOrdering},
		{"1", "load and attach", testLoadAttach},
		{"2", "policy effect", testPolicyEffect},
		{"3", "invocation records", testRecords},
		{"4", "exit info", testExitInfo},
		{"5", "no starvation", testStarvation},
		{"6", "fail safe", testFailSafe},
		{"8", "status from the pinned maps", testPinnedStatus},
		{"9", "records from the tracer alone", testTracer},
		{"perf", "makespan vs default", testPerf},
	}
	want := map[string]bool{}
	for _, id := range strings.Split(*only, ",") {
		if id != "" {
			want[id] = true
		}
	}
	var results []result
	failed := 0
	for _, t := range tests {
		if len(want) > 0 && !want[t.id] {
			continue
		}
		r := result{ID: t.id, Name: t.name, Figures: map[string]float64{}}
		start := time.Now()
		err := t.run(&r)
		r.Pass = err == nil
		if err != nil {
			r.Detail = err.Error()
			failed++
		}
		verdict := "PASS"
		if !r.Pass {
			verdict = "FAIL"
		}
		fmt.Printf("%s vm-test %s (%s) in %.1fs: %s\n", verdict, t.id, t.name, time.Since(start).Seconds(), r.Detail)
		results = append(results, r)
		waitDisabled(5 * time.Second) // never leave a scheduler behind for the next test
	}
	b, _ := json.MarshalIndent(results, "", "  ")
	if err := os.WriteFile(*out, b, 0o644); err != nil {
		fmt.Fprintf(os.Stderr, "alps-vmtest: %v\n", err)
	}
	fmt.Printf("SUMMARY vm-test: %d passed, %d failed\n", len(results)-failed, failed)
	if failed > 0 {
		return 1
	}
	return 0
}

// The workload names: symlinks to this binary, so each has its own process name.
var workloads = []string{"hogA", "hogB", "shortfn", "longhog", "flood", "batch", "bystander"}

func setupLinks() error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	for _, n := range workloads {
		p := filepath.Join("/tmp", n)
		os.Remove(p)
		if err := os.Symlink(self, p); err != nil {
			return fmt.Errorf("workload link: %w", err)
		}
	}
	return nil
}

// spawn starts workload name with args (GOMAXPROCS=1: one spinning thread).
func spawn(name string, args ...string) (*exec.Cmd, error) {
	cmd := exec.Command(filepath.Join("/tmp", name), args...)
	cmd.Env = append(os.Environ(), "GOMAXPROCS=1")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	return cmd, nil
}

func killAll(cmds []*exec.Cmd) {
	for _, c := range cmds {
		c.Process.Kill()
	}
	for _, c := range cmds {
		c.Wait()
	}
}

// procCPU returns the CPU time of all threads of pid (sum of their schedstat run times).
func procCPU(pid int) time.Duration {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	var sum time.Duration
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		f := strings.Fields(string(b))
		if len(f) > 0 {
			n, _ := strconv.ParseInt(f[0], 10, 64)
			sum += time.Duration(n)
		}
	}
	return sum
}

func state() string {
	s, ops, err := backend.State()
	if err != nil {
		return err.Error()
	}
	return s + "/" + ops
}

func waitState(want string, within time.Duration) (string, bool) {
	deadline := time.Now().Add(within)
	for {
		s, _, _ := backend.State()
		if s == want {
			return s, true
		}
		if time.Now().After(deadline) {
			return s, false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func waitDisabled(within time.Duration) { waitState("disabled", within) }

// start loads and attaches alps with knobs, classifies comm names and installs table.
func start(r *result, opts backend.Options, comms map[string]uint32, table map[uint32]policy.Entry) (*backend.Scheduler, error) {
	s, err := backend.Load(opts)
	if err != nil {
		return nil, err
	}
	for c, fn := range comms {
		if err := s.SetCommFunction(c, fn); err != nil {
			s.Close()
			return nil, err
		}
	}
	if err := s.SetPolicy(&policy.Table{Knobs: opts.Knobs, Entries: table}); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.Attach(); err != nil {
		s.Close()
		return nil, err
	}
	t := s.Timings()
	r.Figures["load_ms"] = ms(t.Load)
	r.Figures["attach_ms"] = ms(t.Attach)
	return s, nil
}

// Test 0: the ordering rule compiled for BPF gives, in the kernel, the outputs of every
// vector of ordering_vectors.csv (the Go rule and the host-side C harness use them too).
func testOrdering(r *result) error {
	cases, err := policy.Vectors()
	if err != nil {
		return err
	}
	c, err := orderingcheck.Open()
	if err != nil {
		return err
	}
	defer c.Close()
	for _, tc := range cases {
		g, err := c.Run(tc)
		if err != nil {
			return err
		}
		if want := [4]int64{tc.WantVEnq, tc.WantKey, tc.WantVDone, tc.WantVnowDone}; g != want {
			return fmt.Errorf("vector %s: got v_enq, key, v_done, vnow_done = %v, want %v", tc.Name, g, want)
		}
	}
	r.Figures["vectors"] = float64(len(cases))
	r.Detail = fmt.Sprintf("%d/%d vectors agree", len(cases), len(cases))
	return nil
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/1e4) / 100 }

// Test 1: attaching enables sched_ext with our ops; detaching disables it.
func testLoadAttach(r *result) error {
	s, err := backend.Load(backend.Options{Knobs: defaultKnobs, PinPath: "/sys/fs/bpf/alps"})
	if err != nil {
		return err
	}
	defer s.Close()
	if err := s.Attach(); err != nil {
		return err
	}
	t := s.Timings()
	r.Figures["load_ms"] = ms(t.Load)
	r.Figures["attach_ms"] = ms(t.Attach)
	pins, _ := filepath.Glob("/sys/fs/bpf/alps/*")
	for _, p := range pins {
		if st, err := os.Stat(p); err != nil || st.Mode().Perm() != 0o600 {
			return fmt.Errorf("pinned map %s: mode %v, want 0600", p, st.Mode().Perm())
		}
	}
	if len(pins) == 0 {
		return fmt.Errorf("nothing pinned under /sys/fs/bpf/alps")
	}
	st, ops, err := backend.State()
	if err != nil {
		return err
	}
	if st != "enabled" || !strings.HasPrefix(ops, "alps") {
		return fmt.Errorf("after Attach state=%q ops=%q, want enabled/alps", st, ops)
	}
	time.Sleep(500 * time.Millisecond) // let it schedule for a while
	c, err := s.Counters()
	if err != nil {
		return err
	}
	if c.Enqueues+c.Direct == 0 || c.Dispatches+c.Direct == 0 {
		return fmt.Errorf("scheduler attached but scheduled nothing: %+v", c)
	}
	if err := s.Detach(); err != nil {
		return err
	}
	if st, ok := waitState("disabled", 3*time.Second); !ok {
		return fmt.Errorf("after Detach state=%q, want disabled", st)
	}
	info, ok := s.ExitInfo()
	if !ok || info.Ejected() {
		return fmt.Errorf("after Detach exit info %v (known %v), want an unregistration", info, ok)
	}
	r.Detail = fmt.Sprintf("enabled ops=%s, then disabled; exit %q; %d maps pinned 0600; load %.1f ms, attach %.1f ms",
		ops, info.String(), len(pins), r.Figures["load_ms"], r.Figures["attach_ms"])
	return nil
}

// hogShare runs nA hogA and nB hogB processes for d and returns the CPU time of each group.
func hogShare(nA, nB int, d time.Duration) (a, b time.Duration, err error) {
	var cmds []*exec.Cmd
	defer func() { killAll(cmds) }()
	var names []string
	for i := 0; i < max(nA, nB); i++ { // interleaved, so neither group starts first
		if i < nA {
			names = append(names, "hogA")
		}
		if i < nB {
			names = append(names, "hogB")
		}
	}
	for _, name := range names {
		c, err := spawn(name, "hog")
		if err != nil {
			return 0, 0, err
		}
		cmds = append(cmds, c)
	}
	time.Sleep(d)
	for _, c := range cmds {
		if filepath.Base(c.Path) == "hogA" {
			a += procCPU(c.Process.Pid)
		} else {
			b += procCPU(c.Process.Pid)
		}
	}
	return a, b, nil
}

// policyKnobs: one rank level pushes a task back 750 ms of vtime, at most 1.5 s. Two
// groups of CPU hogs that join together: the one ranked 2 levels behind (offset 1.5 s)
// waits until the other has run 1.5 s ahead in vtime, so over 2 s on 2 CPUs with 2 hogs
// each the ranked-ahead group gets (2 + 1.5) / (2 - 1.5) = 7x in theory (>= 2.5x asked).
func policyKnobs() policy.Knobs {
	return policy.Knobs{RankStep: int64(750 * time.Millisecond), MaxPenalty: int64(1500 * time.Millisecond),
		WakeLag: int64(20 * time.Millisecond), DefaultSlice: int64(20 * time.Millisecond)}
}

// defaultKnobs are the ordering knobs of the tests that do not depend on them.
var defaultKnobs = policy.Knobs{RankStep: int64(10 * time.Millisecond), MaxPenalty: int64(500 * time.Millisecond),
	WakeLag: int64(20 * time.Millisecond), DefaultSlice: int64(20 * time.Millisecond)}

// heartbeatStale is the tests' heartbeat bound, as the daemon's.
const heartbeatStale = 3 * time.Second

// Test 2: ranking group A ahead gives it >= 2.5x the CPU of B; equal ranks give ~1x.
func testPolicyEffect(r *result) error {
	ratio := func(rankB uint32) (float64, error) {
		s, err := start(r, backend.Options{Knobs: policyKnobs()}, map[string]uint32{"hogA": 0, "hogB": 1},
			map[uint32]policy.Entry{0: {Rank: 0, Slice: int64(20 * time.Millisecond)}, 1: {Rank: rankB, Slice: int64(20 * time.Millisecond)}})
		if err != nil {
			return 0, err
		}
		defer s.Close()
		a, b, err := hogShare(2, 2, 2*time.Second)
		if err != nil {
			return 0, err
		}
		c, _ := s.Counters()
		if c.Ranked == 0 {
			return 0, fmt.Errorf("no enqueue was ranked: %+v", c)
		}
		if b == 0 {
			return math.Inf(1), nil
		}
		return float64(a) / float64(b), nil
	}
	ranked, err := ratio(2)
	if err != nil {
		return err
	}
	equal, err := ratio(0)
	if err != nil {
		return err
	}
	r.Figures["ranked_ratio"] = ranked
	r.Figures["equal_ratio"] = equal
	r.Detail = fmt.Sprintf("A ranked ahead: A/B CPU = %.2fx (want >= 2.5); equal ranks: %.2fx (want 0.67..1.5)", ranked, equal)
	if ranked < 2.5 || equal < 0.67 || equal > 1.5 {
		return fmt.Errorf("%s", r.Detail)
	}
	return nil
}

// Test 3: N short processes give N records, each CPU time within 5 ms of wait4's. Half
// are classified by process name (shortfn, function 3), half by cgroup (a process named
// "bystander" started inside /sys/fs/cgroup/fn9, function 9).
func testRecords(r *result) error {
	// Records held back for a minute (a daemon's update interval) reach Records within
	// checkRecords' 10 s only because SetRecordLatency (a reload) ends the reader's sleep.
	s, err := start(r, backend.Options{Knobs: defaultKnobs, HeartbeatStale: heartbeatStale, RecordLatency: time.Minute}, nil,
		map[uint32]policy.Entry{3: {Rank: 0, Slice: int64(10 * time.Millisecond)}, 9: {Rank: 1}})
	if err != nil {
		return err
	}
	defer s.Close()
	relax := time.AfterFunc(time.Second, func() { s.SetRecordLatency(0) })
	defer relax.Stop()
	return checkRecords(r, s)
}

// recordSource is what reports invocations: the scheduler, or the tracer of a dry run.
type recordSource interface {
	SetCommFunction(comm string, fn uint32) error
	SetCgroupFunction(cgroupID uint64, fn uint32) error
	Records() <-chan policy.Record
}

// checkRecords classifies shortfn (function 3) by name and the cgroup fn9 (function 9),
// runs 20 short processes, half of each, and checks their records against wait4.
func checkRecords(r *result, s recordSource) error {
	const n = 20
	if err := s.SetCommFunction("shortfn", 3); err != nil {
		return err
	}
	cg := "/sys/fs/cgroup/fn9"
	if err := os.MkdirAll(cg, 0o755); err != nil {
		return err
	}
	cgid, err := backend.CgroupID(cg)
	if err != nil {
		return err
	}
	if err := s.SetCgroupFunction(cgid, 9); err != nil {
		return err
	}
	cgfd, err := syscall.Open(cg, syscall.O_DIRECTORY|syscall.O_RDONLY, 0)
	if err != nil {
		return err
	}
	defer syscall.Close(cgfd)
	want := map[int]time.Duration{}
	wantFn := map[int]uint32{}
	for i := 0; i < n; i++ {
		name, fn := "shortfn", uint32(3)
		if i%2 == 1 {
			name, fn = "bystander", 9
		}
		cmd := exec.Command(filepath.Join("/tmp", name), "work", fmt.Sprintf("%dms", 5+i))
		cmd.Env = append(os.Environ(), "GOMAXPROCS=1")
		if fn == 9 {
			cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: cgfd}
		}
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("%s: %v", name, err)
		}
		ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		want[cmd.Process.Pid] = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		wantFn[cmd.Process.Pid] = fn
	}
	got := map[int]policy.Record{}
	timeout := time.After(10 * time.Second)
	for len(got) < n {
		select {
		case rec := <-s.Records():
			if _, ok := want[int(rec.PID)]; ok {
				got[int(rec.PID)] = rec
			}
		case <-timeout:
			return fmt.Errorf("%d of %d records arrived", len(got), n)
		}
	}
	var worst time.Duration
	for pid, cpu := range want {
		rec := got[pid]
		diff := time.Duration(rec.CPU) - cpu
		if diff < 0 {
			diff = -diff
		}
		worst = max(worst, diff)
		if rec.Function != wantFn[pid] || rec.End < rec.Start || rec.CPU <= 0 {
			return fmt.Errorf("record %+v: want function %d, end >= start, cpu > 0", rec, wantFn[pid])
		}
	}
	r.Figures["records"] = float64(len(got))
	r.Figures["worst_cpu_diff_ms"] = ms(worst)
	r.Detail = fmt.Sprintf("%d/%d records (by name and by cgroup), worst |record CPU - wait4 CPU| = %.3f ms (want <= 5)", len(got), n, ms(worst))
	if worst > 5*time.Millisecond {
		return fmt.Errorf("%s", r.Detail)
	}
	return nil
}

// Test 4: the injected fault ejects the scheduler and its reason reaches Go intact.
func testExitInfo(r *result) error {
	s, err := start(r, backend.Options{Knobs: defaultKnobs, HeartbeatStale: heartbeatStale}, nil, nil)
	if err != nil {
		return err
	}
	defer s.Close()
	c, err := s.Counters()
	if err != nil {
		return err
	}
	n := c.Enqueues + 200
	if err := s.InjectFault(n); err != nil {
		return err
	}
	var hogs []*exec.Cmd // idle CPUs take wake-ups directly: make enqueues happen
	defer func() { killAll(hogs) }()
	for i := 0; i < 3; i++ {
		h, err := spawn("bystander", "hog")
		if err != nil {
			return err
		}
		hogs = append(hogs, h)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	info, err := s.Wait(ctx)
	if err != nil {
		return fmt.Errorf("not ejected within 20 s (state %s)", state())
	}
	if st, ok := waitState("disabled", 3*time.Second); !ok {
		return fmt.Errorf("ejected but state=%q", st)
	}
	r.Detail = fmt.Sprintf("exit info: %v", info)
	if !info.Ejected() || !strings.Contains(info.Message, "alps: injected fault after") {
		return fmt.Errorf("%s: want an ejection with the injected message", r.Detail)
	}
	return nil
}

// Test 5: a long CPU hog ranked last plus a flood of short processes ranked first for
// 20 s: the hog must keep running and nothing may be ejected. Without a backlog the rule
// gives the hog one slice per max_penalty + wake_lag of waiting, a share of
// slice / (slice + P + L) of a CPU (14% here); the flood's backlog stretches that wait (the
// tasks queued ahead when vnow passes the hog's key run first, ORDERING.md), so the check
// asks for a third of it and reports the share and vnow's advance.
func testStarvation(r *result) error {
	const dur = 20 * time.Second
	knobs := policy.Knobs{RankStep: int64(10 * time.Millisecond), MaxPenalty: int64(100 * time.Millisecond),
		WakeLag: int64(20 * time.Millisecond), DefaultSlice: int64(20 * time.Millisecond)}
	slice := 20 * time.Millisecond
	s, err := start(r, backend.Options{Knobs: knobs}, map[string]uint32{"longhog": 1, "flood": 0},
		map[uint32]policy.Entry{0: {Rank: 0, Slice: int64(5 * time.Millisecond)}, 1: {Rank: 15, Slice: int64(slice)}})
	if err != nil {
		return err
	}
	defer s.Close()
	hog, err := spawn("longhog", "hog")
	if err != nil {
		return err
	}
	defer killAll([]*exec.Cmd{hog})
	var wg sync.WaitGroup
	var mu sync.Mutex
	flooded := 0
	stop := time.Now().Add(dur)
	time.Sleep(100 * time.Millisecond)
	startCPU := procCPU(hog.Process.Pid)
	vnow0, err := s.VirtualNow()
	if err != nil {
		return err
	}
	for w := 0; w < 6; w++ { // 6 spawners keep both CPUs busy with short processes
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				c, err := spawn("flood", "work", "3ms")
				if err != nil {
					return
				}
				c.Wait()
				mu.Lock()
				flooded++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	got := procCPU(hog.Process.Pid) - startCPU
	vnow1, _ := s.VirtualNow()
	select {
	case <-s.Done():
		info, _ := s.ExitInfo()
		return fmt.Errorf("scheduler stopped during the flood: %v", info)
	default:
	}
	advance := time.Duration(vnow1 - vnow0)
	nominal := float64(slice) / float64(int64(slice)+knobs.MaxPenalty+knobs.WakeLag)
	share := float64(got) / float64(dur)
	r.Figures["hog_cpu_s"] = got.Seconds()
	r.Figures["hog_share"] = share
	r.Figures["nominal_share"] = nominal
	r.Figures["vnow_advance_s"] = advance.Seconds()
	r.Figures["flood_processes"] = float64(flooded)
	r.Detail = fmt.Sprintf("hog got %.2f s of CPU, %.1f%% of a CPU over %v (nominal bound %.1f%%, want >= a third of it) beside %d flood processes; vnow advanced %.2f s; still %s",
		got.Seconds(), 100*share, dur, 100*nominal, flooded, advance.Seconds(), state())
	if share < nominal/3 || flooded < 50 || !strings.HasPrefix(state(), "enabled") {
		return fmt.Errorf("%s", r.Detail)
	}
	return nil
}

// Test 6: SIGKILL of the loader returns the kernel to its default scheduler with every
// task still running; a stale heartbeat makes ordering fair.
func testFailSafe(r *result) error {
	self, _ := os.Executable()
	loader := exec.Command(self, "load")
	loader.Stderr = os.Stderr
	if err := loader.Start(); err != nil {
		return err
	}
	if st, ok := waitState("enabled", 10*time.Second); !ok {
		loader.Process.Kill()
		loader.Wait()
		return fmt.Errorf("loader did not attach: state=%q", st)
	}
	var bys []*exec.Cmd
	defer func() { killAll(bys) }()
	for i := 0; i < 3; i++ {
		c, err := spawn("bystander", "hog")
		if err != nil {
			return err
		}
		bys = append(bys, c)
	}
	time.Sleep(500 * time.Millisecond)
	loader.Process.Signal(syscall.SIGKILL)
	loader.Wait()
	killedAt := time.Now()
	if st, ok := waitState("disabled", 5*time.Second); !ok {
		return fmt.Errorf("after SIGKILL of the loader state=%q, want disabled", st)
	}
	back := time.Since(killedAt)
	before := make([]time.Duration, len(bys))
	for i, c := range bys {
		before[i] = procCPU(c.Process.Pid)
	}
	time.Sleep(time.Second)
	for i, c := range bys {
		if err := c.Process.Signal(syscall.Signal(0)); err != nil {
			return fmt.Errorf("bystander %d died with the scheduler", i)
		}
		if procCPU(c.Process.Pid) <= before[i] {
			return fmt.Errorf("bystander %d does not run under the default scheduler", i)
		}
	}
	killAll(bys)
	bys = nil

	// Stale heartbeat: the policy of test 2, but no heartbeat within 200 ms.
	s, err := start(r, backend.Options{Knobs: policyKnobs(), HeartbeatStale: 200 * time.Millisecond},
		map[string]uint32{"hogA": 0, "hogB": 1}, map[uint32]policy.Entry{0: {Rank: 0}, 1: {Rank: 2}})
	if err != nil {
		return err
	}
	defer s.Close()
	time.Sleep(400 * time.Millisecond)
	a, b, err := hogShare(2, 2, 2*time.Second)
	if err != nil {
		return err
	}
	c, _ := s.Counters()
	ratio := float64(a) / float64(max(b, 1))
	// A fresh heartbeat brings the ranks back.
	beat := make(chan struct{})
	go func() {
		for {
			select {
			case <-beat:
				return
			case <-time.After(50 * time.Millisecond):
				s.Heartbeat()
			}
		}
	}()
	s.Heartbeat()
	a, b, err = hogShare(2, 2, 2*time.Second)
	close(beat)
	if err != nil {
		return err
	}
	fresh := float64(a) / float64(max(b, 1))
	r.Figures["default_back_ms"] = ms(back)
	r.Figures["stale_ratio"] = ratio
	r.Figures["fresh_ratio"] = fresh
	r.Detail = fmt.Sprintf("SIGKILL: default scheduler back in %.0f ms, 3/3 bystanders running; stale heartbeat: A/B = %.2fx (want 0.67..1.5), %d stale enqueues; heartbeats again: %.2fx (want >= 2.5)",
		ms(back), ratio, c.Stale, fresh)
	if ratio < 0.67 || ratio > 1.5 || c.Stale == 0 || c.Ranked != 0 || fresh < 2.5 {
		return fmt.Errorf("%s (ranked enqueues while stale %d)", r.Detail, c.Ranked)
	}
	return nil
}

// makespan runs n batch processes of work each, all at once, and returns the time until
// the last one finished.
func makespan(n int, work time.Duration) (time.Duration, error) {
	start := time.Now()
	var cmds []*exec.Cmd
	for i := 0; i < n; i++ {
		c, err := spawn("batch", "work", work.String())
		if err != nil {
			killAll(cmds)
			return 0, err
		}
		cmds = append(cmds, c)
	}
	for _, c := range cmds {
		if err := c.Wait(); err != nil {
			return 0, fmt.Errorf("batch: %v", err)
		}
	}
	return time.Since(start), nil
}

// Performance: a CPU-bound batch under alps with learning off (no policy: plain fair
// vtime) takes no more than 1.05x its makespan under the default scheduler. Runs
// alternate (default, alps, ...) and the medians are compared.
func testPerf(r *result) error {
	const rounds, n, work = 5, 8, time.Second
	var def, alps []float64
	for i := 0; i < rounds; i++ {
		d, err := makespan(n, work)
		if err != nil {
			return err
		}
		def = append(def, d.Seconds())
		s, err := start(r, backend.Options{Knobs: defaultKnobs, HeartbeatStale: heartbeatStale}, nil, nil)
		if err != nil {
			return err
		}
		a, err := makespan(n, work)
		s.Close()
		if err != nil {
			return err
		}
		alps = append(alps, a.Seconds())
		waitDisabled(3 * time.Second)
	}
	fmt.Printf("perf: default %v\nperf: alps    %v\n", def, alps)
	md, ma := median(def), median(alps)
	ratio := ma / md
	r.Figures["default_makespan_s"] = md
	r.Figures["alps_makespan_s"] = ma
	r.Figures["makespan_ratio"] = ratio
	r.Detail = fmt.Sprintf("%d x %v batch: makespan default %.3f s, alps %.3f s (medians of %d), ratio %.3f (want <= 1.05); load %.1f ms, attach %.1f ms",
		n, work, md, ma, rounds, ratio, r.Figures["load_ms"], r.Figures["attach_ms"])
	if ratio > 1.05 {
		return fmt.Errorf("%s", r.Detail)
	}
	return nil
}

func median(x []float64) float64 {
	s := append([]float64(nil), x...)
	sort.Float64s(s)
	return s[len(s)/2]
}

// Test 8: what "alps-frontend status" reads. While alps runs a classified hog with a policy
// table and a heartbeat, backend.OpenPinned shows the live table, knobs, classifier, a
// fresh heartbeat and counters that move; after a table switch it shows the new table; after
// Close nothing is pinned any more.
func testPinnedStatus(r *result) error {
	const pins = "/sys/fs/bpf/alps"
	knobs := defaultKnobs
	first := map[uint32]policy.Entry{0: {Rank: 1, Slice: int64(7 * time.Millisecond)}, 5: {Rank: 0, Slice: int64(3 * time.Millisecond)},
		6: {Rank: 2, NSteps: 2, StepAt: [policy.MaxSteps]int64{0, int64(30 * time.Millisecond)}, StepRank: [policy.MaxSteps]uint32{2, 5}}}
	s, err := start(r, backend.Options{Knobs: knobs, HeartbeatStale: heartbeatStale, PinPath: pins}, map[string]uint32{"hogA": 0}, first)
	if err != nil {
		return err
	}
	defer s.Close()
	hog, err := spawn("hogA")
	if err != nil {
		return err
	}
	defer killAll([]*exec.Cmd{hog})
	for range 5 {
		time.Sleep(100 * time.Millisecond)
		if err := s.Heartbeat(); err != nil {
			return err
		}
	}
	read := func(want map[uint32]policy.Entry) (backend.Snapshot, error) {
		start := time.Now()
		p, err := backend.OpenPinned(pins)
		if err != nil {
			return backend.Snapshot{}, err
		}
		defer p.Close()
		snap, err := p.Snapshot()
		r.Figures["snapshot_ms"] = ms(time.Since(start))
		if err != nil {
			return snap, err
		}
		if len(snap.Policy) != len(want) {
			return snap, fmt.Errorf("pinned table %v, want %v", snap.Policy, want)
		}
		for fn, e := range want {
			if snap.Policy[fn] != e {
				return snap, fmt.Errorf("pinned table[%d] = %+v, want %+v", fn, snap.Policy[fn], e)
			}
		}
		if snap.Knobs != knobs {
			return snap, fmt.Errorf("pinned knobs %+v, want %+v", snap.Knobs, knobs)
		}
		if age := snap.HeartbeatAge(); age < 0 || age > time.Second || snap.Stale() {
			return snap, fmt.Errorf("heartbeat age %v (stale %v), want < 1s after heartbeats every 100 ms", age, snap.Stale())
		}
		return snap, nil
	}
	snap, err := read(first)
	if err != nil {
		return err
	}
	if fn, ok := snap.Comms["hogA"]; !ok || fn != 0 {
		return fmt.Errorf("pinned process names %v, want hogA -> 0", snap.Comms)
	}
	if snap.Counters.Classified == 0 || snap.Counters.Enqueues+snap.Counters.Direct == 0 {
		return fmt.Errorf("pinned counters %+v: want classifications and enqueues", snap.Counters)
	}
	before := snap.Counters.Enqueues + snap.Counters.Direct
	second := map[uint32]policy.Entry{0: {Rank: 2}}
	if err := s.SetPolicy(&policy.Table{Knobs: knobs, Entries: second}); err != nil {
		return err
	}
	time.Sleep(200 * time.Millisecond)
	if err := s.Heartbeat(); err != nil {
		return err
	}
	snap2, err := read(second)
	if err != nil {
		return fmt.Errorf("after a table switch: %w", err)
	}
	if snap2.Generation == snap.Generation {
		return fmt.Errorf("generation %d after a table switch, want it flipped", snap2.Generation)
	}
	after := snap2.Counters.Enqueues + snap2.Counters.Direct
	if after <= before {
		return fmt.Errorf("pinned counters did not move while a hog ran: %d then %d", before, after)
	}
	killAll([]*exec.Cmd{hog})
	if err := s.Close(); err != nil {
		return err
	}
	if _, err := backend.OpenPinned(pins); !errors.Is(err, backend.ErrNotPinned) {
		return fmt.Errorf("after Close OpenPinned = %v, want ErrNotPinned", err)
	}
	r.Detail = fmt.Sprintf("table of %d then %d read back while attached (gen %d -> %d), hogA -> fn 0, heartbeat %v old, "+
		"enqueues %d -> %d, snapshot %.1f ms; nothing pinned after Close",
		len(first), len(second), snap.Generation, snap2.Generation, snap2.HeartbeatAge().Round(time.Millisecond), before, after,
		r.Figures["snapshot_ms"])
	return nil
}

// Test 9: the tracer of a live dry run (backend/tracer), with no scheduler attached, reports
// the same records as test 3, on this kernel's BTF.
func testTracer(r *result) error {
	if st, ops, err := backend.State(); err != nil || st != "disabled" {
		return fmt.Errorf("sched_ext state %q ops %q (%v) before the test, want disabled", st, ops, err)
	}
	t, err := tracer.Load(tracer.Options{})
	if err != nil {
		return err
	}
	defer t.Close()
	if err := checkRecords(r, t); err != nil {
		return err
	}
	if st, _, _ := backend.State(); st != "disabled" {
		return fmt.Errorf("sched_ext state %q with only the tracer loaded, want disabled", st)
	}
	r.Detail += "; sched_ext stayed disabled"
	return nil
}
