package backend

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

func TestKnobsValidate(t *testing.T) {
	ok := DefaultKnobs()
	tests := []struct {
		name string
		mod  func(*Knobs)
		want string // substring of the error; "" for valid
	}{
		{"defaults", func(*Knobs) {}, ""},
		{"heartbeat check off", func(k *Knobs) { k.HeartbeatStale = 0 }, ""},
		{"negative rank step", func(k *Knobs) { k.RankStep = -1 }, "rank step"},
		{"negative penalty", func(k *Knobs) { k.MaxPenalty = -time.Millisecond }, "max penalty"},
		{"negative lag", func(k *Knobs) { k.WakeLag = -1 }, "wake lag"},
		{"zero default slice", func(k *Knobs) { k.DefaultSlice = 0 }, "default slice"},
		{"negative heartbeat", func(k *Knobs) { k.HeartbeatStale = -1 }, "heartbeat"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := ok
			tt.mod(&k)
			err := k.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate() = %v, want an error about %q", err, tt.want)
			}
		})
	}
}

func TestExitInfoString(t *testing.T) {
	tests := []struct {
		info    ExitInfo
		want    string
		ejected bool
	}{
		{ExitInfo{Kind: 64, Reason: "unregistered from user space"}, "unregistered (code 0): unregistered from user space", false},
		{ExitInfo{Kind: 1025, Reason: "scx_bpf_error", Message: "alps: injected fault after 5 enqueues"},
			"BPF error (code 0): scx_bpf_error: alps: injected fault after 5 enqueues", true},
		{ExitInfo{Kind: 1026, Reason: "runnable task stall"}, "stall (code 0): runnable task stall", true},
		{ExitInfo{Kind: 7}, "kind 7 (code 0): ", false},
	}
	for _, tt := range tests {
		if got := tt.info.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
		if got := tt.info.Ejected(); got != tt.ejected {
			t.Errorf("%v: Ejected() = %v, want %v", tt.info, got, tt.ejected)
		}
	}
}

// TestNoSchedExtLoad checks the one-line error of Load on a host without sched_ext (make
// vm-test runs the tests named TestNoSchedExt* on the host).
func TestNoSchedExtLoad(t *testing.T) {
	if _, err := os.Stat("/sys/kernel/sched_ext"); err == nil {
		t.Skip("this host has sched_ext")
	}
	s, err := Load(Options{})
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

func TestCString(t *testing.T) {
	b := make([]byte, 8)
	copy(b, "abc")
	if got := cString(b); got != "abc" {
		t.Fatalf("cString = %q", got)
	}
	if got := cString([]byte("full")); got != "full" {
		t.Fatalf("cString without NUL = %q", got)
	}
}
