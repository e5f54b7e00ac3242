package loadgen

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
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

// ReadResults reads a results CSV written by WriteResults; name is used in errors.
func ReadResults(r io.Reader, name string) ([]Result, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = len(resultHeader)
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("%s: header: %w", name, err)
	}
	for i, h := range resultHeader {
		if head[i] != h {
			return nil, fmt.Errorf("%s:1: column %d is %q, want %q", name, i+1, head[i], h)
		}
	}
	var rs []Result
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return rs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		line, _ := cr.FieldPos(0)
		var res Result
		var perr error
		num := func(col int) int64 {
			f, err := strconv.ParseFloat(rec[col], 64)
			if err != nil && perr == nil {
				perr = fmt.Errorf("%s:%d: %s: %q is not a number", name, line, resultHeader[col], rec[col])
			}
			return int64(f * 1e6)
		}
		id, err := strconv.Atoi(rec[0])
		if err != nil {
			return nil, fmt.Errorf("%s:%d: id: %q is not an integer", name, line, rec[0])
		}
		res.ID, res.Function = id, rec[1]
		res.Arrival, res.Start, res.End, res.CPU, res.Demand, res.IO = num(2), num(3), num(4), num(5), num(6), num(7)
		blocks, err := strconv.Atoi(rec[8])
		if err != nil {
			return nil, fmt.Errorf("%s:%d: blocks: %q is not an integer", name, line, rec[8])
		}
		res.Blocks, res.Lost, res.Err = blocks, rec[9] == "1", rec[10]
		if perr != nil {
			return nil, perr
		}
		rs = append(rs, res)
	}
}
