package policy

import "testing"

func TestExitInfo(t *testing.T) {
	tests := []struct {
		info             ExitInfo
		want             string
		ejected, restart bool
	}{
		{ExitInfo{Kind: 64, Reason: "unregistered from user space"}, "unregistered (code 0): unregistered from user space", false, false},
		{ExitInfo{Kind: 1025, Reason: "scx_bpf_error", Message: "alps: injected fault after 5 enqueues"},
			"BPF error (code 0): scx_bpf_error: alps: injected fault after 5 enqueues", true, false},
		{ExitInfo{Kind: 1026, Reason: "runnable task stall"}, "stall (code 0): runnable task stall", true, false},
		{ExitInfo{Kind: 1025, Code: ExitRestart, Reason: "scx_bpf_error"}, "BPF error (code 281474976710656): scx_bpf_error", true, true},
		{ExitInfo{Kind: 7}, "kind 7 (code 0): ", false, false},
	}
	for _, tt := range tests {
		if got := tt.info.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
		if got := tt.info.Ejected(); got != tt.ejected {
			t.Errorf("%v: Ejected() = %v, want %v", tt.info, got, tt.ejected)
		}
		if got := tt.info.Restart(); got != tt.restart {
			t.Errorf("%v: Restart() = %v, want %v", tt.info, got, tt.restart)
		}
	}
}
