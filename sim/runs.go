package sim

// Helpers of the policies that time-slice through Env (cfs-global, vtime, gittins).

// openRuns tracks the cores running an open (unbounded) quantum.
type openRuns struct {
	open    []bool
	settled []int64 // ns of the current run already charged
	n       int
}

func (o *openRuns) init(cores int) {
	o.open = make([]bool, cores)
	o.settled = make([]int64, cores)
}

func (o *openRuns) start(c int, open bool) {
	o.settled[c] = 0
	if open {
		o.open[c] = true
		o.n++
	}
}

// stop returns the part of ran not yet charged.
func (o *openRuns) stop(c int, ran int64) int64 {
	if o.open[c] {
		o.open[c] = false
		o.n--
	}
	ran -= o.settled[c]
	o.settled[c] = 0
	return ran
}

// ran is how long core c's task has run so far.
func ran(e *Env, c int) int64 {
	if r := e.Now() - e.RunStart(c); r > 0 {
		return r
	}
	return 0
}
