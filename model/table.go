package model

import (
	"fmt"
	"io"
	"slices"
)

// Knobs are the global parameters of the ordering rule (backend/ORDERING.md) that travel
// with every policy table, in nanoseconds.
type Knobs struct {
	RankStep     int64 // vtime offset per rank level
	MaxPenalty   int64 // starvation bound: no key sits more than this ahead of the global vtime
	WakeLag      int64 // most vtime credit a sleeper keeps
	DefaultSlice int64 // slice of a function without an entry
}

// Entry is one function's policy.
type Entry struct {
	Rank   uint32 // 0 runs first
	Slice  int64  // guaranteed uninterrupted run (ns)
	Demand int64  // predicted CPU demand per invocation (ns), for inspection

	// Attained-service steps (learner.attained_ranks; NSteps = 0: none, Rank applies):
	// a task whose current invocation has used at least StepAt[i] ns of CPU (StepAt[0] = 0,
	// increasing) has rank StepRank[i] for the last such i; Rank = StepRank[0]. See RankAt.
	NSteps   uint8
	StepAt   [MaxAttainedSteps]int64
	StepRank [MaxAttainedSteps]uint32
}

// Table is a versioned policy table: what the backend needs to order tasks. A Table is
// immutable once returned by a Learner; a new update returns a new Table.
type Table struct {
	Version uint64 // increases with every update
	Knobs   Knobs
	Entries map[uint32]Entry
	// Default, if HasDefault, is the entry of every function without one (attained steps
	// from the pooled window, learner.attained_default); else such functions are unranked.
	Default    Entry
	HasDefault bool
}

// LookupOrDefault is Lookup falling back to the table's Default entry.
func (t *Table) LookupOrDefault(fn uint32) (e Entry, ok bool) {
	if e, ok = t.Lookup(fn); ok || t == nil || !t.HasDefault {
		return e, ok
	}
	return t.Default, true
}

// Lookup returns the entry of function fn; ok is false if the function has no entry (the
// backend then orders it as plain fair vtime with the default slice).
func (t *Table) Lookup(fn uint32) (e Entry, ok bool) {
	if t == nil {
		return Entry{}, false
	}
	e, ok = t.Entries[fn]
	return e, ok
}

// Len is the number of functions in the table.
func (t *Table) Len() int {
	if t == nil {
		return 0
	}
	return len(t.Entries)
}

// WriteText writes the table in a human-readable form, functions in id order.
func (t *Table) WriteText(w io.Writer) error {
	if _, err := fmt.Fprintf(w, "version %d rank_step %dns max_penalty %dns wake_lag %dns default_slice %dns\n",
		t.Version, t.Knobs.RankStep, t.Knobs.MaxPenalty, t.Knobs.WakeLag, t.Knobs.DefaultSlice); err != nil {
		return err
	}
	ids := make([]uint32, 0, len(t.Entries))
	for id := range t.Entries {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		e := t.Entries[id]
		if _, err := fmt.Fprintf(w, "%d rank %d slice %dns demand %dns", id, e.Rank, e.Slice, e.Demand); err != nil {
			return err
		}
		for i := 1; i < int(e.NSteps); i++ {
			if _, err := fmt.Fprintf(w, " from %dns rank %d", e.StepAt[i], e.StepRank[i]); err != nil {
				return err
			}
		}
		if _, err := fmt.Fprintln(w); err != nil {
			return err
		}
	}
	return nil
}
