// Command vmrun boots the sched_ext VM once (package experiments/vm) with the given
// files in its initramfs, runs a guest script and copies the files the guest sent back
// into a directory. It prints the guest console as it comes and exits with the
// script's exit status (1 for a VM error: timeout, no exit status, emulator crash twice).
//
//	vmrun -file /bin/alps-payload=bin/alps-payload -cmd 'alps-payload ...; send /tmp/x' -out DIR
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/alps-sched/alps/experiments/vm"
)

type fileFlags map[string]string

func (f fileFlags) String() string { return fmt.Sprint(map[string]string(f)) }
func (f fileFlags) Set(v string) error {
	guest, host, ok := strings.Cut(v, "=")
	if !ok || guest == "" || host == "" {
		return fmt.Errorf("want GUEST=HOST, got %q", v)
	}
	f[guest] = host
	return nil
}

func main() {
	files := fileFlags{}
	flag.Var(files, "file", "GUEST=HOST: put host file HOST at guest path GUEST (repeatable)")
	script := flag.String("cmd", "", "guest shell script to run")
	out := flag.String("out", "", "directory for the files the guest sends back")
	cpus := flag.Int("cpus", 2, "vCPUs")
	mem := flag.Int("mem", 1024, "guest memory (MiB)")
	timeout := flag.Duration("timeout", 10*time.Minute, "limit of one boot")
	quiet := flag.Bool("quiet", false, "do not print the guest console")
	sample := flag.Duration("sample", 0, "if > 0, sample qemu's host CPU time at this interval into OUT/host-cpu.csv")
	nice := flag.Int("nice", 0, "if negative, run qemu in its own session at this nice value (root; see vm.Spec.Nice)")
	flag.Parse()
	if *script == "" {
		fmt.Fprintln(os.Stderr, "vmrun: -cmd is required")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	spec := vm.Spec{Files: files, Script: *script, CPUs: *cpus, MemMB: *mem, Timeout: *timeout, Nice: *nice, SampleEvery: *sample}
	if !*quiet {
		spec.Console = os.Stdout
	}
	res, err := vm.Run(ctx, spec)
	if err != nil {
		fmt.Fprintf(os.Stderr, "vmrun: %v\n", err)
		os.Exit(1)
	}
	if *out != "" {
		if err := os.MkdirAll(*out, 0o755); err != nil {
			fmt.Fprintf(os.Stderr, "vmrun: %v\n", err)
			os.Exit(1)
		}
		if len(res.HostSamples) > 0 {
			var b strings.Builder
			b.WriteString("at_s,qemu_cpu_s\n")
			for _, h := range res.HostSamples {
				fmt.Fprintf(&b, "%.3f,%.3f\n", h.At.Seconds(), h.CPU.Seconds())
			}
			res.Files["host-cpu.csv"] = []byte(b.String())
		}
		for name, b := range res.Files {
			if err := os.WriteFile(filepath.Join(*out, filepath.Base(name)), b, 0o644); err != nil {
				fmt.Fprintf(os.Stderr, "vmrun: %v\n", err)
				os.Exit(1)
			}
		}
	}
	fmt.Fprintf(os.Stderr, "vmrun: guest exited %d after %.1f s (%d boot(s)), qemu used %.1f s of host CPU\n",
		res.ExitCode, res.Duration.Seconds(), res.Attempts, res.HostCPU.Seconds())
	os.Exit(res.ExitCode)
}
