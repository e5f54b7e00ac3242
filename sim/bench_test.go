package sim_test

import (
	"runtime"
	"sync"
	"testing"

	"github.com/alps-sched/alps/configs"
	"github.com/alps-sched/alps/sim"
	"github.com/alps-sched/alps/sim/trace"
)

const benchCores = 16

var benchTrace = sync.OnceValues(func() (*sim.Trace, error) {
	return trace.Generate(trace.GenOptions{
		Functions: 1000, Invocations: 1_000_000, Cores: benchCores, Load: 0.85, Seed: 1,
	})
})

// BenchmarkPolicies runs each policy over a 1,000,000-invocation Azure-like trace at 85%
// load on 16 cores and reports invocations per second and bytes allocated per invocation.
func BenchmarkPolicies(b *testing.B) {
	tr, err := benchTrace()
	if err != nil {
		b.Fatal(err)
	}
	l, _ := configs.NewLoader()
	cfg, err := l.Load()
	if err != nil {
		b.Fatal(err)
	}
	for _, name := range []string{"srpt", "fifo", "cfs", "vtime", "sfs", "las", "gittins"} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			var events int64
			for b.Loop() {
				p, err := sim.New(name, configs.SimParams(cfg, benchCores))
				if err != nil {
					b.Fatal(err)
				}
				res, err := sim.Run(tr, p, sim.Options{Cores: benchCores})
				if err != nil {
					b.Fatal(err)
				}
				events = res.Preemptions
			}
			n := float64(len(tr.Inv)) * float64(b.N)
			b.ReportMetric(n/b.Elapsed().Seconds(), "inv/s")
			b.ReportMetric(float64(events)/float64(len(tr.Inv)), "preempt/inv")
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/n, "B/inv")
		})
	}
}
