package metrics

import (
	"math"
	"testing"

	"github.com/alps-sched/alps/sim"
)

func TestQuantile(t *testing.T) {
	tests := []struct {
		v    []float64
		q    float64
		want float64
	}{
		{nil, 0.5, 0},
		{[]float64{7}, 0.99, 7},
		{[]float64{1, 2, 3, 4}, 0.5, 2},
		{[]float64{1, 2, 3, 4}, 0.51, 3},
		{[]float64{1, 2, 3, 4}, 1, 4},
		{[]float64{1, 2, 3, 4}, 0, 1},
	}
	for _, tt := range tests {
		if got := Quantile(tt.v, tt.q); got != tt.want {
			t.Errorf("Quantile(%v, %g) = %g, want %g", tt.v, tt.q, got, tt.want)
		}
	}
}

func TestSummarize(t *testing.T) {
	ms := int64(1e6)
	// Four invocations of demand 1, 2, 3, 4 ms; FCTs 1, 4, 3, 8 ms; one never completed.
	recs := []sim.Record{
		{Arrival: 0, Start: 0, End: 1 * ms, CPU: 1 * ms},
		{Arrival: 0, Start: 1 * ms, End: 4 * ms, CPU: 2 * ms, Blocked: 1 * ms, Preemptions: 2},
		{Arrival: 1 * ms, Start: 1 * ms, End: 4 * ms, CPU: 3 * ms},
		{Arrival: 2 * ms, Start: 4 * ms, End: 10 * ms, CPU: 4 * ms, Preemptions: 1},
		{Arrival: 3 * ms, Start: -1, End: -1, CPU: 100 * ms},
	}
	s := Summarize(recs, 2)
	want := Summary{
		Completed:    4,
		MeanFCT:      (1 + 4 + 3 + 8) / 4.0,
		P50FCT:       3,
		P99FCT:       8,
		MeanSlowdown: (1 + 4.0/3 + 1 + 2) / 4,
		P99Slowdown:  2,
		// median demand 2 ms: short = the 1 and 2 ms invocations.
		ShortMeanFCT: (1 + 4) / 2.0,
		// p90 demand 4 ms: long = the 4 ms invocation, slowdown 8/4.
		LongP99Slowdown: 2,
		Preemptions:     3,
		Makespan:        10,
		Utilization:     10.0 / (2 * 10),
		MeanWait:        (0 + 1 + 0 + 4) / 4.0,
	}
	if math.Abs(s.MeanSlowdown-want.MeanSlowdown) < 1e-12 {
		s.MeanSlowdown = want.MeanSlowdown
	}
	if s != want {
		t.Errorf("Summarize =\n%+v\nwant\n%+v", s, want)
	}
	if z := Summarize(nil, 4); z != (Summary{}) {
		t.Errorf("empty: %+v", z)
	}
}
