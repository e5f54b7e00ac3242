package configs

import (
	"strings"
	"testing"

	"github.com/alps-sched/alps/model"
)

// FuzzReadYAML: any config file is a valid configuration or one error line naming the file;
// never a panic.
func FuzzReadYAML(f *testing.F) {
	f.Add([]byte("learner:\n  predictor: mean\n  window_size: 50\n"))
	f.Add([]byte("learner:\n  alpha: .nan\n  beta: .inf\n"))
	f.Add([]byte("learner:\n  update_interval_ms: 9223372036855\n"))
	f.Add([]byte("learner:\n  window_size: 2.7\n---\nlog:\n  level: debug\n"))
	f.Add([]byte("frontend:\n  metrics_addr: 0.0.0.0:9464\n  cgroup_patterns: [\"^fn-(.*)$\"]\n"))
	f.Add([]byte("sim:\n  cfs_context_switch_us: 1e400\n"))
	f.Add([]byte("learner:\nlearner:\n"))
	f.Add([]byte("learner:\n  alpha: 0.5\n  Alpha: 0.6\n"))
	f.Add(DefaultYAML())
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := NewLoader()
		if err != nil {
			t.Fatal(err)
		}
		err = l.ReadYAML("f.yaml", data)
		if err == nil {
			var c Config
			c, err = l.Load()
			if err == nil {
				if verr := c.Validate(); verr != nil {
					t.Fatalf("Load accepted what Validate rejects: %v", verr)
				}
				// What loads converts into parameters their packages accept.
				if _, lerr := model.NewLearner(LearnerConfig(c)); lerr != nil {
					t.Fatalf("a loaded configuration makes no learner: %v", lerr)
				}
				if serr := SFSParams(c.Sim).Validate(); serr != nil {
					t.Fatalf("a loaded configuration makes invalid sim parameters: %v", serr)
				}
				return
			}
		}
		if msg := err.Error(); strings.Contains(msg, "\n") || !strings.HasPrefix(msg, "config f.yaml") {
			t.Fatalf("error %q: want one line naming f.yaml", msg)
		}
	})
}
