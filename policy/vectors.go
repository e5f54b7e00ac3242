package policy

import (
	"bytes"
	_ "embed"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
)

//go:embed ordering_vectors.csv
var vectorsCSV []byte

// Vector is one row of ordering_vectors.csv: one enqueue-run cycle of a task through the
// rule (ORDERING.md, section Vectors), its inputs and the outputs both implementations must
// produce.
type Vector struct {
	Name string
	// Inputs: the task's vtime and the global vtime before its enqueue, its weight, whether
	// it is ranked, the CPU its invocation has used, its function's entry (slice, rank,
	// steps), how long it then runs, and the knobs (WakeLag and DefaultSlice).
	V, Vnow  int64
	Weight   uint32
	Ranked   bool
	Attained int64
	Entry    Entry
	Used     int64
	Knobs    Knobs
	// Outputs: v after the clamp (step 2), the level (3), the key (4), the quantum (5), v and
	// vnow after the run (6, 7) and the attained CPU after it.
	WantVEnq, WantVDone, WantVnowDone, WantAttainedDone int64
	WantLevel                                           uint32
	WantKey                                             uint64
	WantQuantum                                         int64
}

// vectorColumns are the columns of ordering_vectors.csv, in order.
var vectorColumns = []string{"name", "v", "vnow", "weight", "ranked", "attained", "slice", "rank", "steps", "used",
	"wake_lag", "default_slice", "want_v_enq", "want_level", "want_key", "want_quantum", "want_v_done",
	"want_vnow_done", "want_attained_done"}

// Vectors returns the shared vectors (ordering_vectors.csv, embedded).
func Vectors() ([]Vector, error) { return ReadVectors(bytes.NewReader(vectorsCSV)) }

// ReadVectors reads vectors in the format of ordering_vectors.csv (steps are "at:rank" pairs
// separated by ";"); an error names the line and the column.
func ReadVectors(r io.Reader) ([]Vector, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = len(vectorColumns)
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("ordering vectors: header: %w", err)
	}
	for i, c := range vectorColumns {
		if head[i] != c {
			return nil, fmt.Errorf("ordering vectors: column %d is %q, want %q", i+1, head[i], c)
		}
	}
	var out []Vector
	for line := 2; ; line++ {
		row, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("ordering vectors: %w", err)
		}
		n := make([]int64, len(row))
		for j := 1; j < len(row); j++ {
			if vectorColumns[j] == "steps" || vectorColumns[j] == "want_key" {
				continue
			}
			if n[j], err = strconv.ParseInt(row[j], 10, 64); err != nil {
				return nil, fmt.Errorf("ordering vectors: line %d, column %s: %w", line, vectorColumns[j], err)
			}
		}
		key, err := strconv.ParseUint(row[14], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("ordering vectors: line %d, column want_key: %w", line, err)
		}
		v := Vector{
			Name: row[0], V: n[1], Vnow: n[2], Weight: uint32(n[3]), Ranked: n[4] == 1, Attained: n[5],
			Entry: Entry{Slice: n[6], Rank: uint32(n[7])}, Used: n[9], Knobs: Knobs{WakeLag: n[10], DefaultSlice: n[11]},
			WantVEnq: n[12], WantLevel: uint32(n[13]), WantKey: key, WantQuantum: n[15], WantVDone: n[16],
			WantVnowDone: n[17], WantAttainedDone: n[18],
		}
		if err := parseSteps(&v.Entry, row[8]); err != nil {
			return nil, fmt.Errorf("ordering vectors: line %d, column steps: %w", line, err)
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("ordering vectors: no rows")
	}
	return out, nil
}

// parseSteps fills e's steps from "at:rank;at:rank...".
func parseSteps(e *Entry, s string) error {
	if s == "" {
		return nil
	}
	for i, p := range strings.Split(s, ";") {
		if i >= MaxSteps {
			return fmt.Errorf("more than %d steps", MaxSteps)
		}
		at, rank, ok := strings.Cut(p, ":")
		a, err1 := strconv.ParseInt(at, 10, 64)
		r, err2 := strconv.ParseUint(rank, 10, 32)
		if !ok || err1 != nil || err2 != nil {
			return fmt.Errorf("step %q is not at:rank", p)
		}
		e.StepAt[i], e.StepRank[i] = a, uint32(r)
		e.NSteps++
	}
	return nil
}
