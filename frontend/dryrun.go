package frontend

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/alps-sched/alps/policy"
)

// LogKernel is the kernel side of a dry run: nothing is attached; classifications and policy
// pushes are logged, and records come from Feed (or nowhere).
type LogKernel struct {
	log     zerolog.Logger
	records chan policy.Record
	exited  chan policy.ExitInfo
	once    sync.Once
}

// NewLogKernel returns a dry-run kernel logging to log.
func NewLogKernel(log zerolog.Logger) *LogKernel {
	return &LogKernel{log: log, records: make(chan policy.Record, 1024), exited: make(chan policy.ExitInfo)}
}

// SetPolicy logs the table's size (the daemon logs its top entries).
func (k *LogKernel) SetPolicy(t *policy.Table) error {
	if t == nil {
		k.log.Info().Msg("dry run: would clear the policy table")
		return nil
	}
	k.log.Debug().Uint64("version", t.Version).Int("functions", t.Len()).Msg("dry run: would push the policy table")
	return nil
}

// Heartbeat does nothing.
func (k *LogKernel) Heartbeat() error { return nil }

// SetCgroupFunction logs the classification.
func (k *LogKernel) SetCgroupFunction(id uint64, fn uint32) error {
	k.log.Info().Uint64("cgroup_id", id).Uint32("function", fn).Msg("dry run: would classify cgroup")
	return nil
}

// DeleteCgroup logs it.
func (k *LogKernel) DeleteCgroup(id uint64) error {
	k.log.Info().Uint64("cgroup_id", id).Msg("dry run: would forget cgroup")
	return nil
}

// SetCommFunction logs the classification.
func (k *LogKernel) SetCommFunction(comm string, fn uint32) error {
	k.log.Info().Str("comm", comm).Uint32("function", fn).Msg("dry run: would classify process name")
	return nil
}

// Records returns the channel Feed writes to.
func (k *LogKernel) Records() <-chan policy.Record { return k.records }

// Dropped is 0: a dry run drops nothing on the kernel side.
func (k *LogKernel) Dropped() uint64 { return 0 }

// Exited never fires.
func (k *LogKernel) Exited() <-chan policy.ExitInfo { return k.exited }

// Close ends the records.
func (k *LogKernel) Close() (policy.ExitInfo, error) {
	k.once.Do(func() { close(k.records) })
	return policy.ExitInfo{}, nil
}

// ReplayResult is the outcome of a dry run over recorded invocations.
type ReplayResult struct {
	Updates int
	Table   *policy.Table
	Names   func(uint32) string
}

// Invocation is one recorded invocation a dry run replays (cmd/alps-frontend reads them from
// a load generator's results file). Times are nanoseconds.
type Invocation struct {
	Function string
	Start    int64
	End      int64
	CPU      int64
	Lost     bool // never completed: not learned from
}

// ErrNoCompleted is returned by Replay when no recorded invocation completed.
var ErrNoCompleted = errors.New("replay: no completed invocations")

// Replay is the dry run over recorded invocations: it feeds them to l in completion order and
// runs an update every interval of recorded time, logging each decision. Function names become
// ids through reg.
func Replay(recs []Invocation, l Learner, reg *Registry, interval time.Duration, log zerolog.Logger) (ReplayResult, error) {
	if interval <= 0 {
		return ReplayResult{}, fmt.Errorf("replay: update interval must be > 0")
	}
	done := make([]Invocation, 0, len(recs))
	for _, r := range recs {
		if !r.Lost && r.End >= r.Start {
			done = append(done, r)
		}
	}
	sort.SliceStable(done, func(i, j int) bool { return done[i].End < done[j].End })
	res := ReplayResult{Names: reg.Name}
	if len(done) == 0 {
		return res, ErrNoCompleted
	}
	next := done[0].End + int64(interval)
	update := func(now int64) {
		res.Table = l.Update(now)
		res.Updates++
		log.Info().Int64("at_ms", now/1e6).Uint64("version", res.Table.Version).Int("functions", res.Table.Len()).
			Str("top", TopEntries(res.Table, reg.Name, 5)).Msg("dry run: policy")
	}
	for _, r := range done {
		if r.End >= next {
			update(next)
			next += int64(interval)
		}
		if r.End >= next {
			// No record arrived for a while: the updates in between differ only by the
			// records that expire. Run the last one before r.End, not every one (a gap of
			// days at a 1 ms interval would be billions of updates).
			next += (r.End - next) / int64(interval) * int64(interval)
			update(next)
			next += int64(interval)
		}
		id, evicted := reg.ID(r.Function)
		if f, ok := l.(Forgetter); ok && evicted != "" {
			f.Forget(id)
		}
		l.Observe(policy.Record{Function: id, Start: r.Start, End: r.End, CPU: r.CPU})
	}
	update(next)
	return res, nil
}

// WriteTable prints a policy table, first-ranked first, at most n rows (n <= 0: all).
func WriteTable(w io.Writer, t *policy.Table, name func(uint32) string, n int) {
	rows := Rank(t, name)
	if n > 0 && len(rows) > n {
		rows = rows[:n]
	}
	fmt.Fprintf(w, "%-16s %6s %10s %12s\n", "FUNCTION", "RANK", "SLICE_MS", "DEMAND_MS")
	for _, r := range rows {
		fmt.Fprintf(w, "%-16s %6d %10.2f %12.2f\n", r.Name, r.Rank, float64(r.Slice)/1e6, float64(r.Demand)/1e6)
	}
}
