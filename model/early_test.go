package model

import (
	"slices"
	"testing"

	"github.com/alps-sched/alps/policy"
)

// TestLearnerRelativeRanks: on the log scale with a 10 ms step, demands of 15, 45 and 1000 ms
// rank 1, 3 and 7 (TestLearnerRankScalesAndCap); relative ranks subtract the smallest, 1, so
// the 15 ms function shares offset 0 with unseen functions and the gaps are kept.
func TestLearnerRelativeRanks(t *testing.T) {
	for _, tc := range []struct {
		relative bool
		attained bool
		want     []uint32
	}{
		{false, false, []uint32{1, 3, 7}},
		{true, false, []uint32{0, 2, 6}},
		{true, true, []uint32{0, 2, 6}},
	} {
		cfg := testConfig()
		cfg.RankScale = RankByLog
		cfg.RelativeRanks = tc.relative
		cfg.AttainedRanks, cfg.AttainedSteps, cfg.AttainedRule = tc.attained, 2, AttainedGittins
		tab := tableOf(t, cfg, 15, 45, 1000)
		var got []uint32
		for i := range 3 {
			e, _ := tab.Lookup(uint32(i))
			got = append(got, e.Rank)
			for s := range int(e.NSteps) {
				if e.StepRank[s] > uint32(cfg.RankLevels) {
					t.Errorf("relative %v attained %v: function %d step %d rank %d wrapped below 0", tc.relative, tc.attained, i, s, e.StepRank[s])
				}
			}
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("relative %v attained %v: ranks %v, want %v", tc.relative, tc.attained, got, tc.want)
		}
	}
}

// TestLearnerMinSamples: a function gets an entry only once the window holds min_samples of
// its invocations.
func TestLearnerMinSamples(t *testing.T) {
	cfg := testConfig()
	cfg.MinSamples = 3
	l, err := NewLearner(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		l.Observe(policy.Record{Function: 1, CPU: 5 * msec, Start: int64(i) * msec, End: int64(i)*msec + 5*msec})
	}
	for i := range 2 {
		l.Observe(policy.Record{Function: 2, CPU: 50 * msec, Start: int64(i) * msec, End: int64(i)*msec + 50*msec})
	}
	tab := l.Update(1000 * msec)
	if _, ok := tab.Lookup(1); !ok {
		t.Error("function with 3 samples has no entry")
	}
	if _, ok := tab.Lookup(2); ok {
		t.Error("function with 2 samples has an entry with min_samples 3")
	}
	cfg.MinSamples = -1
	if _, err := NewLearner(cfg); err == nil {
		t.Error("negative min samples accepted")
	}
}

// TestLearnerRelativeRanksDefault: the pooled default entry (attained_default) is lowered by the
// same base as the functions' entries.
func TestLearnerRelativeRanksDefault(t *testing.T) {
	var def [2]policy.Entry
	for i, relative := range []bool{false, true} {
		cfg := testConfig()
		cfg.RankScale = RankByLog
		cfg.RelativeRanks = relative
		cfg.AttainedRanks, cfg.AttainedSteps, cfg.AttainedRule, cfg.AttainedDefault = true, 2, AttainedGittins, true
		tab := tableOf(t, cfg, 15, 45, 1000)
		if !tab.HasDefault {
			t.Fatal("no default entry")
		}
		def[i] = tab.Default
	}
	abs, rel := def[0], def[1]
	if abs.NSteps != rel.NSteps || abs.Rank-min(abs.Rank, 1) != rel.Rank {
		t.Fatalf("default absolute %+v relative %+v, want the relative one lowered by 1", abs, rel)
	}
	for s := range int(abs.NSteps) {
		if abs.StepRank[s]-min(abs.StepRank[s], 1) != rel.StepRank[s] {
			t.Errorf("default step %d: absolute rank %d relative %d, want lowered by 1", s, abs.StepRank[s], rel.StepRank[s])
		}
	}
}
