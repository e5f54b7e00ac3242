package model

import (
	"fmt"
	"testing"
)

// simJobs are the SRPT simulation's input for the first n records of benchWindow.
func simJobs(n, cores int) []SimJob {
	recs := benchWindow(cores)[:n]
	jobs := make([]SimJob, n)
	for i, r := range recs {
		jobs[i] = SimJob{Arrival: r.Start, Demand: r.CPU, Class: int32(r.Function)}
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
	benchLearnerUpdate(b, 2, benchWindow(2)[:600], nil)
}
