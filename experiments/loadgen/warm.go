package loadgen

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"

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
// the calibration's spawn cost is not taken off). Result.Start (and Exec) is when the request was
// sent, End when its reply came back and CPU the serving thread's CPU between the marks, as
// the worker measured it; Stats are Run's, from the first arrival on. It returns early with
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
		mu      sync.Mutex // results, pending, t0 (written by this goroutine only)
		pending int
		done    = make(chan struct{})
		t0      time.Time
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
	t0 = time.Now()
	mu.Unlock()
	c0 := workload.ReadCPUTimes()
	buf := make([]byte, 0, workload.RequestSize)
	for i, inv := range plan.Invocations {
		if d := time.Duration(inv.Arrival - since()); d > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(d):
			}
		}
		if ctx.Err() != nil {
			results[i].Err = "not sent: " + ctx.Err().Error()
			continue
		}
		// A worker burns the whole demand: there is no process to start.
		units := int64(float64(inv.Demand)/1e6*cfg.Calibration.UnitsPerMs + 0.5)
		rq := workload.Request{ID: uint32(i), Class: inv.Class, Units: units,
			Blocks: uint32(inv.Blocks), SleepUs: uint32(min(inv.Sleep/1000, 1<<32-1))}
		mu.Lock()
		results[i].Start = max(since(), 1)
		results[i].Exec = results[i].Start
		mu.Unlock()
		if _, err := workers[inv.Function].in.Write(rq.Encode(buf[:0])); err != nil {
			mu.Lock()
			results[i].Start, results[i].Err = 0, "not sent: "+err.Error()
			mu.Unlock()
		}
	}
	stats.SpanS, stats.UtilSpan = time.Since(t0).Seconds(), c0.Util(workload.ReadCPUTimes())
	drain := cfg.Drain
	if drain <= 0 {
		drain = time.Minute
	}
	select {
	case <-done:
	case <-ctx.Done():
	case <-time.After(drain):
	}
	c1 := workload.ReadCPUTimes()
	stats.CPUs, stats.UtilWall, stats.ContextSwitches = runtime.NumCPU(), c0.Util(c1), c1.Switches-c0.Switches
	mu.Lock()
	defer mu.Unlock()
	out := make([]Result, len(results))
	for i, r := range results {
		if r.Lost && r.Err == "" {
			r.Err = "no reply"
		}
		stats.WallS = max(stats.WallS, float64(r.End)/1e9)
		out[i] = r
	}
	return out, stats, nil
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
