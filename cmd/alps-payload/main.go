// Command alps-payload is one invocation of the experiment's workload: it burns a calibrated
// number of work units of CPU, optionally split by sleeps that stand for blocking I/O.
//
//	alps-payload UNITS [BLOCKS SLEEP_US]
//
// The load generator starts it under each function's name (through a link named after the
// function), so the kernel classifies it by process name before it runs. It has no flags and
// no dependencies beyond the runtime, so that it starts fast.
//
// Its first act is to put itself in the normal scheduling class: the load generator runs at
// real-time priority (alps-bench loadgen --realtime) so that arrivals are on time whatever
// the scheduler under test does, and its children inherit that priority up to here.
package main

import (
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"
	"unsafe"

	"github.com/alps-sched/alps/experiments/workload"
)

func main() {
	var param [1]int32 // struct sched_param: priority 0
	syscall.RawSyscall(syscall.SYS_SCHED_SETSCHEDULER, 0, 0, uintptr(unsafe.Pointer(&param[0])))
	s, err := parse(os.Args[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "alps-payload: %v\n", err)
		os.Exit(2)
	}
	workload.Run(s)
}

func parse(args []string) (workload.Spec, error) {
	var s workload.Spec
	if len(args) != 1 && len(args) != 3 {
		return s, fmt.Errorf("usage: alps-payload UNITS [BLOCKS SLEEP_US]")
	}
	var err error
	if s.Units, err = strconv.ParseInt(args[0], 10, 64); err != nil {
		return s, fmt.Errorf("UNITS: %q is not an integer", args[0])
	}
	if len(args) == 3 {
		if s.Blocks, err = strconv.Atoi(args[1]); err != nil {
			return s, fmt.Errorf("BLOCKS: %q is not an integer", args[1])
		}
		us, err := strconv.ParseInt(args[2], 10, 64)
		if err != nil {
			return s, fmt.Errorf("SLEEP_US: %q is not an integer", args[2])
		}
		s.Sleep = time.Duration(us) * time.Microsecond
	}
	return s, s.Validate()
}
