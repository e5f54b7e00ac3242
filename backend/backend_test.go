package backend

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/alps-sched/alps/policy"
)

// testKnobs are valid ordering knobs for tests (ns).
var testKnobs = policy.Knobs{WakeLag: 20e6, DefaultSlice: 20e6, MaxWait: 500e6, Preempt: true}

// TestNoSchedExtLoad checks the one-line error of Load on a host without sched_ext (make
// vm-test runs the tests named TestNoSchedExt* on the host).
func TestNoSchedExtLoad(t *testing.T) {
	if _, err := os.Stat("/sys/kernel/sched_ext"); err == nil {
		t.Skip("this host has sched_ext")
	}
	s, err := Load(Options{Knobs: testKnobs})
	if err == nil {
		s.Close()
		t.Fatal("Load succeeded on a kernel without sched_ext")
	}
	if !errors.Is(err, ErrNoSchedExt) && !errors.Is(err, ErrNoBTF) {
		t.Fatalf("Load() = %v, want ErrNoSchedExt or ErrNoBTF", err)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Fatalf("error spans several lines: %q", err)
	}
	if _, _, err := State(); !errors.Is(err, ErrNoSchedExt) {
		t.Fatalf("State() = %v, want ErrNoSchedExt", err)
	}
	t.Logf("Load: %v", err)
}

func TestLoadRefusesBadOptions(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"no knobs", Options{}, "default_slice"},
		{"guard slower than the watchdog", Options{Knobs: policy.Knobs{DefaultSlice: 20e6, MaxWait: int64(MaxWaitLimit) + 1}}, "max_wait"},
		{"negative heartbeat bound", Options{Knobs: testKnobs, HeartbeatStale: -1}, "heartbeat"},
	}
	for _, tt := range tests {
		if _, err := Load(tt.opts); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Load() = %v, want an error about %s", tt.name, err, tt.want)
		}
	}
}

func TestCString(t *testing.T) {
	b := make([]byte, 8)
	copy(b, "abc")
	if got := cString(b); got != "abc" {
		t.Fatalf("cString = %q", got)
	}
	if got := cString([]byte("full")); got != "full" {
		t.Fatalf("cString without NUL = %q", got)
	}
	if got := cString([]int8{'h', 'i', 0, 'x'}); got != "hi" {
		t.Fatalf("cString of C chars = %q", got)
	}
}

// TestEntryRoundTrip: a policy entry survives the kernel row and back, steps included.
func TestEntryRoundTrip(t *testing.T) {
	e := policy.Entry{Rank: 3, Slice: 7e6, NSteps: 3, StepAt: [policy.MaxSteps]int64{0, 20e6, 300e6},
		StepRank: [policy.MaxSteps]uint32{1, 4, 9}}
	r := entryOf(e)
	if r.Valid != 1 {
		t.Fatal("row not valid")
	}
	if got := entryFrom(r); got != e {
		t.Fatalf("round trip = %+v, want %+v", got, e)
	}
	// The table header: knobs, and the default entry only when the table has one.
	for _, tb := range []policy.Table{{Knobs: testKnobs, Default: e, HasDefault: true}, {Knobs: policy.Knobs{DefaultSlice: 5e6}}} {
		k, dflt, has := tableFrom(tableOf(&tb))
		if k != tb.Knobs || has != tb.HasDefault || dflt != tb.Default {
			t.Errorf("table header round trip = %+v, %+v, %v; want %+v, %+v, %v", k, dflt, has, tb.Knobs, tb.Default, tb.HasDefault)
		}
	}
}

func TestRecordOf(t *testing.T) {
	r := alpsRecord{Kind: alpsRecordKindREC_INVOCATION, Fn: 4, Pid: 99, Start: 10, End: 50, Cpu: 30, RunDelay: 5,
		Nvcsw: 2, Nivcsw: 1}
	want := policy.Record{Function: 4, PID: 99, Start: 10, End: 50, CPU: 30, RunDelay: 5, Nvcsw: 2, Nivcsw: 1}
	if got := recordOf(r); got != want {
		t.Fatalf("recordOf = %+v, want %+v", got, want)
	}
}
