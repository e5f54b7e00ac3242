package main

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestCollect turns -test.v output into one result per test: the logged line as the detail,
// the time, failures with their output, and the failures a verdict alone would hide.
func TestCollect(t *testing.T) {
	p := &pkg{Path: "example.com/m/backend", Rel: "backend"}
	out := `=== RUN   TestKernelA
    kernel_test.go:10: 20/20 records, worst 0.1 ms
--- PASS: TestKernelA (2.49s)
=== RUN   TestKernelB
    kernel_test.go:20: ratio 1.07 (want <= 1.05)
        second line
--- FAIL: TestKernelB (47.30s)
=== RUN   TestKernelC
    kernel_test.go:30: kernel test: needs root
--- SKIP: TestKernelC (0.00s)
FAIL
`
	rs := collect(p, "vm", []byte(out), 1, []string{"TestKernelA", "TestKernelB", "TestKernelC", "TestKernelD"}, true)
	got := map[string]result{}
	for _, r := range rs {
		got[r.Test] = r
	}
	tests := []struct {
		name, verdict, detail string
		seconds               float64
		output                bool
	}{
		{"TestKernelA", "PASS", "20/20 records, worst 0.1 ms", 2.49, false},
		{"TestKernelB", "FAIL", "ratio 1.07 (want <= 1.05) second line", 47.3, true},
		{"TestKernelC", "SKIP", "kernel test: needs root", 0, true},
		{"TestKernelD", "FAIL", "did not run", 0, false},
	}
	for _, tt := range tests {
		r, ok := got[tt.name]
		if !ok || r.Verdict != tt.verdict || r.Detail != tt.detail || r.Seconds != tt.seconds || (len(r.Output) > 0) != tt.output {
			t.Errorf("%s: %+v (present %v), want %s %q %.2fs, output %v", tt.name, r, ok, tt.verdict, tt.detail, tt.seconds, tt.output)
		}
	}
	if len(rs) != len(tests) {
		t.Errorf("%d results, want %d: %+v", len(rs), len(tests), rs)
	}

	// A binary that exits non-zero after its tests passed: a failure of its own, with the end of
	// the output.
	panicked := "=== RUN   TestKernelA\n--- PASS: TestKernelA (0.10s)\npanic: boom\n"
	rs = collect(p, "vm", []byte(panicked), 2, []string{"TestKernelA"}, true)
	if len(rs) != 2 || rs[1].Verdict != "FAIL" || !strings.Contains(rs[1].Detail, "exited 2") || !slices.Contains(rs[1].Output, "panic: boom") {
		t.Errorf("a panic after the tests: %+v, want a package failure with the panic", rs)
	}
	// A test that never ended (the binary was killed mid-test).
	rs = collect(p, "vm", []byte("=== RUN   TestKernelA\n    k.go:1: started\n"), 1, nil, false)
	if len(rs) != 1 || rs[0].Verdict != "FAIL" || !strings.Contains(rs[0].Detail, "no verdict") {
		t.Errorf("a test without a verdict: %+v, want a failure", rs)
	}
	if rs := collect(p, "vm", nil, 1, nil, false); len(rs) != 1 || rs[0].Verdict != "FAIL" {
		t.Errorf("no output: %+v, want a failure", rs)
	}
}

// TestFindPackages finds the kernel tests of this repository by name.
func TestFindPackages(t *testing.T) {
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	pkgs, err := findPackages(root, []string{"../../../backend/...", "../../../cmd/alps-frontend"})
	if err != nil {
		t.Fatal(err)
	}
	byRel := map[string]*pkg{}
	for _, p := range pkgs {
		byRel[p.Rel] = p
	}
	if b := byRel["backend"]; b == nil || !slices.Contains(b.Guest, "TestKernelStarvation") || !slices.Contains(b.Host, "TestNoSchedExtLoad") {
		t.Errorf("backend: %+v, want TestKernelStarvation in the VM and TestNoSchedExtLoad on the host", b)
	}
	if f := byRel["cmd/alps-frontend"]; f == nil || !slices.Contains(f.Guest, "TestKernelStatus") {
		t.Errorf("cmd/alps-frontend: %+v, want TestKernelStatus", f)
	}
	if _, ok := byRel["backend/internal/classify"]; ok {
		t.Error("a package without kernel tests was listed")
	}
}
