package sim

import "testing"

// TestSFSFilter checks the FILTER behaviour on hand-made instances: a new invocation runs
// first-in first-out for one slice, preempting demoted (cfs) work; an unfinished one is
// demoted to cfs; one that waited too long goes straight to cfs.
func TestSFSFilter(t *testing.T) {
	const ms = int64(1e6)
	cs := int64(5000) // the default 5 µs context switch
	p := testParams(t, 1).SFS
	tests := []struct {
		name string
		inv  []Invocation
		want []int64 // completion times
	}{
		{
			// A runs its 20 ms FIFO slice, is demoted, runs on in cfs; B arrives at 30 ms,
			// preempts A at real-time priority and finishes 5 ms later; A finishes last.
			"fifo preempts cfs",
			[]Invocation{{Arrival: 0, CPU: 100 * ms}, {Arrival: 30 * ms, CPU: 5 * ms}},
			[]int64{105*ms + 3*cs, 35*ms + cs},
		},
		{
			// Two short jobs in FIFO order, each run to completion within its slice.
			"fifo order",
			[]Invocation{{Arrival: 0, CPU: 10 * ms}, {Arrival: 1 * ms, CPU: 3 * ms}},
			[]int64{10*ms + cs, 13*ms + 2*cs},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := &Trace{Functions: []string{"f"}, Inv: tt.inv}
			res, err := Run(tr, NewSFS(p, 1), Options{Cores: 1})
			if err != nil {
				t.Fatal(err)
			}
			for i, w := range tt.want {
				if got := res.Records[i].End; got != w {
					t.Errorf("invocation %d ends at %d, want %d", i, got, w)
				}
			}
		})
	}
}

// TestSFSStarvation: with one core busy with a long FIFO slice, a queued job that waits more
// than 3 slices is sent to cfs, where it shares the core instead of waiting its turn in FIFO.
func TestSFSStarvation(t *testing.T) {
	const ms = int64(1e6)
	p := testParams(t, 1).SFS
	p.InitialSlice = 10 * ms
	p.CFS.ContextSwitch = 0
	// Ten 9 ms jobs arrive at once: each fits its 10 ms slice. The ones still queued after
	// 30 ms (more than 3 slices) go to cfs and are served there after the FIFO queue drains.
	tr := &Trace{Functions: []string{"f"}}
	for i := 0; i < 10; i++ {
		tr.Inv = append(tr.Inv, Invocation{Arrival: 0, CPU: 9 * ms})
	}
	res, err := Run(tr, NewSFS(p, 1), Options{Cores: 1})
	if err != nil {
		t.Fatal(err)
	}
	// FIFO runs jobs 0..3 back to back (ends 9, 18, 27, 36 ms); at 36 ms job 4 has waited
	// 36 ms > 30 ms, so it and all later ones are demoted and then share the core in cfs.
	for i := 0; i < 4; i++ {
		if got, want := res.Records[i].End, int64(i+1)*9*ms; got != want {
			t.Errorf("job %d ends at %d, want %d (FIFO)", i, got, want)
		}
	}
	for i := 4; i < 10; i++ {
		if res.Records[i].Start < 36*ms {
			t.Errorf("job %d started at %d, before the FIFO jobs ended", i, res.Records[i].Start)
		}
	}
	if res.Records[9].End != 90*ms {
		t.Errorf("last job ends at %d, want 90 ms (work conserving)", res.Records[9].End)
	}
}

// TestSFSCodeRequeue: SFS's released code re-queues a job that waited too long at the back
// of the FIFO queue instead of demoting it: the ten jobs of TestSFSStarvation then all run
// first-in first-out, one after the other.
func TestSFSCodeRequeue(t *testing.T) {
	const ms = int64(1e6)
	p := testParams(t, 1)
	p.SFS.InitialSlice = 10 * ms
	p.SFS.CFS.ContextSwitch = 0
	pol, err := New("sfs-code", Params{Cores: 1, SFS: p.SFS})
	if err != nil {
		t.Fatal(err)
	}
	if pol.Name() != "sfs-code" {
		t.Errorf("name %q", pol.Name())
	}
	tr := &Trace{Functions: []string{"f"}}
	for i := 0; i < 10; i++ {
		tr.Inv = append(tr.Inv, Invocation{Arrival: 0, CPU: 9 * ms})
	}
	res, err := Run(tr, pol, Options{Cores: 1})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		if got, want := res.Records[i].End, int64(i+1)*9*ms; got != want {
			t.Errorf("job %d ends at %d, want %d (FIFO)", i, got, want)
		}
	}
}
