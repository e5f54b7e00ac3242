package configs

import (
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
)

// Learner configures the frontend's learning loop (model/). Durations are milliseconds.
type Learner struct {
	WindowSize       int     `mapstructure:"window_size"`
	WindowSpanMs     int64   `mapstructure:"window_span_ms"`
	UpdateIntervalMs int64   `mapstructure:"update_interval_ms"`
	Cores            int     `mapstructure:"cores"`
	Predictor        string  `mapstructure:"predictor"`
	EWMAAlpha        float64 `mapstructure:"ewma_alpha"`
	Percentile       float64 `mapstructure:"percentile"`
	Alpha            float64 `mapstructure:"alpha"`
	Beta             float64 `mapstructure:"beta"`
	Gamma            float64 `mapstructure:"gamma"`
	Theta            float64 `mapstructure:"theta"`
	SliceCapMs       float64 `mapstructure:"slice_cap_ms"`
	MinSliceMs       float64 `mapstructure:"min_slice_ms"`
	SRPTSlice        bool    `mapstructure:"srpt_slice"`
	RankLevels       int     `mapstructure:"rank_levels"`
	RankScale        string  `mapstructure:"rank_scale"`
	IORule           bool    `mapstructure:"io_rule"`
	MaxFunctions     int     `mapstructure:"max_functions"`
	AttainedRanks    bool    `mapstructure:"attained_ranks"`
	AttainedSteps    int     `mapstructure:"attained_steps"`
	AttainedRule     string  `mapstructure:"attained_rule"`
	AttainedDefault  bool    `mapstructure:"attained_default"`
	MinSamples       int     `mapstructure:"min_samples"`
	RelativeRanks    bool    `mapstructure:"relative_ranks"`
}

// Sane ranges of the sizes and intervals (alps.yaml documents them).
const (
	maxWindowSize         = 1_000_000
	maxWindowSpanMs       = 7 * 24 * 3600 * 1000
	maxUpdateIntervalMs   = 3600 * 1000
	maxCores              = 8192 // as sim.MaxCores
	maxFunctions          = 16384
	maxHeartbeatMs        = 60 * 1000
	maxRecordBuffer       = 1 << 22
	maxCgroupPatterns     = 256
	maxCgroupPatternBytes = 1024
)

// Validate names the first out-of-range key.
func (l Learner) Validate() error {
	switch {
	case l.WindowSize < 1 || l.WindowSize > maxWindowSize:
		return fmt.Errorf("learner.window_size: must be in [1, %d], got %d", maxWindowSize, l.WindowSize)
	case l.WindowSpanMs < 1 || l.WindowSpanMs > maxWindowSpanMs:
		return fmt.Errorf("learner.window_span_ms: must be in [1, %d] (7 days), got %d", maxWindowSpanMs, l.WindowSpanMs)
	case l.UpdateIntervalMs < 1 || l.UpdateIntervalMs > maxUpdateIntervalMs:
		return fmt.Errorf("learner.update_interval_ms: must be in [1, %d] (1 hour), got %d", maxUpdateIntervalMs, l.UpdateIntervalMs)
	case l.Cores < 0 || l.Cores > maxCores:
		return fmt.Errorf("learner.cores: must be in [0, %d], got %d", maxCores, l.Cores)
	case l.EWMAAlpha <= 0 || l.EWMAAlpha > 1:
		return fmt.Errorf("learner.ewma_alpha: must be in (0, 1], got %g", l.EWMAAlpha)
	case l.Percentile <= 0 || l.Percentile > 1:
		return fmt.Errorf("learner.percentile: must be in (0, 1], got %g", l.Percentile)
	case l.Alpha < 0:
		return fmt.Errorf("learner.alpha: must be >= 0, got %g", l.Alpha)
	case l.Beta < 0:
		return fmt.Errorf("learner.beta: must be >= 0, got %g", l.Beta)
	case l.Gamma <= 0:
		return fmt.Errorf("learner.gamma: must be > 0, got %g", l.Gamma)
	case l.Theta < 0 || l.Theta > 100:
		return fmt.Errorf("learner.theta: must be in [0, 100], got %g", l.Theta)
	case l.SliceCapMs <= 0:
		return fmt.Errorf("learner.slice_cap_ms: must be > 0, got %g", l.SliceCapMs)
	case l.MinSliceMs < 0 || l.MinSliceMs > l.SliceCapMs:
		return fmt.Errorf("learner.min_slice_ms: must be in [0, slice_cap_ms], got %g", l.MinSliceMs)
	case l.RankLevels < 1 || l.RankLevels > 1024:
		return fmt.Errorf("learner.rank_levels: must be in [1, 1024], got %d", l.RankLevels)
	case l.MaxFunctions < 1 || l.MaxFunctions > maxFunctions:
		return fmt.Errorf("learner.max_functions: must be in [1, %d], got %d", maxFunctions, l.MaxFunctions)
	case l.MinSamples < 1 || l.MinSamples > l.WindowSize:
		return fmt.Errorf("learner.min_samples: must be in [1, window_size], got %d", l.MinSamples)
	}
	switch l.Predictor {
	case "mean", "ewma", "percentile", "regression", "logmean":
	default:
		return fmt.Errorf("learner.predictor: %q is not one of mean, ewma, percentile, regression, logmean", l.Predictor)
	}
	switch l.RankScale {
	case "order", "demand", "log":
	default:
		return fmt.Errorf("learner.rank_scale: %q is not one of order, demand, log", l.RankScale)
	}
	switch {
	case l.AttainedSteps < 1 || l.AttainedSteps > 8:
		return fmt.Errorf("learner.attained_steps: must be in [1, 8], got %d", l.AttainedSteps)
	case l.AttainedRule != "gittins" && l.AttainedRule != "quantile":
		return fmt.Errorf("learner.attained_rule: %q is not one of gittins, quantile", l.AttainedRule)
	case l.AttainedRanks && l.RankScale == "order":
		return fmt.Errorf("learner.attained_ranks: needs rank_scale log or demand, not order")
	}
	return nil
}

// Policy holds the knobs of the ordering rule (policy/ORDERING.md), in milliseconds.
type Policy struct {
	RankStepMs     float64 `mapstructure:"rank_step_ms"`
	MaxPenaltyMs   float64 `mapstructure:"max_penalty_ms"`
	WakeLagMs      float64 `mapstructure:"wake_lag_ms"`
	DefaultSliceMs float64 `mapstructure:"default_slice_ms"`
}

// Validate names the first out-of-range key.
func (p Policy) Validate() error {
	switch {
	case p.RankStepMs < 0:
		return fmt.Errorf("policy.rank_step_ms: must be >= 0, got %g", p.RankStepMs)
	case p.MaxPenaltyMs <= 0:
		return fmt.Errorf("policy.max_penalty_ms: must be > 0, got %g", p.MaxPenaltyMs)
	case p.WakeLagMs < 0:
		return fmt.Errorf("policy.wake_lag_ms: must be >= 0, got %g", p.WakeLagMs)
	case p.DefaultSliceMs <= 0:
		return fmt.Errorf("policy.default_slice_ms: must be > 0, got %g", p.DefaultSliceMs)
	}
	return nil
}

// Frontend configures the alps-frontend daemon.
type Frontend struct {
	MetricsAddr         string   `mapstructure:"metrics_addr"`
	MetricsAllowRemote  bool     `mapstructure:"metrics_allow_remote"`
	CgroupRoot          string   `mapstructure:"cgroup_root"`
	CgroupPatterns      []string `mapstructure:"cgroup_patterns"`
	ProcessNames        []string `mapstructure:"process_names"`
	HeartbeatIntervalMs int64    `mapstructure:"heartbeat_interval_ms"`
	RecordBuffer        int      `mapstructure:"record_buffer"`
	PinPath             string   `mapstructure:"pin_path"`
	Learning            bool     `mapstructure:"learning"`
}

// Validate names the first bad key.
func (f Frontend) Validate() error {
	if err := checkMetricsAddr(f.MetricsAddr, f.MetricsAllowRemote); err != nil {
		return err
	}
	if len(f.CgroupPatterns) > maxCgroupPatterns {
		return fmt.Errorf("frontend.cgroup_patterns: %d patterns, more than %d", len(f.CgroupPatterns), maxCgroupPatterns)
	}
	if len(f.ProcessNames) >= maxFunctions {
		return fmt.Errorf("frontend.process_names: %d rules, more than %d", len(f.ProcessNames), maxFunctions-1)
	}
	for i, p := range f.CgroupPatterns {
		if len(p) > maxCgroupPatternBytes {
			return fmt.Errorf("frontend.cgroup_patterns[%d]: %d bytes, more than %d", i, len(p), maxCgroupPatternBytes)
		}
		if _, err := regexp.Compile(p); err != nil {
			return fmt.Errorf("frontend.cgroup_patterns[%d]: %q: %v", i, p, err)
		}
	}
	for i, r := range f.ProcessNames {
		name, fn, _ := strings.Cut(r, "=")
		if name == "" || len(name) > 15 || strings.ContainsAny(name, "/ ") || strings.ContainsAny(fn, "/ ") {
			return fmt.Errorf("frontend.process_names[%d]: %q is not NAME or NAME=FUNCTION with a 1-15 character NAME", i, r)
		}
	}
	switch {
	case f.HeartbeatIntervalMs < 1 || f.HeartbeatIntervalMs > maxHeartbeatMs:
		return fmt.Errorf("frontend.heartbeat_interval_ms: must be in [1, %d] (1 minute), got %d", maxHeartbeatMs, f.HeartbeatIntervalMs)
	case f.RecordBuffer < 1 || f.RecordBuffer > maxRecordBuffer:
		return fmt.Errorf("frontend.record_buffer: must be in [1, %d], got %d", maxRecordBuffer, f.RecordBuffer)
	case f.CgroupRoot == "":
		return fmt.Errorf("frontend.cgroup_root: must not be empty")
	}
	return nil
}

// checkMetricsAddr accepts an empty address (no endpoint) and a loopback host:port; any other
// address answers beyond this host and needs allowRemote.
func checkMetricsAddr(addr string, allowRemote bool) error {
	if addr == "" {
		return nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("frontend.metrics_addr: %q is not host:port: %v", addr, strings.TrimPrefix(err.Error(), "address "+addr+": "))
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		if _, err := net.LookupPort("tcp", port); err != nil || port == "" {
			return fmt.Errorf("frontend.metrics_addr: %q: port %q is not a port number", addr, port)
		}
	}
	ip := net.ParseIP(host)
	loopback := host == "localhost" || ip != nil && ip.IsLoopback()
	if !loopback && !allowRemote {
		what := "listens on every address of the host"
		if host != "" && (ip == nil || !ip.IsUnspecified()) {
			what = "is not a loopback address"
		}
		return fmt.Errorf("frontend.metrics_addr: %q %s, so the metrics would answer beyond this host: use 127.0.0.1:PORT, or set frontend.metrics_allow_remote: true", addr, what)
	}
	return nil
}

// Sim holds the parameters of the simulator's baseline policies (sim/).
type Sim struct {
	CFSLatencyMs             float64 `mapstructure:"cfs_latency_ms"`
	CFSMinGranularityMs      float64 `mapstructure:"cfs_min_granularity_ms"`
	CFSWakeupGranularityMs   float64 `mapstructure:"cfs_wakeup_granularity_ms"`
	CFSContextSwitchUs       float64 `mapstructure:"cfs_context_switch_us"`
	CFSBalanceIntervalMs     float64 `mapstructure:"cfs_balance_interval_ms"`
	CFSBusyBalanceIntervalMs float64 `mapstructure:"cfs_busy_balance_interval_ms"`
	CFSMigrationCostUs       float64 `mapstructure:"cfs_migration_cost_us"`
	SFSInitialSliceMs        float64 `mapstructure:"sfs_initial_slice_ms"`
	SFSMinSliceMs            float64 `mapstructure:"sfs_min_slice_ms"`
	SFSUpdateEvery           int     `mapstructure:"sfs_update_every"`
	SFSStarvationSlices      float64 `mapstructure:"sfs_starvation_slices"`
}

// Validate names the first out-of-range key.
func (s Sim) Validate() error {
	switch {
	case s.CFSLatencyMs <= 0:
		return fmt.Errorf("sim.cfs_latency_ms: must be > 0, got %g", s.CFSLatencyMs)
	case s.CFSMinGranularityMs <= 0:
		return fmt.Errorf("sim.cfs_min_granularity_ms: must be > 0, got %g", s.CFSMinGranularityMs)
	case s.CFSWakeupGranularityMs < 0:
		return fmt.Errorf("sim.cfs_wakeup_granularity_ms: must be >= 0, got %g", s.CFSWakeupGranularityMs)
	case s.CFSContextSwitchUs < 0:
		return fmt.Errorf("sim.cfs_context_switch_us: must be >= 0, got %g", s.CFSContextSwitchUs)
	case s.CFSBalanceIntervalMs <= 0:
		return fmt.Errorf("sim.cfs_balance_interval_ms: must be > 0, got %g", s.CFSBalanceIntervalMs)
	case s.CFSBusyBalanceIntervalMs <= 0:
		return fmt.Errorf("sim.cfs_busy_balance_interval_ms: must be > 0, got %g", s.CFSBusyBalanceIntervalMs)
	case s.CFSMigrationCostUs < 0:
		return fmt.Errorf("sim.cfs_migration_cost_us: must be >= 0, got %g", s.CFSMigrationCostUs)
	case s.SFSInitialSliceMs <= 0:
		return fmt.Errorf("sim.sfs_initial_slice_ms: must be > 0, got %g", s.SFSInitialSliceMs)
	case s.SFSMinSliceMs <= 0:
		return fmt.Errorf("sim.sfs_min_slice_ms: must be > 0, got %g", s.SFSMinSliceMs)
	case s.SFSUpdateEvery <= 0:
		return fmt.Errorf("sim.sfs_update_every: must be > 0, got %d", s.SFSUpdateEvery)
	case s.SFSStarvationSlices <= 0:
		return fmt.Errorf("sim.sfs_starvation_slices: must be > 0, got %g", s.SFSStarvationSlices)
	}
	return nil
}
