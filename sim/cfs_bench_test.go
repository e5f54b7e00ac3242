package sim_test

import (
	"runtime"
	"testing"

	"github.com/alps-sched/alps/configs"
	"github.com/alps-sched/alps/sim"
)

// BenchmarkCFS runs the per-core cfs model and the global processor-sharing model (ps) over
// the benchmark trace and reports invocations per second, bytes allocated per invocation
// and the mean FCT (its ratio between the two is the cost of per-core queues).
func BenchmarkCFS(b *testing.B) {
	tr, err := benchTrace() // BenchmarkPolicies' trace
	if err != nil {
		b.Fatal(err)
	}
	l, err := configs.NewLoader()
	if err != nil {
		b.Fatal(err)
	}
	cfg, err := l.Load()
	if err != nil {
		b.Fatal(err)
	}
	for _, name := range []string{"cfs", "ps"} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			var mean float64
			for b.Loop() {
				p, err := sim.New(name, configs.SimParams(cfg, 16))
				if err != nil {
					b.Fatal(err)
				}
				res, err := sim.Run(tr, p, sim.Options{Cores: 16})
				if err != nil {
					b.Fatal(err)
				}
				var sum float64
				for i := range res.Records {
					sum += float64(res.Records[i].FCT())
				}
				mean = sum / float64(len(res.Records))
			}
			n := float64(len(tr.Inv)) * float64(b.N)
			b.ReportMetric(n/b.Elapsed().Seconds(), "inv/s")
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/n, "B/inv")
			b.ReportMetric(mean/1e6, "meanFCT-ms")
		})
	}
}
