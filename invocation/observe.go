package invocation

// The scheduler's side of the interface, step for step the same as boundary.h (which the BPF
// scheduler includes): how a thread's area is read when the thread stops running.

// DoneMax is how many invocations one observation can finish.
const DoneMax = Events / 2

// State is a thread's invocation state, kept by the scheduler.
type State struct {
	Seen   uint64 // events of the area consumed
	Start  uint64 // inside: the invocation's start
	CPU    uint64 // inside: CPU it used up to the last observation
	Inside bool
	Class  uint32 // inside: its class hint
}

// Done is one finished invocation.
type Done struct {
	Start, End, CPU uint64
	Class           uint32
	Carried         bool // it started before this observation
}

// Obs is what one observation found.
type Obs struct {
	Done      []Done
	Started   int  // starts honoured
	Nested    int  // starts inside an invocation, ignored
	Unmatched int  // ends outside an invocation, ignored
	Lost      int  // events overwritten before they were read
	Bad       int  // the area is not the thread's or went back (1), or events of no known kind
	Marked    bool // a boundary was honoured: the invocation's attained CPU runs from Last
	Fresh     bool // the invocation in progress started in this observation
	Last      uint64
}

// Observe reads area a of thread tid at the end of its run [runStart, now] (CLOCK_MONOTONIC
// ns, the area read while the thread was current), for which the task clock charged runCPU:
// it consumes the events written since s.Seen and updates s. Everything in the area is untrusted: an area that is not the thread's
// (magic, tid or size) is not read, and the run still counts towards an invocation in
// progress; one whose Seq went back was registered again, so the invocation in progress is
// dropped and its events are read from the first; event times are clamped into the part of
// the run not yet accounted for; a start inside an invocation and an end outside one are
// counted and ignored. An invocation's CPU is the part of its runs between its start and its
// end, each part charged at its run's rate of CPU per ns (runCPU over the run's length, at
// most 1) and the CPU charged beyond the run's length to the invocation the run began in, so
// that a run wholly inside an invocation counts what the task clock counts.
func Observe(s *State, a *Area, tid uint32, runStart, now, runCPU uint64) Obs {
	var o Obs
	runStart = min(runStart, now)
	r, early := rate(now-runStart, runCPU), earlyCPU(now-runStart, runCPU)
	cursor := runStart
	var n, first uint64
	if a.Magic != Magic || a.TID != tid || a.NEvents != Events {
		o.Bad = 1
	} else {
		if a.Seq < s.Seen {
			o.Bad = 1
			*s = State{}
		}
		n, first = a.Seq-s.Seen, s.Seen
		if n > Events {
			o.Lost = int(min(n-Events, 0xffffffff))
			first, n = a.Seq-Events, Events
		}
		s.Seen = a.Seq
	}
	if s.Inside {
		s.CPU += early
	}
	for i := range n {
		e := a.Ev[(first+i)%Events]
		t := min(max(e.Time, cursor), now)
		switch e.Kind {
		case KindStart:
			if s.Inside {
				o.Nested++
				continue
			}
			s.Inside, s.Start, s.CPU, s.Class = true, t, 0, e.Class
			o.Started++
			o.Fresh = true
		case KindEnd:
			if !s.Inside {
				o.Unmatched++
				continue
			}
			o.Done = append(o.Done, Done{Start: s.Start, End: t, CPU: s.CPU + part(t-cursor, r), Class: s.Class, Carried: !o.Fresh})
			s.Inside, s.Start, s.CPU, s.Class, o.Fresh = false, 0, 0, 0, false
		default:
			o.Bad++
			continue
		}
		cursor = t
		o.Marked, o.Last = true, t
	}
	if s.Inside {
		s.CPU += part(now-cursor, r)
	}
	return o
}

// runMax is the longest run length and CPU scaled exactly (18 minutes); rateOne is the
// rate 1 in fixed point.
const (
	runMax  = 1 << 40
	rateOne = 1 << 20
)

// rate is the CPU per ns of a run of length wall charged cpu, in fixed point.
func rate(wall, cpu uint64) uint64 {
	wall = min(wall, runMax)
	cpu = min(cpu, wall) // a task is charged no more than it ran
	if wall == 0 {
		return rateOne
	}
	return cpu << 20 / wall
}

// earlyCPU is the CPU a run of length wall was charged beyond its length. The kernel charges a
// task from the rq clock it read before the pick that started the run, while the run is timed
// from ops.running: that excess was spent before the run, so it goes to the invocation the
// thread was in when the run began.
func earlyCPU(wall, cpu uint64) uint64 {
	wall, cpu = min(wall, runMax), min(cpu, runMax)
	if cpu > wall {
		return cpu - wall
	}
	return 0
}

// part is the CPU of a part of length d of a run at rate r.
func part(d, r uint64) uint64 { return min(d, runMax) * r >> 20 }
