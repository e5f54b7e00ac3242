package configs

import (
	"fmt"
	"net"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/alps-sched/alps/policy"
)

// Learner configures the frontend's learning loop (model/). Durations are milliseconds.
type Learner struct {
	WindowSize        int     `mapstructure:"window_size"`
	WindowSpanMs      int64   `mapstructure:"window_span_ms"`
	UpdateIntervalMs  int64   `mapstructure:"update_interval_ms"`
	Cores             int     `mapstructure:"cores"`
	Predictor         string  `mapstructure:"predictor"`
	EWMAAlpha         float64 `mapstructure:"ewma_alpha"`
	Percentile        float64 `mapstructure:"percentile"`
	Alpha             float64 `mapstructure:"alpha"`
	Beta              float64 `mapstructure:"beta"`
	Gamma             float64 `mapstructure:"gamma"`
	Theta             float64 `mapstructure:"theta"`
	SliceCapMs        float64 `mapstructure:"slice_cap_ms"`
	MinSliceMs        float64 `mapstructure:"min_slice_ms"`
	SRPTSlice         bool    `mapstructure:"srpt_slice"`
	RankLevels        int     `mapstructure:"rank_levels"`
	RankScale         string  `mapstructure:"rank_scale"`
	LevelsPerDoubling float64 `mapstructure:"levels_per_doubling"`
	IORule            bool    `mapstructure:"io_rule"`
	MaxFunctions      int     `mapstructure:"max_functions"`
	AttainedRanks     bool    `mapstructure:"attained_ranks"`
	AttainedSteps     int     `mapstructure:"attained_steps"`
	AttainedRule      string  `mapstructure:"attained_rule"`
	AttainedDefault   bool    `mapstructure:"attained_default"`
	MinSamples        int     `mapstructure:"min_samples"`
	PriorWeight       float64 `mapstructure:"prior_weight"`
	Prior             string  `mapstructure:"prior"`
	RelativeRanks     bool    `mapstructure:"relative_ranks"`
	ClassKeys         bool    `mapstructure:"class_keys"`
	Censored          bool    `mapstructure:"censored"`
}

// Ranges of the frontend section (alps.yaml documents them; the other sections' ranges are
// those of the typed parameters they convert to: model.Config, policy.Knobs, sim's).
const (
	maxHeartbeatMs        = 60 * 1000
	maxRecordBuffer       = 1 << 22
	maxCgroupPatterns     = 256
	maxCgroupPatternBytes = 1024
	maxFunctionName       = 256 // the FUNCTION of a process-name rule, as trace names
)

// Policy holds the knobs of the ordering rule (policy/ORDERING.md), in milliseconds.
type Policy struct {
	RankStepMs     float64 `mapstructure:"rank_step_ms"`
	MaxPenaltyMs   float64 `mapstructure:"max_penalty_ms"`
	WakeLagMs      float64 `mapstructure:"wake_lag_ms"`
	DefaultSliceMs float64 `mapstructure:"default_slice_ms"`
	MaxWaitMs      float64 `mapstructure:"max_wait_ms"`
	Preempt        bool    `mapstructure:"preempt"`
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
	InvocationMap       string   `mapstructure:"invocation_map"`
	InvocationGroup     string   `mapstructure:"invocation_group"`
	StateFile           string   `mapstructure:"state_file"`
}

// Validate names the first bad key.
func (f Frontend) Validate() error {
	if err := checkMetricsAddr(f.MetricsAddr, f.MetricsAllowRemote); err != nil {
		return err
	}
	if len(f.CgroupPatterns) > maxCgroupPatterns {
		return fmt.Errorf("frontend.cgroup_patterns: %d patterns, more than %d", len(f.CgroupPatterns), maxCgroupPatterns)
	}
	if len(f.ProcessNames) >= policy.MaxFunctions {
		return fmt.Errorf("frontend.process_names: %d rules, more than %d", len(f.ProcessNames), policy.MaxFunctions-1)
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
		if name == "" || len(name) > 15 || len(fn) > maxFunctionName || strings.ContainsAny(name, "/ ") || strings.ContainsAny(fn, "/ ") {
			return fmt.Errorf("frontend.process_names[%d]: %q is not NAME or NAME=FUNCTION with a 1-15 character NAME and a FUNCTION of at most 256 bytes", i, r)
		}
	}
	switch {
	case f.HeartbeatIntervalMs < 1 || f.HeartbeatIntervalMs > maxHeartbeatMs:
		return fmt.Errorf("frontend.heartbeat_interval_ms: must be in [1, %d] (1 minute), got %d", maxHeartbeatMs, f.HeartbeatIntervalMs)
	case f.RecordBuffer < 1 || f.RecordBuffer > maxRecordBuffer:
		return fmt.Errorf("frontend.record_buffer: must be in [1, %d], got %d", maxRecordBuffer, f.RecordBuffer)
	case f.CgroupRoot == "":
		return fmt.Errorf("frontend.cgroup_root: must not be empty")
	case f.InvocationMap != "" && !filepath.IsAbs(f.InvocationMap):
		return fmt.Errorf("frontend.invocation_map: %q is not an absolute path", f.InvocationMap)
	case f.InvocationGroup != "" && f.InvocationMap == "":
		return fmt.Errorf("frontend.invocation_group: %q given without frontend.invocation_map", f.InvocationGroup)
	case f.StateFile != "" && !filepath.IsAbs(f.StateFile):
		return fmt.Errorf("frontend.state_file: %q is not an absolute path", f.StateFile)
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
