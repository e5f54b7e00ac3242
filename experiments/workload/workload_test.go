package workload

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
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
func TestCalibrateMatchesBurn(t *testing.T) {
	c, err := Calibrate(20*time.Millisecond, 3, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	const wantMs = 50.0
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	t0 := threadCPU()
	Burn(c.Units(wantMs))
	got := float64(threadCPU()-t0) / float64(time.Millisecond)
	if got < wantMs*0.7 || got > wantMs*1.4 {
		t.Errorf("burn of %gms calibrated units took %.1fms of CPU", wantMs, got)
	}
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
	bin := filepath.Join(t.TempDir(), "alps-payload")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/alps-sched/alps/cmd/alps-payload").CombinedOutput()
	if err != nil {
		t.Fatalf("build payload: %v\n%s", err, out)
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
	if one < 0.5 || one > 1 {
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
