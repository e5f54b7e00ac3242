package kerneltest

import (
	"fmt"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestStalled(t *testing.T) {
	stalls := []Stall{{100, 200}, {300, 350}, {1000, 1100}}
	tests := []struct {
		from, to int64
		want     time.Duration
	}{
		{0, 1000, 150},   // both first stalls
		{150, 320, 70},   // half of one, part of the next
		{400, 900, 0},    // between stalls
		{1050, 5000, 50}, // the tail of the last
	}
	for _, tt := range tests {
		if got := Stalled(stalls, tt.from, tt.to); got != tt.want {
			t.Errorf("Stalled(%d, %d) = %v, want %v", tt.from, tt.to, got, tt.want)
		}
	}
}

func TestWaitNet(t *testing.T) {
	stalls := []Stall{{100, 200}, {300, 350}}
	// A 300 ns wait that ended in (400, 410]: it began in (100, 110], so it certainly covers
	// [110, 400], which holds 90 ns of the first stall and all 50 of the second.
	w := Wait{After: 400, Before: 410, Len: 300, Count: 1}
	if got := w.Net(stalls); got != 160 {
		t.Errorf("Net = %v, want 160ns", got)
	}
	// Three waits ending in one sample: their longest is at least a third of their sum.
	w = Wait{After: 400, Before: 410, Len: 300, Count: 3}
	if got := w.Net(stalls); got != 100 {
		t.Errorf("Net of three waits = %v, want 100ns", got)
	}
}

func TestThreadStatsRead(t *testing.T) {
	ts := &threadStats{buf: make([]byte, 128)}
	fd, err := unix.Open("/proc/self/schedstat", unix.O_RDONLY, 0)
	if err != nil {
		t.Skipf("no schedstat here: %v", err)
	}
	defer unix.Close(fd)
	st, ok := ts.read(fd)
	b, _ := os.ReadFile("/proc/self/schedstat")
	var run, delay, count int64
	fmt.Sscan(string(b), &run, &delay, &count)
	if !ok || st.count <= 0 || st.count > count || st.delay > delay {
		t.Errorf("read = %+v (ok %v), want what %q says at most", st, ok, b)
	}
}
