package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestExperimentOrders(t *testing.T) {
	// Seed 1 is ordered alike; seed 2 swaps vtime and alps, predicted 2% apart.
	pts := []point{
		{Load: 0.7, Scheduler: "default", Seeds: []uint{1, 2}, MeanFCTMs: []float64{900, 800}, PredMean: []float64{850, 700}},
		{Load: 0.7, Scheduler: "vtime", Seeds: []uint{1, 2}, MeanFCTMs: []float64{600, 500}, PredMean: []float64{650, 510}},
		{Load: 0.7, Scheduler: "alps", Seeds: []uint{1, 2}, MeanFCTMs: []float64{500, 520}, PredMean: []float64{550, 500}},
		{Load: 0.9, Scheduler: "default", Seeds: []uint{1}, MeanFCTMs: []float64{900}, PredMean: []float64{850}},
	}
	var b bytes.Buffer
	writeOrders(&b, pts)
	want := []string{
		"load 0.70 seed 1: measured alps < vtime < default; predicted alps < vtime < default (same)",
		"load 0.70 seed 2: measured vtime < alps < default; predicted alps < vtime < default (differs: vtime/alps predicted 510.0/500.0 ms (2.0% apart), measured 500.0/520.0 ms)",
		"order by mean FCT: the same measured and predicted in 1 of 2 plans",
	}
	if got := strings.Split(strings.TrimSpace(b.String()), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("orders:\n%s\nwant:\n%s", b.String(), strings.Join(want, "\n"))
	}
	if rs := pts[2].ratios(); len(rs) != 2 || rs[1] != 520.0/500 {
		t.Errorf("alps ratios %v", rs)
	}
	if rs := pts[2].onCPURatios(); rs != nil {
		t.Errorf("no simulation on measured CPU: ratios %v, want none", rs)
	}
}
