package policy

import (
	"strings"
	"testing"
)

func TestKnobsValidate(t *testing.T) {
	ok := Knobs{WakeLag: 20e6, DefaultSlice: 20e6, MaxWait: 2e9, Preempt: true}
	tests := []struct {
		name string
		mod  func(*Knobs)
		want string // substring of the error; "" for valid
	}{
		{"valid", func(*Knobs) {}, ""},
		{"guard off", func(k *Knobs) { k.MaxWait = 0 }, ""},
		{"no lag", func(k *Knobs) { k.WakeLag = 0 }, ""},
		{"negative lag", func(k *Knobs) { k.WakeLag = -1 }, "wake_lag"},
		{"zero default slice", func(k *Knobs) { k.DefaultSlice = 0 }, "default_slice"},
		{"negative guard", func(k *Knobs) { k.MaxWait = -1 }, "max_wait"},
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

func TestTableValidate(t *testing.T) {
	k := Knobs{WakeLag: 20e6, DefaultSlice: 20e6, MaxWait: 2e9}
	steps := func(at ...int64) Entry {
		e := Entry{NSteps: uint8(len(at))}
		copy(e.StepAt[:], at)
		return e
	}
	tests := []struct {
		name string
		t    Table
		want string
	}{
		{"empty", Table{Knobs: k}, ""},
		{"steps", Table{Knobs: k, Entries: map[uint32]Entry{1: steps(0, 5, 9)}}, ""},
		{"bad knobs", Table{}, "default_slice"},
		{"id out of range", Table{Knobs: k, Entries: map[uint32]Entry{MaxFunctions: {}}}, "function id 16384"},
		{"negative slice", Table{Knobs: k, Entries: map[uint32]Entry{2: {Slice: -1}}}, "function 2: negative slice"},
		{"first step not at 0", Table{Knobs: k, Entries: map[uint32]Entry{3: steps(1, 5)}}, "function 3: the first step starts at 1"},
		{"not increasing", Table{Knobs: k, Entries: map[uint32]Entry{4: steps(0, 5, 5)}}, "function 4: step 2 starts at 5"},
		{"too many steps", Table{Knobs: k, Entries: map[uint32]Entry{5: {NSteps: MaxSteps + 1}}}, "function 5: 9 steps"},
		{"bad default", Table{Knobs: k, HasDefault: true, Default: steps(0, 3, 2)}, "default entry: step 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.t.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("Validate() = %v, want one line about %q", err, tt.want)
			}
		})
	}
}

func TestRankAt(t *testing.T) {
	e := Entry{Rank: 7, NSteps: 3, StepAt: [MaxSteps]int64{0, 10, 100}, StepRank: [MaxSteps]uint32{1, 4, 9}}
	for _, tt := range []struct {
		attained int64
		want     uint32
	}{{0, 1}, {9, 1}, {10, 4}, {99, 4}, {100, 9}, {1 << 60, 9}} {
		if got := e.RankAt(tt.attained); got != tt.want {
			t.Errorf("RankAt(%d) = %d, want %d", tt.attained, got, tt.want)
		}
	}
	if got := (&Entry{Rank: 7}).RankAt(1000); got != 7 {
		t.Errorf("no steps: RankAt = %d, want the rank 7", got)
	}
}
