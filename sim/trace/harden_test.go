package trace

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestReadCSVHostile (issue 11, defects 1, 6 and 14): hostile traces are one error line
// naming file:line:column, never a panic, and never an unbounded allocation.
func TestReadCSVHostile(t *testing.T) {
	const head = "arrival_ms,function,cpu_ms\n"
	tests := []struct {
		name, in, want string
	}{
		{"quote in a number (defect 1)", head + "0\"00000\n", "bad.csv:2:2: "},
		{"hexadecimal", head + "0x10,f,1\n", `bad.csv:2:1: arrival_ms: "0x10" is not a number`},
		{"hexadecimal float", head + "0,f,0x1p3\n", `bad.csv:2:3: cpu_ms: "0x1p3" is not a decimal number`},
		{"digit separators", head + "1_000,f,1\n", `bad.csv:2:1: arrival_ms: "1_000" is not a decimal number`},
		{"infinity spelled out", head + "0,f,infinity\n", "bad.csv:2:3: cpu_ms: infinity is not a finite number"},
		{"out of float range", head + "0,f,1e400\n", `bad.csv:2:3: cpu_ms: "1e400" is out of range`},
		{"exponent without digits", head + "0,f,1e\n", `bad.csv:2:3: cpu_ms: "1e" is not a number`},
		{"long function name", head + "0," + strings.Repeat("n", MaxNameBytes+1) + ",1\n", "bad.csv:2:2: function: name of 257 bytes"},
		{"long line", head + "0,f,1\n1," + strings.Repeat("n", MaxLineBytes) + ",1\n", "bad.csv:3:1: line longer than 65536 bytes"},
		{"long quoted record over lines", head + "0,\"" + strings.Repeat("n\n", MaxLineBytes/2+1) + "\",1\n", "bad.csv:2:1: line longer than 65536 bytes"},
		{"waits over the limit", "arrival_ms,function,cpu_ms,io_ms,io_waits\n0,f,1,1,1048577\n", "bad.csv:2:5: io_waits: 1048577 is absurdly large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadCSV(strings.NewReader(tt.in), "bad.csv")
			if err == nil {
				t.Fatal("no error")
			}
			if msg := err.Error(); strings.Contains(msg, "\n") || !strings.HasPrefix(msg, tt.want) {
				t.Errorf("error %q, want one line starting %q", msg, tt.want)
			}
		})
	}
	// Legitimate numbers in every decimal spelling still load.
	tr, err := ReadCSV(strings.NewReader(head+"+1.5e3,f,.5\n2.,g,1E-2\n"), "ok.csv")
	if err != nil {
		t.Fatal(err)
	}
	if tr.Inv[0].CPU != 10_000 || tr.Inv[1].Arrival != 1_500_000_000 {
		t.Errorf("decimals read as %+v", tr.Inv)
	}
}

// TestReadCSVFileSizesOnce (issue 11, defect 15): a file is read into a slice sized once,
// with no spare capacity.
func TestReadCSVFileSizesOnce(t *testing.T) {
	var b strings.Builder
	b.WriteString("arrival_ms,function,cpu_ms\n")
	for i := range 5000 {
		b.WriteString("1,f,")
		b.WriteString(strings.Repeat("1", 1+i%3))
		b.WriteString("\n")
	}
	p := filepath.Join(t.TempDir(), "t.csv")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	tr, err := ReadCSVFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Inv) != 5000 || cap(tr.Inv) != 5000 {
		t.Errorf("len %d cap %d, want 5000 and 5000", len(tr.Inv), cap(tr.Inv))
	}
}

// TestReadAzureHostile (issue 11, defects 5 and 6): an absurd count or line is one error line
// naming the file, line and column, before anything of its size is allocated.
func TestReadAzureHostile(t *testing.T) {
	durations, err := os.ReadFile("testdata/azure/function_durations_percentiles.anon.d01.csv")
	if err != nil {
		t.Fatal(err)
	}
	invHead := "HashOwner,HashApp,HashFunction,Trigger"
	for m := 1; m <= 1440; m++ {
		invHead += "," + strconv.Itoa(m)
	}
	row := func(first string) string {
		return "o1,a1,fA,http," + first + strings.Repeat(",0", 1439) + "\n"
	}
	tests := []struct {
		name, inv, want string
	}{
		{"count of 1e9", row("1000000000"), "invocations_per_function_md.anon.d01.csv:2:5: minute 1: 1000000000 invocations (downscaled) would take the trace beyond 50000000 invocations"},
		{"count of 1e300", row("1e300"), "beyond 50000000 invocations"},
		{"fractional count", row("2.5"), `invocations_per_function_md.anon.d01.csv:2:5: minute 1: "2.5" is not a count`},
		{"hexadecimal count", row("0x10"), `minute 1: "0x10" is not a count`},
		{"NaN count", row("NaN"), `minute 1: "NaN" is not a count`},
		{"long line", row(strings.Repeat("1", MaxLineBytes)), "invocations_per_function_md.anon.d01.csv:2:1: line longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, "function_durations_percentiles.anon.d01.csv"), durations, 0o644)
			os.WriteFile(filepath.Join(dir, "invocations_per_function_md.anon.d01.csv"), []byte(invHead+"\n"+tt.inv), 0o644)
			_, err := ReadAzure(dir, AzureOptions{Day: 1, From: 1, To: 10, Downscale: 1})
			if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one line containing %q", err, tt.want)
			}
		})
	}
}

// TestGenerateBounds (issue 11, defect 5): sizes beyond the documented limits are rejected
// before anything is allocated.
func TestGenerateBounds(t *testing.T) {
	ok := GenOptions{Functions: 10, Minutes: 1, Cores: 2, Load: 0.5}
	tests := []struct {
		name string
		edit func(*GenOptions)
		want string
	}{
		{"functions", func(o *GenOptions) { o.Functions = 2_000_000_000 }, "--functions: must be in [1, 1000000]"},
		{"cores", func(o *GenOptions) { o.Cores = 100_000_000_000 }, "--cores: must be in [1, 8192]"},
		{"invocations", func(o *GenOptions) { o.Invocations = MaxInvocations + 1 }, "invocations: must be at most"},
	}
	for _, tt := range tests {
		o := ok
		tt.edit(&o)
		if _, err := Generate(o); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.want)
		}
	}
}
