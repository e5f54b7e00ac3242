package loadgen

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/alps-sched/alps/experiments/workload"
)

// WarmConfig says how to replay a plan in warm mode (RunWarm).
type WarmConfig struct {
	// Config's LinkDir, CgroupRoot, Calibration and Drain apply; Payload does not.
	Config
	// Worker is the path of the alps-worker binary.
	Worker string
	// Map is the invocation map the workers register their threads in (empty: they mark
	// boundaries unregistered, as under a scheduler that reads none).
	Map string
	// Threads is the most invocations one worker serves at once (default 64).
	Threads int
	// Ready bounds how long the workers may take to start (default 30 s).
	Ready time.Duration
}

// RunWarm replays plan in warm mode: one long-lived worker process per function, started
// before the first arrival in its function's cgroup and under its function's name, serves the
// function's invocations as requests over a pipe, each on a thread of its own between
// invocation-boundary marks (alps-worker), burning its whole demand (no process to start:
// the calibration's spawn cost is not taken off). Result.Start is when the request was sent,
// Exec when the worker marked its start (how long the request waited for a serving thread),
// End when its reply came back and CPU the serving thread's CPU between the marks, as the
// worker measured it; Stats are Run's, from the first arrival on, with the start waits. It returns early with
// what it has when ctx is cancelled (the rest lost).
func RunWarm(ctx context.Context, plan Plan, cfg WarmConfig) ([]Result, Stats, error) {
	var stats Stats
	if err := plan.Validate(); err != nil {
		return nil, stats, fmt.Errorf("loadgen: %w", err)
	}
	if err := cfg.Calibration.Validate(); err != nil {
		return nil, stats, fmt.Errorf("loadgen: calibration: %w", err)
	}
	if cfg.Threads <= 0 {
		cfg.Threads = 64
	}
	if cfg.Ready <= 0 {
		cfg.Ready = 30 * time.Second
	}
	used := make([]bool, len(plan.Functions))
	for _, inv := range plan.Invocations {
		used[inv.Function] = true
	}
	links, err := makeLinks(cfg.Worker, cfg.LinkDir, plan.Functions)
	if err != nil {
		return nil, stats, err
	}
	cgfds, err := openCgroups(cfg.CgroupRoot, plan.Functions)
	if err != nil {
		return nil, stats, err
	}
	defer closeAll(cgfds)

	results := make([]Result, len(plan.Invocations))
	for i, inv := range plan.Invocations {
		results[i] = Result{ID: inv.ID, Function: plan.Functions[inv.Function], Arrival: inv.Arrival,
			Demand: inv.Demand, IO: int64(inv.Blocks) * inv.Sleep, Blocks: inv.Blocks, Lost: true}
	}
	var (
		mu      sync.Mutex // results, pending, t0, mono0 (written by this goroutine only)
		pending int
		done    = make(chan struct{})
		t0      time.Time
		mono0   int64 // CLOCK_MONOTONIC at t0, the marks' clock
	)
	since := func() int64 { return int64(time.Since(t0)) }
	workers := make([]*warmWorker, len(plan.Functions))
	defer func() {
		for _, w := range workers {
			if w != nil {
				w.stop()
			}
		}
	}()
	ready := make(chan error, len(plan.Functions))
	for f, name := range plan.Functions {
		if !used[f] {
			continue
		}
		cg := -1
		if cgfds != nil {
			cg = cgfds[f]
		}
		w, err := startWorker(links[f], name, cg, cfg)
		if err != nil {
			return nil, stats, err
		}
		workers[f] = w
		go func() {
			ready <- w.hello()
			w.read(func(rp workload.Reply) {
				mu.Lock()
				defer mu.Unlock()
				if int(rp.ID) >= len(results) || !results[rp.ID].Lost || results[rp.ID].Start == 0 {
					return // not a request of ours, or answered twice
				}
				r := &results[rp.ID]
				r.End, r.CPU, r.Lost, r.Err = int64(time.Since(t0)), rp.CPU, false, ""
				r.Exec = min(max(rp.Start-mono0, r.Start), r.End) // the start mark, on the replay's clock
				if pending--; pending == 0 {
					close(done)
				}
			}, func(err error) {
				mu.Lock()
				defer mu.Unlock()
				for i := range results {
					if results[i].Lost && results[i].Start != 0 && results[i].Function == name {
						results[i].Err = err.Error()
					}
				}
			})
		}()
	}
	deadline := time.After(cfg.Ready)
	for _, w := range workers {
		if w == nil {
			continue
		}
		select {
		case err := <-ready:
			if err != nil {
				return nil, stats, err
			}
		case <-deadline:
			return nil, stats, fmt.Errorf("loadgen: the workers did not start within %v", cfg.Ready)
		case <-ctx.Done():
			return nil, stats, ctx.Err()
		}
	}

	mu.Lock()
	pending = len(plan.Invocations)
	if pending == 0 {
		close(done)
	}
	t0, mono0 = time.Now(), monotonic()
	mu.Unlock()
	c0 := workload.ReadCPUTimes()
	buf := make([]byte, 0, workload.RequestSize)
	for i, inv := range plan.Invocations {
		if err := waitUntil(ctx, time.Duration(inv.Arrival-since())); err != nil {
			results[i].Err = "not sent: " + err.Error()
			continue
		}
		// A worker burns the whole demand: there is no process to start.
		units := int64(float64(inv.Demand)/1e6*cfg.Calibration.UnitsPerMs + 0.5)
		rq := workload.Request{ID: uint32(i), Class: inv.Class, Units: units,
			Blocks: uint32(inv.Blocks), SleepUs: uint32(min(inv.Sleep/1000, 1<<32-1))}
		mu.Lock()
		results[i].Start = max(since(), 1)
		mu.Unlock()
		if _, err := workers[inv.Function].in.Write(rq.Encode(buf[:0])); err != nil {
			mu.Lock()
			results[i].Start, results[i].Err = 0, "not sent: "+err.Error()
			mu.Unlock()
		}
	}
	stats.SpanS, stats.UtilSpan = time.Since(t0).Seconds(), c0.Util(workload.ReadCPUTimes())
	drainFor(ctx, done, cfg.Drain)
	mu.Lock()
	defer mu.Unlock()
	out := make([]Result, len(results))
	for i, r := range results {
		if r.Lost && r.Err == "" {
			r.Err = "no reply"
		}
		out[i] = r
	}
	stats.finish(c0, out)
	stats.StartWait = startWaits(out)
	return out, stats, nil
}

// startWaits summarises how long the answered requests waited from their sending to their
// start mark.
func startWaits(rs []Result) *Quantiles {
	var ws []float64
	for _, r := range rs {
		if !r.Lost {
			ws = append(ws, float64(r.Exec-r.Start)/1e6)
		}
	}
	if len(ws) == 0 {
		return nil
	}
	slices.Sort(ws)
	q := func(p float64) float64 { return ws[int(p*float64(len(ws)-1)+0.5)] }
	return &Quantiles{P50: q(0.5), P90: q(0.9), P99: q(0.99), Max: ws[len(ws)-1]}
}

// monotonic is CLOCK_MONOTONIC now, in ns: the clock of the workers' marks.
func monotonic() int64 {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return ts.Nano()
}

// warmWorker is one function's worker process and its pipes.
type warmWorker struct {
	proc *os.Process
	in   *os.File // requests
	out  *os.File // replies
}

// startWorker starts the worker for one function (its name through the link, its cgroup fd
// or -1).
func startWorker(link, name string, cgroup int, cfg WarmConfig) (*warmWorker, error) {
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("loadgen: %w", err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return nil, fmt.Errorf("loadgen: %w", err)
	}
	args := []string{name, "--threads", strconv.Itoa(cfg.Threads)}
	if cfg.Map != "" {
		args = append(args, "--map", cfg.Map)
	}
	attr := &os.ProcAttr{Files: []*os.File{inR, outW, os.Stderr}}
	if cgroup >= 0 {
		attr.Sys = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: cgroup}
	}
	p, err := os.StartProcess(link, args, attr)
	inR.Close()
	outW.Close()
	if err != nil {
		inW.Close()
		outR.Close()
		return nil, fmt.Errorf("loadgen: starting the worker of %s: %w", name, err)
	}
	return &warmWorker{proc: p, in: inW, out: outR}, nil
}

// hello waits for the worker's ready reply.
func (w *warmWorker) hello() error {
	buf := make([]byte, workload.ReplySize)
	if _, err := io.ReadFull(w.out, buf); err != nil {
		return fmt.Errorf("loadgen: worker %d did not start: %w", w.proc.Pid, err)
	}
	if r := workload.DecodeReply(buf); r.ID != workload.HelloID {
		return fmt.Errorf("loadgen: worker %d: first reply %d, want its hello", w.proc.Pid, r.ID)
	}
	return nil
}

// read hands each reply to got until the worker's output ends; then fail is told why.
func (w *warmWorker) read(got func(workload.Reply), fail func(error)) {
	buf := make([]byte, workload.ReplySize)
	for {
		if _, err := io.ReadFull(w.out, buf); err != nil {
			fail(fmt.Errorf("worker %d ended: %v", w.proc.Pid, err))
			return
		}
		got(workload.DecodeReply(buf))
	}
}

// stop ends the worker: its input closes (it finishes what it serves and exits), then it is
// killed, and reaped.
func (w *warmWorker) stop() {
	w.in.Close()
	exited := make(chan struct{})
	go func() { w.proc.Wait(); close(exited) }()
	select {
	case <-exited:
	case <-time.After(2 * time.Second):
		w.proc.Kill()
		<-exited
	}
	w.out.Close()
}
