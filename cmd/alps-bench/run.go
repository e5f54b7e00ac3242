package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/alps-sched/alps/cmd/internal/cli"
	"github.com/alps-sched/alps/experiments/analysis"
	"github.com/alps-sched/alps/experiments/plan"
	"github.com/alps-sched/alps/experiments/vm"
	"github.com/alps-sched/alps/experiments/workload"
)

// guestCPUs is the VM's vCPU count. Single-threaded TCG runs every vCPU on one host thread,
// so a guest delivers one CPU whatever its vCPU count; with one vCPU the guest's kernel
// charges CPU time as it is delivered and schedules the one CPU it has (with two, each vCPU
// runs half the time and the CPU clocks of both run on).
const guestCPUs = 1

// guestConfig is the daemon's configuration in the guest: the load generator puts each
// function's processes in /sys/fs/cgroup/alps/<function>. Every update (1 s) writes the
// heartbeat, so a heartbeat interval of 1 s adds no wake-up of its own and stays a third of
// the backend's 3 s staleness bound; under TCG each wake-up of the daemon costs about a
// millisecond of the guest's only CPU.
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
// (simulatedCores). With warm, the daemon pins the invocation map the workers register in.
func writeGuestConfig(path, calPath string, warm bool) error {
	cfg := guestConfig
	if warm {
		cfg += "  invocation_map: " + guestInvocationMap + "\n"
	}
	if _, err := os.Stat(calPath); err == nil {
		n, _, err := simulatedCores(calPath)
		if err != nil {
			return err
		}
		cfg += fmt.Sprintf("learner:\n  cores: %d\n", n)
	}
	return os.WriteFile(path, []byte(cfg), 0o644)
}

// guestScript runs one scheduler's replay. /plan.csv and /cal.json exist from the second
// boot on (the first boot calibrates and plans, so every run replays the same invocations
// with the same work units). Every boot calibrates again just before and just after its
// replay (probe-*.json): the emulated CPU's speed and costs move with the host's other work,
// and the run's prediction is made on the machine it measured. Arguments: scheduler, plan
// flags, frontend environment, marks, the load generator's mode (payload processes or warm
// workers) and drain.
const guestScript = `set -u
sched=%s
cd /tmp
if [ -f /plan.csv ]; then cp /plan.csv /cal.json . ; else
  alps-bench calibrate --payload /bin/alps-payload --out cal.json || exit 1
  alps-bench plan --calibration cal.json %s --out plan.csv || exit 1
  send cal.json; send plan.csv
fi
mkdir -p /sys/fs/cgroup/alps
for f in $(tail -n +2 plan.csv | cut -d, -f2 | sort -u); do mkdir -p /sys/fs/cgroup/alps/$f; done
fe=
lgmap=
if [ $sched != default ]; then
  grep -q invocation_map /frontend.yaml && lgmap="--invocation-map ` + guestInvocationMap + `"
  learning=true; [ $sched = vtime ] && learning=false
  GOMAXPROCS=1 %s alps-frontend --config /frontend.yaml --learning=$learning --stats-file /tmp/frontend.json --log-level warn &
  fe=$!
  i=0; while [ "$(cat /sys/kernel/sched_ext/state)" != enabled ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done
  echo "sched_ext: $(cat /sys/kernel/sched_ext/state) $(cat /sys/kernel/sched_ext/root/ops 2>/dev/null)"
  [ "$(cat /sys/kernel/sched_ext/state)" = enabled ] || { echo "alps-frontend did not attach"; exit 1; }
fi
alps-bench calibrate --payload /bin/alps-payload --out probe-before.json || exit 1
echo "%s"
alps-bench loadgen --trace plan.csv --calibration cal.json %s --links /tmp/fn --cgroup-root /sys/fs/cgroup/alps --drain %s --realtime 10 --out results.csv --stats replay.json || exit 1
echo "%s"
alps-bench calibrate --payload /bin/alps-payload --out probe-after.json || exit 1
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
send results.csv; send ejections; send replay.json; send probe-before.json; send probe-after.json
`

// runOptions are alps-bench run's flags.
type runOptions struct {
	out, runs, kernel string
	short             bool
	rounds            int
	only, feEnv       []string
	load              float64
	span              time.Duration
	seed              uint64
	nice              int
	warm              bool
}

// guestInvocationMap is where the daemon pins the registration map in warm runs.
const guestInvocationMap = "/sys/fs/bpf/alps-invocations"

// loadgenMode is the load generator's mode in the guest: payload processes, or with --warm
// one warm worker per function, whose threads register with alps where it runs ($lgmap, set by
// the guest script).
func (o runOptions) loadgenMode() string {
	if o.warm {
		return "--warm --worker /bin/alps-worker $lgmap"
	}
	return "--payload /bin/alps-payload"
}

// warmMarker is the file that says a runs directory holds warm runs (run --warm).
const warmMarker = "warm"

// checkMode marks a new runs directory warm when o is, and refuses to add runs of the other
// mode to one that has runs already.
func (o runOptions) checkMode() error {
	warm := exists(filepath.Join(o.runs, warmMarker))
	if exists(filepath.Join(o.runs, planFile)) && warm != o.warm {
		return cli.Usagef("--runs %s holds %s runs: add %s ones elsewhere", o.runs, map[bool]string{true: "warm", false: "cold"}[warm],
			map[bool]string{true: "warm", false: "cold"}[o.warm])
	}
	if o.warm {
		return os.WriteFile(filepath.Join(o.runs, warmMarker), nil, 0o644)
	}
	return nil
}

// plan flags of a run: the full experiment replays 40 s of arrivals of 48 functions, the
// short one 20 s of 24.
func (o runOptions) planFlags() string {
	span, functions := o.span, plan.DefaultFunctions
	if o.short {
		functions /= 2
	}
	if span == 0 {
		span = 40 * time.Second
		if o.short {
			span = 20 * time.Second
		}
	}
	return fmt.Sprintf("--cores %d --load %g --span %s --functions %d --seed %d", guestCPUs, o.load, span, functions, o.seed)
}

// drain is how long the load generator waits after the last arrival: the span again, at
// least a minute, so an overloaded run finishes its backlog.
func (o runOptions) drain() time.Duration {
	return max(time.Minute, o.span)
}

// boot is one scheduler's run in one round.
type boot struct {
	sched string
	round int
}

// dir is where the run's files go: DIR/<scheduler>/<round>.
func (b boot) dir(runs string) string {
	return filepath.Join(runs, b.sched, strconv.Itoa(b.round))
}

// schedule interleaves the runs: round r runs the schedulers rotated by r (default, vtime,
// alps; then vtime, alps, default; ...), so that a drift of the host's load over the
// experiment falls on every scheduler alike, and so does the position within a round.
func schedule(scheds []string, rounds int) []boot {
	var out []boot
	for r := 1; r <= rounds; r++ {
		for i := range scheds {
			out = append(out, boot{sched: scheds[(i+r-1)%len(scheds)], round: r})
		}
	}
	return out
}

// hostInfo is what the runner records about the host around one boot.
type hostInfo struct {
	LoadBefore float64 `json:"load_before"` // 1-minute load average before the boot
	LoadAfter  float64 `json:"load_after"`
	WallS      float64 `json:"wall_s"`     // the boot, start to power-off
	QemuCPUS   float64 `json:"qemu_cpu_s"` // host CPU the emulator used
	Niced      bool    `json:"niced"`      // the emulator ran at raised priority
	// ReplayWallS and ReplayQemuCPUS are the same over the replay alone (between the
	// guest's markStart and markEnd lines, timed on the host).
	ReplayWallS    float64 `json:"replay_wall_s,omitempty"`
	ReplayQemuCPUS float64 `json:"replay_qemu_cpu_s,omitempty"`
}

// Console lines the guest prints around the replay, timed on the host (vm.Spec.Marks).
const (
	markStart = "=== replay start ==="
	markEnd   = "=== replay end ==="
)

// loadAvg reads the host's 1-minute load average (0 if unreadable).
func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

func runCmd(app *cli.App) *cobra.Command {
	var o runOptions
	cmd := &cobra.Command{
		Use:   "run",
		Short: "The whole experiment: boot the VM once per scheduler (default, vtime, alps) and round on the same trace, then analyze",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			scheds, err := selectSchedulers(o.only)
			if err != nil {
				return err
			}
			if o.rounds < 1 {
				return cli.Usagef("--rounds: must be >= 1, got %d", o.rounds)
			}
			if !(o.load > 0 && o.load <= 2) {
				return cli.Usagef("--load: must be in (0, 2], got %g", o.load)
			}
			if !cmd.Flags().Changed("rounds") && o.short {
				o.rounds = 1
			}
			env, err := shellEnv(o.feEnv)
			if err != nil {
				return err
			}
			if o.runs == "" {
				d, err := os.MkdirTemp("", "alps-runs-")
				if err != nil {
					return err
				}
				o.runs = d
			} else if err := os.MkdirAll(o.runs, 0o755); err != nil {
				return err
			}
			if err := o.checkMode(); err != nil {
				return err
			}
			bins, err := buildGuestBinaries(o.warm)
			if err != nil {
				return err
			}
			if err := bootAll(cmd, app, o, scheds, bins, env); err != nil {
				return err
			}
			fmt.Fprintf(app.Stderr(), "runs in %s\n", o.runs)
			for _, s := range schedulers {
				if !exists(filepath.Join(o.runs, s, "1", resultsFile)) {
					fmt.Fprintf(app.Stderr(), "no %s run in %s yet: not analysed (boot it with --schedulers %s --runs %s)\n", s, o.runs, s, o.runs)
					return nil
				}
			}
			return analyze(app, o.runs, o.out, o.short)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.out, "out", "experiments/results", "where latest.json and the figures go")
	f.StringVar(&o.runs, "runs", "", "keep the runs here (default: a temporary directory); runs already there are kept")
	f.StringVar(&o.kernel, "kernel", "", "sched_ext kernel to boot (default: .cache/kernel/vmlinuz)")
	f.BoolVar(&o.short, "short", false, "a short smoke run (20 s of arrivals, one round): gates only on nothing lost or ejected and the loop closing")
	f.IntVar(&o.rounds, "rounds", 3, "runs per scheduler, interleaved (1 with --short unless given)")
	f.Float64Var(&o.load, "load", 0.7, "offered CPU load of the plan on the guest's one CPU")
	f.DurationVar(&o.span, "span", 0, "arrivals' span of the plan (default 40 s, 20 s with --short)")
	f.Uint64Var(&o.seed, "seed", 1, "seed of the plan")
	f.IntVar(&o.nice, "vm-nice", -20, "run qemu at this nice value in its own session (root; 0: as this process); keeps other work on the host from slowing the guest")
	f.StringSliceVar(&o.only, "schedulers", schedulers, "boot only these runs (default, vtime, alps); with --runs, a later call adds the others and analyses once all are there")
	f.BoolVar(&o.warm, "warm", false, "warm invocations: one long-lived worker per function serves its invocations as requests (alps-worker), marking their boundaries (make demo-warm)")
	f.StringSliceVar(&o.feEnv, "frontend-env", nil, "KEY=VALUE environment of alps-frontend in the guest (diagnostics, e.g. GODEBUG=gctrace=1)")
	return cmd
}

// bootAll boots the runs of scheds in o.runs that are not there yet, interleaved.
func bootAll(cmd *cobra.Command, app *cli.App, o runOptions, scheds []string, bins map[string]string, env string) error {
	cfgPath := filepath.Join(o.runs, "frontend.yaml")
	for _, b := range schedule(scheds, o.rounds) {
		if exists(filepath.Join(b.dir(o.runs), resultsFile)) {
			continue // a rerun into the same runs directory adds what is missing
		}
		if err := bootOnce(cmd, app, o, b, bins, cfgPath, env); err != nil {
			return err
		}
	}
	return nil
}

// bootOnce boots the VM for run b and stores what it brings back in b's directory.
func bootOnce(cmd *cobra.Command, app *cli.App, o runOptions, b boot, bins map[string]string, cfgPath, env string) error {
	if err := writeGuestConfig(cfgPath, filepath.Join(o.runs, "cal.json"), o.warm); err != nil {
		return err
	}
	files := map[string]string{"/bin/alps-bench": bins["alps-bench"], "/bin/alps-payload": bins["alps-payload"],
		"/bin/alps-frontend": bins["alps-frontend"], "/frontend.yaml": cfgPath}
	if o.warm {
		files["/bin/alps-worker"] = bins["alps-worker"]
	}
	// The first boot calibrates and plans; every later one (and a rerun into the same runs
	// directory) replays that plan.
	planPath, cal := filepath.Join(o.runs, planFile), filepath.Join(o.runs, "cal.json")
	if exists(planPath) && exists(cal) {
		files["/plan.csv"], files["/cal.json"] = planPath, cal
	}
	script := fmt.Sprintf(guestScript, b.sched, o.planFlags(), env, markStart, o.loadgenMode(), o.drain(), markEnd)
	h := hostInfo{LoadBefore: loadAvg()}
	t0 := time.Now()
	res, err := vm.Run(cmd.Context(), vm.Spec{Kernel: o.kernel, Files: files, Script: script,
		CPUs: guestCPUs, MemMB: 1024, Timeout: 10 * time.Minute, Nice: o.nice, Marks: []string{markStart, markEnd}})
	if err != nil {
		return fmt.Errorf("run %s %d: %w", b.sched, b.round, err)
	}
	if res.ExitCode != 0 {
		return fmt.Errorf("run %s %d: guest exited %d:\n%s", b.sched, b.round, res.ExitCode, res.SerialTail(30))
	}
	h.LoadAfter, h.WallS, h.QemuCPUS, h.Niced = loadAvg(), res.Duration.Seconds(), res.HostCPU.Seconds(), res.Niced
	if a, ok := res.Marks[markStart]; ok {
		if b, ok := res.Marks[markEnd]; ok && b.At > a.At {
			h.ReplayWallS, h.ReplayQemuCPUS = (b.At - a.At).Seconds(), (b.CPU - a.CPU).Seconds()
		}
	}
	dir := b.dir(o.runs)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for name, data := range res.Files {
		dst := filepath.Join(dir, name)
		if name == planFile || name == "cal.json" {
			dst = filepath.Join(o.runs, name)
		}
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			return err
		}
	}
	// The guest's console (the daemon's log, the plan's notes) stays beside the run.
	if err := os.WriteFile(filepath.Join(dir, "console.txt"), []byte(res.Serial), 0o644); err != nil {
		return err
	}
	if err := analysis.WriteJSON(filepath.Join(dir, hostFile), h); err != nil {
		return err
	}
	fmt.Fprintf(app.Stderr(), "run %s %d: %.0fs in the VM (host load %.2f -> %.2f, qemu %.0fs of CPU%s)\n", b.sched, b.round,
		time.Since(t0).Seconds(), h.LoadBefore, h.LoadAfter, h.QemuCPUS, map[bool]string{true: ", niced", false: ""}[h.Niced])
	return nil
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

// buildGuestBinaries builds the static binaries the guest runs (with warm, the worker too).
func buildGuestBinaries(warm bool) (map[string]string, error) {
	dir, err := os.MkdirTemp("", "alps-guest-bin-")
	if err != nil {
		return nil, err
	}
	bins := map[string]string{}
	payload, err := workload.BuildPayload(dir)
	if err != nil {
		return nil, err
	}
	bins["alps-payload"] = payload
	names := []string{"alps-bench", "alps-frontend"}
	if warm {
		names = append(names, "alps-worker")
	}
	for _, name := range names {
		c := exec.Command("go", "build", "-o", filepath.Join(dir, name), "./cmd/"+name)
		c.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := c.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("building %s: %v: %s", name, err, out)
		}
		bins[name] = filepath.Join(dir, name)
	}
	return bins, nil
}
