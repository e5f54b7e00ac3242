package frontend

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"time"

	"github.com/google/renameio/v2"

	"github.com/alps-sched/alps/policy"
)

// The state file (frontend.state_file) keeps the learner's window across restarts: most of
// what alps loses against a policy that knows each function's demand is the time it takes to
// learn (experiments/gittins.md, "learning time"), and a restart would otherwise pay it again.

const (
	stateVersion  = 1
	maxStateBytes = 1 << 30 // a window of 1,000,000 records is about 200 MB of JSON
	maxStateName  = 256     // bytes of a function name, as in frontend.process_names
	maxStateNs    = 1e15    // a record's times, ns (11.6 days: the configuration's longest duration)
)

// stateFile is the file's JSON. Times are ages, so that a file saved before a reboot (another
// CLOCK_MONOTONIC) is read back right: a record ended AgeNs before the save, which was at
// SavedUnixNs on the wall clock.
type stateFile struct {
	Version     int           `json:"version"`
	SavedUnixNs int64         `json:"saved_unix_ns"`
	Records     []stateRecord `json:"records"`
}

type stateRecord struct {
	Function   string `json:"function"`
	AgeNs      int64  `json:"age_ns"`  // from its end to the save
	WallNs     int64  `json:"wall_ns"` // from its arrival to its end
	CPUNs      int64  `json:"cpu_ns"`
	RunDelayNs int64  `json:"run_delay_ns"`
	Nvcsw      uint64 `json:"nvcsw"`
	Nivcsw     uint64 `json:"nivcsw"`
	Class      uint32 `json:"class,omitempty"`
}

// A namedRecord is a record of the state file, its function by name.
type namedRecord struct {
	Function string
	policy.Record
}

// saveState writes recs to path atomically (mode 0600), each record's function named by name
// (records of a function without a name are left out); now is the time on the records' clock
// and wall the wall clock, both at the save.
func saveState(path string, recs []policy.Record, name func(uint32) string, now int64, wall time.Time) error {
	st := stateFile{Version: stateVersion, SavedUnixNs: wall.UnixNano(), Records: make([]stateRecord, 0, len(recs))}
	for _, r := range recs {
		fn := name(r.Function)
		if fn == "" {
			continue
		}
		st.Records = append(st.Records, stateRecord{Function: fn, AgeNs: max(now-r.End, 0), WallNs: r.Wall(),
			CPUNs: r.CPU, RunDelayNs: r.RunDelay, Nvcsw: r.Nvcsw, Nivcsw: r.Nivcsw, Class: r.Class})
	}
	b, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("state file %s: %w", path, err)
	}
	if err := renameio.WriteFile(path, b, 0o600); err != nil {
		return fmt.Errorf("state file %s: %w", path, err)
	}
	return nil
}

// loadState reads the records of path back onto the records' clock (now, with wall the wall
// clock) in the order they ended, without those that ended more than span ago; at most limit,
// the newest. A missing file is an error satisfying errors.Is(err, fs.ErrNotExist); any other
// problem is one line naming the file.
func loadState(path string, now int64, wall time.Time, span int64, limit int) ([]namedRecord, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("state file %s: %w", path, unwrapPath(err))
	}
	defer f.Close()
	return readState(f, path, now, wall, span, limit)
}

// readState is loadState on the contents of the file (f, named path in errors).
func readState(f io.Reader, path string, now int64, wall time.Time, span int64, limit int) ([]namedRecord, error) {
	var st stateFile
	dec := json.NewDecoder(io.LimitReader(f, maxStateBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		return nil, fmt.Errorf("state file %s: not a state file: %v", path, err)
	}
	if st.Version != stateVersion {
		return nil, fmt.Errorf("state file %s: version %d, this alps-frontend reads %d", path, st.Version, stateVersion)
	}
	// Time since the save; a wall clock set back counts as none.
	since := max(wall.UnixNano()-st.SavedUnixNs, 0)
	out := make([]namedRecord, 0, len(st.Records))
	for i, r := range st.Records {
		if err := r.check(); err != nil {
			return nil, fmt.Errorf("state file %s: record %d: %v", path, i+1, err)
		}
		age := r.AgeNs + since
		if age < 0 || age > span { // overflowed, or left the window while alps was down
			continue
		}
		end := now - age
		out = append(out, namedRecord{Function: r.Function, Record: policy.Record{Start: end - r.WallNs, End: end,
			CPU: r.CPUNs, RunDelay: r.RunDelayNs, Nvcsw: r.Nvcsw, Nivcsw: r.Nivcsw, Class: r.Class}})
	}
	slices.SortStableFunc(out, func(a, b namedRecord) int { return cmp.Compare(a.End, b.End) })
	if len(out) > limit {
		out = out[len(out)-limit:]
	}
	return out, nil
}

// check names the first impossible field of r.
func (r stateRecord) check() error {
	switch {
	case r.Function == "" || len(r.Function) > maxStateName:
		return fmt.Errorf("function name of %d bytes, want 1 to %d", len(r.Function), maxStateName)
	case r.AgeNs < 0 || r.WallNs < 0 || r.CPUNs < 0 || r.RunDelayNs < 0:
		return fmt.Errorf("a negative time (age_ns %d, wall_ns %d, cpu_ns %d, run_delay_ns %d)", r.AgeNs, r.WallNs, r.CPUNs, r.RunDelayNs)
	case r.WallNs > maxStateNs || r.CPUNs > maxStateNs || r.RunDelayNs > maxStateNs:
		return fmt.Errorf("a time beyond %g ns (wall_ns %d, cpu_ns %d, run_delay_ns %d)", float64(maxStateNs), r.WallNs, r.CPUNs, r.RunDelayNs)
	}
	return nil
}

// unwrapPath drops the *fs.PathError's repetition of the path.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
