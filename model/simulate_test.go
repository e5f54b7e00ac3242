package model

import (
	"fmt"
	"slices"
	"testing"

	"github.com/alps-sched/alps/configs"
)

// simJobs are the SRPT simulation's input for the first n records of benchWindow.
func simJobs(n, cores int) []SimJob {
	recs := benchWindow(cores)[:n]
	jobs := make([]SimJob, n)
	for i, r := range recs {
		jobs[i] = SimJob{Arrival: r.Arrival, Demand: r.CPU, Class: int32(r.Function)}
	}
	return jobs
}

// BenchmarkSortByArrival sorts a window's jobs (in completion order, as the window keeps
// them) by arrival: the demo's 600 and a full 10,000.
func BenchmarkSortByArrival(b *testing.B) {
	for _, n := range []int{600, 10000} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			jobs := simJobs(n, 16)
			work := make([]SimJob, n)
			var tmp []SimJob
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				copy(work, jobs)
				var sorted []SimJob
				sorted, tmp = sortByArrival(work, tmp)
				if len(sorted) != n {
					b.Fatal("lost jobs")
				}
				work = sorted
			}
		})
	}
}

// BenchmarkSimulateSRPT runs the learner's SRPT simulation on the demo's window (600
// invocations, 2 cores) and a full one (10,000, 16 cores).
func BenchmarkSimulateSRPT(b *testing.B) {
	for _, bc := range []struct{ n, cores int }{{600, 2}, {10000, 16}} {
		b.Run(fmt.Sprintf("n=%d/cores=%d", bc.n, bc.cores), func(b *testing.B) {
			jobs, _ := sortByArrival(simJobs(bc.n, bc.cores), nil)
			stats := make([]SegStats, 500)
			var s simulator
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				clear(stats)
				s.run(jobs, bc.cores, stats)
			}
		})
	}
}

// BenchmarkLearnerUpdateSmall is BenchmarkLearnerUpdate on the demo's window: 600
// invocations on the 2 vCPUs of the VM, the size the daemon learns from in make demo.
func BenchmarkLearnerUpdateSmall(b *testing.B) {
	ld, err := configs.NewLoader()
	if err != nil {
		b.Fatal(err)
	}
	c, err := ld.Load()
	if err != nil {
		b.Fatal(err)
	}
	cfg := FromConfig(c)
	cfg.Cores = 2
	cfg.WindowSpan = 0
	l, err := NewLearner(cfg)
	if err != nil {
		b.Fatal(err)
	}
	recs := benchWindow(2)[:600]
	slices.SortFunc(recs, func(a, b Record) int { return int(a.End() - b.End()) })
	for _, r := range recs {
		l.Observe(r)
	}
	now := recs[len(recs)-1].End()
	times := make([]float64, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := nanotime()
		tab := l.Update(now)
		times = append(times, float64(nanotime()-t0))
		if tab.Len() == 0 {
			b.Fatal("empty table")
		}
	}
	b.StopTimer()
	slices.Sort(times)
	b.ReportMetric(times[(len(times)*99)/100]/1e6, "p99-ms/update")
	b.ReportMetric(times[len(times)/2]/1e6, "p50-ms/update")
}
