package trace

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// FuzzReadCSV: any input is a trace the simulator accepts or one error line; never a panic.
// A trace read back after WriteCSV is the same trace.
func FuzzReadCSV(f *testing.F) {
	f.Add([]byte("arrival_ms,function,cpu_ms,io_ms\n5,b,2.5,0\n1.25,a,1,3\n1.25,b,0.000001,0\n"))
	f.Add([]byte("arrival_ms,function,cpu_ms,io_ms,io_waits\n0,f,1,2,3\n"))
	f.Add([]byte("\ufeffcpu_ms,function,arrival_ms\n1,\"q,uoted\",0\n"))
	f.Add([]byte("arrival_ms,function,cpu_ms\n0\"00000\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		tr, err := ReadCSV(bytes.NewReader(data), "f.csv")
		if err != nil {
			if msg := err.Error(); strings.Contains(msg, "\n") || !strings.HasPrefix(msg, "f.csv:") {
				t.Fatalf("error %q: want one line naming f.csv", msg)
			}
			return
		}
		if err := tr.Validate(); err != nil || len(tr.Inv) == 0 {
			t.Fatalf("accepted an invalid trace: %v", err)
		}
		for _, n := range tr.Functions {
			if n == "" || len(n) > MaxNameBytes {
				t.Fatalf("function name %q accepted", n)
			}
		}
		var buf bytes.Buffer
		if err := WriteCSV(&buf, tr); err != nil {
			t.Fatal(err)
		}
		tr2, err := ReadCSV(&buf, "round.csv")
		if err != nil {
			t.Fatalf("written trace does not read back: %v\n%s", err, buf.String())
		}
		if len(tr2.Inv) != len(tr.Inv) {
			t.Fatalf("round trip: %d invocations, want %d", len(tr2.Inv), len(tr.Inv))
		}
		for i := range tr.Inv {
			a, b := tr.Inv[i], tr2.Inv[i]
			if tr.Functions[a.Func] != tr2.Functions[b.Func] {
				t.Fatalf("round trip %d: function %q, want %q", i, tr2.Functions[b.Func], tr.Functions[a.Func])
			}
			a.Func, b.Func = 0, 0
			if a != b {
				t.Fatalf("round trip %d: %+v, want %+v", i, b, a)
			}
		}
	})
}

// FuzzReadAzure: any pair of Azure files is a trace or one error line; never a panic.
func FuzzReadAzure(f *testing.F) {
	inv, err := os.ReadFile("testdata/azure/invocations_per_function_md.anon.d01.csv")
	if err != nil {
		f.Fatal(err)
	}
	dur, err := os.ReadFile("testdata/azure/function_durations_percentiles.anon.d01.csv")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(inv, dur)
	f.Add(inv[:len(inv)/2], dur)
	f.Add(inv, []byte("HashFunction,percentile_Average_0\nx,1\n"))
	// In memory, not through files: creating and removing a directory per input costs the
	// fuzzer most of its time on a disk mounted with discard.
	f.Fuzz(func(t *testing.T, inv, dur []byte) {
		// Downscaled and limited, so that a mutated count stays a small trace.
		o := AzureOptions{Day: 1, From: 1, To: 3, Downscale: 1e4, Seed: 1}
		tr, err := readAzure(bytes.NewReader(inv), "d/inv.csv", bytes.NewReader(dur), "d/dur.csv", o, 100_000)
		if err != nil {
			if msg := err.Error(); strings.Contains(msg, "\n") || !strings.Contains(msg, "d/inv.csv") && !strings.Contains(msg, "d/dur.csv") {
				t.Fatalf("error %q: want one line naming the file", msg)
			}
			return
		}
		if len(tr.Inv) == 0 {
			return
		}
		if err := tr.Validate(); err != nil {
			t.Fatalf("accepted an invalid trace: %v", err)
		}
	})
}
