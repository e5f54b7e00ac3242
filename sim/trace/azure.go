package trace

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/alps-sched/alps/internal/csvin"
	"github.com/alps-sched/alps/sim"
)

// AzureOptions select a part of the Azure Functions 2019 trace.
type AzureOptions struct {
	Day       int     // 1..14: the dNN in the file names
	From, To  int     // minutes of the day, 1-based and inclusive (1..1440)
	Downscale float64 // keep 1/Downscale of the invocations (>= 1)
	Seed      uint64
}

// Validate names the first bad option as its flag.
func (o AzureOptions) Validate() error {
	switch {
	case o.Day < 1 || o.Day > 14:
		return fmt.Errorf("--day: must be in 1..14, got %d", o.Day)
	case o.From < 1 || o.To > 1440 || o.From > o.To:
		return fmt.Errorf("--minutes: want A-B with 1 <= A <= B <= 1440, got %d-%d", o.From, o.To)
	case !(o.Downscale >= 1) || math.IsInf(o.Downscale, 0):
		return fmt.Errorf("--downscale: must be >= 1, got %g", o.Downscale)
	}
	return nil
}

// ParseMinutes parses "A-B" (or a single minute "A").
func ParseMinutes(s string) (from, to int, err error) {
	a, b, found := strings.Cut(s, "-")
	if !found {
		b = a
	}
	from, err1 := strconv.Atoi(strings.TrimSpace(a))
	to, err2 := strconv.Atoi(strings.TrimSpace(b))
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("--minutes: want A-B (minutes of the day, 1..1440), got %q", s)
	}
	return from, to, nil
}

// Azure file names for day d.
func azureFiles(dir string, day int) (inv, dur string) {
	return filepath.Join(dir, fmt.Sprintf("invocations_per_function_md.anon.d%02d.csv", day)),
		filepath.Join(dir, fmt.Sprintf("function_durations_percentiles.anon.d%02d.csv", day))
}

// durationPercentiles are the columns percentile_Average_{0,1,25,50,75,99,100}.
var durationPercentiles = [...]float64{0, 0.01, 0.25, 0.50, 0.75, 0.99, 1}

// ReadAzure reads minutes From..To of one day of the Azure Functions 2019 trace in dir.
//
// For every function with both an invocation row and a duration row, each minute's count is
// divided by Downscale and rounded stochastically (a count of 3 at downscale 2 gives 1 or 2
// invocations with equal chance), and the arrivals are spread uniformly at random within the
// minute. Each invocation's CPU demand is sampled from its function's duration percentiles
// (percentile_Average_0, _1, _25, _50, _75, _99, _100, in ms) by inverse transform: draw
// u ~ U[0,1), find the two neighbouring percentiles p_i <= u < p_{i+1} and interpolate the
// durations linearly between them; the demand is at least 1 µs. The trace's durations are
// wall-clock times; they are used as CPU demand (no I/O). Invocations of functions without
// a duration row are dropped. The whole read is deterministic for a given Seed.
func ReadAzure(dir string, o AzureOptions) (*sim.Trace, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	invPath, durPath := azureFiles(dir, o.Day)
	for _, p := range []string{invPath, durPath} {
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("azure %s: missing %s", dir, filepath.Base(p))
		}
	}
	df, err := os.Open(durPath)
	if err != nil {
		return nil, fmt.Errorf("azure %s: %w", durPath, err)
	}
	defer df.Close()
	f, err := os.Open(invPath)
	if err != nil {
		return nil, fmt.Errorf("azure %s: %w", invPath, err)
	}
	defer f.Close()
	tr, err := readAzure(f, invPath, df, durPath, o, MaxInvocations)
	if err != nil {
		return nil, err
	}
	if len(tr.Inv) == 0 {
		return nil, fmt.Errorf("azure %s: no invocations in day %d minutes %d-%d", dir, o.Day, o.From, o.To)
	}
	return tr, nil
}

// readAzure decodes the invocation counts (inv, named invPath in errors) and the duration
// percentiles (dur, durPath) into a sorted trace of at most limit invocations.
func readAzure(inv io.Reader, invPath string, dur io.Reader, durPath string, o AzureOptions, limit int) (*sim.Trace, error) {
	durs, err := readDurations(dur, durPath)
	if err != nil {
		return nil, err
	}
	r := rand.New(rand.NewPCG(o.Seed, 0x617a757265))
	cr := csv.NewReader(csvin.Limit(inv, MaxLineBytes))
	cr.ReuseRecord = true
	head, err := cr.Read()
	if err != nil {
		return nil, azureError(invPath, err, "empty file")
	}
	if len(head) < 4+1440 || head[2] != "HashFunction" || head[4] != "1" {
		return nil, fmt.Errorf("%s:1:1: want header HashOwner,HashApp,HashFunction,Trigger,1,...,1440", invPath)
	}
	tr := &sim.Trace{}
	for {
		row, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, azureError(invPath, err, "")
		}
		line, _ := cr.FieldPos(0)
		pct, ok := durs[key(row)]
		if !ok {
			continue
		}
		if len(row[2]) > MaxNameBytes {
			return nil, fmt.Errorf("%s:%d:3: HashFunction of %d bytes, longer than the limit %d", invPath, line, len(row[2]), MaxNameBytes)
		}
		if len(tr.Functions) == MaxFunctions {
			return nil, fmt.Errorf("%s:%d:3: more than %d functions (the limit)", invPath, line, MaxFunctions)
		}
		fid := uint32(len(tr.Functions))
		used := false
		for m := o.From; m <= o.To; m++ {
			col := 3 + m
			c, problem := csvin.Number(row[col])
			if problem != "" || c < 0 || c != math.Trunc(c) {
				return nil, fmt.Errorf("%s:%d:%d: minute %d: %q is not a count", invPath, line, col+1, m, row[col])
			}
			k := c / o.Downscale
			if k > float64(limit-len(tr.Inv)) {
				return nil, fmt.Errorf("%s:%d:%d: minute %d: %s invocations (downscaled) would take the trace beyond %d invocations (the limit)", invPath, line, col+1, m, row[col], limit)
			}
			n := int(k)
			if r.Float64() < k-float64(n) {
				n++
			}
			base := int64(m-o.From) * 60e9
			for ; n > 0; n-- {
				tr.Inv = append(tr.Inv, sim.Invocation{
					Arrival: base + r.Int64N(60e9),
					CPU:     sampleDuration(r, pct),
					Func:    fid,
				})
				used = true
			}
		}
		if used {
			tr.Functions = append(tr.Functions, row[2])
		}
	}
	tr.Sort()
	return tr, nil
}

func key(row []string) string { return row[0] + "," + row[1] + "," + row[2] }

// sampleDuration draws a demand (ns) from the percentile points (ms).
func sampleDuration(r *rand.Rand, pct [7]float64) int64 {
	u := r.Float64()
	i := 0
	for i < len(durationPercentiles)-2 && u >= durationPercentiles[i+1] {
		i++
	}
	lo, hi := durationPercentiles[i], durationPercentiles[i+1]
	v := pct[i] + (pct[i+1]-pct[i])*(u-lo)/(hi-lo)
	return max(int64(v*1e6), 1000)
}

// readDurations maps HashOwner,HashApp,HashFunction to the 7 duration percentiles (ms), read
// from f (named path in errors).
func readDurations(f io.Reader, path string) (map[string][7]float64, error) {
	cr := csv.NewReader(csvin.Limit(f, MaxLineBytes))
	head, err := cr.Read()
	if err != nil {
		return nil, azureError(path, err, "empty file")
	}
	col := make(map[string]int, len(head))
	for i, h := range head {
		col[h] = i
	}
	var idx [7]int
	names := [7]string{"percentile_Average_0", "percentile_Average_1", "percentile_Average_25",
		"percentile_Average_50", "percentile_Average_75", "percentile_Average_99", "percentile_Average_100"}
	for k, n := range names {
		i, ok := col[n]
		if !ok {
			return nil, fmt.Errorf("%s:1:1: missing column %s", path, n)
		}
		idx[k] = i
	}
	if _, ok := col["HashFunction"]; !ok {
		return nil, fmt.Errorf("%s:1:1: missing column HashFunction", path)
	}
	out := make(map[string][7]float64)
	for {
		row, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, azureError(path, err, "")
		}
		line, _ := cr.FieldPos(0)
		var p [7]float64
		for k, i := range idx {
			v, problem := csvin.Number(row[i])
			if problem != "" || v < 0 || v > MaxDemandMs {
				return nil, fmt.Errorf("%s:%d:%d: %s: %q is not a duration in ms", path, line, i+1, names[k], row[i])
			}
			if k > 0 && v < p[k-1] {
				return nil, fmt.Errorf("%s:%d:%d: %s: %s is below the previous percentile", path, line, i+1, names[k], row[i])
			}
			p[k] = v
		}
		out[key(row)] = p
	}
	return out, nil
}

func azureError(path string, err error, eofMsg string) error {
	if err == io.EOF {
		return fmt.Errorf("%s:1:1: %s", path, eofMsg)
	}
	return csvin.Error(path, err)
}
