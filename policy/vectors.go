package policy

import (
	"bytes"
	_ "embed"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
)

//go:embed ordering_vectors.csv
var vectorsCSV []byte

// Vector is one row of ordering_vectors.csv: one enqueue-run cycle of a task through the
// rule (ORDERING.md, section Vectors), its inputs and the outputs both implementations must
// produce.
type Vector struct {
	Name string
	// Inputs.
	V, Vnow int64
	Weight  uint32
	Ranked  bool
	Rank    uint32
	Used    int64
	Knobs   Knobs // RankStep, MaxPenalty and WakeLag are set
	// Outputs: v after the clamp (step 2), the key (step 3), v and vnow after the run
	// (steps 5 and 6).
	WantVEnq, WantKey, WantVDone, WantVnowDone int64
}

// vectorColumns are the columns of ordering_vectors.csv, in order.
var vectorColumns = []string{"name", "v", "vnow", "weight", "ranked", "rank", "used", "rank_step",
	"max_penalty", "wake_lag", "want_v_enq", "want_key", "want_v_done", "want_vnow_done"}

// Vectors returns the shared vectors (ordering_vectors.csv, embedded).
func Vectors() ([]Vector, error) { return ReadVectors(bytes.NewReader(vectorsCSV)) }

// ReadVectors reads vectors in the format of ordering_vectors.csv; an error names the line
// and the column.
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
			if n[j], err = strconv.ParseInt(row[j], 10, 64); err != nil {
				return nil, fmt.Errorf("ordering vectors: line %d, column %s: %w", line, vectorColumns[j], err)
			}
		}
		out = append(out, Vector{
			Name: row[0], V: n[1], Vnow: n[2], Weight: uint32(n[3]), Ranked: n[4] == 1, Rank: uint32(n[5]), Used: n[6],
			Knobs:    Knobs{RankStep: n[7], MaxPenalty: n[8], WakeLag: n[9]},
			WantVEnq: n[10], WantKey: n[11], WantVDone: n[12], WantVnowDone: n[13],
		})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("ordering vectors: no rows")
	}
	return out, nil
}
