// Package deploy holds the deployment files of alps-frontend (a systemd unit and a
// Kubernetes DaemonSet); its tests check their hardening.
package deploy

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// unitDirectives reads a systemd unit: every "Key=Value" line, values of repeated keys
// joined by a newline.
func unitDirectives(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		k, v, ok := strings.Cut(line, "=")
		if !ok || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "[") {
			continue
		}
		if out[k] != "" {
			v = out[k] + "\n" + v
		}
		out[k] = v
	}
	return out
}

// TestUnitHardening (issue 11): the unit keeps only the capabilities sched_ext needs, a
// read-only system but for bpffs, a start limit, and a system-call filter; with
// systemd-analyze on the machine, its exposure is at most 2.5 and it verifies.
func TestUnitHardening(t *testing.T) {
	d := unitDirectives(t, "alps-frontend.service")
	for _, tt := range []struct{ key, want string }{
		{"NoNewPrivileges", "yes"},
		{"CapabilityBoundingSet", "CAP_SYS_ADMIN CAP_BPF CAP_PERFMON"},
		{"ProtectSystem", "strict"},
		{"ReadWritePaths", "/sys/fs/bpf"},
		{"ProtectHome", "yes"},
		{"PrivateTmp", "yes"},
		{"UMask", "0077"},
		{"RestrictAddressFamilies", "AF_INET AF_INET6"},
		{"SystemCallFilter", "@system-service\n~@privileged @resources @obsolete\nbpf perf_event_open"},
		{"StartLimitIntervalSec", "30"},
		{"StartLimitBurst", "2"},
		{"Restart", "on-failure"},
	} {
		if got := d[tt.key]; got != tt.want {
			t.Errorf("%s=%q, want %q", tt.key, got, tt.want)
		}
	}
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed: exposure not measured")
	}
	// The copy's name keeps the unit's; --offline reads it without a running systemd.
	unit := filepath.Join(t.TempDir(), "alps-frontend.service")
	data, _ := os.ReadFile("alps-frontend.service")
	os.WriteFile(unit, data, 0o644)
	out, err := exec.Command(sa, "security", "--offline=true", "--threshold=25", "--no-pager", unit).CombinedOutput()
	if err != nil {
		t.Errorf("systemd-analyze security: %v (exposure above 2.5?)\n%s", err, lastLines(string(out), 3))
	}
	out, _ = exec.Command(sa, "verify", unit).CombinedOutput()
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if l != "" && !strings.Contains(l, "/usr/local/bin/alps-frontend is not executable") {
			t.Errorf("systemd-analyze verify: %s", l)
		}
	}
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(l[max(len(l)-n, 0):], "\n")
}

// TestDaemonSetHardening (issue 11): the pod is not privileged and holds only the
// capabilities and host paths it needs; the image is pinned; memory is limited.
func TestDaemonSetHardening(t *testing.T) {
	data, err := os.ReadFile("daemonset.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var ds struct {
		Kind string
		Spec struct {
			Template struct {
				Spec struct {
					Tolerations []map[string]string
					Containers  []struct {
						Image           string
						SecurityContext struct {
							Privileged               *bool `yaml:"privileged"`
							AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
							ReadOnlyRootFilesystem   bool  `yaml:"readOnlyRootFilesystem"`
							Capabilities             struct{ Drop, Add []string }
						} `yaml:"securityContext"`
						Resources    struct{ Limits, Requests map[string]string }
						VolumeMounts []struct {
							Name      string
							MountPath string `yaml:"mountPath"`
							ReadOnly  bool   `yaml:"readOnly"`
						} `yaml:"volumeMounts"`
					}
				}
			}
		}
	}
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	for ds.Kind != "DaemonSet" {
		if err := dec.Decode(&ds); err != nil {
			t.Fatalf("no DaemonSet: %v", err)
		}
	}
	spec := ds.Spec.Template.Spec
	c := spec.Containers[0]
	sc := c.SecurityContext
	switch {
	case sc.Privileged == nil || *sc.Privileged:
		t.Error("privileged")
	case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
		t.Error("allowPrivilegeEscalation not false")
	case !sc.ReadOnlyRootFilesystem:
		t.Error("root file system writable")
	case strings.Join(sc.Capabilities.Drop, ",") != "ALL" || strings.Join(sc.Capabilities.Add, ",") != "SYS_ADMIN,BPF,PERFMON":
		t.Errorf("capabilities %+v", sc.Capabilities)
	case strings.HasSuffix(c.Image, ":latest") || !strings.Contains(c.Image, ":"):
		t.Errorf("image %q not pinned", c.Image)
	case c.Resources.Limits["memory"] == "" || c.Resources.Limits["cpu"] != "":
		t.Errorf("limits %v: want memory only (a CPU limit throttles the heartbeat)", c.Resources.Limits)
	}
	for _, m := range c.VolumeMounts {
		if m.MountPath != "/sys/fs/bpf" && !m.ReadOnly {
			t.Errorf("%s mounted writable", m.MountPath)
		}
	}
	for _, tol := range spec.Tolerations {
		if tol["effect"] != "NoSchedule" {
			t.Errorf("toleration %v: only NoSchedule taints are meant to be tolerated", tol)
		}
	}
}
