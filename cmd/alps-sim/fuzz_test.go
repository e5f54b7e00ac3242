package main

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/alps-sched/alps/configs"
)

// FuzzParseSpace: any tune space file is a space whose draws stay in their ranges, or one
// error line naming the file; never a panic.
func FuzzParseSpace(f *testing.F) {
	f.Add([]byte(goodSpace))
	f.Add(configs.DefaultTuneSpace())
	f.Add([]byte("learner.alpha: {min: .nan, max: 2}\n"))
	f.Add([]byte("learner.window_size: {min: 1, max: 9e18, int: true}\n"))
	f.Add([]byte("policy.rank_step_ms: {min: 1e-300, max: 1e300, log: true}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		sp, err := parseSpace("s.yaml", data)
		if err != nil {
			if msg := err.Error(); strings.Contains(msg, "\n") || !strings.HasPrefix(msg, "space s.yaml") {
				t.Fatalf("error %q: want one line naming s.yaml", msg)
			}
			return
		}
		r := rand.New(rand.NewPCG(1, 2))
		for _, p := range sp {
			for range 4 {
				v := p.sample(r)
				if p.choices != nil {
					continue
				}
				x, ok := toFloat(v)
				if !ok || math.IsNaN(x) || math.IsInf(x, 0) || x < math.Floor(p.min) || x > math.Ceil(p.max) {
					t.Fatalf("%s drew %v outside [%g, %g]", p.key, v, p.min, p.max)
				}
			}
		}
	})
}
