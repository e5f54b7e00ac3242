package backend

import (
	"bytes"
	"encoding/csv"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestOrderingHeaderVectors compiles bpf/ordering.h into a small host program with cc and
// checks it against every row of testdata/ordering_vectors.csv, the vectors the Go rule
// (sim/ordering.go) is tested against too.
func TestOrderingHeaderVectors(t *testing.T) {
	cc, err := exec.LookPath("cc")
	if err != nil {
		t.Skip("no C compiler (cc) on PATH")
	}
	f, err := os.Open("testdata/ordering_vectors.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("ordering_vectors.csv: %v", err)
	}
	if len(rows) < 2 {
		t.Fatal("ordering_vectors.csv has no vectors")
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	inputs := []string{"v", "vnow", "weight", "ranked", "rank", "used", "rank_step", "max_penalty", "wake_lag"}
	wants := []string{"want_v_enq", "want_key", "want_v_done", "want_vnow_done"}
	for _, h := range append(append([]string{"name"}, inputs...), wants...) {
		if _, ok := col[h]; !ok {
			t.Fatalf("ordering_vectors.csv: no column %q", h)
		}
	}

	bin := filepath.Join(t.TempDir(), "harness")
	if out, err := exec.Command(cc, "-O2", "-Wall", "-Werror", "-o", bin, "testdata/ordering_harness.c").CombinedOutput(); err != nil {
		t.Fatalf("cc: %v\n%s", err, out)
	}
	var in bytes.Buffer
	for _, r := range rows[1:] {
		for _, h := range inputs {
			in.WriteString(r[col[h]] + " ")
		}
		in.WriteString("\n")
	}
	cmd := exec.Command(bin)
	cmd.Stdin = &in
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("harness: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(rows)-1 {
		t.Fatalf("harness printed %d lines for %d vectors", len(lines), len(rows)-1)
	}
	for i, r := range rows[1:] {
		got := strings.Fields(lines[i])
		t.Run(r[col["name"]], func(t *testing.T) {
			for j, h := range wants {
				if got[j] != r[col[h]] {
					t.Errorf("%s = %s, want %s", strings.TrimPrefix(h, "want_"), got[j], r[col[h]])
				}
			}
		})
	}
}
