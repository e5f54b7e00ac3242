package sim

import (
	"math"
	"strings"
	"testing"
)

// TestParamsValidateNamesKeys (issue 11, defects 2 and 13): the cfs and sfs knobs out of
// range are reported under their configuration key, in the key's unit.
func TestParamsValidateNamesKeys(t *testing.T) {
	ok := SFSParams{InitialSlice: 20e6, MinSlice: 6e6, UpdateEvery: 200, StarvationSlices: 3,
		CFS: CFSParams{Latency: 24e6, MinGranularity: 3e6, WakeupGranularity: 4e6, ContextSwitch: 5e3,
			BalanceInterval: 4e6, BusyBalanceInterval: 64e6, MigrationCost: 500e3}}
	tests := []struct {
		edit func(*SFSParams)
		want string
	}{
		{func(p *SFSParams) { p.CFS.Latency = 0 }, "sim.cfs_latency_ms: must be in (0, 10000], got 0"},
		{func(p *SFSParams) { p.CFS.ContextSwitch = -5e3 }, "sim.cfs_context_switch_us: must be in [0, 1000000], got -5"},
		{func(p *SFSParams) { p.CFS.MigrationCost = 61e9 }, "sim.cfs_migration_cost_us: must be in [0, 60000000], got 61000000"},
		{func(p *SFSParams) { p.CFS.BusyBalanceInterval = 0 }, "sim.cfs_busy_balance_interval_ms: must be in (0, 60000], got 0"},
		{func(p *SFSParams) { p.InitialSlice = 11e9 }, "sim.sfs_initial_slice_ms: must be in (0, 10000], got 11000"},
		{func(p *SFSParams) { p.UpdateEvery = 0 }, "sim.sfs_update_every: must be in [1, 1000000], got 0"},
		{func(p *SFSParams) { p.StarvationSlices = math.NaN() }, "sim.sfs_starvation_slices: must be in (0, 1000], got NaN"},
	}
	for _, tt := range tests {
		p := ok
		tt.edit(&p)
		if err := p.Validate(); err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("error %v, want one starting %q", err, tt.want)
		}
	}
	if err := ok.Validate(); err != nil {
		t.Errorf("defaults: %v", err)
	}
}
