// Command vmtest is make vm-test. It runs the kernel tests of alps, the Go tests named
// TestKernel* (internal/kerneltest), inside a VM booting the cached sched_ext kernel, and the
// tests named TestNoSchedExt* on this host when it has no sched_ext.
//
// It finds the packages that have such tests, builds each one's test binary with go test -c,
// boots the VM once (package experiments/vm) with the binaries and the repository's files, and
// runs every binary with -test.v in its package's directory, as go test would, with
// ALPS_KERNEL_TESTS=1 so that a missing requirement fails instead of skipping. It prints one
// line per test with what the test logged (its measured figures), then a summary, writes the
// results as JSON and the guest console to the work directory, and exits 1 if a test failed,
// skipped in the VM or did not run.
//
//	vmtest [-run REGEXP] [-out FILE] [-work DIR] [-timeout D] [PACKAGE...]
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/alps-sched/alps/experiments/vm"
)

// pkg is a package with kernel tests and its test binary.
type pkg struct {
	Path  string   // import path
	Rel   string   // directory relative to the module root
	Dir   string   // absolute directory
	Guest []string // TestKernel* names
	Host  []string // TestNoSchedExt* names
	Bin   string   // test binary on the host
}

// result is one test's outcome.
type result struct {
	Package string   `json:"package"`
	Test    string   `json:"test"`
	Where   string   `json:"where"`   // "vm" or "host"
	Verdict string   `json:"verdict"` // PASS, FAIL, SKIP
	Seconds float64  `json:"seconds"`
	Detail  string   `json:"detail"` // what the test logged
	Output  []string `json:"output,omitempty"`
}

var testFunc = regexp.MustCompile(`(?m)^func (TestKernel\w*|TestNoSchedExt\w*)\(t \*testing\.T\)`)

func main() {
	run := flag.String("run", "^TestKernel", "the tests to run in the VM (-test.run)")
	out := flag.String("out", "experiments/results/vm-test.json", "where to write the results")
	work := flag.String("work", ".cache/vmtest", "directory for the test binaries and the guest console (vm-test.log)")
	timeout := flag.Duration("timeout", 25*time.Minute, "limit of the VM run")
	flag.Parse()
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	code, err := vmtest(ctx, *run, *out, *work, *timeout, flag.Args())
	if err != nil {
		fmt.Fprintf(os.Stderr, "vm-test: %v\n", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func vmtest(ctx context.Context, run, out, work string, timeout time.Duration, patterns []string) (int, error) {
	start := time.Now()
	root, err := moduleRoot()
	if err != nil {
		return 1, err
	}
	if work, err = filepath.Abs(work); err != nil {
		return 1, err
	}
	if err := os.Chdir(root); err != nil {
		return 1, err
	}
	if err := os.MkdirAll(filepath.Join(work, "bin"), 0o755); err != nil {
		return 1, err
	}
	pkgs, err := findPackages(root, patterns)
	if err != nil {
		return 1, err
	}
	if len(pkgs) == 0 {
		return 1, errors.New("no package has tests named TestKernel* or TestNoSchedExt*")
	}
	for _, p := range pkgs {
		p.Bin = filepath.Join(work, "bin", strings.ReplaceAll(p.Rel, "/", "_")+".test")
		cmd := exec.CommandContext(ctx, "go", "test", "-c", "-o", p.Bin, p.Path)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0") // static: the guest has no libc
		if b, err := cmd.CombinedOutput(); err != nil {
			return 1, fmt.Errorf("go test -c %s: %v\n%s", p.Path, err, b)
		}
	}
	fmt.Printf("vm-test: %d test binaries built in %.0f s\n", len(pkgs), time.Since(start).Seconds())

	var results []result
	if _, err := os.Stat("/sys/kernel/sched_ext"); err == nil {
		fmt.Println("SKIP vm-test host: this host has sched_ext, so the TestNoSchedExt* tests do not apply")
	} else {
		for _, p := range pkgs {
			if len(p.Host) == 0 {
				continue
			}
			cmd := exec.CommandContext(ctx, p.Bin, "-test.v", "-test.run", "^TestNoSchedExt")
			cmd.Dir = p.Dir
			b, err := cmd.CombinedOutput()
			rc := 0
			if err != nil {
				rc = 1
			}
			rs := collect(p, "host", b, rc, p.Host, true)
			printResults(rs)
			results = append(results, rs...)
		}
	}

	guest, runErr := runGuest(ctx, pkgs, run, work, timeout)
	for _, p := range pkgs {
		if len(p.Guest) == 0 {
			continue
		}
		name := strings.ReplaceAll(p.Rel, "/", "_")
		b, ok := guest.files[name+".out"]
		if !ok {
			if runErr == nil {
				runErr = fmt.Errorf("the guest sent no output of %s", p.Rel)
			}
			continue
		}
		rc := 1
		fmt.Sscan(string(guest.files[name+".rc"]), &rc)
		rs := collect(p, "vm", b, rc, p.Guest, run == "^TestKernel")
		printResults(rs)
		results = append(results, rs...)
	}
	passed, failed := 0, 0
	for _, r := range results {
		if r.Verdict == "PASS" || (r.Verdict == "SKIP" && r.Where == "host") {
			passed++
		} else {
			failed++
		}
	}
	if runErr != nil {
		failed++
		fmt.Printf("FAIL vm-test: %v\n", runErr)
	}
	fmt.Printf("SUMMARY vm-test: %d passed, %d failed; kernel %s, %s\n", passed, failed, guest.kernel, guest.summary)
	if err := writeJSON(out, results); err != nil {
		return 1, err
	}
	if failed > 0 {
		fmt.Fprintf(os.Stderr, "vm-test: failed; test output: %s, guest console: %s\n", out, filepath.Join(work, "vm-test.log"))
	}
	fmt.Printf("vm-test: %.0f s\n", time.Since(start).Seconds())
	if failed > 0 {
		return 1, nil
	}
	return 0, nil
}

func moduleRoot() (string, error) {
	b, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(b))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("not inside the alps module")
	}
	return filepath.Dir(mod), nil
}

// findPackages lists the packages matching patterns (default ./...) whose test files declare
// TestKernel* or TestNoSchedExt* tests.
func findPackages(root string, patterns []string) ([]*pkg, error) {
	if len(patterns) == 0 {
		patterns = []string{"./..."}
	}
	args := append([]string{"list", "-f", "{{.ImportPath}}\t{{.Dir}}{{range .TestGoFiles}}\t{{.}}{{end}}{{range .XTestGoFiles}}\t{{.}}{{end}}"}, patterns...)
	b, err := exec.Command("go", args...).Output()
	if err != nil {
		return nil, fmt.Errorf("go list: %w", err)
	}
	var pkgs []*pkg
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Split(line, "\t")
		if len(f) < 3 {
			continue
		}
		p := &pkg{Path: f[0], Dir: f[1]}
		if p.Rel, err = filepath.Rel(root, p.Dir); err != nil {
			return nil, err
		}
		for _, file := range f[2:] {
			src, err := os.ReadFile(filepath.Join(p.Dir, file))
			if err != nil {
				return nil, err
			}
			for _, m := range testFunc.FindAllStringSubmatch(string(src), -1) {
				if strings.HasPrefix(m[1], "TestKernel") {
					p.Guest = append(p.Guest, m[1])
				} else {
					p.Host = append(p.Host, m[1])
				}
			}
		}
		if len(p.Guest)+len(p.Host) > 0 {
			pkgs = append(pkgs, p)
		}
	}
	return pkgs, nil
}

// guestRun is what came back from the VM.
type guestRun struct {
	files   map[string][]byte
	kernel  string
	summary string
}

// runGuest boots the VM once and runs every package's kernel tests in its directory under /src.
func runGuest(ctx context.Context, pkgs []*pkg, run, work string, timeout time.Duration) (guestRun, error) {
	g := guestRun{files: map[string][]byte{}, kernel: "?", summary: "no VM run"}
	kernel, err := vm.DefaultKernel()
	if err != nil {
		return g, err
	}
	if v, err := os.ReadFile(filepath.Join(filepath.Dir(kernel), "version")); err == nil {
		g.kernel = strings.TrimSpace(string(v))
	}
	files := map[string]string{}
	tracked, err := exec.Command("git", "ls-files", "-z").Output()
	if err != nil {
		return g, fmt.Errorf("git ls-files (the guest gets the repository's files): %w", err)
	}
	for _, f := range strings.Split(strings.TrimRight(string(tracked), "\x00"), "\x00") {
		if _, err := os.Stat(f); err == nil { // deleted but not committed: skip
			files["/src/"+f] = f
		}
	}
	var script strings.Builder
	fmt.Fprintf(&script, "export ALPS_KERNEL_TESTS=1\nmkdir -p /tmp/out\n")
	for _, p := range pkgs {
		if len(p.Guest) == 0 {
			continue
		}
		name := strings.ReplaceAll(p.Rel, "/", "_")
		bin := "/src/" + p.Rel + "/" + name + ".test"
		files[bin] = p.Bin
		fmt.Fprintf(&script, "cd /src/%s && { ./%s.test -test.v -test.run '%s' -test.timeout 15m 2>&1; echo $? >/tmp/out/%s.rc; } | tee /tmp/out/%s.out\n",
			p.Rel, name, run, name, name)
		fmt.Fprintf(&script, "send /tmp/out/%s.out /tmp/out/%s.rc\n", name, name)
	}
	script.WriteString("exit 0\n")
	logf, err := os.Create(filepath.Join(work, "vm-test.log"))
	if err != nil {
		return g, err
	}
	defer logf.Close()
	res, err := vm.Run(ctx, vm.Spec{Kernel: kernel, Files: files, Script: script.String(), Timeout: timeout, Console: logf})
	if res != nil {
		g.files = res.Files
		g.summary = fmt.Sprintf("one VM run of %.0f s (%d boot(s), 2 vCPUs under TCG)", res.Duration.Seconds(), res.Attempts)
	}
	if err != nil {
		return g, fmt.Errorf("VM: %w", err)
	}
	if res.ExitCode != 0 {
		return g, fmt.Errorf("the guest script exited %d", res.ExitCode)
	}
	return g, nil
}

// event is a line of go tool test2json's output.
type event struct {
	Action string
	Test   string
	Output string
}

var (
	logLine  = regexp.MustCompile(`^    \S+\.go:\d+: (.*)$`)
	doneLine = regexp.MustCompile(`^--- (PASS|FAIL|SKIP): (\S+) \(([0-9.]+)s\)`)
)

// collect turns the -test.v output of p's binary into one result per top-level test. rc is
// the binary's exit status; want lists the tests that must have run when all is true.
func collect(p *pkg, where string, out []byte, rc int, want []string, all bool) []result {
	if len(bytes.TrimSpace(out)) == 0 {
		return []result{{Package: p.Rel, Where: where, Verdict: "FAIL", Detail: fmt.Sprintf("no output from the test binary (exit %d; see the guest console)", rc)}}
	}
	conv := exec.Command("go", "tool", "test2json", "-p", p.Path)
	conv.Stdin = bytes.NewReader(out)
	js, err := conv.Output()
	if err != nil {
		return []result{{Package: p.Rel, Where: where, Verdict: "FAIL", Detail: "go tool test2json: " + err.Error(), Output: lines(out)}}
	}
	byTest := map[string]*result{}
	var order []string
	dec := json.NewDecoder(bytes.NewReader(js))
	for {
		var e event
		if err := dec.Decode(&e); err == io.EOF {
			break
		} else if err != nil {
			break
		}
		top, _, _ := strings.Cut(e.Test, "/")
		if top == "" {
			continue
		}
		r := byTest[top]
		if r == nil {
			r = &result{Package: p.Rel, Test: top, Where: where}
			byTest[top] = r
			order = append(order, top)
		}
		switch e.Action {
		case "output":
			l := strings.TrimRight(e.Output, "\n")
			if m := doneLine.FindStringSubmatch(l); m != nil && m[2] == top {
				r.Verdict = m[1] // test2json reports it only once a later line follows
				fmt.Sscan(m[3], &r.Seconds)
			}
			if m := logLine.FindStringSubmatch(l); m != nil {
				if r.Detail != "" {
					r.Detail += "; "
				}
				r.Detail += m[1]
			} else if strings.HasPrefix(l, "        ") && r.Detail != "" { // a log message's next line
				r.Detail += " " + strings.TrimSpace(l)
			}
			if !strings.HasPrefix(l, "=== ") && !strings.HasPrefix(strings.TrimSpace(l), "--- ") {
				r.Output = append(r.Output, l)
			}
		case "pass", "fail", "skip":
			if e.Test == top {
				r.Verdict = strings.ToUpper(e.Action)
			}
		}
	}
	var rs []result
	for _, name := range order {
		r := byTest[name]
		if r.Verdict == "" {
			r.Verdict = "FAIL"
			r.Detail = "no verdict (the test binary stopped): " + r.Detail
		}
		if r.Verdict == "PASS" {
			r.Output = nil
		}
		rs = append(rs, *r)
	}
	if all {
		for _, name := range want {
			if byTest[name] == nil {
				rs = append(rs, result{Package: p.Rel, Test: name, Where: where, Verdict: "FAIL", Detail: "did not run"})
			}
		}
	}
	failed := false
	for _, r := range rs {
		failed = failed || r.Verdict == "FAIL"
	}
	if rc != 0 && !failed {
		all := lines(out)
		rs = append(rs, result{Package: p.Rel, Where: where, Verdict: "FAIL", Detail: fmt.Sprintf("test binary exited %d", rc), Output: all[max(0, len(all)-20):]})
	}
	return rs
}

func lines(b []byte) []string {
	var ls []string
	s := bufio.NewScanner(bytes.NewReader(b))
	for s.Scan() {
		ls = append(ls, s.Text())
	}
	return ls
}

// printResults prints one line per result; a failure also gets its output.
func printResults(rs []result) {
	for _, r := range rs {
		where := r.Package
		if r.Where == "host" {
			where = "host " + where
		}
		name := r.Test
		if name == "" {
			name = "(package)"
		}
		verdict := r.Verdict
		if r.Verdict == "SKIP" && r.Where == "vm" {
			verdict = "FAIL" // the VM has everything a kernel test needs: a skip there hides a test
			r.Detail = "skipped in the VM: " + r.Detail
		}
		fmt.Printf("%s vm-test %s %s (%.1fs): %s\n", verdict, where, name, r.Seconds, r.Detail)
		if verdict != "PASS" {
			for _, l := range r.Output {
				fmt.Printf("    %s\n", l)
			}
		}
	}
}

func writeJSON(path string, rs []result) error {
	sort.SliceStable(rs, func(i, j int) bool { return rs[i].Where == "host" && rs[j].Where != "host" })
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(rs, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
