package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/alps-sched/alps/cmd/internal/cli"
	"github.com/alps-sched/alps/experiments/vm"
)

// guestCPUs is the VM's vCPU count.
const guestCPUs = 2

// guestConfig is the daemon's configuration in the guest: the load generator puts each
// function's processes in /sys/fs/cgroup/alps/<function>. Every update (1 s) writes the
// heartbeat, so a heartbeat interval of 1 s adds no wake-up of its own and stays a third of
// the backend's 3 s staleness bound; under TCG each wake-up of the daemon costs about a
// millisecond of the guest's only effective CPU.
const guestConfig = `frontend:
  metrics_addr: ""
  cgroup_root: /sys/fs/cgroup
  cgroup_patterns: ["^alps/([^/]+)$"]
  pin_path: ""
  heartbeat_interval_ms: 1000
`

// writeGuestConfig writes guestConfig to path, with learner.cores set to the CPUs the guest
// delivers at once when the calibration at calPath (written by the first boot) measured them:
// the daemon's learner then simulates the machine it really schedules, as the prediction does
// (simulatedCores). Left at 0, it would take the vCPU count, 2, where single-threaded TCG
// delivers about 1, and its SRPT simulation would see half the load (experiments/early.md).
func writeGuestConfig(path, calPath string) error {
	cfg := guestConfig
	if _, err := os.Stat(calPath); err == nil {
		n, _, err := simulatedCores(calPath)
		if err != nil {
			return err
		}
		cfg += fmt.Sprintf("learner:\n  cores: %d\n", n)
	}
	return os.WriteFile(path, []byte(cfg), 0o644)
}

// guestScript runs one scheduler's replay. $1 is the scheduler; /plan.csv and /cal.json exist
// from the second boot on (the first boot calibrates and plans, so every run replays the same
// invocations with the same work units).
const guestScript = `set -u
sched=%s
cd /tmp
if [ -f /plan.csv ]; then cp /plan.csv /cal.json . ; else
  alps-bench calibrate --payload /bin/alps-payload --out cal.json || exit 1
  alps-bench plan --calibration cal.json --invocations %d --span %s --cores 1 --load 0.85 --out plan.csv || exit 1
  send cal.json; send plan.csv
fi
mkdir -p /sys/fs/cgroup/alps
for f in $(tail -n +2 plan.csv | cut -d, -f2 | sort -u); do mkdir -p /sys/fs/cgroup/alps/$f; done
fe=
if [ $sched != default ]; then
  learning=true; [ $sched = vtime ] && learning=false
  GOMAXPROCS=1 %s alps-frontend --config /frontend.yaml --learning=$learning --stats-file /tmp/frontend.json --log-level warn &
  fe=$!
  i=0; while [ "$(cat /sys/kernel/sched_ext/state)" != enabled ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done
  echo "sched_ext: $(cat /sys/kernel/sched_ext/state) $(cat /sys/kernel/sched_ext/root/ops 2>/dev/null)"
  [ "$(cat /sys/kernel/sched_ext/state)" = enabled ] || { echo "alps-frontend did not attach"; exit 1; }
fi
alps-bench loadgen --trace plan.csv --calibration cal.json --payload /bin/alps-payload --links /tmp/fn --cgroup-root /sys/fs/cgroup/alps --drain 60s --out results.csv || exit 1
ej=0
if [ -n "$fe" ]; then
  [ "$(cat /sys/kernel/sched_ext/state)" = enabled ] || ej=1
  for t in /proc/$fe/task/*; do echo "${t##*/} $(cat $t/schedstat) $(cut -d' ' -f14,15 $t/stat)"; done > frontend-threads.txt
  kill -TERM $fe 2>/dev/null; wait $fe; rc=$?
  [ $rc -ne 0 ] && { echo "alps-frontend exited $rc"; ej=1; }
  send frontend.json; send frontend-threads.txt
  [ -f frontend.pprof ] && send frontend.pprof
fi
echo $ej > ejections
send results.csv; send ejections
`

func runCmd(app *cli.App) *cobra.Command {
	var out, runs, kernel string
	var short bool
	var only, feEnv []string
	cmd := &cobra.Command{
		Use:   "run",
		Short: "The whole experiment: boot the VM once per scheduler (default, vtime, alps) on the same trace, then analyze",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			boot, err := selectSchedulers(only)
			if err != nil {
				return err
			}
			env, err := shellEnv(feEnv)
			if err != nil {
				return err
			}
			if runs == "" {
				d, err := os.MkdirTemp("", "alps-runs-")
				if err != nil {
					return err
				}
				runs = d
			} else if err := os.MkdirAll(runs, 0o755); err != nil {
				return err
			}
			n, span := 600, "60s"
			if short {
				n, span = 200, "25s"
			}
			bins, err := buildGuestBinaries()
			if err != nil {
				return err
			}
			cfgPath := filepath.Join(runs, "frontend.yaml")
			for _, s := range boot {
				if err := writeGuestConfig(cfgPath, filepath.Join(runs, "cal.json")); err != nil {
					return err
				}
				files := map[string]string{"/bin/alps-bench": bins["alps-bench"], "/bin/alps-payload": bins["alps-payload"],
					"/bin/alps-frontend": bins["alps-frontend"], "/frontend.yaml": cfgPath}
				// The first boot calibrates and plans; every later one (and a rerun into the
				// same runs directory) replays that plan.
				plan, cal := filepath.Join(runs, planFile), filepath.Join(runs, "cal.json")
				if exists(plan) && exists(cal) {
					files["/plan.csv"], files["/cal.json"] = plan, cal
				}
				t0 := time.Now()
				res, err := vm.Run(cmd.Context(), vm.Spec{Kernel: kernel, Files: files, Script: fmt.Sprintf(guestScript, s, n, span, env),
					CPUs: guestCPUs, MemMB: 1024, Timeout: 8 * time.Minute})
				if err != nil {
					return fmt.Errorf("run %s: %w", s, err)
				}
				if res.ExitCode != 0 {
					return fmt.Errorf("run %s: guest exited %d:\n%s", s, res.ExitCode, res.SerialTail(30))
				}
				dir := filepath.Join(runs, s)
				if err := os.MkdirAll(dir, 0o755); err != nil {
					return err
				}
				for name, data := range res.Files {
					dst := filepath.Join(dir, name)
					if name == planFile || name == "cal.json" {
						dst = filepath.Join(runs, name)
					}
					if err := os.WriteFile(dst, data, 0o644); err != nil {
						return err
					}
				}
				// The guest's console (the daemon's log, the plan's notes) stays beside the run.
				if err := os.WriteFile(filepath.Join(dir, "console.txt"), []byte(res.Serial), 0o644); err != nil {
					return err
				}
				fmt.Fprintf(app.Stderr(), "run %s: %.0fs in the VM\n", s, time.Since(t0).Seconds())
			}
			fmt.Fprintf(app.Stderr(), "runs in %s\n", runs)
			for _, s := range schedulers {
				if !exists(filepath.Join(runs, s, resultsFile)) {
					fmt.Fprintf(app.Stderr(), "no %s run in %s yet: not analysed (boot it with --schedulers %s --runs %s)\n", s, runs, s, runs)
					return nil
				}
			}
			return analyze(app, runs, out, short)
		},
	}
	f := cmd.Flags()
	f.StringVar(&out, "out", "experiments/results", "where latest.json and the figures go")
	f.StringVar(&runs, "runs", "", "keep the runs here (default: a temporary directory)")
	f.StringVar(&kernel, "kernel", "", "sched_ext kernel to boot (default: .cache/kernel/vmlinuz)")
	f.BoolVar(&short, "short", false, "a short smoke run (200 invocations, 25 s): gates only on nothing lost or ejected and the loop closing")
	f.StringSliceVar(&only, "schedulers", schedulers, "boot only these runs (default, vtime, alps); with --runs, a later call adds the others and analyses once all are there")
	f.StringSliceVar(&feEnv, "frontend-env", nil, "KEY=VALUE environment of alps-frontend in the guest (diagnostics, e.g. GODEBUG=gctrace=1)")
	return cmd
}

// selectSchedulers checks the --schedulers list and returns it in table order.
func selectSchedulers(names []string) ([]string, error) {
	want := map[string]bool{}
	for _, n := range names {
		if !slices.Contains(schedulers, n) {
			return nil, cli.Usagef("--schedulers: unknown scheduler %q (valid: %s)", n, strings.Join(schedulers, ", "))
		}
		want[n] = true
	}
	var out []string
	for _, s := range schedulers {
		if want[s] {
			out = append(out, s)
		}
	}
	return out, nil
}

// shellEnv turns KEY=VALUE pairs into shell assignments, quoted.
func shellEnv(kv []string) (string, error) {
	var b strings.Builder
	for _, e := range kv {
		k, v, ok := strings.Cut(e, "=")
		if !ok || k == "" || strings.Trim(k, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") != "" {
			return "", cli.Usagef("--frontend-env: %q is not KEY=VALUE", e)
		}
		fmt.Fprintf(&b, "%s='%s' ", k, strings.ReplaceAll(v, "'", `'\''`))
	}
	return b.String(), nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// buildGuestBinaries builds the static binaries the guest runs.
func buildGuestBinaries() (map[string]string, error) {
	dir, err := os.MkdirTemp("", "alps-guest-bin-")
	if err != nil {
		return nil, err
	}
	bins := map[string]string{}
	for _, name := range []string{"alps-bench", "alps-payload", "alps-frontend"} {
		c := exec.Command("go", "build", "-o", filepath.Join(dir, name), "./cmd/"+name)
		c.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := c.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("building %s: %v: %s", name, err, out)
		}
		bins[name] = filepath.Join(dir, name)
	}
	return bins, nil
}
