package workload

import (
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"
)

func TestSpecValidate(t *testing.T) {
	tests := []struct {
		name string
		s    Spec
		ok   bool
	}{
		{"zero", Spec{}, true},
		{"io", Spec{Units: 10, Blocks: 2, Sleep: time.Millisecond}, true},
		{"negative units", Spec{Units: -1}, false},
		{"negative blocks", Spec{Blocks: -1}, false},
		{"negative sleep", Spec{Sleep: -time.Second}, false},
	}
	for _, tt := range tests {
		if err := tt.s.Validate(); (err == nil) != tt.ok {
			t.Errorf("%s: Validate() = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

func TestRunSleepsBetweenBursts(t *testing.T) {
	start := time.Now()
	Run(Spec{Units: 3, Blocks: 3, Sleep: 20 * time.Millisecond})
	if el := time.Since(start); el < 60*time.Millisecond {
		t.Errorf("3 blocks of 20ms took %v, want >= 60ms", el)
	}
}

func TestCalibrationUnits(t *testing.T) {
	c := Calibration{UnitsPerMs: 100, SpawnMs: 2}
	tests := []struct {
		ms   float64
		want int64
	}{{0, 0}, {1, 0}, {2, 0}, {3, 100}, {12.5, 1050}}
	for _, tt := range tests {
		if got := c.Units(tt.ms); got != tt.want {
			t.Errorf("Units(%g) = %d, want %d", tt.ms, got, tt.want)
		}
	}
}

// TestCalibrateMatchesBurn checks that a burn sized by the calibration takes about the CPU
// time asked for (thread CPU clock, so a busy machine does not fail it).
// TestCalibrateMatchesBurn checks that a calibrated burn takes the CPU asked for. A
// co-running process (an SMT sibling, a frequency change) can slow one burn against its
// calibration, so the check is made up to three times, calibrating afresh each time: a wrong
// unit (a factor off) fails all three.
func TestCalibrateMatchesBurn(t *testing.T) {
	const wantMs = 50.0
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var got []string
	for range 3 {
		c, err := Calibrate(20*time.Millisecond, 3, "")
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Validate(); err != nil {
			t.Fatal(err)
		}
		t0 := threadCPU()
		Burn(c.Units(wantMs))
		ms := float64(threadCPU()-t0) / float64(time.Millisecond)
		if ms >= wantMs*0.7 && ms <= wantMs*1.4 {
			return
		}
		got = append(got, fmt.Sprintf("%.1fms", ms))
	}
	t.Errorf("burn of %gms calibrated units took %v of CPU in three tries, want within [0.7, 1.4]x", wantMs, got)
}

func TestCalibrationFileRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cal.json")
	want := Calibration{UnitsPerMs: 123.5, SpawnMs: 1.5}
	if err := WriteCalibration(path, want); err != nil {
		t.Fatal(err)
	}
	got, err := ReadCalibration(path)
	if err != nil || got != want {
		t.Fatalf("ReadCalibration = %+v, %v; want %+v", got, err, want)
	}
	if err := os.WriteFile(path, []byte(`{"units_per_ms":0}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadCalibration(path); err == nil {
		t.Error("zero units_per_ms accepted")
	}
}

func TestMeasureSpawn(t *testing.T) {
	bin, err := BuildPayload(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	d, err := MeasureSpawn(bin, 3)
	if err != nil {
		t.Fatal(err)
	}
	if d <= 0 || d > time.Second {
		t.Errorf("spawn cost %v out of (0, 1s]", d)
	}
	if _, err := MeasureSpawn(filepath.Join(t.TempDir(), "missing"), 1); err == nil {
		t.Error("missing payload accepted")
	}
}

// TestMeasureParallelism: one thread against itself is one CPU; n threads never count as more
// than n; bad arguments are refused.
func TestMeasureParallelism(t *testing.T) {
	c, err := Calibrate(5*time.Millisecond, 3, "")
	if err != nil {
		t.Fatal(err)
	}
	units := c.Units(20)
	one, err := MeasureParallelism(units, 1, 3)
	if err != nil {
		t.Fatal(err)
	}
	// About 1; a loaded shared host can slow one of the two timed burns by a factor of
	// several, so only a clearly wrong figure fails.
	if one < 0.2 || one > 1 {
		t.Errorf("one thread against itself: %.2f CPUs, want about 1", one)
	}
	two, err := MeasureParallelism(units, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	if two <= 0 || two > 2 {
		t.Errorf("two threads: %.2f CPUs, want in (0, 2]", two)
	}
	if c.CPUs != runtime.NumCPU() || c.EffectiveCPUs <= 0 || c.EffectiveCPUs > float64(c.CPUs) {
		t.Errorf("calibration CPUs %d effective %.2f", c.CPUs, c.EffectiveCPUs)
	}
	if _, err := MeasureParallelism(0, 2, 1); err == nil {
		t.Error("0 units accepted")
	}
}

// TestPayloadCalibration builds the payload as the experiment does and checks that a
// payload process sized by a payload calibration uses about the CPU asked for, and that the
// runtime-free build does what the Go program does (its exit codes on bad arguments, its
// sleeps).
func TestPayloadCalibration(t *testing.T) {
	bin, err := BuildPayload(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	c, err := Calibrate(10*time.Millisecond, 3, bin)
	if err != nil {
		t.Fatal(err)
	}
	if c.SpawnMs <= 0 || c.UnitsPerMs <= 0 || c.SwitchUs < 0 || c.ShareOverhead < 0 {
		t.Fatalf("calibration %+v", c)
	}
	const wantMs = 60.0
	cmd := exec.Command(bin, strconv.FormatInt(c.Units(wantMs), 10))
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	got := float64(cmd.ProcessState.UserTime()+cmd.ProcessState.SystemTime()) / 1e6
	if got < wantMs*0.6 || got > wantMs*1.6 {
		t.Errorf("a payload of %g ms used %.1f ms of CPU (calibration %+v)", wantMs, got, c)
	}
	for _, args := range [][]string{{}, {"x"}, {"1", "2"}, {"1", "2", "y"}} {
		err := exec.Command(bin, args...).Run()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 {
			t.Errorf("payload %q: %v, want exit status 2", args, err)
		}
	}
	t0 := time.Now()
	if err := exec.Command(bin, "10", "2", "30000").Run(); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(t0); el < 60*time.Millisecond {
		t.Errorf("2 sleeps of 30 ms took %v", el)
	}
}

// TestAverage: CPU time per unit is averaged (not units per ms), the rest arithmetically.
func TestAverage(t *testing.T) {
	a := Average([]Calibration{{UnitsPerMs: 100, SpawnMs: 2, SliceMs: 0.7, ShareOverhead: 0.1, CPUs: 1},
		{UnitsPerMs: 300, SpawnMs: 4, SliceMs: 0.7, ShareOverhead: 0.3, CPUs: 1}})
	if want := 1 / ((1.0/100 + 1.0/300) / 2); math.Abs(a.UnitsPerMs-want) > 1e-9 || a.SpawnMs != 3 || a.SliceMs != 0.7 ||
		math.Abs(a.ShareOverhead-0.2) > 1e-12 || a.CPUs != 1 {
		t.Errorf("Average = %+v", a)
	}
}
