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
			level := Level(&tc.Entry, tc.Ranked, tc.Attained)
			key := Key(level, v)
			q := Quantum(&tc.Entry, tc.Ranked, tc.Attained, tc.Knobs)
			if v != tc.WantVEnq || level != tc.WantLevel || key != tc.WantKey || q != tc.WantQuantum {
				t.Errorf("enqueue: v %d level %d key %d quantum %d, want %d %d %d %d", v, level, key, q,
					tc.WantVEnq, tc.WantLevel, tc.WantKey, tc.WantQuantum)
			}
			vnow := AdvanceNow(tc.Vnow, v)
			v = Charge(v, tc.Used, tc.Weight)
			vnow = AdvanceNow(vnow, v)
			if v != tc.WantVDone || vnow != tc.WantVnowDone || tc.Attained+tc.Used != tc.WantAttainedDone {
				t.Errorf("after run: v=%d vnow=%d, want v=%d vnow=%d", v, vnow, tc.WantVDone, tc.WantVnowDone)
			}
		})
	}
}

// TestKeyOrder: a lower level always comes first, whatever the vtimes; within a level the
// vtime orders.
func TestKeyOrder(t *testing.T) {
	if Key(0, 1<<40) >= Key(1, 0) {
		t.Error("level 0 with a large vtime is not ahead of level 1")
	}
	if Key(3, 100) >= Key(3, 101) {
		t.Error("within a level the smaller vtime is not first")
	}
	if Key(MaxLevels+5, 0) != Key(MaxLevels-1, 0) {
		t.Error("levels beyond the last are not the last")
	}
}

func TestAgedAndPreempts(t *testing.T) {
	k := Knobs{DefaultSlice: 1, MaxWait: 100, Preempt: true}
	if Aged(0, 99, k) || !Aged(0, 100, k) || Aged(0, 1<<40, Knobs{DefaultSlice: 1}) {
		t.Error("Aged: wrong at the bound or with the guard off")
	}
	if !Preempts(1, 2, k) || Preempts(2, 2, k) || Preempts(1, 2, Knobs{}) {
		t.Error("Preempts: wrong for a lower level, an equal one or preemption off")
	}
}
