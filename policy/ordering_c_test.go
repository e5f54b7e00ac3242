package policy

import (
	"bytes"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestOrderingHeaderVectors compiles ordering.h into a small host program with cc and checks
// it against every vector, as TestOrderingVectors checks the Go rule.
func TestOrderingHeaderVectors(t *testing.T) {
	cc, err := exec.LookPath("cc")
	if err != nil {
		t.Skip("no C compiler (cc) on PATH")
	}
	vs, err := Vectors()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "harness")
	if out, err := exec.Command(cc, "-O2", "-Wall", "-Werror", "-I.", "-o", bin, "testdata/ordering_harness.c").CombinedOutput(); err != nil {
		t.Fatalf("cc: %v\n%s", err, out)
	}
	var in bytes.Buffer
	for _, v := range vs {
		fmt.Fprintf(&in, "%d %d %d %d %d %d %d %d %d\n", v.V, v.Vnow, v.Weight, b2i(v.Ranked), v.Rank, v.Used,
			v.Knobs.RankStep, v.Knobs.MaxPenalty, v.Knobs.WakeLag)
	}
	cmd := exec.Command(bin)
	cmd.Stdin = &in
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("harness: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(vs) {
		t.Fatalf("harness printed %d lines for %d vectors", len(lines), len(vs))
	}
	for i, v := range vs {
		t.Run(v.Name, func(t *testing.T) {
			got := strings.Fields(lines[i])
			want := []int64{v.WantVEnq, v.WantKey, v.WantVDone, v.WantVnowDone}
			for j, name := range []string{"v_enq", "key", "v_done", "vnow_done"} {
				if got[j] != strconv.FormatInt(want[j], 10) {
					t.Errorf("%s = %s, want %d", name, got[j], want[j])
				}
			}
		})
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
