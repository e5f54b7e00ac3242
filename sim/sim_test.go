package sim

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"testing"
)

// testParams are the parameters of the documented defaults (configs/alps.yaml) for cores
// cores, as configs' TestDefaultsGolden keeps them in testdata (sim cannot import configs,
// which imports sim).
func testParams(t testing.TB, cores int) Params {
	t.Helper()
	b, err := os.ReadFile("testdata/default_params.json")
	if err != nil {
		t.Fatal(err)
	}
	var p Params
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatalf("testdata/default_params.json: %v", err)
	}
	p.Cores = cores
	return p
}

// randomTrace returns n invocations with exponential inter-arrivals (mean ia ns) and
// exponential demands (mean d ns); a fraction ioFrac of them block.
func randomTrace(seed uint64, n int, ia, d float64, ioFrac float64) *Trace {
	r := rand.New(rand.NewPCG(seed, 7))
	tr := &Trace{Functions: []string{"f0", "f1", "f2", "f3"}}
	var at float64
	for i := 0; i < n; i++ {
		at += r.ExpFloat64() * ia
		in := Invocation{Arrival: int64(at), CPU: 1 + int64(r.ExpFloat64()*d), Func: uint32(r.IntN(4))}
		if r.Float64() < ioFrac {
			in.Waits = uint32(1 + r.IntN(3))
			in.IO = int64(r.ExpFloat64() * d)
		}
		tr.Inv = append(tr.Inv, in)
	}
	return tr
}

func runPolicy(t testing.TB, name string, tr *Trace, cores int, obs Observer) *Result {
	t.Helper()
	p, err := New(name, testParams(t, cores))
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(tr, p, Options{Cores: cores, Observer: obs})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return res
}

// segmentCheck records segments and checks they never overlap on a core.
type segmentCheck struct {
	t       testing.TB
	coreEnd []int64
	cpu     []int64
}

func (s *segmentCheck) Segment(t TaskID, core int, start, end int64, _ StopReason) {
	if start < s.coreEnd[core] || end < start {
		s.t.Errorf("core %d: segment [%d,%d] overlaps the previous one ending %d", core, start, end, s.coreEnd[core])
	}
	s.coreEnd[core] = end
	s.cpu[t] += end - start
}

// TestInvariants checks, for every policy, that no invocation is lost, that each completes
// no earlier than arrival + demand + I/O, that busy time equals total demand (work
// conservation: the simulator never loses or invents work), and that the segments an
// Observer sees add up to each invocation's demand.
func TestInvariants(t *testing.T) {
	for _, cores := range []int{1, 3, 16} {
		tr := randomTrace(uint64(cores), 3000, 1e6/float64(cores), 0.85e6, 0.3)
		for _, name := range Names() {
			seg := &segmentCheck{t: t, coreEnd: make([]int64, cores), cpu: make([]int64, len(tr.Inv))}
			var obs Observer = seg
			if p, _ := New(name, testParams(t, cores)); isFluid(p) { // fluid models: no segments
				obs = nil
				for i := range tr.Inv {
					seg.cpu[i] = tr.Inv[i].CPU
				}
			}
			res := runPolicy(t, name, tr, cores, obs)
			if res.Busy != tr.TotalCPU() {
				t.Errorf("%s/%d cores: busy %d != total demand %d", name, cores, res.Busy, tr.TotalCPU())
			}
			for i, r := range res.Records {
				in := tr.Inv[i]
				switch {
				case r.End < 0:
					t.Fatalf("%s/%d: invocation %d lost", name, cores, i)
				case r.End < in.Arrival+in.CPU+in.IO:
					t.Fatalf("%s/%d: invocation %d ends %d < arrival+cpu+io %d", name, cores, i, r.End, in.Arrival+in.CPU+in.IO)
				case r.Start < in.Arrival:
					t.Fatalf("%s/%d: invocation %d starts before it arrives", name, cores, i)
				case r.Blocked != in.IO || r.Wakeups != in.Waits:
					t.Fatalf("%s/%d: invocation %d blocked %d/%d wakeups %d/%d", name, cores, i, r.Blocked, in.IO, r.Wakeups, in.Waits)
				case seg.cpu[i] != in.CPU:
					t.Fatalf("%s/%d: invocation %d segments sum to %d, demand %d", name, cores, i, seg.cpu[i], in.CPU)
				case r.Wait() < 0:
					t.Fatalf("%s/%d: invocation %d negative wait", name, cores, i)
				}
			}
		}
	}
}

func TestUnknownPolicy(t *testing.T) {
	_, err := New("lifo", testParams(t, 1))
	if err == nil || err.Error() != `unknown policy "lifo" (valid: `+joinNames()+`)` {
		t.Fatalf("error %v", err)
	}
}

func joinNames() string {
	s := ""
	for i, n := range Names() {
		if i > 0 {
			s += ", "
		}
		s += n
	}
	return s
}

// isFluid reports whether p is simulated by its own fluid event loop (no run segments).
func isFluid(p Policy) bool {
	_, ok := p.(simulator)
	return ok
}
