package configs

import (
	"math"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// TestHostileValues (issue 11, defects 2, 3, 5, 13 and 14): every bad value is one line
// naming where it came from (file and line, environment variable or flag) and the key.
func TestHostileValues(t *testing.T) {
	tests := []struct {
		name string
		file string            // config file contents ("" for none)
		env  map[string]string // environment
		flag string            // --log-level value given on the command line ("" for none)
		want string            // the whole error starts with this
	}{
		{"NaN alpha", "learner:\n  alpha: .nan\n", nil, "", "config c.yaml:2: learner.alpha: NaN is not a finite number"},
		{"Inf beta", "learner:\n  predictor: mean\n  beta: .inf\n", nil, "", "config c.yaml:3: learner.beta: +Inf is not a finite number"},
		{"NaN gamma", "learner:\n  gamma: .NaN\n", nil, "", "config c.yaml:2: learner.gamma: NaN is not a finite number"},
		{"NaN theta", "learner:\n  theta: .nan\n", nil, "", "config c.yaml:2: learner.theta: NaN"},
		{"NaN percentile", "learner:\n  percentile: .nan\n", nil, "", "config c.yaml:2: learner.percentile: NaN"},
		{"NaN rank step", "policy:\n  rank_step_ms: .nan\n", nil, "", "config c.yaml:2: policy.rank_step_ms: NaN"},
		{"Inf wake lag", "policy:\n  wake_lag_ms: -.inf\n", nil, "", "config c.yaml:2: policy.wake_lag_ms: -Inf"},
		{"NaN context switch", "sim:\n  cfs_context_switch_us: .nan\n", nil, "", "config c.yaml:2: sim.cfs_context_switch_us: NaN is not a finite number"},
		{"NaN from the environment", "", map[string]string{"ALPS_LEARNER_EWMA_ALPHA": "nan"}, "",
			`environment ALPS_LEARNER_EWMA_ALPHA: learner.ewma_alpha: "nan" is not a finite number`},
		{"Inf from the environment", "", map[string]string{"ALPS_SIM_SFS_MIN_SLICE_MS": "+Inf"}, "",
			`environment ALPS_SIM_SFS_MIN_SLICE_MS: sim.sfs_min_slice_ms: "+Inf" is not a finite number`},
		{"interval overflowing a Duration", "learner:\n  update_interval_ms: 9223372036855\n", nil, "",
			"config c.yaml:2: learner.update_interval_ms: 9223372036855 is beyond the limit of any duration (1e+09)"},
		{"heartbeat overflowing a Duration", "frontend:\n  heartbeat_interval_ms: 9223372036855\n", nil, "",
			"config c.yaml:2: frontend.heartbeat_interval_ms: 9223372036855 is beyond the limit"},
		{"huge float duration", "policy:\n  max_penalty_ms: 1e300\n", nil, "", "config c.yaml:2: policy.max_penalty_ms: 1e+300 is beyond the limit"},
		{"fractional window", "learner:\n  window_size: 2.7\n", nil, "", "config c.yaml:2: learner.window_size: 2.7 is not an integer"},
		{"window beyond int64", "learner:\n  window_size: 9.3e18\n", nil, "", "config c.yaml:2: learner.window_size: 9.3e+18 is out of range"},
		{"fractional from the environment", "", map[string]string{"ALPS_SIM_SFS_UPDATE_EVERY": "2.5"}, "",
			"environment ALPS_SIM_SFS_UPDATE_EVERY: sim.sfs_update_every: 2.5 is not an integer"},
		{"hexadecimal from the environment", "", map[string]string{"ALPS_LEARNER_WINDOW_SIZE": "0x10"}, "",
			`environment ALPS_LEARNER_WINDOW_SIZE: learner.window_size: "0x10" is not a number`},
		{"bad boolean from the environment", "", map[string]string{"ALPS_LEARNER_IO_RULE": "maybe"}, "",
			`environment ALPS_LEARNER_IO_RULE: learner.io_rule: "maybe" is not true or false`},
		{"bad flag with a good file", "learner:\n  predictor: mean\n", nil, "loud", `--log-level: log.level: "loud" is not one of`},
		{"a billion cores", "learner:\n  cores: 1000000000\n", nil, "", "config c.yaml:2: learner.cores: must be in [1, 8192] (0: the host's CPUs), got 1000000000"},
		{"a billion buffered records", "frontend:\n  record_buffer: 1000000000\n", nil, "", "config c.yaml:2: frontend.record_buffer: must be in [1, 4194304], got 1000000000"},
		{"9e18 buffered records", "frontend:\n  record_buffer: 9e18\n", nil, "", "config c.yaml:2: frontend.record_buffer: must be in [1, 4194304], got 9000000000000000000"},
		{"9e18 window", "learner:\n  window_size: 9e18\n", nil, "", "config c.yaml:2: learner.window_size: must be in [1, 1000000], got 9000000000000000000"},
		{"more functions than the table", "learner:\n  max_functions: 100000\n", nil, "", "config c.yaml:2: learner.max_functions: must be in [1, 16384]"},
		{"a week-long interval", "learner:\n  update_interval_ms: 604800000\n", nil, "", "config c.yaml:2: learner.update_interval_ms: must be in [0, 3600000] (1 hour), got 604800000"},
		{"a heartbeat every hour", "frontend:\n  heartbeat_interval_ms: 3600000\n", nil, "", "config c.yaml:2: frontend.heartbeat_interval_ms: must be in [1, 60000]"},
		{"more samples than the window", "learner:\n  window_size: 10\n  min_samples: 11\n", nil, "", "config c.yaml:3: learner.min_samples: must be in [0, window_size], got 11"},
		{"empty file", "", nil, "", "config c.yaml: empty file"},
		{"comments only", "# nothing\n", nil, "", "config c.yaml: empty file"},
		{"two documents", "learner:\n  predictor: mean\n---\nlearner:\n  predictor: ewma\n", nil, "", "config c.yaml:3: a second YAML document"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			l, _ := NewLoader()
			fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
			fs.String("log-level", "info", "")
			if err := l.BindFlag("log.level", fs.Lookup("log-level")); err != nil {
				t.Fatal(err)
			}
			if tt.flag != "" {
				fs.Parse([]string{"--log-level", tt.flag})
			}
			var err error
			if tt.file != "" || tt.env == nil {
				err = l.ReadYAML("c.yaml", []byte(tt.file))
			}
			if err == nil {
				_, err = l.Load()
			}
			if err == nil || strings.Contains(err.Error(), "\n") || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error %v\nwant one line starting %q", err, tt.want)
			}
		})
	}
}

// TestValidateNumbers: a Config built in code is held to the same rules as a loaded one.
func TestValidateNumbers(t *testing.T) {
	l, _ := NewLoader()
	c, err := l.Load()
	if err != nil {
		t.Fatal(err)
	}
	bad := c
	bad.Learner.Alpha = math.Inf(-1)
	if err := bad.Validate(); err == nil || !strings.HasPrefix(err.Error(), "learner.alpha: -Inf is not a finite number") {
		t.Errorf("-Inf alpha: %v", err)
	}
	bad = c
	bad.Frontend.HeartbeatIntervalMs = 9223372036855
	if err := bad.Validate(); err == nil || !strings.HasPrefix(err.Error(), "frontend.heartbeat_interval_ms") {
		t.Errorf("overflowing heartbeat: %v", err)
	}
}
