package trace

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alps-sched/alps/sim"
)

func TestReadCSV(t *testing.T) {
	in := "arrival_ms,function,cpu_ms,io_ms\n5,b,2.5,0\n1.25,a,1,3\n1.25,b,0.000001,0\n"
	tr, err := ReadCSV(strings.NewReader(in), "t.csv")
	if err != nil {
		t.Fatal(err)
	}
	want := []sim.Invocation{
		{Arrival: 1_250_000, CPU: 1_000_000, IO: 3_000_000, Func: 1, Waits: 1},
		{Arrival: 1_250_000, CPU: 1, Func: 0},
		{Arrival: 5_000_000, CPU: 2_500_000, Func: 0},
	}
	if len(tr.Inv) != len(want) {
		t.Fatalf("got %d invocations", len(tr.Inv))
	}
	for i := range want {
		if tr.Inv[i] != want[i] {
			t.Errorf("invocation %d = %+v, want %+v", i, tr.Inv[i], want[i])
		}
	}
	if strings.Join(tr.Functions, ",") != "b,a" {
		t.Errorf("functions %v", tr.Functions)
	}
	// Round trip through WriteCSV.
	var buf bytes.Buffer
	if err := WriteCSV(&buf, tr); err != nil {
		t.Fatal(err)
	}
	tr2, err := ReadCSV(&buf, "round.csv")
	if err != nil {
		t.Fatal(err)
	}
	for i := range tr.Inv {
		a, b := tr.Inv[i], tr2.Inv[i]
		fa, fb := tr.Functions[a.Func], tr2.Functions[b.Func]
		a.Func, b.Func = 0, 0
		if a != b || fa != fb {
			t.Errorf("round trip %d: %+v (%s) != %+v (%s)", i, b, fb, a, fa)
		}
	}
}

// TestReadCSVBadInput: every malformed trace is one error line naming file:line:column.
func TestReadCSVBadInput(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty file", "", "bad.csv:1:1: empty file"},
		{"header only", "arrival_ms,function,cpu_ms\n", "bad.csv:2:1: no invocations"},
		{"missing header", "0,f,1\n1,f,2\n", "bad.csv:1:1: missing header"},
		{"missing column", "arrival_ms,function\n0,f\n", "bad.csv:1:1: missing column cpu_ms"},
		{"unknown column", "arrival_ms,function,cpu_ms,colour\n0,f,1,red\n", `bad.csv:1:4: unknown column "colour"`},
		{"negative", "arrival_ms,function,cpu_ms\n0,f,1\n-1,f,2\n", "bad.csv:3:1: arrival_ms: -1 must be >= 0"},
		{"zero cpu", "arrival_ms,function,cpu_ms\n0,f,0\n", "bad.csv:2:3: cpu_ms: 0 must be > 0"},
		{"NaN", "arrival_ms,function,cpu_ms\n0,f,NaN\n", "bad.csv:2:3: cpu_ms: NaN is not a finite number"},
		{"Inf", "arrival_ms,function,cpu_ms\n0,f,+Inf\n", "bad.csv:2:3: cpu_ms: +Inf is not a finite number"},
		{"absurd", "arrival_ms,function,cpu_ms\n0,f,1e300\n", "bad.csv:2:3: cpu_ms: 1e300 is absurdly large"},
		{"absurd io", "arrival_ms,function,cpu_ms,io_ms\n0,f,1,1e12\n", "bad.csv:2:4: io_ms: 1e12 is absurdly large"},
		{"short row", "arrival_ms,function,cpu_ms\n0,f,1\n1,f\n", "bad.csv:3:3: 2 fields, the header has 3"},
		{"long row", "arrival_ms,function,cpu_ms\n0,f,1,9\n", "bad.csv:2:4: 4 fields, the header has 3"},
		{"text for number", "arrival_ms,function,cpu_ms\n0,f,1\n1,f,fast\n", `bad.csv:3:3: cpu_ms: "fast" is not a number`},
		{"empty number", "arrival_ms,function,cpu_ms\n,f,1\n", `bad.csv:2:1: arrival_ms: "" is not a number`},
		{"empty function", "arrival_ms,function,cpu_ms\n0, ,1\n", "bad.csv:2:2: function: empty function name"},
		{"fractional waits", "arrival_ms,function,cpu_ms,io_ms,io_waits\n0,f,1,2,1.5\n", "bad.csv:2:5: io_waits: 1.5 is not an integer"},
		{"binary garbage", "\x7fELF\x02\x01\x01\x00\x00\x00garbage", "bad.csv:1:1: binary data"},
		{"invalid utf8", "arrival_ms,function,cpu_ms\n0,\xff\xfe\xfd\xfc\xfb,1\n", "bad.csv:1:1: binary data"},
		{"bare quote", "arrival_ms,function,cpu_ms\n0,\"f,1\n", "bad.csv:2:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadCSV(strings.NewReader(tt.in), "bad.csv")
			if err == nil {
				t.Fatalf("no error")
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") || !strings.HasPrefix(msg, tt.want) {
				t.Errorf("error %q, want one line starting %q", msg, tt.want)
			}
		})
	}
}

func TestReadCSVFileMissing(t *testing.T) {
	_, err := ReadCSVFile(filepath.Join(t.TempDir(), "none.csv"))
	if err == nil || !strings.Contains(err.Error(), "none.csv: no such file") {
		t.Fatalf("error %v", err)
	}
}

func TestReadAzure(t *testing.T) {
	o := AzureOptions{Day: 1, From: 1, To: 10, Downscale: 1, Seed: 3}
	tr, err := ReadAzure("testdata/azure", o)
	if err != nil {
		t.Fatal(err)
	}
	// fA: 12/min, fB: 3/min, fC: 1/min over 10 minutes; fNoDur has no durations: dropped.
	if len(tr.Inv) != 160 || len(tr.Functions) != 3 {
		t.Fatalf("%d invocations of %d functions, want 160 of 3", len(tr.Inv), len(tr.Functions))
	}
	counts := map[string]int{}
	for _, in := range tr.Inv {
		f := tr.Functions[in.Func]
		counts[f]++
		lo, hi := map[string][2]int64{"fA": {10e6, 900e6}, "fB": {1000e6, 6000e6}, "fC": {1e6, 9e6}}[f][0], map[string][2]int64{"fA": {10e6, 900e6}, "fB": {1000e6, 6000e6}, "fC": {1e6, 9e6}}[f][1]
		if in.CPU < lo || in.CPU > hi {
			t.Errorf("%s demand %d outside its percentile range [%d, %d]", f, in.CPU, lo, hi)
		}
		if in.Arrival < 0 || in.Arrival >= 10*60e9 {
			t.Errorf("arrival %d outside the 10 minutes", in.Arrival)
		}
	}
	if counts["fA"] != 120 || counts["fB"] != 30 || counts["fC"] != 10 {
		t.Errorf("counts %v", counts)
	}
	// Same seed, same trace; downscale keeps about 1/F.
	tr2, _ := ReadAzure("testdata/azure", o)
	if tr2.Inv[17] != tr.Inv[17] {
		t.Error("not deterministic")
	}
	o.Downscale = 4
	tr4, err := ReadAzure("testdata/azure", o)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(tr4.Inv); n < 160/4-15 || n > 160/4+15 {
		t.Errorf("downscale 4 kept %d of 160", n)
	}
}

func TestReadAzureBadInput(t *testing.T) {
	dir := t.TempDir()
	copyFile := func(name string) {
		b, err := os.ReadFile(filepath.Join("testdata/azure", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	copyFile("invocations_per_function_md.anon.d01.csv")
	ok := AzureOptions{Day: 1, From: 1, To: 10, Downscale: 1}
	tests := []struct {
		name string
		dir  string
		o    AzureOptions
		want string
	}{
		{"missing durations", dir, ok, "missing function_durations_percentiles.anon.d01.csv"},
		{"missing day", "testdata/azure", AzureOptions{Day: 2, From: 1, To: 10, Downscale: 1}, "missing invocations_per_function_md.anon.d02.csv"},
		{"bad day", "testdata/azure", AzureOptions{Day: 0, From: 1, To: 2, Downscale: 1}, "--day: must be in 1..14"},
		{"bad minutes", "testdata/azure", AzureOptions{Day: 1, From: 5, To: 2, Downscale: 1}, "--minutes: want A-B"},
		{"bad downscale", "testdata/azure", AzureOptions{Day: 1, From: 1, To: 2, Downscale: 0.5}, "--downscale: must be >= 1"},
		{"no invocations", "testdata/azure", AzureOptions{Day: 1, From: 100, To: 200, Downscale: 1}, "no invocations"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadAzure(tt.dir, tt.o)
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %v, want one line containing %q", err, tt.want)
			}
		})
	}
	// A duration row with text where a number belongs names file:line:column.
	bad := "HashOwner,HashApp,HashFunction,Average,Count,Minimum,Maximum,percentile_Average_0,percentile_Average_1,percentile_Average_25,percentile_Average_50,percentile_Average_75,percentile_Average_99,percentile_Average_100\no1,a1,fA,1,1,1,1,1,1,x,1,1,1,1\n"
	if err := os.WriteFile(filepath.Join(dir, "function_durations_percentiles.anon.d01.csv"), []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := ReadAzure(dir, ok)
	if err == nil || !strings.Contains(err.Error(), "function_durations_percentiles.anon.d01.csv:2:10: percentile_Average_25") {
		t.Errorf("error %v", err)
	}
}

func TestParseMinutes(t *testing.T) {
	if a, b, err := ParseMinutes("3-70"); err != nil || a != 3 || b != 70 {
		t.Errorf("3-70: %d %d %v", a, b, err)
	}
	if _, _, err := ParseMinutes("x-2"); err == nil {
		t.Error("x-2 accepted")
	}
}
