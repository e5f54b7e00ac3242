package policy

import (
	"bytes"
	"fmt"
	"os/exec"
	"path/filepath"
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
		fmt.Fprintf(&in, "%d %d %d %d %d %d %d %d %d %d %d", v.V, v.Vnow, v.Weight, b2i(v.Ranked), v.Attained,
			v.Entry.Slice, v.Entry.Rank, v.Entry.NSteps, v.Used, v.Knobs.WakeLag, v.Knobs.DefaultSlice)
		for i := range MaxSteps {
			fmt.Fprintf(&in, " %d %d", v.Entry.StepAt[i], v.Entry.StepRank[i])
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
	if len(lines) != len(vs) {
		t.Fatalf("harness printed %d lines for %d vectors", len(lines), len(vs))
	}
	for i, v := range vs {
		t.Run(v.Name, func(t *testing.T) {
			want := fmt.Sprintf("%d %d %d %d %d %d %d", v.WantVEnq, v.WantLevel, v.WantKey, v.WantQuantum,
				v.WantVDone, v.WantVnowDone, v.WantAttainedDone)
			if got := strings.Join(strings.Fields(lines[i]), " "); got != want {
				t.Errorf("v_enq level key quantum v_done vnow_done attained_done = %s, want %s", got, want)
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
