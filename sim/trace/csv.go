// Package trace reads and writes the workloads the simulator runs: alps's CSV format, the
// Azure Functions 2019 public trace, and a synthetic Azure-like generator.
//
// Errors name the file, the line and the column (1-based field number) of the first bad
// value, so that a command can print them as one line.
package trace

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/alps-sched/alps/internal/csvin"
	"github.com/alps-sched/alps/sim"
)

// CSV columns. io_ms and io_waits are optional; io_waits defaults to 1 when io_ms > 0.
const (
	ColArrival = "arrival_ms"
	ColFunc    = "function"
	ColCPU     = "cpu_ms"
	ColIO      = "io_ms"
	ColWaits   = "io_waits"
)

const header = "arrival_ms,function,cpu_ms[,io_ms[,io_waits]]"

// ReadCSVFile reads a CSV trace from path.
func ReadCSVFile(path string) (*sim.Trace, error) {
	f, err := os.Open(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("trace %s: %w", path, err)
	}
	defer f.Close()
	// One pass to count the rows sizes the trace exactly: appending would hold up to twice
	// its size while the slice grows.
	return readCSV(f, path, countLines(f, MaxInvocations+1))
}

// ReadCSV reads a CSV trace; name is used in error messages. Rows need not be sorted: the
// returned trace is sorted by arrival (rows with equal arrivals keep their order). Numbers
// are plain decimals (no hexadecimal, digit separators, inf or nan); the limits are those
// of this package (MaxArrivalMs, ..., MaxLineBytes).
func ReadCSV(r io.Reader, name string) (*sim.Trace, error) { return readCSV(r, name, 0) }

// readCSV is ReadCSV with the expected number of rows (0: unknown).
func readCSV(r io.Reader, name string, rows int) (*sim.Trace, error) {
	br := bufio.NewReaderSize(csvin.Limit(r, MaxLineBytes), 1<<16)
	if head, _ := br.Peek(512); isBinary(head) {
		return nil, fmt.Errorf("%s:1:1: binary data, not a CSV trace with header %s", name, header)
	}
	cr := csv.NewReader(br)
	cr.ReuseRecord = true
	cr.FieldsPerRecord = -1
	row, err := cr.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("%s:1:1: empty file, want header %s", name, header)
	}
	if err != nil {
		return nil, csvError(name, err)
	}
	idx, err := parseHeader(row)
	if err != nil {
		return nil, fmt.Errorf("%s:1:%w", name, err)
	}
	ncol := len(row)
	tr := &sim.Trace{Inv: make([]sim.Invocation, 0, max(rows-1, 0))}
	funcs := make(map[string]uint32)
	for {
		row, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, csvError(name, err)
		}
		line, _ := cr.FieldPos(0)
		if len(row) != ncol {
			return nil, fmt.Errorf("%s:%d:%d: %d fields, the header has %d", name, line, min(len(row), ncol)+1, len(row), ncol)
		}
		if len(tr.Inv) == MaxInvocations {
			return nil, fmt.Errorf("%s:%d:1: more than %d invocations (the limit)", name, line, MaxInvocations)
		}
		var in sim.Invocation
		num := func(col int, what string, limit float64, positive bool) (float64, error) {
			s := strings.TrimSpace(row[col])
			v, problem := csvin.Number(s)
			switch {
			case problem != "" && problem != "is not a finite number":
				return 0, fmt.Errorf("%s:%d:%d: %s: %q %s", name, line, col+1, what, row[col], problem)
			case problem != "":
				return 0, fmt.Errorf("%s:%d:%d: %s: %s %s", name, line, col+1, what, s, problem)
			case v < 0 || (positive && v <= 0):
				return 0, fmt.Errorf("%s:%d:%d: %s: %s must be %s", name, line, col+1, what, s, map[bool]string{true: "> 0", false: ">= 0"}[positive])
			case v > limit:
				return 0, fmt.Errorf("%s:%d:%d: %s: %s is absurdly large (limit %g)", name, line, col+1, what, s, limit)
			}
			return v, nil
		}
		a, err := num(idx[0], ColArrival, MaxArrivalMs, false)
		if err != nil {
			return nil, err
		}
		c, err := num(idx[2], ColCPU, MaxDemandMs, true)
		if err != nil {
			return nil, err
		}
		in.Arrival = int64(math.Round(a * 1e6))
		in.CPU = max(int64(math.Round(c*1e6)), 1)
		if idx[3] >= 0 {
			io, err := num(idx[3], ColIO, MaxDemandMs, false)
			if err != nil {
				return nil, err
			}
			in.IO = int64(math.Round(io * 1e6))
			if in.IO > 0 {
				in.Waits = 1
			}
		}
		if idx[4] >= 0 {
			w, err := num(idx[4], ColWaits, MaxWaits, false)
			if err != nil {
				return nil, err
			}
			if w != math.Trunc(w) {
				return nil, fmt.Errorf("%s:%d:%d: %s: %s is not an integer", name, line, idx[4]+1, ColWaits, row[idx[4]])
			}
			if in.IO > 0 {
				in.Waits = max(uint32(w), 1)
			}
		}
		fn := strings.TrimSpace(row[idx[1]])
		switch {
		case fn == "":
			return nil, fmt.Errorf("%s:%d:%d: %s: empty function name", name, line, idx[1]+1, ColFunc)
		case len(fn) > MaxNameBytes:
			return nil, fmt.Errorf("%s:%d:%d: %s: name of %d bytes, longer than the limit %d", name, line, idx[1]+1, ColFunc, len(fn), MaxNameBytes)
		case !utf8.ValidString(fn) || strings.IndexFunc(fn, unicode.IsControl) >= 0:
			return nil, fmt.Errorf("%s:%d:%d: %s: name %q has a control character or is not UTF-8", name, line, idx[1]+1, ColFunc, fn)
		}
		id, ok := funcs[fn]
		if !ok {
			if len(tr.Functions) == MaxFunctions {
				return nil, fmt.Errorf("%s:%d:%d: more than %d functions (the limit)", name, line, idx[1]+1, MaxFunctions)
			}
			fn = strings.Clone(fn) // not the whole line the reader allocated
			id = uint32(len(tr.Functions))
			funcs[fn] = id
			tr.Functions = append(tr.Functions, fn)
		}
		in.Func = id
		tr.Inv = append(tr.Inv, in)
	}
	if len(tr.Inv) == 0 {
		return nil, fmt.Errorf("%s:2:1: no invocations after the header", name)
	}
	tr.Sort()
	return tr, nil
}

// parseHeader returns the column index of arrival, function, cpu, io, waits (-1 if absent).
func parseHeader(row []string) ([5]int, error) {
	idx := [5]int{-1, -1, -1, -1, -1}
	names := [5]string{ColArrival, ColFunc, ColCPU, ColIO, ColWaits}
	for i, h := range row {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		found := false
		for k, n := range names {
			if h == n {
				if idx[k] >= 0 {
					return idx, fmt.Errorf("%d: column %q twice", i+1, h)
				}
				idx[k], found = i, true
			}
		}
		if !found {
			if _, err := strconv.ParseFloat(h, 64); err == nil || i == 0 && len(row) >= 3 {
				return idx, fmt.Errorf("1: missing header, want %s", header)
			}
			return idx, fmt.Errorf("%d: unknown column %q, want %s", i+1, h, header)
		}
	}
	for k := 0; k < 3; k++ {
		if idx[k] < 0 {
			return idx, fmt.Errorf("1: missing column %s, want %s", names[k], header)
		}
	}
	return idx, nil
}

func csvError(name string, err error) error { return csvin.Error(name, err) }

// isBinary reports whether the start of a file looks like binary data.
func isBinary(b []byte) bool {
	if bytes.IndexByte(b, 0) >= 0 {
		return true
	}
	// Allow a UTF-8 sequence cut at the end of the peeked block.
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size == 1 {
			return len(b) > 3
		}
		b = b[size:]
	}
	return false
}

// WriteCSV writes tr in the CSV format ReadCSV reads (io columns only if some invocation
// blocks).
func WriteCSV(w io.Writer, tr *sim.Trace) error {
	bw := bufio.NewWriter(w)
	io := false
	for i := range tr.Inv {
		if tr.Inv[i].Waits > 0 {
			io = true
			break
		}
	}
	if io {
		bw.WriteString("arrival_ms,function,cpu_ms,io_ms,io_waits\n")
	} else {
		bw.WriteString("arrival_ms,function,cpu_ms\n")
	}
	var buf []byte
	for i := range tr.Inv {
		in := &tr.Inv[i]
		buf = appendMs(buf[:0], in.Arrival)
		buf = append(buf, ',')
		buf = AppendField(buf, tr.Functions[in.Func])
		buf = append(buf, ',')
		buf = appendMs(buf, in.CPU)
		if io {
			buf = append(buf, ',')
			buf = appendMs(buf, in.IO)
			buf = append(buf, ',')
			buf = strconv.AppendUint(buf, uint64(in.Waits), 10)
		}
		buf = append(buf, '\n')
		bw.Write(buf)
	}
	return bw.Flush()
}

// AppendField appends a CSV field to b, quoted when it holds a comma or a double quote.
func AppendField(b []byte, s string) []byte {
	if !strings.ContainsAny(s, ",\"") {
		return append(b, s...)
	}
	return append(append(append(b, '"'), strings.ReplaceAll(s, `"`, `""`)...), '"')
}

// appendMs formats ns as decimal ms, exactly (up to 6 decimals).
func appendMs(b []byte, ns int64) []byte {
	return strconv.AppendFloat(b, float64(ns)/1e6, 'f', -1, 64)
}
