package trace

import (
	"math"
	"testing"
)

func TestGenerateLoad(t *testing.T) {
	// The span is set from the drawn demands, so the offered load is the requested one up
	// to where the first and last uniform arrivals fall: with 200,000 arrivals the gaps at
	// both ends are ~1/200,000 of the span each, so 0.5% is a wide tolerance.
	for seed := uint64(1); seed <= 3; seed++ {
		tr, err := Generate(GenOptions{Functions: 500, Invocations: 200_000, Cores: 16, Load: 0.85, IOFraction: 0.2, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		if err := tr.Validate(); err != nil {
			t.Fatal(err)
		}
		u := tr.Utilization(16)
		if math.Abs(u-0.85)/0.85 > 0.005 {
			t.Errorf("seed %d: utilization %.3f, want 0.85 within 0.5%%", seed, u)
		}
		t.Logf("seed %d: %d invocations over %.0f s, utilization %.3f", seed, len(tr.Inv), float64(tr.Span())/1e9, u)
	}
}
