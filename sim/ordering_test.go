package sim

import (
	"encoding/csv"
	"os"
	"strconv"
	"testing"
)

// orderingVector is one row of backend/testdata/ordering_vectors.csv.
type orderingVector struct {
	name                                       string
	v, vnow                                    int64
	weight                                     uint32
	ranked                                     bool
	rank                                       uint32
	used                                       int64
	p                                          OrderParams
	wantVEnq, wantKey, wantVDone, wantVnowDone int64
}

func readOrderingVectors(t *testing.T) []orderingVector {
	t.Helper()
	f, err := os.Open("../backend/testdata/ordering_vectors.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) < 2 {
		t.Fatal("no vectors")
	}
	var out []orderingVector
	for i, r := range rows[1:] {
		n := make([]int64, len(r))
		for j := 1; j < len(r); j++ {
			if n[j], err = strconv.ParseInt(r[j], 10, 64); err != nil {
				t.Fatalf("line %d column %d: %v", i+2, j+1, err)
			}
		}
		out = append(out, orderingVector{
			name: r[0], v: n[1], vnow: n[2], weight: uint32(n[3]), ranked: n[4] == 1,
			rank: uint32(n[5]), used: n[6],
			p:        OrderParams{RankStep: n[7], MaxPenalty: n[8], WakeLag: n[9]},
			wantVEnq: n[10], wantKey: n[11], wantVDone: n[12], wantVnowDone: n[13],
		})
	}
	return out
}

// TestOrderingVectors runs one enqueue-run cycle per vector through the Go rule.
func TestOrderingVectors(t *testing.T) {
	for _, tc := range readOrderingVectors(t) {
		t.Run(tc.name, func(t *testing.T) {
			v := WakeVtime(tc.v, tc.vnow, tc.p.WakeLag) // every enqueue
			if v != tc.wantVEnq {
				t.Errorf("v after enqueue = %d, want %d", v, tc.wantVEnq)
			}
			if key := Key(v, tc.vnow, tc.ranked, tc.rank, tc.p); key != tc.wantKey {
				t.Errorf("key = %d, want %d", key, tc.wantKey)
			}
			vnow := AdvanceNow(tc.vnow, v)
			v = Charge(v, tc.used, tc.weight)
			vnow = AdvanceNow(vnow, v)
			if v != tc.wantVDone || vnow != tc.wantVnowDone {
				t.Errorf("after run: v=%d vnow=%d, want v=%d vnow=%d", v, vnow, tc.wantVDone, tc.wantVnowDone)
			}
		})
	}
}
