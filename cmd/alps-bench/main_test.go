package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/alps-sched/alps/cmd/internal/cli"
	"github.com/alps-sched/alps/configs"
	"github.com/alps-sched/alps/experiments/loadgen"
	"github.com/alps-sched/alps/experiments/plan"
	"github.com/alps-sched/alps/sim"
	"github.com/alps-sched/alps/sim/trace"
)

// runBench runs alps-bench with args (the commands main installs) and returns the exit code,
// stdout and stderr.
func runBench(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	app, err := cli.New("alps-bench", "test")
	if err != nil {
		t.Fatal(err)
	}
	app.Root().AddCommand(calibrateCmd(app), planCmd(app), loadgenCmd(app), analyzeCmd(app), runCmd(app), experimentCmd(app))
	var out, errb bytes.Buffer
	app.SetOutput(&out, &errb)
	code := app.Execute(t.Context(), args)
	return code, out.String(), errb.String()
}

func writeFile(t *testing.T, path, body string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// runPlan runs "alps-bench plan" with a small trace (60 invocations of 8 functions at load
// 0.85 on 2 cores) into dir and returns the path of the CSV and the command's output.
func runPlan(t *testing.T, dir string, extra ...string) (path, stdout, stderr string) {
	t.Helper()
	out := filepath.Join(dir, planFile)
	args := append([]string{"plan", "--invocations", "60", "--functions", "8", "--cores", "2", "--load", "0.85", "--out", out}, extra...)
	code, stdout, errOut := runBench(t, args...)
	if code != 0 {
		t.Fatalf("plan: exit %d: %s", code, errOut)
	}
	return out, stdout, errOut
}

func TestPlan(t *testing.T) {
	dir := t.TempDir()
	cal := writeFile(t, filepath.Join(dir, "cal.json"), `{"units_per_ms": 1000, "spawn_ms": 20}`)
	tests := []struct {
		name                 string
		args                 []string
		minDemand, maxDemand time.Duration
	}{
		{"defaults", nil, 3 * time.Millisecond, 3 * time.Second},
		// Demands stay above 1.5x the payload process cost (20 ms).
		{"calibrated", []string{"--calibration", cal}, 30 * time.Millisecond, 3 * time.Second},
		{"narrow demands", []string{"--min-demand", "10ms", "--max-demand", "400ms"}, 10 * time.Millisecond, 400 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, stdout, stderr := runPlan(t, t.TempDir(), tt.args...)
			if stderr != "" {
				t.Errorf("stderr %q", stderr)
			}
			tr, err := trace.ReadCSVFile(out)
			if err != nil {
				t.Fatal(err)
			}
			if len(tr.Inv) != 60 || len(tr.Functions) != 8 {
				t.Errorf("%d invocations of %d functions, want 60 of 8", len(tr.Inv), len(tr.Functions))
			}
			if u := tr.Utilization(2); math.Abs(u-0.85) > 0.01 {
				t.Errorf("load on 2 cores %.3f, want 0.85", u)
			}
			for i, in := range tr.Inv {
				// The CSV keeps decimal ms: allow a nanosecond of rounding.
				if d := time.Duration(in.CPU); d < tt.minDemand-time.Nanosecond || d > tt.maxDemand+time.Nanosecond {
					t.Fatalf("invocation %d: demand %v outside [%v, %v]", i, d, tt.minDemand, tt.maxDemand)
				}
			}
			if want := "plan: " + plan.Summarize(tr, 2).String() + " on 2 cores\n"; stdout != want {
				t.Errorf("stdout %q, want %q", stdout, want)
			}
		})
	}
}

func TestPlanIsReproducible(t *testing.T) {
	read := func(seed string) []byte {
		p, _, _ := runPlan(t, t.TempDir(), "--seed", seed)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	a, b, c := read("7"), read("7"), read("8")
	if !bytes.Equal(a, b) {
		t.Error("the same seed gave two different plans")
	}
	if bytes.Equal(a, c) {
		t.Error("seeds 7 and 8 gave the same plan")
	}
}

// TestPlanSameDrawAnyCalibration: guests that measured different payload costs replay the
// same invocations of the same functions in the same order, the demands below the floor
// raised and the arrivals stretched to keep the offered load.
func TestPlanSameDrawAnyCalibration(t *testing.T) {
	dir := t.TempDir()
	plans := map[string]*sim.Trace{}
	for _, spawn := range []string{"1", "4"} {
		cal := writeFile(t, filepath.Join(dir, "cal"+spawn+".json"), `{"units_per_ms": 1000, "spawn_ms": `+spawn+`}`)
		p, _, _ := runPlan(t, t.TempDir(), "--calibration", cal)
		tr, err := trace.ReadCSVFile(p)
		if err != nil {
			t.Fatal(err)
		}
		plans[spawn] = tr
	}
	a, b := plans["1"], plans["4"]
	if len(a.Inv) != len(b.Inv) {
		t.Fatalf("%d and %d invocations", len(a.Inv), len(b.Inv))
	}
	raised := 0
	for i := range a.Inv {
		x, y := a.Inv[i], b.Inv[i]
		if x.Func != y.Func || x.IO != y.IO || x.Waits != y.Waits {
			t.Fatalf("invocation %d: %+v and %+v are not the same draw", i, x, y)
		}
		if d := y.CPU - max(x.CPU, 6e6); d < -1 || d > 1 { // the CSV's decimal ms: a ns of rounding
			t.Errorf("invocation %d: demand %v with a 6 ms floor, %v with none", i, time.Duration(y.CPU), time.Duration(x.CPU))
		}
		if x.CPU < 6e6 {
			raised++
		}
	}
	if raised == 0 {
		t.Fatal("no demand below the 6 ms floor: the test checks nothing")
	}
	if ua, ub := a.Utilization(2), b.Utilization(2); math.Abs(ua-ub) > 0.01 {
		t.Errorf("load on 2 cores %.3f and %.3f, want the same", ua, ub)
	}
}

// writeRun writes the results of round round of a run that completes every invocation of
// tr with an FCT of factor x its demand (CPU + I/O), lost invocations lost.
func writeRun(t *testing.T, dir, name string, round int, tr *sim.Trace, factor float64, lost int, ejections string) {
	t.Helper()
	rs := make([]loadgen.Result, len(tr.Inv))
	for i, in := range tr.Inv {
		fct := int64(factor * float64(in.CPU+in.IO))
		rs[i] = loadgen.Result{ID: i, Function: tr.Functions[in.Func], Arrival: in.Arrival, Start: in.Arrival,
			End: in.Arrival + fct, CPU: in.CPU, Demand: in.CPU, IO: in.IO, Blocks: int(in.Waits)}
		if i < lost {
			rs[i].Start, rs[i].End, rs[i].CPU, rs[i].Lost, rs[i].Err = 0, 0, 0, true, "killed at the drain"
		}
	}
	var b bytes.Buffer
	if err := loadgen.WriteResults(&b, rs); err != nil {
		t.Fatal(err)
	}
	d := filepath.Join(dir, name, strconv.Itoa(round))
	writeFile(t, filepath.Join(d, resultsFile), b.String())
	if ejections != "" {
		writeFile(t, filepath.Join(d, ejectionsFile), ejections)
	}
	writeFile(t, filepath.Join(d, replayFile), `{"cpus": 1, "util_span": 0.7, "util_wall": 0.6}`)
	writeFile(t, filepath.Join(d, hostFile), fmt.Sprintf(`{"load_before": %d.5}`, round))
}

// roundFactors scale a scheduler's FCT factor in its three rounds: the median is the factor.
var roundFactors = []float64{1.1, 1, 0.8}

// runsDir lays out a runs directory: a small plan and three rounds of the three runs at the
// given FCT factors.
func runsDir(t *testing.T, factors map[string]float64) (string, *sim.Trace) {
	t.Helper()
	dir := t.TempDir()
	p, _, _ := runPlan(t, dir)
	tr, err := trace.ReadCSVFile(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range schedulers {
		for r, k := range roundFactors {
			writeRun(t, dir, s, r+1, tr, factors[s]*k, 0, "0\n")
		}
	}
	for r := range roundFactors {
		writeFile(t, filepath.Join(dir, "alps", strconv.Itoa(r+1), frontendFile),
			fmt.Sprintf(`{"cpu_percent": 1.25, "update_p99_ms": 3.5, "updates": %d, "records": 600}`, 40+r))
	}
	return dir, tr
}

func TestAnalyze(t *testing.T) {
	dir, tr := runsDir(t, map[string]float64{"default": 3, "vtime": 2.5, "alps": 1.4})
	out := filepath.Join(t.TempDir(), "results")
	code, stdout, errOut := runBench(t, "analyze", "--dir", dir, "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var sum struct {
		Schedulers []struct {
			Name        string    `json:"name"`
			Runs        int       `json:"runs"`
			MeanRuns    []float64 `json:"mean_fct_ms_runs"`
			Completed   *int      `json:"completed"`
			Lost        *int      `json:"lost"`
			Ejections   *int      `json:"ejections"`
			MeanFCTMs   float64   `json:"mean_fct_ms"`
			ShortMeanMs float64   `json:"short_mean_fct_ms"`
			P99FCTMs    float64   `json:"p99_fct_ms"`
			LongP99SD   float64   `json:"long_p99_slowdown"`
		} `json:"schedulers"`
		Trace struct {
			Invocations int     `json:"invocations"`
			Functions   int     `json:"functions"`
			OfferedLoad float64 `json:"offered_load"`
		} `json:"trace"`
		Frontend struct {
			CPUPercent  float64 `json:"cpu_percent"`
			UpdateP99Ms float64 `json:"update_p99_ms"`
			Records     uint64  `json:"records"`
			Updates     uint64  `json:"updates"`
		} `json:"frontend"`
	}
	data, err := os.ReadFile(filepath.Join(out, "latest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &sum); err != nil {
		t.Fatalf("latest.json: %v\n%s", err, data)
	}
	var meanDemand float64
	for _, in := range tr.Inv {
		meanDemand += float64(in.CPU+in.IO) / 1e6
	}
	meanDemand /= float64(len(tr.Inv))
	wantFactor := map[string]float64{"default": 3, "vtime": 2.5, "alps": 1.4}
	if len(sum.Schedulers) != 3 {
		t.Fatalf("latest.json has %d schedulers, want 3:\n%s", len(sum.Schedulers), data)
	}
	for i, s := range sum.Schedulers {
		if s.Name != schedulers[i] {
			t.Errorf("scheduler %d is %q, want %q", i, s.Name, schedulers[i])
		}
		if s.Completed == nil || *s.Completed != len(tr.Inv) || s.Lost == nil || *s.Lost != 0 || s.Ejections == nil || *s.Ejections != 0 {
			t.Errorf("%s: completed/lost/ejections wrong:\n%s", s.Name, data)
		}
		want := wantFactor[s.Name] * meanDemand
		if math.Abs(s.MeanFCTMs-want) > 1e-3*want {
			t.Errorf("%s: mean FCT %.4f ms, want %.4f (%.1f x the mean demand)", s.Name, s.MeanFCTMs, want, wantFactor[s.Name])
		}
		if math.Abs(s.LongP99SD-wantFactor[s.Name]) > 1e-3 {
			t.Errorf("%s: long-class p99 slowdown %.4f, want %.1f (every slowdown is)", s.Name, s.LongP99SD, wantFactor[s.Name])
		}
		if s.Runs != 3 || len(s.MeanRuns) != 3 || math.Abs(s.MeanRuns[0]-1.1*want) > 1e-3*want || math.Abs(s.MeanRuns[2]-0.8*want) > 1e-3*want {
			t.Errorf("%s: runs %d, mean FCT per run %v, want 3 in round order (%.1f, %.1f, %.1f)", s.Name, s.Runs, s.MeanRuns, 1.1*want, want, 0.8*want)
		}
	}
	if sum.Trace.Invocations != len(tr.Inv) || sum.Trace.Functions != 8 || math.Abs(sum.Trace.OfferedLoad-tr.Utilization(1)) > 1e-9 {
		t.Errorf("trace %+v, want %d invocations of 8 functions at load %.3f on the one simulated CPU", sum.Trace, len(tr.Inv), tr.Utilization(1))
	}
	if sum.Frontend.CPUPercent != 1.25 || sum.Frontend.UpdateP99Ms != 3.5 || sum.Frontend.Records != 600 || sum.Frontend.Updates != 40 {
		t.Errorf("frontend figures %+v, want those of frontend.json (the fewest updates of the rounds)", sum.Frontend)
	}
	for _, w := range []string{"[", "host load (1 min) at each run's start: default 1.5 2.5 3.5", "CPU busy over the arrivals", "prediction: "} {
		if !strings.Contains(stdout, w) {
			t.Errorf("stdout lacks %q:\n%s", w, stdout)
		}
	}
	if !strings.Contains(stdout, "targets (full): all met") {
		t.Errorf("stdout lacks the verdict:\n%s", stdout)
	}
	table, err := os.ReadFile(filepath.Join(out, "table.txt"))
	if err != nil || string(table) != stdout {
		t.Errorf("table.txt (%v) differs from stdout", err)
	}
	for _, f := range []string{"prediction.json"} {
		if st, err := os.Stat(filepath.Join(out, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s not written: %v", f, err)
		}
	}
	pngs, _ := filepath.Glob(filepath.Join(out, "*.png"))
	if len(pngs) == 0 {
		t.Errorf("no figures written in %s", out)
	}
}

func TestAnalyzeTargets(t *testing.T) {
	tests := []struct {
		name     string
		short    bool
		alps     float64 // alps FCT factor (default is 3)
		lostAlps int
		wantCode int
		want     string
	}{
		// alps faster but not 0.6x: the full run reports the miss and still succeeds (only the
		// basics gate).
		{"full run, full target missed", false, 2.7, 0, 0, "targets (full): "},
		{"short run, alps faster", true, 2.7, 0, 0, "targets (smoke): all met"},
		// The short run is too short for the learner to pay off: a slower alps is reported,
		// not gated; the full run gates on it.
		{"short run, alps slower", true, 3.3, 0, 0, "targets (smoke): all met"},
		{"full run, alps slower", false, 3.3, 0, cli.ExitFailure, "alps mean FCT is 1.10 x default's"},
		{"short run, a lost invocation", true, 2.7, 1, cli.ExitFailure, "alps lost 1 invocations"},
		{"full run, a lost invocation", false, 1.4, 2, cli.ExitFailure, "targets missed: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, tr := runsDir(t, map[string]float64{"default": 3, "vtime": 2.5, "alps": tt.alps})
			if tt.lostAlps > 0 {
				writeRun(t, dir, "alps", 2, tr, tt.alps, tt.lostAlps, "0\n")
			}
			args := []string{"analyze", "--dir", dir, "--out", t.TempDir()}
			if tt.short {
				args = append(args, "--short")
			}
			code, stdout, errOut := runBench(t, args...)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d (stderr %q)", code, tt.wantCode, errOut)
			}
			got := stdout
			if tt.wantCode != 0 {
				got = errOut
				if strings.Count(errOut, "\n") != 1 {
					t.Errorf("stderr %q: want one line", errOut)
				}
			}
			if !strings.Contains(got, tt.want) {
				t.Errorf("output lacks %q:\nstdout %s\nstderr %s", tt.want, stdout, errOut)
			}
			if tt.name == "full run, full target missed" && strings.Contains(stdout, "all met") {
				t.Errorf("a 0.9x mean FCT ratio met the full targets:\n%s", stdout)
			}
		})
	}
}

func TestBadInput(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp) // run must not leave a runs directory behind when its flags are bad
	good, _ := runsDir(t, map[string]float64{"default": 3, "vtime": 2.5, "alps": 1.4})
	copyRuns := func(t *testing.T) string {
		t.Helper()
		dir := t.TempDir()
		if err := os.CopyFS(dir, os.DirFS(good)); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	tests := []struct {
		name     string
		args     func(t *testing.T) []string
		wantCode int
		want     []string
	}{
		{"analyze without --dir", func(*testing.T) []string { return []string{"analyze"} }, cli.ExitUsage, []string{"--dir is required"}},
		{"analyze of a missing directory", func(t *testing.T) []string {
			return []string{"analyze", "--dir", filepath.Join(t.TempDir(), "nope")}
		}, cli.ExitFailure, []string{"nope/plan.csv", "no such file"}},
		{"analyze with a run missing", func(t *testing.T) []string {
			d := copyRuns(t)
			os.RemoveAll(filepath.Join(d, "vtime"))
			return []string{"analyze", "--dir", d, "--out", t.TempDir()}
		}, cli.ExitFailure, []string{"run vtime:", "vtime: no such file"}},
		{"analyze with a bad ejection count", func(t *testing.T) []string {
			d := copyRuns(t)
			writeFile(t, filepath.Join(d, "alps", "2", ejectionsFile), "two\n")
			return []string{"analyze", "--dir", d, "--out", t.TempDir()}
		}, cli.ExitFailure, []string{filepath.Join("alps", "2", ejectionsFile), `"two" is not a count`}},
		{"analyze without the frontend figures", func(t *testing.T) []string {
			d := copyRuns(t)
			os.Remove(filepath.Join(d, "alps", "3", frontendFile))
			return []string{"analyze", "--dir", d, "--out", t.TempDir()}
		}, cli.ExitFailure, []string{"frontend figures", frontendFile}},
		{"analyze with broken frontend figures", func(t *testing.T) []string {
			d := copyRuns(t)
			writeFile(t, filepath.Join(d, "alps", "1", frontendFile), "{cpu")
			return []string{"analyze", "--dir", d, "--out", t.TempDir()}
		}, cli.ExitFailure, []string{frontendFile}},
		{"analyze with a bad results number", func(t *testing.T) []string {
			d := copyRuns(t)
			p := filepath.Join(d, "default", "1", resultsFile)
			b, _ := os.ReadFile(p)
			lines := strings.Split(string(b), "\n")
			f := strings.Split(lines[3], ",")
			f[4] = "soon"
			lines[3] = strings.Join(f, ",")
			writeFile(t, p, strings.Join(lines, "\n"))
			return []string{"analyze", "--dir", d, "--out", t.TempDir()}
		}, cli.ExitFailure, []string{filepath.Join("default", "1", resultsFile) + ":4:5: end_ms: \"soon\" is not a number"}},
		{"analyze with a broken replay file", func(t *testing.T) []string {
			d := copyRuns(t)
			writeFile(t, filepath.Join(d, "vtime", "2", replayFile), "[")
			return []string{"analyze", "--dir", d, "--out", t.TempDir()}
		}, cli.ExitFailure, []string{filepath.Join("vtime", "2", replayFile)}},
		{"plan with a missing calibration", func(t *testing.T) []string {
			return []string{"plan", "--calibration", filepath.Join(t.TempDir(), "cal.json"), "--out", filepath.Join(t.TempDir(), "p.csv")}
		}, cli.ExitFailure, []string{"cal.json"}},
		{"plan into a missing directory", func(t *testing.T) []string {
			return []string{"plan", "--invocations", "100", "--out", filepath.Join(t.TempDir(), "no", "p.csv")}
		}, cli.ExitFailure, []string{"no/p.csv", "no such file"}},
		{"plan with a negative load", func(t *testing.T) []string {
			return []string{"plan", "--load", "-1", "--out", filepath.Join(t.TempDir(), "p.csv")}
		}, cli.ExitUsage, []string{"load", "-1"}},
		{"plan with no functions", func(t *testing.T) []string {
			return []string{"plan", "--functions", "0", "--out", filepath.Join(t.TempDir(), "p.csv")}
		}, cli.ExitUsage, []string{"functions: must be > 0"}},
		{"plan with min demand above max", func(t *testing.T) []string {
			return []string{"plan", "--min-demand", "2s", "--max-demand", "1s", "--out", filepath.Join(t.TempDir(), "p.csv")}
		}, cli.ExitUsage, []string{"min demand"}},
		{"plan with too few invocations", func(t *testing.T) []string {
			return []string{"plan", "--invocations", "5", "--functions", "8", "--out", filepath.Join(t.TempDir(), "p.csv")}
		}, cli.ExitUsage, []string{"invocations: must be >= 2 per function (16), got 5"}},
		{"plan with no span", func(t *testing.T) []string {
			return []string{"plan", "--span", "0s", "--out", filepath.Join(t.TempDir(), "p.csv")}
		}, cli.ExitUsage, []string{"invocations or span"}},
		{"plan with a bad duration", func(t *testing.T) []string {
			return []string{"plan", "--span", "forty"}
		}, cli.ExitUsage, []string{"--span"}},
		{"calibrate with no rounds", func(*testing.T) []string { return []string{"calibrate", "--rounds", "0"} },
			cli.ExitUsage, []string{"--rounds and --target must be > 0"}},
		{"loadgen without its inputs", func(*testing.T) []string { return []string{"loadgen", "--trace", "x.csv"} },
			cli.ExitUsage, []string{"--trace, --calibration and --payload (with --warm: --worker) are required"}},
		{"warm loadgen without its worker", func(*testing.T) []string {
			return []string{"loadgen", "--warm", "--trace", "x.csv", "--calibration", "c.json", "--payload", "p"}
		}, cli.ExitUsage, []string{"with --warm: --worker"}},
		{"warm loadgen with no threads", func(*testing.T) []string {
			return []string{"loadgen", "--warm", "--trace", "x.csv", "--calibration", "c.json", "--worker", "w", "--worker-threads", "0"}
		}, cli.ExitUsage, []string{"--worker-threads: must be in [1, 4096], got 0"}},
		{"loadgen of a missing trace", func(t *testing.T) []string {
			return []string{"loadgen", "--trace", filepath.Join(t.TempDir(), "t.csv"), "--calibration", "c.json", "--payload", "p"}
		}, cli.ExitFailure, []string{"t.csv"}},
		{"run with an unknown scheduler", func(*testing.T) []string { return []string{"run", "--schedulers", "default,cfs"} },
			cli.ExitUsage, []string{`unknown scheduler "cfs"`}},
		{"run with no rounds", func(*testing.T) []string { return []string{"run", "--rounds", "0"} },
			cli.ExitUsage, []string{"--rounds: must be >= 1, got 0"}},
		{"run with a bad load", func(*testing.T) []string { return []string{"run", "--load", "3"} },
			cli.ExitUsage, []string{"--load: must be in (0, 2], got 3"}},
		{"run with a bad frontend env", func(*testing.T) []string { return []string{"run", "--frontend-env", "GODEBUG"} },
			cli.ExitUsage, []string{`"GODEBUG" is not KEY=VALUE`}},
		{"unknown command", func(*testing.T) []string { return []string{"bench"} }, cli.ExitUsage, []string{`unknown command "bench"`}},
		{"bad config key", func(t *testing.T) []string {
			return []string{"--config", writeFile(t, filepath.Join(t.TempDir(), "c.yaml"), "sim:\n  cfs_latncy_ms: 3\n"), "analyze", "--dir", good}
		}, cli.ExitFailure, []string{`c.yaml:2: unknown key "sim.cfs_latncy_ms"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, errOut := runBench(t, tt.args(t)...)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d (stderr %q)", code, tt.wantCode, errOut)
			}
			if !strings.HasPrefix(errOut, "alps-bench: ") || strings.Count(errOut, "\n") != 1 {
				t.Errorf("stderr %q: want one line starting with the program name", errOut)
			}
			for _, w := range tt.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr %q lacks %q", errOut, w)
				}
			}
			if stdout != "" {
				t.Errorf("stdout %q, want nothing", stdout)
			}
		})
	}
	if left, _ := filepath.Glob(filepath.Join(tmp, "alps-runs-*")); len(left) > 0 {
		t.Errorf("bad flags left runs directories behind: %v", left)
	}
}

func TestSelectSchedulers(t *testing.T) {
	tests := []struct {
		in   []string
		want []string
	}{
		{[]string{"alps", "default"}, []string{"default", "alps"}}, // table order
		{[]string{"vtime", "vtime"}, []string{"vtime"}},
		{nil, nil},
	}
	for _, tt := range tests {
		got, err := selectSchedulers(tt.in)
		if err != nil || fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("selectSchedulers(%v) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestShellEnv(t *testing.T) {
	got, err := shellEnv([]string{"GODEBUG=gctrace=1", "X=it's"})
	if want := `GODEBUG='gctrace=1' X='it'\''s' `; err != nil || got != want {
		t.Errorf("shellEnv = %q, %v; want %q", got, err, want)
	}
	for _, bad := range []string{"=v", "A-B=1", "noequals"} {
		if _, err := shellEnv([]string{bad}); err == nil || cli.ExitCode(err) != cli.ExitUsage {
			t.Errorf("shellEnv(%q) = %v, want a usage error", bad, err)
		}
	}
}

// TestGuestConfig: the daemon's configuration in the guest loads, and its learner simulates
// the CPUs the calibration measured the guest delivers (the prediction's cores).
func TestGuestConfig(t *testing.T) {
	tests := []struct {
		name      string
		cal       string // calibration JSON; empty: none yet (the first boot)
		wantCores int
	}{
		{"no calibration yet", "", 0},
		{"one vCPU", `{"units_per_ms": 300, "spawn_ms": 3, "cpus": 1, "effective_cpus": 1}`, 1},
		// Never more than the machine's CPUs.
		{"more delivered than CPUs", `{"units_per_ms": 300, "spawn_ms": 30, "cpus": 1, "effective_cpus": 1.8}`, 1},
		{"two CPUs, both delivering", `{"units_per_ms": 300, "spawn_ms": 30, "cpus": 2, "effective_cpus": 1.8}`, 2},
		{"parallelism not measured", `{"units_per_ms": 300, "spawn_ms": 30}`, guestCPUs},
		{"warm", `{"units_per_ms": 300, "spawn_ms": 3, "cpus": 1, "effective_cpus": 1}`, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			cal := filepath.Join(dir, "cal.json")
			if tt.cal != "" {
				writeFile(t, cal, tt.cal)
			}
			path := filepath.Join(dir, "frontend.yaml")
			if err := writeGuestConfig(path, cal, tt.name == "warm"); err != nil {
				t.Fatal(err)
			}
			l, err := configs.NewLoader()
			if err != nil {
				t.Fatal(err)
			}
			if err := l.ReadFile(path); err != nil {
				t.Fatal(err)
			}
			cfg, err := l.Load()
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Learner.Cores != tt.wantCores {
				t.Errorf("learner.cores %d, want %d", cfg.Learner.Cores, tt.wantCores)
			}
			if len(cfg.Frontend.CgroupPatterns) != 1 || cfg.Frontend.MetricsAddr != "" {
				t.Errorf("frontend section lost: %+v", cfg.Frontend)
			}
			if want := map[bool]string{true: guestInvocationMap}[tt.name == "warm"]; cfg.Frontend.InvocationMap != want {
				t.Errorf("frontend.invocation_map %q, want %q", cfg.Frontend.InvocationMap, want)
			}
		})
	}
}

// TestSchedule: every round runs every scheduler once, each round starting one scheduler
// later, so each scheduler takes every position within a round once over three rounds.
func TestSchedule(t *testing.T) {
	got := schedule(schedulers, 3)
	want := "default/1 vtime/1 alps/1 vtime/2 alps/2 default/2 alps/3 default/3 vtime/3"
	var s []string
	for _, b := range got {
		s = append(s, fmt.Sprintf("%s/%d", b.sched, b.round))
	}
	if strings.Join(s, " ") != want {
		t.Errorf("schedule = %s\nwant       %s", strings.Join(s, " "), want)
	}
	if d := (boot{sched: "alps", round: 2}).dir("R"); d != filepath.Join("R", "alps", "2") {
		t.Errorf("run directory %s", d)
	}
}

// TestExperimentReport: the report over loads and seeds takes, per load and scheduler, each
// seed's median over rounds and its prediction, and leaves out a point without runs.
func TestExperimentReport(t *testing.T) {
	runs := t.TempDir()
	for _, l := range []float64{0.5, 0.9} {
		for _, s := range []uint{1, 2} {
			d := pointDir(runs, l, s)
			k := l * float64(s)
			src, _ := runsDir(t, map[string]float64{"default": 3 * k, "vtime": 2.5 * k, "alps": 1.4 * k})
			if err := os.CopyFS(d, os.DirFS(src)); err != nil {
				t.Fatal(err)
			}
		}
	}
	out := t.TempDir()
	code, stdout, errOut := runBench(t, "experiment", "--analyze", "--runs", runs, "--out", out, "--loads", "0.5,0.9,0.95", "--seeds", "1,2")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var pts []point
	data, err := os.ReadFile(filepath.Join(out, "experiment.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &pts); err != nil {
		t.Fatal(err)
	}
	if len(pts) != 6 {
		t.Fatalf("%d points, want 2 loads x 3 schedulers (0.95 has no runs):\n%s", len(pts), data)
	}
	for _, p := range pts {
		if len(p.Seeds) != 2 || len(p.MeanFCTMs) != 2 || len(p.PredMean) != 2 || p.PredMean[0] <= 0 {
			t.Errorf("point %+v", p)
		}
	}
	// Seed 2's FCTs are twice seed 1's (same plan, factor x seed).
	if d := pts[0]; d.Scheduler != "default" || math.Abs(d.MeanFCTMs[1]/d.MeanFCTMs[0]-2) > 1e-6 {
		t.Errorf("default at 0.5: %+v", d)
	}
	for _, w := range []string{"load sched", " 0.50 default", " 0.90 alps", "within 1.25x"} {
		if !strings.Contains(stdout, w) {
			t.Errorf("table lacks %q:\n%s", w, stdout)
		}
	}
	for _, f := range []string{"experiment.txt", "experiment_mean_fct.png", "experiment_short_fct.png", "experiment_long_slowdown.png", "experiment_prediction.png"} {
		if st, err := os.Stat(filepath.Join(out, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
}

// TestAnalyzeProbes: each run is predicted on the machine its probes measured: a run whose
// CPU was half as fast as the plan's calibration is predicted slower than one as fast, and
// the speed is reported per run.
func TestAnalyzeProbes(t *testing.T) {
	dir, _ := runsDir(t, map[string]float64{"default": 3, "vtime": 2.5, "alps": 1.4})
	writeFile(t, filepath.Join(dir, "cal.json"), `{"units_per_ms": 100, "spawn_ms": 1, "cpus": 1, "effective_cpus": 1}`)
	for r, upm := range []int{100, 50, 100} {
		for _, f := range []string{probeBeforeFile, probeAfterFile} {
			writeFile(t, filepath.Join(dir, "vtime", strconv.Itoa(r+1), f), fmt.Sprintf(`{"units_per_ms": %d, "spawn_ms": 1, "cpus": 1}`, upm))
		}
	}
	out := t.TempDir()
	if code, _, errOut := runBench(t, "analyze", "--dir", dir, "--out", out); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var sum struct {
		Schedulers []struct {
			Name   string    `json:"name"`
			Pred   []float64 `json:"predicted_mean_fct_ms_runs"`
			Speeds []float64 `json:"speed_runs"`
		} `json:"schedulers"`
	}
	data, err := os.ReadFile(filepath.Join(out, "latest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &sum); err != nil {
		t.Fatal(err)
	}
	v := sum.Schedulers[1]
	if v.Name != "vtime" || len(v.Pred) != 3 || len(v.Speeds) != 3 {
		t.Fatalf("vtime row %+v", v)
	}
	if v.Speeds[0] != 1 || v.Speeds[1] != 2 || !(v.Pred[1] > 1.5*v.Pred[0]) || v.Pred[2] != v.Pred[0] {
		t.Errorf("speeds %v, predictions %v: want run 2 twice as slow and predicted slower", v.Speeds, v.Pred)
	}
}

// TestAnalyzeWarm: warm runs (the runs directory's warm marker) are predicted without the
// payload process's cost, which a worker does not pay, and latest.json says they are warm.
func TestAnalyzeWarm(t *testing.T) {
	type summary struct {
		Warm  bool `json:"warm"`
		Model struct {
			SpawnMs    float64 `json:"spawn_ms"`
			OverheadMs float64 `json:"process_overhead_ms"`
		} `json:"model"`
		Schedulers []struct {
			Pred []float64 `json:"predicted_mean_fct_ms_runs"`
		} `json:"schedulers"`
	}
	analyzed := func(warm bool) summary {
		dir, _ := runsDir(t, map[string]float64{"default": 3, "vtime": 2.5, "alps": 1.4})
		writeFile(t, filepath.Join(dir, "cal.json"), `{"units_per_ms": 100, "spawn_ms": 20, "process_overhead_ms": 5, "cpus": 1, "effective_cpus": 1}`)
		if warm {
			writeFile(t, filepath.Join(dir, warmMarker), "")
		}
		out := t.TempDir()
		if code, _, errOut := runBench(t, "analyze", "--dir", dir, "--out", out); code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		var s summary
		data, err := os.ReadFile(filepath.Join(out, "latest.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, &s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	cold, warm := analyzed(false), analyzed(true)
	if cold.Warm || !warm.Warm {
		t.Errorf("warm flag: cold %v, warm %v", cold.Warm, warm.Warm)
	}
	if cold.Model.SpawnMs != 20 || cold.Model.OverheadMs != 5 || warm.Model.SpawnMs != 0 || warm.Model.OverheadMs != 0 {
		t.Errorf("models: cold %+v, warm %+v; want the process costs only for cold runs", cold.Model, warm.Model)
	}
	if len(cold.Schedulers) != 3 || len(warm.Schedulers) != 3 || !(warm.Schedulers[0].Pred[0] < cold.Schedulers[0].Pred[0]) {
		t.Errorf("predicted default mean FCT: cold %v, warm %v; want warm lower (no process per invocation)", cold.Schedulers, warm.Schedulers)
	}
}

// TestRunMode: a runs directory holds runs of one mode; run --warm marks it warm.
func TestRunMode(t *testing.T) {
	dir := t.TempDir()
	if err := (runOptions{runs: dir, warm: true}).checkMode(); err != nil || !exists(filepath.Join(dir, warmMarker)) {
		t.Fatalf("checkMode of a new warm directory: %v, marker %v", err, exists(filepath.Join(dir, warmMarker)))
	}
	writeFile(t, filepath.Join(dir, planFile), "arrival_ms,function,cpu_ms\n")
	if err := (runOptions{runs: dir}).checkMode(); err == nil || !strings.Contains(err.Error(), "holds warm runs") {
		t.Errorf("cold runs into a warm directory: %v, want refused", err)
	}
	if got := (runOptions{warm: true}).loadgenMode(); got != "--warm --worker /bin/alps-worker $lgmap" {
		t.Errorf("warm loadgen mode %q", got)
	}
}
