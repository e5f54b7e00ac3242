package sim

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/alps-sched/alps/policy"
)

// divCases are dividends around multiples of d, small and up to 2^62 (the range where the
// fast-forward's divisions multiply), and random ones.
func divCases(d int64, r *rand.Rand) []int64 {
	xs := []int64{0, 1, 2, d - 1, d, d + 1, 2*d - 1, 2 * d, 1<<62 - 1, 1 << 61, 1<<61 + 1, 1<<53 + 1}
	for _, k := range []int64{3, 7, 1000, 123_456_789, (1<<62 - 1) / d, (1<<62-1)/d - 1, (1<<53)/d + 1, 1 << 20} {
		if k*d/d != k || k*d >= 1<<62 { // overflow or out of range
			continue
		}
		xs = append(xs, k*d-1, k*d, k*d+1)
	}
	for range 2000 {
		xs = append(xs, r.Int64N(1<<62), r.Int64N(1<<53), r.Int64N(1<<20), r.Int64N(d*1000+1))
	}
	var out []int64
	for _, x := range xs {
		if x >= 0 && x < 1<<62 {
			out = append(out, x)
		}
	}
	return out
}

// bigCases are dividends from 2^62 up, where the divisions divide.
func bigCases(d int64) []int64 {
	xs := []int64{1 << 62, 1<<62 + 1, math.MaxInt64 - 1, math.MaxInt64}
	for _, k := range []int64{(1 << 62) / d, (1<<62)/d + 1, math.MaxInt64 / d} {
		for _, x := range []int64{k*d - 1, k * d, k*d + 1} {
			if x >= 1<<62 && x <= math.MaxInt64-1 && k*d/d == k {
				xs = append(xs, x)
			}
		}
	}
	return xs
}

// TestForwardDivision: the fast-forward's divisions by the slice and by the number of cores
// (below 2^62 a multiply by the reciprocal and one correction step) give the integer
// quotient, as does Vtime.floorSlice (closeOpen's rounding to whole slices).
func TestForwardDivision(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		slice int64
		cores int
	}{
		{1, 1}, {2, 2}, {3, 3}, {7, 7}, {1_000_000, 16}, {4_000_000, 64}, {7_300_001, 1000},
		{999_999_937, 17}, {1 << 40, 4096}, {(1 << 40) + 1, 65537},
	} {
		var f forward
		f.init(tc.cores, tc.slice)
		v := &Vtime{p: policy.Knobs{DefaultSlice: tc.slice}, ff: f}
		for _, x := range divCases(tc.slice, r) {
			if got, want := f.div(x), x/tc.slice; got != want {
				t.Fatalf("slice %d: div(%d) = %d, want %d", tc.slice, x, got, want)
			}
			if got, want := v.floorSlice(x), x/tc.slice*tc.slice; got != want {
				t.Fatalf("slice %d: floorSlice(%d) = %d, want %d", tc.slice, x, got, want)
			}
		}
		for _, x := range bigCases(tc.slice) {
			if got, want := f.div(x), x/tc.slice; got != want {
				t.Fatalf("slice %d: div(%d) = %d, want %d", tc.slice, x, got, want)
			}
			if got, want := v.floorSlice(x), x/tc.slice*tc.slice; got != want {
				t.Fatalf("slice %d: floorSlice(%d) = %d, want %d", tc.slice, x, got, want)
			}
		}
		for _, x := range append(divCases(int64(tc.cores), r), bigCases(int64(tc.cores))...) {
			if got, want := f.divC(int(x)), int(x)/tc.cores; got != want {
				t.Fatalf("%d cores: divC(%d) = %d, want %d", tc.cores, x, got, want)
			}
		}
	}
	// A slice <= 0 (no fast-forward) rounds with the integer division.
	v := &Vtime{p: policy.Knobs{DefaultSlice: -3}}
	v.ff.init(1, -3)
	if got := v.floorSlice(10); got != 10/-3*-3 {
		t.Fatalf("slice -3: floorSlice(10) = %d, want %d", got, 10/-3*-3)
	}
}
