package policy

import (
	"cmp"
	"fmt"
	"io"
	"slices"
)

// MaxFunctions bounds function ids: valid ids are 0..MaxFunctions-1 (the size of the
// scheduler's policy array).
const MaxFunctions = 16384

// MaxSteps is the most attained-service steps an Entry carries.
const MaxSteps = 8

// Entry is one function's row of the policy table.
type Entry struct {
	Rank   uint32 // 0 runs first
	Slice  int64  // guaranteed uninterrupted run, ns; 0: Knobs.DefaultSlice
	Demand int64  // predicted CPU demand per invocation, ns (for inspection only)

	// Attained-service steps (NSteps = 0: none, Rank applies): a task whose current
	// invocation has used at least StepAt[i] ns of CPU (StepAt[0] = 0, increasing) has rank
	// StepRank[i] for the last such i; Rank = StepRank[0]. See RankAt.
	NSteps   uint8
	StepAt   [MaxSteps]int64
	StepRank [MaxSteps]uint32
}

// RankAt returns the rank of a task of this entry's function whose current invocation has
// used attained ns of CPU: the rank of the last step whose threshold it has reached, or Rank
// when the entry has no steps.
func (e *Entry) RankAt(attained int64) uint32 {
	if e.NSteps == 0 {
		return e.Rank
	}
	r := e.StepRank[0]
	for i := 1; i < int(e.NSteps); i++ {
		if attained < e.StepAt[i] {
			break
		}
		r = e.StepRank[i]
	}
	return r
}

// Table is a versioned policy table: what the scheduler needs to order tasks. A Table is
// immutable once published; a new update makes a new Table.
type Table struct {
	Version uint64 // increases with every update
	Knobs   Knobs
	Entries map[uint32]Entry
	// Default, if HasDefault, is the entry of every function without one; else such
	// functions are unranked (plain fair vtime, the default slice).
	Default    Entry
	HasDefault bool
	// Classes are the entries of functions learned per class hint (warm invocations marked
	// with a class, package invocation): an invocation of such a function with a class in
	// Classes is ordered by that entry, any other by the function's (LookupClass).
	Classes map[ClassKey]Entry
}

// ClassKey names a function's invocations with one class hint.
type ClassKey struct {
	Function uint32
	Class    uint32 // never 0 (no hint)
}

// Lookup returns the entry of function fn; ok is false if the function has no entry (the
// scheduler then orders it as plain fair vtime with the default slice).
func (t *Table) Lookup(fn uint32) (e Entry, ok bool) {
	if t == nil {
		return Entry{}, false
	}
	e, ok = t.Entries[fn]
	return e, ok
}

// LookupClass returns the entry of function fn's invocations with class hint class: the
// class's own entry if the table has one, else the function's (Lookup).
func (t *Table) LookupClass(fn, class uint32) (e Entry, ok bool) {
	if t != nil && class != 0 {
		if e, ok = t.Classes[ClassKey{fn, class}]; ok {
			return e, ok
		}
	}
	return t.Lookup(fn)
}

// LookupOrDefault is Lookup falling back to the table's Default entry.
func (t *Table) LookupOrDefault(fn uint32) (e Entry, ok bool) {
	if e, ok = t.Lookup(fn); ok || t == nil || !t.HasDefault {
		return e, ok
	}
	return t.Default, true
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
	if _, err := fmt.Fprintf(w, "version %d wake_lag %dns default_slice %dns max_wait %dns preempt %v\n",
		t.Version, t.Knobs.WakeLag, t.Knobs.DefaultSlice, t.Knobs.MaxWait, t.Knobs.Preempt); err != nil {
		return err
	}
	ids := make([]uint32, 0, len(t.Entries))
	for id := range t.Entries {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		if err := writeEntry(w, fmt.Sprint(id), t.Entries[id]); err != nil {
			return err
		}
	}
	keys := make([]ClassKey, 0, len(t.Classes))
	for k := range t.Classes {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b ClassKey) int {
		if a.Function != b.Function {
			return cmp.Compare(a.Function, b.Function)
		}
		return cmp.Compare(a.Class, b.Class)
	})
	for _, k := range keys {
		if err := writeEntry(w, fmt.Sprintf("%d class %d", k.Function, k.Class), t.Classes[k]); err != nil {
			return err
		}
	}
	return nil
}

// writeEntry writes one line of WriteText.
func writeEntry(w io.Writer, name string, e Entry) error {
	if _, err := fmt.Fprintf(w, "%s rank %d slice %dns demand %dns", name, e.Rank, e.Slice, e.Demand); err != nil {
		return err
	}
	for i := 1; i < int(e.NSteps); i++ {
		if _, err := fmt.Fprintf(w, " from %dns rank %d", e.StepAt[i], e.StepRank[i]); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintln(w)
	return err
}
