package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alps-sched/alps/cmd/internal/cli"
)

func execute(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	app, err := newApp()
	if err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	app.SetOutput(&out, &errb)
	code = app.Execute(context.Background(), args)
	return code, out.String(), errb.String()
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const goodTrace = "arrival_ms,function,cpu_ms,io_ms\n0,a,5,0\n1,b,50,10\n2,a,4,0\n3,c,200,0\n4,a,6,0\n"

// TestBadInput: every malformed input is one line on stderr naming the file, line and
// column or the key, and a non-zero exit code; never a panic.
func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	trace := writeFile(t, dir, "t.csv", goodTrace)
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no trace", []string{"run"}, cli.ExitUsage, "give a trace: --trace FILE or --azure DIR"},
		{"both traces", []string{"run", "--trace", trace, "--azure", dir}, cli.ExitUsage, "give one, not both"},
		{"missing file", []string{"run", "--trace", filepath.Join(dir, "no.csv")}, cli.ExitFailure, "no.csv: no such file or directory"},
		{"empty file", []string{"run", "--trace", writeFile(t, dir, "e.csv", "")}, cli.ExitFailure, "e.csv:1:1: empty file"},
		{"header only", []string{"run", "--trace", writeFile(t, dir, "h.csv", "arrival_ms,function,cpu_ms\n")}, cli.ExitFailure, "h.csv:2:1: no invocations"},
		{"missing header", []string{"run", "--trace", writeFile(t, dir, "m.csv", "0,a,1\n")}, cli.ExitFailure, "m.csv:1:1: missing header"},
		{"negative", []string{"run", "--trace", writeFile(t, dir, "n.csv", "arrival_ms,function,cpu_ms\n0,a,-3\n")}, cli.ExitFailure, "n.csv:2:3: cpu_ms: -3 must be > 0"},
		{"nan", []string{"run", "--trace", writeFile(t, dir, "nan.csv", "arrival_ms,function,cpu_ms\nNaN,a,3\n")}, cli.ExitFailure, "nan.csv:2:1: arrival_ms: NaN is not a finite number"},
		{"absurd", []string{"run", "--trace", writeFile(t, dir, "big.csv", "arrival_ms,function,cpu_ms\n0,a,9e99\n")}, cli.ExitFailure, "big.csv:2:3: cpu_ms: 9e99 is absurdly large"},
		{"short row", []string{"run", "--trace", writeFile(t, dir, "s.csv", "arrival_ms,function,cpu_ms\n0,a\n")}, cli.ExitFailure, "s.csv:2:3: 2 fields, the header has 3"},
		{"text number", []string{"run", "--trace", writeFile(t, dir, "x.csv", "arrival_ms,function,cpu_ms\n0,a,lots\n")}, cli.ExitFailure, `x.csv:2:3: cpu_ms: "lots" is not a number`},
		{"binary", []string{"run", "--trace", writeFile(t, dir, "b.csv", "\x00\x01\x02\x03garbage\xff")}, cli.ExitFailure, "b.csv:1:1: binary data"},
		{"azure missing file", []string{"run", "--azure", dir}, cli.ExitFailure, "missing invocations_per_function_md.anon.d01.csv"},
		{"azure bad minutes", []string{"run", "--azure", dir, "--minutes", "ten"}, cli.ExitUsage, "--minutes: want A-B"},
		{"unknown policy", []string{"run", "--trace", trace, "--policies", "srpt,lottery"}, cli.ExitUsage, `--policies: unknown policy "lottery" (valid: `},
		{"zero cores", []string{"run", "--trace", trace, "--cores", "0"}, cli.ExitUsage, "--cores: must be in [1, 8192], got 0"},
		{"negative cores", []string{"run", "--trace", trace, "--cores", "-2"}, cli.ExitUsage, "--cores: must be in [1, 8192], got -2"},
		{"malformed yaml", []string{"run", "--trace", trace, "--config", writeFile(t, dir, "bad.yaml", "sim: [1, 2\n")}, cli.ExitFailure, "bad.yaml"},
		{"unknown yaml key", []string{"run", "--trace", trace, "--config", writeFile(t, dir, "u.yaml", "sim:\n  cfs_latency: 3\n")}, cli.ExitFailure, `u.yaml:2: unknown key "sim.cfs_latency"`},
		{"bad yaml value", []string{"run", "--trace", trace, "--config", writeFile(t, dir, "v.yaml", "sim:\n  cfs_latency_ms: -1\n")}, cli.ExitFailure, "sim.cfs_latency_ms: must be in (0, 10000], got -1"},
		{"unknown flag", []string{"run", "--trace", trace, "--fast"}, cli.ExitUsage, "unknown flag: --fast"},
		{"gen bad load", []string{"gen", "--load", "0"}, cli.ExitUsage, "--load: must be in (0, 1.5]"},
		{"gen bad functions", []string{"gen", "--functions", "0"}, cli.ExitUsage, "--functions: must be in [1, 1000000], got 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := execute(t, tt.args...)
			if code != tt.code {
				t.Errorf("exit code %d, want %d (stderr %q)", code, tt.code, stderr)
			}
			lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
			last := lines[len(lines)-1]
			for _, l := range lines[:len(lines)-1] { // anything before the error is a JSON log line
				if !strings.HasPrefix(l, "{") {
					t.Errorf("stray stderr line %q", l)
				}
			}
			if !strings.HasPrefix(last, "alps-sim: ") || !strings.Contains(last, tt.want) {
				t.Errorf("stderr %q, want one line containing %q", stderr, tt.want)
			}
		})
	}
}

func TestRunJSON(t *testing.T) {
	dir := t.TempDir()
	trace := writeFile(t, dir, "t.csv", goodTrace)
	out := filepath.Join(dir, "out")
	code, stdout, stderr := execute(t, "run", "--trace", trace, "--cores", "1", "--json", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatalf("not one JSON object: %v\n%s", err, stdout)
	}
	tr := doc["trace"].(map[string]any)
	if tr["invocations"].(float64) != 5 || tr["functions"].(float64) != 3 {
		t.Errorf("trace %v", tr)
	}
	if _, ok := tr["utilization"]; !ok || doc["cores"].(float64) != 1 {
		t.Errorf("doc %v", doc)
	}
	res := doc["results"].([]any)
	if len(res) != 5 {
		t.Fatalf("%d results", len(res))
	}
	keys := []string{"policy", "completed", "mean_fct_ms", "p50_fct_ms", "p99_fct_ms", "mean_slowdown",
		"p99_slowdown", "short_mean_fct_ms", "long_p99_slowdown", "preemptions"}
	for i, r := range res {
		m := r.(map[string]any)
		for _, k := range keys {
			if _, ok := m[k]; !ok {
				t.Errorf("result %d lacks %q", i, k)
			}
		}
		if m["completed"].(float64) != 5 {
			t.Errorf("result %d completed %v", i, m["completed"])
		}
	}
	if res[0].(map[string]any)["policy"] != "srpt" {
		t.Errorf("first policy %v", res[0])
	}
	for _, f := range []string{"srpt.csv", "fifo.csv", "cfs.csv", "sfs.csv", "vtime.csv", "fct_cdf.png", "slowdown_by_demand.png"} {
		st, err := os.Stat(filepath.Join(out, f))
		if err != nil || st.Size() == 0 {
			t.Errorf("--out %s: %v", f, err)
		}
	}
	b, _ := os.ReadFile(filepath.Join(out, "srpt.csv"))
	if n := strings.Count(string(b), "\n"); n != 6 {
		t.Errorf("srpt.csv has %d lines, want header + 5", n)
	}
}

func TestRunTableAndGen(t *testing.T) {
	dir := t.TempDir()
	gen := filepath.Join(dir, "g.csv")
	if code, _, stderr := execute(t, "gen", "--functions", "20", "--minutes", "1", "--cores", "2", "--load", "0.5", "--out", gen); code != 0 {
		t.Fatalf("gen: %s", stderr)
	}
	code, stdout, stderr := execute(t, "run", "--trace", gen, "--cores", "2", "--policies", "srpt,fifo")
	if code != 0 {
		t.Fatalf("run: %s", stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "trace: ") || !strings.Contains(lines[1], "mean_fct_ms") ||
		!strings.Contains(lines[2], "srpt") || !strings.Contains(lines[3], "fifo") {
		t.Errorf("table:\n%s", stdout)
	}
}

// TestOverloadedTrace: a trace asking for more CPU than the cores supply is stated as an
// offered load above 1, and said to be overloaded, not as a utilization.
func TestOverloadedTrace(t *testing.T) {
	dir := t.TempDir()
	trace := writeFile(t, dir, "t.csv", "arrival_ms,function,cpu_ms\n0,a,300\n100,b,300\n200,a,300\n")
	code, stdout, stderr := execute(t, "run", "--trace", trace, "--cores", "1", "--policies", "fifo")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if want := "trace: 3 invocations, 2 functions, offered load 4.500 on 1 cores (overloaded: more CPU asked for than the cores supply)\n"; !strings.HasPrefix(stdout, want) {
		t.Errorf("stdout %q, want it to start with %q", stdout, want)
	}
	if strings.Contains(stdout, "utilization") {
		t.Errorf("stdout says utilization:\n%s", stdout)
	}
}
