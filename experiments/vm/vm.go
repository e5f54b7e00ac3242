// Package vm boots a Linux kernel in qemu (software emulation, TCG single-threaded) with
// an initramfs of busybox and the caller's files, runs a shell script as the guest's
// only job, and brings back its console output, exit status and files.
//
// Channels: the guest console (ttyS0) is the serial output of Result; a second serial
// port (ttyS1) carries files back: the guest's shell function `send FILE` writes
// "=== FILE name ===", the base64 of FILE and "=== END ===" there, so kernel messages
// never mix into file data. The script's exit status comes back as a marker line on the
// same port.
//
// An emulator crash (qemu dying, or the known TCG fault that shows up as "Oops: int3")
// is told apart from a failure of the guest and retried once; see ErrEmulator.
package vm

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Errors of Run.
var (
	// ErrEmulator: qemu crashed (twice): not a failure of the guest program.
	ErrEmulator = errors.New("emulator crash")
	// ErrTimeout: the guest did not finish within Spec.Timeout.
	ErrTimeout = errors.New("guest timed out")
	// ErrNoExit: the guest stopped without reporting an exit status (e.g. a kernel panic).
	ErrNoExit = errors.New("guest stopped without an exit status")
)

// Spec describes one boot.
type Spec struct {
	// Kernel is the bzImage to boot; "" means DefaultKernel().
	Kernel string
	// Files maps guest paths (e.g. "/bin/alps-payload") to host files copied into the
	// initramfs with their mode. Binaries must be static (CGO_ENABLED=0).
	Files map[string]string
	// Script is run by busybox sh as the guest's job, after /proc, /sys, /dev, /tmp,
	// /sys/fs/cgroup (cgroup2), /sys/fs/bpf and /sys/kernel/debug are mounted. Its exit
	// status is Result.ExitCode. It may call `send FILE` to bring FILE back.
	Script string
	CPUs   int // vCPUs; 0 means 2
	MemMB  int // guest memory; 0 means 1024
	// Timeout of one boot; 0 means 10 minutes.
	Timeout time.Duration
	// Console, if set, receives the guest console output as it comes.
	Console io.Writer
	// Append is added to the kernel command line.
	Append string
	// Nice, if negative, raises the emulator's host CPU priority: qemu runs in a session of
	// its own (so in an autogroup of its own where the host groups by session) whose nice
	// value is set to Nice. Single-threaded TCG needs one host core, and on a shared host
	// other work otherwise takes part of it, which the guest sees as a slower CPU (its
	// clock runs on). Raising priority needs root; without it the boot goes on unchanged
	// (Result.Niced says so).
	Nice int
	// SampleEvery, if > 0, samples the emulator's host CPU time at this interval
	// (Result.HostSamples).
	SampleEvery time.Duration
	// Marks are console lines (exact, without the line end) at which the emulator's host
	// CPU time is read as the line arrives (Result.Marks): the guest prints one to time a
	// phase of its job on the host's clock.
	Marks []string
}

// HostSample is the emulator's CPU time on the host at a moment of the boot.
type HostSample struct {
	At  time.Duration // since qemu started
	CPU time.Duration // qemu's user + system CPU time so far
}

// Result is what came back from a guest that ran to the end of its script.
type Result struct {
	Serial   string            // the console (ttyS0) output
	ExitCode int               // the script's exit status
	Files    map[string][]byte // files sent with `send`, by base name
	Duration time.Duration     // wall time of the boot that finished
	Attempts int               // boots made (2 after an emulator crash)
	// HostCPU is the emulator's user + system CPU time on the host over the boot: how
	// much of a host core the guest got (HostCPU / Duration, about 1 while the guest is
	// busy on an unloaded host).
	HostCPU     time.Duration
	HostSamples []HostSample // every Spec.SampleEvery
	// Marks maps each of Spec.Marks the guest printed to the emulator's CPU time when the
	// line arrived (the first time it did).
	Marks map[string]HostSample
	Niced bool // the emulator ran at Spec.Nice
}

// marker watches the console for Spec.Marks and reads the emulator's CPU time as each one
// arrives.
type marker struct {
	marks   []string
	pid     int
	start   time.Time
	partial []byte
	mu      sync.Mutex
	seen    map[string]HostSample
}

func (m *marker) Write(b []byte) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.partial = append(m.partial, b...)
	for {
		i := bytes.IndexByte(m.partial, '\n')
		if i < 0 {
			return len(b), nil
		}
		line := strings.TrimRight(string(m.partial[:i]), "\r")
		m.partial = m.partial[i+1:]
		for _, mk := range m.marks {
			if _, done := m.seen[mk]; !done && line == mk {
				if c, err := processCPU(m.pid); err == nil {
					m.seen[mk] = HostSample{At: time.Since(m.start), CPU: c}
				}
			}
		}
	}
}

// SerialTail returns the last n lines of the console output.
func (r *Result) SerialTail(n int) string { return tail(r.Serial, n) }

// DefaultKernel returns $ALPS_KERNEL, or kernel/vmlinuz of the cache experiments/vm/deps.sh
// fills: $ALPS_CACHE, else .cache of the repository that contains the working directory.
func DefaultKernel() (string, error) {
	if k := os.Getenv("ALPS_KERNEL"); k != "" {
		return k, nil
	}
	if c := os.Getenv("ALPS_CACHE"); c != "" {
		k := filepath.Join(c, "kernel", "vmlinuz")
		if _, err := os.Stat(k); err != nil {
			return "", fmt.Errorf("no cached kernel %s: run experiments/vm/deps.sh", k)
		}
		return k, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			k := filepath.Join(dir, ".cache", "kernel", "vmlinuz")
			if _, err := os.Stat(k); err != nil {
				return "", fmt.Errorf("no cached kernel %s: run experiments/vm/deps.sh", k)
			}
			return k, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no kernel: set ALPS_KERNEL or run from the alps repository after experiments/vm/deps.sh")
		}
		dir = parent
	}
}

// Run boots the guest and runs spec.Script. A guest whose script exits non-zero is not
// an error: see Result.ExitCode. Errors are ErrTimeout, ErrNoExit (with the console
// tail) and ErrEmulator when qemu crashed on both attempts.
func Run(ctx context.Context, spec Spec) (*Result, error) {
	if spec.Kernel == "" {
		k, err := DefaultKernel()
		if err != nil {
			return nil, err
		}
		spec.Kernel = k
	}
	if spec.CPUs == 0 {
		spec.CPUs = 2
	}
	if spec.MemMB == 0 {
		spec.MemMB = 1024
	}
	if spec.Timeout == 0 {
		spec.Timeout = 10 * time.Minute
	}
	dir, err := os.MkdirTemp("", "alps-vm-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	initrd := filepath.Join(dir, "initrd.gz")
	if err := writeInitramfs(initrd, spec); err != nil {
		return nil, fmt.Errorf("building the initramfs: %w", err)
	}
	var last error
	for attempt := 1; attempt <= 2; attempt++ {
		res, err := boot(ctx, spec, initrd, dir)
		if res != nil {
			res.Attempts = attempt
		}
		if !errors.Is(err, ErrEmulator) {
			return res, err
		}
		last = err
	}
	return nil, last
}

// emulatorFault matches console lines of known TCG faults (not our bugs).
var emulatorFault = regexp.MustCompile(`Oops: int3|qemu: fatal|TCG temporaries leaked`)

func boot(ctx context.Context, spec Spec, initrd, dir string) (*Result, error) {
	ctx, cancel := context.WithTimeout(ctx, spec.Timeout)
	defer cancel()
	data := filepath.Join(dir, "ttyS1")
	os.Remove(data)
	args := []string{
		"-accel", "tcg,thread=single", // multi-threaded TCG crashes now and then
		"-m", strconv.Itoa(spec.MemMB), "-smp", strconv.Itoa(spec.CPUs), "-cpu", "max",
		"-kernel", spec.Kernel, "-initrd", initrd,
		"-append", "console=ttyS0 rdinit=/init panic=-1 oops=panic quiet loglevel=4 mitigations=off " + spec.Append,
		"-display", "none", "-no-reboot", "-monitor", "none",
		"-serial", "stdio", "-serial", "file:" + data,
		"-nic", "none",
	}
	cmd := exec.CommandContext(ctx, "qemu-system-x86_64", args...)
	var console bytes.Buffer
	var w io.Writer = &console
	if spec.Console != nil {
		w = io.MultiWriter(&console, spec.Console)
	}
	cmd.Stdout = w
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if spec.Nice < 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	}
	mk := &marker{marks: spec.Marks, seen: map[string]HostSample{}}
	if len(spec.Marks) > 0 {
		cmd.Stdout = io.MultiWriter(w, mk)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("qemu: %w", err)
	}
	mk.mu.Lock()
	mk.pid, mk.start = cmd.Process.Pid, start
	mk.mu.Unlock()
	niced := spec.Nice < 0 && renice(cmd.Process.Pid, spec.Nice) == nil
	var samples []HostSample
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		if spec.SampleEvery <= 0 {
			return
		}
		tick := time.NewTicker(spec.SampleEvery)
		defer tick.Stop()
		for {
			select {
			case <-stopSampling:
				return
			case <-tick.C:
				if c, err := processCPU(cmd.Process.Pid); err == nil {
					samples = append(samples, HostSample{At: time.Since(start), CPU: c})
				}
			}
		}
	}()
	runErr := cmd.Wait()
	close(stopSampling)
	<-sampled
	res := &Result{Serial: console.String(), Duration: time.Since(start), Files: map[string][]byte{},
		HostSamples: samples, Niced: niced, Marks: mk.seen}
	if st := cmd.ProcessState; st != nil {
		res.HostCPU = st.UserTime() + st.SystemTime()
	}
	if ctx.Err() == context.DeadlineExceeded {
		return res, fmt.Errorf("%w after %v; console ends:\n%s", ErrTimeout, spec.Timeout, tail(res.Serial, 20))
	}
	if err := ctx.Err(); err != nil {
		return res, err
	}
	if emulatorFault.MatchString(res.Serial) || emulatorFault.MatchString(stderr.String()) {
		return res, fmt.Errorf("%w: %s", ErrEmulator, firstMatch(res.Serial+stderr.String()))
	}
	if runErr != nil {
		var ee *exec.ExitError
		if errors.As(runErr, &ee) && !ee.Exited() { // killed by a signal: qemu crashed
			return res, fmt.Errorf("%w: qemu %v: %s", ErrEmulator, runErr, strings.TrimSpace(stderr.String()))
		}
		return res, fmt.Errorf("qemu: %v: %s", runErr, strings.TrimSpace(stderr.String()))
	}
	raw, err := os.ReadFile(data)
	if err != nil {
		return res, fmt.Errorf("reading the guest's data port: %w", err)
	}
	code, ok := parseData(raw, res.Files)
	if !ok {
		return res, fmt.Errorf("%w; console ends:\n%s", ErrNoExit, tail(res.Serial, 30))
	}
	res.ExitCode = code
	return res, nil
}

// renice sets the nice value of process pid's autogroup (its session, where the host
// groups tasks by session) and of pid itself.
func renice(pid, nice int) error {
	ag := fmt.Sprintf("/proc/%d/autogroup", pid)
	if _, err := os.Stat(ag); err == nil {
		if err := os.WriteFile(ag, []byte(strconv.Itoa(nice)), 0); err != nil {
			return err
		}
	}
	return syscall.Setpriority(syscall.PRIO_PROCESS, pid, nice)
}

// processCPU reads the user + system CPU time of process pid (all its threads) from
// /proc/pid/stat.
func processCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The fields after the command name (which may hold spaces) start after the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: utime %q stime %q", pid, f[11], f[12])
	}
	return time.Duration(ut+st) * time.Second / clockTicks, nil
}

// clockTicks is USER_HZ, the unit of /proc/pid/stat times (100 on every Linux
// architecture Go supports).
const clockTicks = 100

func firstMatch(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if emulatorFault.MatchString(l) {
			return strings.TrimSpace(l)
		}
	}
	return ""
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// parseData decodes the data port: files between FILE/END markers, and the EXIT marker.
func parseData(raw []byte, files map[string][]byte) (code int, ok bool) {
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var name string
	var b64 strings.Builder
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		switch {
		case strings.HasPrefix(line, "=== FILE ") && strings.HasSuffix(line, " ==="):
			name = strings.TrimSuffix(strings.TrimPrefix(line, "=== FILE "), " ===")
			b64.Reset()
		case line == "=== END ===" && name != "":
			if b, err := base64.StdEncoding.DecodeString(b64.String()); err == nil {
				files[name] = b
			}
			name = ""
		case strings.HasPrefix(line, "=== EXIT ") && strings.HasSuffix(line, " ==="):
			c, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(line, "=== EXIT "), " ==="))
			if err == nil {
				code, ok = c, true
			}
		case name != "":
			b64.WriteString(line)
		}
	}
	return code, ok
}

// initScript is the guest's /init.
const initScript = `#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mount -t bpf bpf /sys/fs/bpf
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
sh /job.sh
rc=$?
echo "=== EXIT $rc ===" >/dev/ttyS1
sync
poweroff -f
`

// sendScript is the guest's /bin/send FILE...: it copies files to the data port.
const sendScript = `#!/bin/sh
for f in "$@"; do
	{ echo "=== FILE ${f##*/} ==="; base64 "$f"; echo "=== END ==="; } >/dev/ttyS1
done
`

// writeInitramfs writes a gzip'd newc cpio with busybox, /init, /job.sh and spec.Files.
func writeInitramfs(path string, spec Spec) error {
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		return errors.New("busybox not found (apt-get install busybox-static)")
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	gz := gzip.NewWriter(f)
	cw := newCpio(gz)
	for _, d := range []string{"bin", "sbin", "usr", "usr/bin", "usr/sbin", "proc", "sys", "dev", "tmp", "etc", "root"} {
		cw.dir(d)
	}
	if err := cw.file("bin/busybox", busybox, 0o755); err != nil {
		return err
	}
	cw.data("init", []byte(initScript), 0o755)
	cw.data("bin/send", []byte(sendScript), 0o755)
	cw.data("job.sh", []byte(spec.Script), 0o755)
	for guest, host := range spec.Files {
		guest = strings.TrimPrefix(guest, "/")
		cw.dirAll(filepath.Dir(guest))
		st, err := os.Stat(host)
		if err != nil {
			return err
		}
		if err := cw.file(guest, host, st.Mode().Perm()); err != nil {
			return err
		}
	}
	if err := cw.close(); err != nil {
		return err
	}
	if err := gz.Close(); err != nil {
		return err
	}
	return f.Close()
}

// cpio writes the newc format the kernel unpacks (header fields are 8 hex digits).
type cpio struct {
	w    io.Writer
	ino  int
	dirs map[string]bool
	err  error
}

func newCpio(w io.Writer) *cpio { return &cpio{w: w, ino: 1, dirs: map[string]bool{}} }

func (c *cpio) entry(name string, mode uint32, body []byte) {
	if c.err != nil {
		return
	}
	c.ino++
	hdr := fmt.Sprintf("070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		c.ino, mode, 0, 0, 1, 0, len(body), 0, 0, 0, 0, len(name)+1, 0)
	buf := append([]byte(hdr), name...)
	buf = append(buf, 0)
	for len(buf)%4 != 0 {
		buf = append(buf, 0)
	}
	buf = append(buf, body...)
	for len(buf)%4 != 0 {
		buf = append(buf, 0)
	}
	_, c.err = c.w.Write(buf)
}

func (c *cpio) dir(name string) {
	if c.dirs[name] {
		return
	}
	c.dirs[name] = true
	c.entry(name, 0o040755, nil)
}

// dirAll writes name and its missing parents, parents first: the kernel's unpacker does not
// create the parents of an entry.
func (c *cpio) dirAll(name string) {
	if name == "." || name == "/" || c.dirs[name] {
		return
	}
	c.dirAll(filepath.Dir(name))
	c.dir(name)
}

func (c *cpio) data(name string, body []byte, perm os.FileMode) {
	c.entry(name, 0o100000|uint32(perm), body)
}

func (c *cpio) file(name, host string, perm os.FileMode) error {
	b, err := os.ReadFile(host)
	if err != nil {
		return err
	}
	c.data(name, b, perm)
	return c.err
}

func (c *cpio) close() error {
	c.entry("TRAILER!!!", 0, nil)
	return c.err
}
