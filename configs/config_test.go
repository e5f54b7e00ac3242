package configs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaultsValid(t *testing.T) {
	l, err := NewLoader()
	if err != nil {
		t.Fatal(err)
	}
	c, err := l.Load()
	if err != nil {
		t.Fatal(err)
	}
	if c.Learner.WindowSize != 10000 || c.Learner.Predictor != "ewma" || c.Policy.MaxPenaltyMs != 500 {
		t.Fatalf("defaults not decoded: %+v", c)
	}
}

func TestFileEnvPrecedence(t *testing.T) {
	p := writeFile(t, "learner:\n  predictor: mean\n  window_size: 50\n")
	t.Setenv("ALPS_LEARNER_WINDOW_SIZE", "70")
	l, _ := NewLoader()
	if err := l.ReadFile(p); err != nil {
		t.Fatal(err)
	}
	c, err := l.Load()
	if err != nil {
		t.Fatal(err)
	}
	if c.Learner.Predictor != "mean" {
		t.Errorf("file value lost: predictor=%q", c.Learner.Predictor)
	}
	if c.Learner.WindowSize != 70 {
		t.Errorf("env must win over file: window_size=%d", c.Learner.WindowSize)
	}
	if c.Learner.Alpha != 1.0 {
		t.Errorf("default lost: alpha=%g", c.Learner.Alpha)
	}
}

func TestBadInput(t *testing.T) {
	cases := []struct {
		name, body, want string
	}{
		{"unknown key", "learner:\n  window_sise: 5\n", `c.yaml:2: unknown key "learner.window_sise"`},
		{"unknown section", "lerner:\n  window_size: 5\n", `c.yaml:1: unknown key "lerner"`},
		{"duplicate section", "learner:\n  alpha: 0.5\nlearner:\n", `c.yaml:3: learner is already given at line 1`},
		{"duplicate key, other case", "learner:\n  alpha: 0.5\n  Alpha: 0.6\n", `c.yaml:3: learner.alpha is already given at line 2`},
		{"negative window", "learner:\n  window_size: -1\n", "learner.window_size: must be in [1, 1000000], got -1"},
		{"zero interval", "learner:\n  update_interval_ms: 0\n", "learner.update_interval_ms: must be at least 1, got 0"},
		{"negative alpha", "learner:\n  alpha: -0.5\n", "learner.alpha: must be in [0, 100], got -0.5"},
		{"negative min samples", "learner:\n  min_samples: -1\n", "learner.min_samples: must be in [0, window_size], got -1"},
		{"unknown predictor", "learner:\n  predictor: oracle\n", `learner.predictor: "oracle" is not one of`},
		{"unknown prior", "learner:\n  prior: global\n", `c.yaml:2: learner.prior: "global" is not one of pooled, scaled`},
		{"text for number", "learner:\n  window_size: lots\n", "learner.window_size"},
		{"malformed yaml", "learner: [\n", "c.yaml"},
		{"scalar top level", "42\n", "top level must be a mapping"},
		{"value given a mapping", "log:\n  level:\n    x: 1\n", "log.level takes a value"},
		{"bad level", "log:\n  level: loud\n", "log.level"},
		{"relative invocation map", "frontend:\n  invocation_map: alps-inv\n", `frontend.invocation_map: "alps-inv" is not an absolute path`},
		{"invocation group alone", "frontend:\n  invocation_group: faas\n", `frontend.invocation_group: "faas" given without frontend.invocation_map`},
		{"relative state file", "frontend:\n  state_file: state.json\n", `frontend.state_file: "state.json" is not an absolute path`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l, _ := NewLoader()
			err := l.ReadFile(writeFile(t, tc.body))
			if err == nil {
				_, err = l.Load()
			}
			if err == nil {
				t.Fatalf("no error, want one containing %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %q: want one line containing %q", err, tc.want)
			}
		})
	}
}

func TestMissingFile(t *testing.T) {
	l, _ := NewLoader()
	err := l.ReadFile("/nonexistent/alps.yaml")
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/alps.yaml") {
		t.Fatalf("got %v", err)
	}
}

// TestMetricsAddr (issue 11, defect 12): an address that answers beyond the host is refused
// unless frontend.metrics_allow_remote says so; the error is one line naming the key.
func TestMetricsAddr(t *testing.T) {
	tests := []struct {
		addr   string
		remote bool
		want   string // "" when valid
	}{
		{"", false, ""},
		{"127.0.0.1:9464", false, ""},
		{"[::1]:9464", false, ""},
		{"localhost:9464", false, ""},
		{"127.0.0.2:http", false, ""},
		{"0.0.0.0:9464", false, "listens on every address of the host"},
		{":9464", false, "listens on every address of the host"},
		{"[::]:9464", false, "listens on every address of the host"},
		{"10.1.2.3:9464", false, "is not a loopback address"},
		{"node.example:9464", false, "is not a loopback address"},
		{"0.0.0.0:9464", true, ""},
		{"127.0.0.1", false, "is not host:port"},
		{"127.0.0.1:99999", false, "is not a port number"},
		{"127.0.0.1:", false, "is not a port number"},
	}
	for _, tt := range tests {
		l, _ := NewLoader()
		l.Set("frontend.metrics_addr", tt.addr)
		l.Set("frontend.metrics_allow_remote", tt.remote)
		_, err := l.Load()
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%q (remote %v): %v", tt.addr, tt.remote, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "frontend.metrics_addr")):
			t.Errorf("%q (remote %v): error %v, want one naming frontend.metrics_addr containing %q", tt.addr, tt.remote, err, tt.want)
		}
	}
}
