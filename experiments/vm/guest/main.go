// Command alps-vmtest is the guest side of the backend's VM suite (experiments/vm/vm-test.sh):
// it runs inside a VM whose kernel has sched_ext and checks the alps scheduler
// (package backend) against the claims of issue 4. It is also its own workload:
//
//	alps-vmtest suite [-only 1,2,...]   run the tests, print PASS/FAIL lines, write -out JSON
//	alps-vmtest load                    load and attach alps, then wait (test 6, and test 7 on a host)
//	alps-vmtest hog                     spin forever
//	alps-vmtest work DURATION           spin until this process used DURATION of CPU
//
// Workload processes are started through symlinks (/bin/hogA -> alps-vmtest) so that their
// process name classifies them.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/alps-sched/alps/backend"
	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: alps-vmtest suite|load|hog|work DURATION")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "hog":
		for {
			spin(time.Hour)
		}
	case "work":
		d, err := time.ParseDuration(arg(2))
		if err != nil {
			fmt.Fprintf(os.Stderr, "alps-vmtest work: %v\n", err)
			os.Exit(2)
		}
		spin(d)
	case "load":
		os.Exit(load())
	case "suite":
		os.Exit(suite(os.Args[2:]))
	default:
		fmt.Fprintf(os.Stderr, "alps-vmtest: unknown command %q\n", os.Args[1])
		os.Exit(2)
	}
}

func arg(i int) string {
	if i < len(os.Args) {
		return os.Args[i]
	}
	return ""
}

// cpuTime is the CPU time this process used so far.
func cpuTime() time.Duration {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_PROCESS_CPUTIME_ID, &ts)
	return time.Duration(ts.Nano())
}

// spin burns CPU until the process used d of CPU time (calibrated by time, not by
// iterations: the guest CPU speed under emulation is unknown).
func spin(d time.Duration) {
	x := 1
	for cpuTime() < d {
		for i := 0; i < 10000; i++ {
			x = x*1103515245 + 12345
		}
	}
	if x == 42 {
		fmt.Print("")
	}
}

// load loads and attaches alps and waits for a signal or the scheduler's end. Errors
// are one line on stderr.
func load() int {
	s, err := backend.Load(backend.Options{Knobs: defaultKnobs})
	if err != nil {
		fmt.Fprintf(os.Stderr, "alps: %v\n", err)
		return 1
	}
	defer s.Close()
	if err := s.Attach(); err != nil {
		fmt.Fprintf(os.Stderr, "alps: %v\n", err)
		return 1
	}
	fmt.Println("alps attached")
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	select {
	case <-sig:
		return 0
	case <-s.Done():
		info, _ := s.ExitInfo()
		fmt.Fprintf(os.Stderr, "alps: scheduler stopped: %v\n", info)
		if info.Ejected() {
			return 1
		}
		return 0
	}
}
