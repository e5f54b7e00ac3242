package frontend

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/rs/zerolog"

	"github.com/alps-sched/alps/configs"
	"github.com/alps-sched/alps/model"
	"github.com/alps-sched/alps/policy"
)

// demoRecords is a recorded-workload stand-in shaped like the VM experiment (make demo): n
// invocations of 18 functions over 60 s with heavy-tailed CPU demands, in completion order.
func demoRecords(n int) []policy.Record {
	rng := rand.New(rand.NewPCG(5, 6))
	const nf = 18
	mu := make([]float64, nf)
	for i := range mu {
		mu[i] = math.Log(0.05) + 1.5*rng.NormFloat64()
	}
	out := make([]policy.Record, n)
	span := int64(60e9)
	for i := range out {
		f := rng.IntN(nf)
		cpu := int64(math.Min(math.Exp(mu[f]+0.3*rng.NormFloat64()), 5) * 1e9)
		start := int64(i) * span / int64(n)
		out[i] = policy.Record{Function: uint32(f), PID: uint32(1000 + i), Start: start, End: start + 2*cpu,
			CPU: cpu, RunDelay: cpu, Nvcsw: 1}
	}
	return out
}

// benchDaemon returns a daemon on a fake kernel with the real learner (the documented
// defaults, 2 cores as in the VM) whose window already holds warm records. testConfig's short
// intervals do not enter a step (it is called directly, not by the loop's timers).
func benchDaemon(b *testing.B, warm []policy.Record, now int64) *Daemon {
	b.Helper()
	cfg := testConfig(b)
	cfg.Learner.Cores = 2
	cfg.Learner.WindowSize = 600 // the demo's window: every invocation of the run
	d, err := New(Options{Config: cfg, Kernel: newFakeKernel(16), Log: zerolog.Nop(), Now: func() int64 { return now },
		NewLearner: func(c configs.Config) (Learner, error) { return model.NewLearner(configs.LearnerConfig(c)) }})
	if err != nil {
		b.Fatal(err)
	}
	for _, r := range warm {
		d.learner.Observe(r)
	}
	return d
}

// BenchmarkDaemonStep measures one update of the daemon's loop (take the pending records, run
// the learner, push the table, heartbeat) on the demo's window of 600 invocations: "new" with
// 10 records arrived since the last update (the demo's rate at a 1 s interval), "idle" with
// none (the window did not change).
func BenchmarkDaemonStep(b *testing.B) {
	recs := demoRecords(610)
	for _, bc := range []struct {
		name  string
		fresh int
	}{{"new", 10}, {"idle", 0}} {
		b.Run(bc.name, func(b *testing.B) {
			d := benchDaemon(b, recs[:600], recs[609].End)
			d.step()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if bc.fresh > 0 {
					d.mu.Lock()
					d.pending = append(d.pending, recs[600:600+bc.fresh]...)
					d.mu.Unlock()
				}
				d.step()
			}
		})
	}
}

// BenchmarkHeartbeat measures one heartbeat tick of the loop (the fake kernel's write is a
// mutex).
func BenchmarkHeartbeat(b *testing.B) {
	d := benchDaemon(b, nil, 0)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if err := d.beat(); err != nil {
			b.Fatal(err)
		}
	}
}
