package model_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/alps-sched/alps/model"
	"github.com/alps-sched/alps/sim"
)

// segments collects each task's run segments as sim reports them: count, sum and sum of
// squares in time order, as the learner's SegStats accumulate them.
type segments struct{ st []model.SegStats }

func (s *segments) Segment(t sim.TaskID, _ int, start, end int64, _ sim.StopReason) {
	if d := end - start; d > 0 {
		f := float64(d)
		s.st[t].Segments++
		s.st[t].SegSum += f
		s.st[t].SegSumSq += f * f
	}
}

// TestSimulateSRPTAgainstSim checks the learner's SRPT simulation against the simulator's
// srpt policy on random instances (exponential inter-arrivals and demands, loads 0.5-1.2, 1
// to 16 cores): every job's completion time, waiting time and run segments must be equal.
// Each job is its own class, so the learner's per-class statistics are per job. The two
// coincide where no tie arises: the arrivals are distinct and the demands random ns (the
// models break ties in remaining work differently: the learner by job index, sim by queue
// order); neither has I/O.
func TestSimulateSRPTAgainstSim(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 3))
	for i := range 200 {
		cores := []int{1, 2, 3, 4, 8, 16}[i%6]
		n := 1 + r.IntN(300)
		load := 0.5 + 0.7*r.Float64()
		mean := 1e6 + r.Float64()*50e6 // ns
		tr := &sim.Trace{Functions: []string{"f"}}
		jobs := make([]model.SimJob, n)
		var at int64
		for j := range n {
			at += 1 + int64(r.ExpFloat64()*mean/(load*float64(cores)))
			d := 1 + int64(r.ExpFloat64()*mean)
			tr.Inv = append(tr.Inv, sim.Invocation{Arrival: at, CPU: d})
			jobs[j] = model.SimJob{Arrival: at, Demand: d, Class: int32(j)}
		}
		name := fmt.Sprintf("instance %d (%d jobs, %d cores, load %.2f)", i, n, cores, load)

		want := make([]model.SegStats, n)
		last := model.SimulateSRPT(jobs, cores, want)

		p, err := sim.New("srpt", sim.Params{Cores: cores})
		if err != nil {
			t.Fatal(err)
		}
		got := &segments{st: make([]model.SegStats, n)}
		res, err := sim.Run(tr, p, sim.Options{Cores: cores, Observer: got})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var end int64
		for j, rec := range res.Records {
			g, w := got.st[j], want[j]
			g.Jobs, g.FCTSum, g.WaitSum = 1, float64(rec.FCT()), float64(rec.Wait())
			if g != w {
				t.Fatalf("%s: job %d (arrival %d, demand %d): sim %+v, learner %+v", name, j, jobs[j].Arrival, jobs[j].Demand, g, w)
			}
			end = max(end, rec.End)
		}
		if last != end {
			t.Fatalf("%s: last completion %d in the learner, %d in sim", name, last, end)
		}
	}
}
