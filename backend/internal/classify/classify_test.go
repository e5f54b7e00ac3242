package classify

import "testing"

func TestCommKey(t *testing.T) {
	tests := []struct {
		comm string
		ok   bool
	}{
		{"resize", true},
		{"exactly15bytes!", true},
		{"sixteen-bytes-xx", false},
		{"", false},
	}
	for _, tt := range tests {
		k, err := CommKey(tt.comm)
		if (err == nil) != tt.ok {
			t.Errorf("CommKey(%q) error = %v, want ok=%v", tt.comm, err, tt.ok)
			continue
		}
		if tt.ok && (string(k[:len(tt.comm)]) != tt.comm || k[len(tt.comm)] != 0) {
			t.Errorf("CommKey(%q) = %q, want the name NUL padded", tt.comm, k)
		}
	}
}
