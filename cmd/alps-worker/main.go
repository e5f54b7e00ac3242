// Command alps-worker is a warm worker of the experiment's workload: one long-lived process
// per function that serves the function's invocations as requests on its standard input,
// each on a thread of its own between invocation-boundary marks (package invocation),
// burning the calibrated CPU and sleeping for I/O as alps-payload does, and answers each on
// its standard output (the wire format of experiments/workload: Request, Reply).
//
//	alps-worker [--map PATH] [--threads N]
//
// The load generator (alps-bench loadgen --warm) starts one per function, under the
// function's name and in its cgroup. A load generator may run in a real-time class so that
// arrivals are on time; the worker first returns to the normal class, every thread of it.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/alps-sched/alps/experiments/workload"
	"github.com/alps-sched/alps/invocation"
)

func main() {
	if err := becomeNormal(); err != nil {
		fmt.Fprintf(os.Stderr, "alps-worker: %v\n", err)
		os.Exit(1)
	}
	fs := flag.NewFlagSet("alps-worker", flag.ContinueOnError)
	mapPath := fs.String("map", "", "register the serving threads in the alps invocation map pinned here (empty: unregistered)")
	threads := fs.Int("threads", 64, "most requests served at once")
	prestart := fs.Int("prestart", 2, "threads started before the worker says it is ready")
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	if *threads < 1 || *threads > 4096 || *prestart < 0 {
		fmt.Fprintf(os.Stderr, "alps-worker: --threads must be in [1, 4096] and --prestart >= 0\n")
		os.Exit(2)
	}
	// Every serving thread holds a P while it burns, so that the kernel, not Go's scheduler,
	// decides which runs; the worker allocates little, so the collector stays off.
	runtime.GOMAXPROCS(*threads + 2)
	debug.SetGCPercent(-1)
	debug.SetMemoryLimit(256 << 20)
	var reg *invocation.Registry
	if *mapPath != "" {
		r, err := invocation.Open(*mapPath)
		if err != nil {
			fmt.Fprintf(os.Stderr, "alps-worker: %v\n", err)
			os.Exit(1)
		}
		defer r.Close()
		reg = r
	}
	if err := workload.Serve(os.Stdin, os.Stdout, workload.ServeOptions{Registry: reg, Threads: *threads, Prestart: *prestart}); err != nil {
		fmt.Fprintf(os.Stderr, "alps-worker: %v\n", err)
		os.Exit(1)
	}
}

// becomeNormal puts the worker in the normal scheduling class (SCHED_OTHER): it sets the
// calling thread's policy and re-executes the program from it, so that every thread of the
// new image (the Go runtime's included) inherits it. It returns at once in the normal class.
func becomeNormal() error {
	if a, err := unix.SchedGetAttr(0, 0); err != nil || a.Policy == unix.SCHED_NORMAL {
		return nil
	}
	runtime.LockOSThread()
	if err := unix.SchedSetAttr(0, &unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_NORMAL}, 0); err != nil {
		return fmt.Errorf("leaving the real-time class: %w", err)
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	return fmt.Errorf("re-executing %s: %w", exe, syscall.Exec(exe, os.Args, os.Environ()))
}
