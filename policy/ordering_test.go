package policy

import "testing"

// TestOrderingVectors runs one enqueue-run cycle per vector through the Go rule.
func TestOrderingVectors(t *testing.T) {
	vs, err := Vectors()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range vs {
		t.Run(tc.Name, func(t *testing.T) {
			v := ClampLag(tc.V, tc.Vnow, tc.Knobs.WakeLag) // every enqueue
			if v != tc.WantVEnq {
				t.Errorf("v after enqueue = %d, want %d", v, tc.WantVEnq)
			}
			if key := Key(v, tc.Vnow, tc.Ranked, tc.Rank, tc.Knobs); key != tc.WantKey {
				t.Errorf("key = %d, want %d", key, tc.WantKey)
			}
			vnow := AdvanceNow(tc.Vnow, v)
			v = Charge(v, tc.Used, tc.Weight)
			vnow = AdvanceNow(vnow, v)
			if v != tc.WantVDone || vnow != tc.WantVnowDone {
				t.Errorf("after run: v=%d vnow=%d, want v=%d vnow=%d", v, vnow, tc.WantVDone, tc.WantVnowDone)
			}
		})
	}
}
