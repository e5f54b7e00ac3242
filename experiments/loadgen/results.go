package loadgen

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/alps-sched/alps/internal/csvin"
)

// resultHeader is the header of a results CSV file; times are decimal milliseconds.
var resultHeader = []string{"id", "function", "arrival_ms", "start_ms", "end_ms", "cpu_ms", "demand_ms", "io_ms", "blocks", "lost", "error"}

func ms(ns int64) string { return strconv.FormatFloat(float64(ns)/1e6, 'f', 6, 64) }

// WriteResults writes rs as CSV.
func WriteResults(w io.Writer, rs []Result) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(resultHeader); err != nil {
		return err
	}
	for _, r := range rs {
		lost := "0"
		if r.Lost {
			lost = "1"
		}
		rec := []string{strconv.Itoa(r.ID), r.Function, ms(r.Arrival), ms(r.Start), ms(r.End),
			ms(r.CPU), ms(r.Demand), ms(r.IO), strconv.Itoa(r.Blocks), lost, strings.ReplaceAll(r.Err, "\n", " ")}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// Limits of a results file: a value beyond one is an error naming the file, line and column.
const (
	MaxResultMs      = 1e10       // any time or duration (ms)
	MaxResultLine    = 64 << 10   // bytes of one record
	MaxResultName    = 256        // bytes of a function name
	MaxResults       = 50_000_000 // records in one file
	maxResultsBlocks = 1 << 20
)

// ReadResults reads a results CSV written by WriteResults; name is used in errors. Numbers
// are plain decimals in [0, MaxResultMs] ms; a byte-order mark before the header is allowed.
func ReadResults(r io.Reader, name string) ([]Result, error) {
	cr := csv.NewReader(csvin.Limit(r, MaxResultLine))
	cr.FieldsPerRecord = len(resultHeader)
	head, err := cr.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("%s:1:1: empty file, want header %s", name, strings.Join(resultHeader, ","))
	}
	if err != nil {
		return nil, csvin.Error(name, err)
	}
	head[0] = strings.TrimPrefix(head[0], "\ufeff")
	for i, h := range resultHeader {
		if head[i] != h {
			return nil, fmt.Errorf("%s:1:%d: column %d is %q, want %q", name, i+1, i+1, head[i], h)
		}
	}
	var rs []Result
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return rs, nil
		}
		if err != nil {
			return nil, csvin.Error(name, err)
		}
		line, _ := cr.FieldPos(0)
		if len(rs) == MaxResults {
			return nil, fmt.Errorf("%s:%d:1: more than %d records (the limit)", name, line, MaxResults)
		}
		var res Result
		var perr error
		num := func(col int) int64 {
			v, problem := csvin.Number(strings.TrimSpace(rec[col]))
			switch {
			case perr != nil:
			case problem != "":
				perr = fmt.Errorf("%s:%d:%d: %s: %q %s", name, line, col+1, resultHeader[col], rec[col], problem)
			case v < 0 || v > MaxResultMs:
				perr = fmt.Errorf("%s:%d:%d: %s: %s is not in [0, %g]", name, line, col+1, resultHeader[col], rec[col], MaxResultMs)
			}
			return int64(v * 1e6)
		}
		integer := func(col int, max int) int {
			n, err := strconv.Atoi(rec[col])
			if perr == nil && (err != nil || n < 0 || n > max) {
				perr = fmt.Errorf("%s:%d:%d: %s: %q is not an integer in [0, %d]", name, line, col+1, resultHeader[col], rec[col], max)
			}
			return n
		}
		res.ID, res.Function = integer(0, math.MaxInt32), rec[1]
		switch {
		case perr != nil:
		case res.Function == "":
			perr = fmt.Errorf("%s:%d:2: function: empty name", name, line)
		case len(res.Function) > MaxResultName:
			perr = fmt.Errorf("%s:%d:2: function: name of %d bytes, longer than the limit %d", name, line, len(res.Function), MaxResultName)
		}
		res.Arrival, res.Start, res.End, res.CPU, res.Demand, res.IO = num(2), num(3), num(4), num(5), num(6), num(7)
		res.Blocks = integer(8, maxResultsBlocks)
		switch rec[9] {
		case "0", "1":
			res.Lost = rec[9] == "1"
		default:
			if perr == nil {
				perr = fmt.Errorf("%s:%d:10: lost: %q is not 0 or 1", name, line, rec[9])
			}
		}
		if perr != nil {
			return nil, perr
		}
		res.Err = rec[10]
		rs = append(rs, res)
	}
}
