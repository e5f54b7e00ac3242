package invocation

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// mark is one boundary of a scenario.
type mark struct {
	kind  uint32
	time  uint64
	class uint32
}

func st(t uint64, class uint32) mark { return mark{KindStart, t, class} }
func en(t uint64) mark               { return mark{KindEnd, t, 0} }

// run is one observation: the thread ran [from, to] and marked ms meanwhile, charged cpu
// (0: to - from).
type run struct {
	from, to uint64
	ms       []mark
	cpu      uint64
}

const testTID = 4242

// replay writes each run's marks into one area, observes it after each run and returns the
// observations and the final state.
func replay(runs []run) ([]Obs, State) {
	a := &Area{Magic: Magic, TID: testTID, NEvents: Events}
	var s State
	var out []Obs
	for _, r := range runs {
		for _, m := range r.ms {
			a.Ev[a.Seq%Events] = Event{Time: m.time, Kind: m.kind, Class: m.class}
			a.Seq++
		}
		cpu := r.to - r.from
		if r.cpu != 0 {
			cpu = r.cpu
		}
		out = append(out, Observe(&s, a, testTID, r.from, r.to, cpu))
	}
	return out, s
}

func TestObserve(t *testing.T) {
	many := func(n int, at func(i int) mark) []mark {
		var ms []mark
		for i := range n {
			ms = append(ms, at(i))
		}
		return ms
	}
	tests := []struct {
		name string
		runs []run
		want []Obs // Done nil for none
		end  State
	}{
		{"no marks", []run{{0, 50, nil, 0}}, []Obs{{}}, State{}},
		{"one invocation in one run", []run{{0, 50, []mark{st(10, 3), en(30)}, 0}},
			[]Obs{{Done: []Done{{10, 30, 20, 3, false}}, Started: 1, Marked: true, Last: 30}}, State{Seen: 2}},
		{"across three runs", []run{{0, 50, []mark{st(20, 1)}, 0}, {100, 150, nil, 0}, {200, 260, []mark{en(230)}, 0}},
			[]Obs{{Started: 1, Marked: true, Fresh: true, Last: 20}, {}, {Done: []Done{{20, 230, 30 + 50 + 30, 1, true}}, Marked: true, Last: 230}},
			State{Seen: 2}},
		{"back to back in one run", []run{{0, 100, []mark{st(10, 1), en(20), st(20, 2), en(50), st(60, 0)}, 0}},
			[]Obs{{Done: []Done{{10, 20, 10, 1, false}, {20, 50, 30, 2, false}}, Started: 3, Marked: true, Fresh: true, Last: 60}},
			State{Seen: 5, Start: 60, CPU: 40, Inside: true}},
		{"start inside an invocation is ignored", []run{{0, 100, []mark{st(10, 1), st(40, 2), en(70)}, 0}},
			[]Obs{{Done: []Done{{10, 70, 60, 1, false}}, Started: 1, Nested: 1, Marked: true, Last: 70}}, State{Seen: 3}},
		{"end without a start is ignored", []run{{0, 100, []mark{en(10), en(20)}, 0}},
			[]Obs{{Unmatched: 2}}, State{Seen: 2}},
		{"starts that never end: attained keeps growing", []run{{0, 10, many(5, func(i int) mark { return st(uint64(2*i), 0) }), 0}, {20, 30, many(5, func(i int) mark { return st(uint64(20+2*i), 0) }), 0}},
			[]Obs{{Started: 1, Nested: 4, Marked: true, Fresh: true, Last: 0}, {Nested: 5}},
			State{Seen: 10, Start: 0, CPU: 20, Inside: true}},
		{"times clamped into the run", []run{{100, 200, []mark{st(5, 0), en(900)}, 0}},
			[]Obs{{Done: []Done{{100, 200, 100, 0, false}}, Started: 1, Marked: true, Last: 200}}, State{Seen: 2}},
		{"time going back is clamped to the last boundary", []run{{0, 100, []mark{st(50, 0), en(40)}, 0}},
			[]Obs{{Done: []Done{{50, 50, 0, 0, false}}, Started: 1, Marked: true, Last: 50}}, State{Seen: 2}},
		{"charged at the run's rate", []run{{0, 100, []mark{st(20, 0)}, 50}, {200, 300, []mark{en(250)}, 100}},
			[]Obs{{Started: 1, Marked: true, Fresh: true, Last: 20}, {Done: []Done{{20, 250, 40 + 50, 0, true}}, Marked: true, Last: 250}},
			State{Seen: 2}},
		{"charged beyond the run's length before its start: not the invocation's", []run{{0, 100, []mark{st(0, 0), en(100)}, 500}},
			[]Obs{{Done: []Done{{0, 100, 100, 0, false}}, Started: 1, Marked: true, Last: 100}}, State{Seen: 2}},
		// The kernel charged the run that went on with the invocation 30 (then 20) more than
		// its length: the pick before it, which counts as the invocation's, as the task clock.
		{"charged beyond the run's length inside an invocation", []run{{0, 50, []mark{st(10, 0)}, 0}, {100, 150, nil, 80}, {200, 260, []mark{en(230)}, 0}},
			[]Obs{{Started: 1, Marked: true, Fresh: true, Last: 10}, {}, {Done: []Done{{10, 230, 40 + 80 + 30, 0, true}}, Marked: true, Last: 230}},
			State{Seen: 2}},
		{"charged beyond the run's length, ending in it", []run{{0, 50, []mark{st(10, 0)}, 0}, {100, 150, []mark{en(120), st(130, 1)}, 70}},
			[]Obs{{Started: 1, Marked: true, Fresh: true, Last: 10}, {Done: []Done{{10, 120, 40 + 20 + 20, 0, true}}, Started: 1, Marked: true, Fresh: true, Last: 130}},
			State{Seen: 3, Start: 130, CPU: 20, Inside: true, Class: 1}},
		{"unknown kind", []run{{0, 100, []mark{{kind: 7, time: 10}, st(20, 0)}, 0}},
			[]Obs{{Started: 1, Bad: 1, Marked: true, Fresh: true, Last: 20}}, State{Seen: 2, Start: 20, CPU: 80, Inside: true}},
		{"more events than the area keeps", []run{{0, 1000, many(Events+4, func(i int) mark {
			if i%2 == 0 {
				return st(uint64(10*i), 0)
			}
			return en(uint64(10 * i))
		}), 0}},
			[]Obs{{Done: []Done{{40, 50, 10, 0, false}, {60, 70, 10, 0, false}, {80, 90, 10, 0, false}, {100, 110, 10, 0, false},
				{120, 130, 10, 0, false}, {140, 150, 10, 0, false}, {160, 170, 10, 0, false}, {180, 190, 10, 0, false}},
				Started: 8, Lost: 4, Marked: true, Last: 190}}, State{Seen: Events + 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, s := replay(tt.runs)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("observations\n got %+v\nwant %+v", got, tt.want)
			}
			if s != tt.end {
				t.Errorf("state %+v, want %+v", s, tt.end)
			}
		})
	}
}

// TestObserveUntrusted: an area that is not the thread's is not read; one registered again
// (Seq back) drops the invocation in progress.
func TestObserveUntrusted(t *testing.T) {
	a := &Area{Magic: Magic, TID: testTID, NEvents: Events, Seq: 1, Ev: [Events]Event{{Time: 10, Kind: KindStart}}}
	var s State
	Observe(&s, a, testTID, 0, 50, 50) // inside since 10: 40 of CPU
	for _, bad := range []func(a *Area){
		func(a *Area) { a.Magic++ },
		func(a *Area) { a.TID++ },
		func(a *Area) { a.NEvents = Events * 2 },
	} {
		b := *a
		bad(&b)
		b.Ev[1], b.Seq = Event{Time: 60, Kind: KindEnd}, 2
		before := s
		o := Observe(&s, &b, testTID, 50, 100, 50)
		if o.Bad != 1 || o.Marked || len(o.Done) != 0 || s.Seen != before.Seen || s.CPU != before.CPU+50 || !s.Inside {
			t.Errorf("foreign area: obs %+v state %+v (before %+v): want it unread, the run counted", o, s, before)
		}
	}
	a.Seq = 0
	a.Ev[0] = Event{Time: 200, Kind: KindEnd}
	a.Seq = 1
	s.Seen = 5
	o := Observe(&s, a, testTID, 150, 250, 100)
	if o.Bad != 1 || o.Unmatched != 1 || s.Inside || s.Seen != 1 {
		t.Errorf("area registered again: obs %+v state %+v, want the invocation dropped and its event read", o, s)
	}
}

// TestBoundaryHeader runs random observations, of well-formed and broken areas alike,
// through boundary.h (a host harness built with cc) and Observe, and compares them.
func TestBoundaryHeader(t *testing.T) {
	cc, err := exec.LookPath("cc")
	if err != nil {
		t.Skip("no C compiler (cc) on PATH")
	}
	bin := filepath.Join(t.TempDir(), "boundary")
	if out, err := exec.Command(cc, "-O2", "-Wall", "-Werror", "-o", bin, "testdata/boundary_harness.c").CombinedOutput(); err != nil {
		t.Fatalf("cc: %v\n%s", err, out)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for scenario := range 200 {
		var in, want bytes.Buffer
		a := &Area{Magic: Magic, TID: testTID, NEvents: Events}
		var s State
		now := uint64(0)
		for range 30 {
			from := now + uint64(rng.IntN(100))
			to := from + uint64(rng.IntN(200))
			for range rng.IntN(Events + 6) { // sometimes more than the area keeps
				kind := uint32(KindStart + rng.IntN(2))
				if rng.IntN(40) == 0 {
					kind = uint32(rng.IntN(5))
				}
				tm := from + uint64(rng.IntN(int(to-from)+1))
				if rng.IntN(10) == 0 {
					tm = uint64(rng.IntN(int(to) + 300)) // out of the run
				}
				a.Ev[a.Seq%Events] = Event{Time: tm, Kind: kind, Class: uint32(rng.IntN(4))}
				a.Seq++
			}
			b := *a
			switch rng.IntN(30) {
			case 0:
				b.Magic ^= 1
			case 1:
				b.TID++
			case 2:
				a.Seq /= 2 // registered again
				b.Seq = a.Seq
			}
			cpu := uint64(rng.IntN(int(to-from) + 50))
			fmt.Fprintf(&in, "%d %d %d %d %d %d %d %d", testTID, from, to, cpu, b.Magic, b.TID, b.NEvents, b.Seq)
			for _, e := range b.Ev {
				fmt.Fprintf(&in, " %d %d %d", e.Time, e.Kind, e.Class)
			}
			in.WriteString("\n")
			o := Observe(&s, &b, testTID, from, to, cpu)
			fmt.Fprintf(&want, "%d %d %d %d %d %d %d %d %d %d %d %d %d %d", s.Seen, s.Start, s.CPU, b2i(s.Inside), s.Class,
				len(o.Done), o.Started, o.Nested, o.Unmatched, o.Lost, o.Bad, b2i(o.Marked), b2i(o.Fresh), o.Last)
			for _, d := range o.Done {
				fmt.Fprintf(&want, " %d %d %d %d %d", d.Start, d.End, d.CPU, d.Class, b2i(d.Carried))
			}
			want.WriteString("\n")
			now = to
		}
		cmd := exec.Command(bin)
		cmd.Stdin = bytes.NewReader(in.Bytes())
		got, err := cmd.Output()
		if err != nil {
			t.Fatalf("harness: %v", err)
		}
		g, w := strings.Split(string(got), "\n"), strings.Split(want.String(), "\n")
		for i := range w {
			if i >= len(g) || g[i] != w[i] {
				t.Fatalf("scenario %d, observation %d:\n  C %q\n Go %q", scenario, i, g[min(i, len(g)-1)], w[i])
			}
		}
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
