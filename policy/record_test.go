package policy

import "testing"

func TestRecordDerived(t *testing.T) {
	tests := []struct {
		name                 string
		r                    Record
		wall, blocked, burst int64
	}{
		{"ran, waited and slept", Record{Start: 100, End: 1100, CPU: 400, RunDelay: 100, Nvcsw: 2}, 1000, 500, 133},
		{"never slept", Record{Start: 0, End: 50, CPU: 30, RunDelay: 20}, 50, 0, 30},
		{"end before start", Record{Start: 10, End: 5, CPU: 9}, 0, 0, 9},
		{"CPU beyond the wall time (threads)", Record{Start: 0, End: 10, CPU: 40}, 10, 0, 40},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if w, b, u := tt.r.Wall(), tt.r.Blocked(), tt.r.Burst(); w != tt.wall || b != tt.blocked || u != tt.burst {
				t.Errorf("Wall, Blocked, Burst = %d, %d, %d; want %d, %d, %d", w, b, u, tt.wall, tt.blocked, tt.burst)
			}
		})
	}
}
