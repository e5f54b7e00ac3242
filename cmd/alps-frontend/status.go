package main

import (
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/alps-sched/alps/backend"
	"github.com/alps-sched/alps/configs"
	"github.com/alps-sched/alps/frontend"
	"github.com/alps-sched/alps/policy"
)

// statusSource is what status reads: the pinned maps of a running daemon (backend.Pinned), or
// a fake in tests.
type statusSource interface {
	Snapshot() (backend.Snapshot, error)
	Close() error
}

// statusEnv is where status reads from; tests replace both.
type statusEnv struct {
	// open opens the pinned maps under a directory.
	open func(dir string) (statusSource, error)
	// schedExt returns the kernel's sched_ext state and running ops (backend.State).
	schedExt func() (state, ops string, err error)
}

// kernelStatus reads the real pins and sched_ext state.
func kernelStatus() statusEnv {
	return statusEnv{
		open: func(dir string) (statusSource, error) {
			if err := onBPFFS(dir); err != nil {
				return nil, err
			}
			return backend.OpenPinned(dir)
		},
		schedExt: backend.State,
	}
}

// statusOptions are the flags of the status command.
type statusOptions struct {
	top  int
	json bool
}

// statusReport is what status shows; its JSON form is `alps-frontend status --json`.
type statusReport struct {
	PinPath        string      `json:"pin_path"`
	SchedExt       string      `json:"sched_ext"` // enabled, disabled, ... or "unavailable: why"
	Ops            string      `json:"ops"`       // the running sched_ext scheduler, "" when none
	HeartbeatAgeMs float64     `json:"heartbeat_age_ms"`
	HeartbeatStale bool        `json:"heartbeat_stale"`
	StaleAfterMs   float64     `json:"stale_after_ms"` // 0: never stale
	Generation     uint32      `json:"generation"`
	Knobs          statusKnobs `json:"knobs"`
	Functions      int         `json:"functions"` // functions in the live table
	// Default is the live table's entry of every function without one; null when it has
	// none (such functions are unranked).
	Default *statusEntry `json:"default"`
	Top     []statusRow  `json:"top"` // first-ranked first
	// Classed are the functions learned per class hint (warm invocations, learner.class_keys),
	// with the classes the live table has entries of.
	Classed  []statusClassed `json:"classed"`
	Counters statusCounters  `json:"counters"`
}

// statusClassed is a function learned per class hint.
type statusClassed struct {
	ID      uint32        `json:"id"`
	Name    string        `json:"name"`
	Classes []statusClass `json:"classes"`
}

type statusClass struct {
	Class uint32 `json:"class"`
	statusEntry
}

type statusKnobs struct {
	WakeLagMs      float64 `json:"wake_lag_ms"`
	DefaultSliceMs float64 `json:"default_slice_ms"`
	MaxWaitMs      float64 `json:"max_wait_ms"` // 0: the starvation guard is off
	Preempt        bool    `json:"preempt"`
}

// statusEntry is a policy entry as status shows it.
type statusEntry struct {
	Rank uint32 `json:"rank"`
	// SliceMs is the slice the function's tasks run with (the default slice when the table
	// leaves it 0).
	SliceMs float64 `json:"slice_ms"`
	// Steps are the attained-service steps: from FromMs of CPU used in an invocation on,
	// its tasks have Rank, a priority level (empty: Rank throughout).
	Steps []statusStep `json:"steps"`
}

type statusRow struct {
	ID   uint32 `json:"id"`
	Name string `json:"name"` // "#ID" when no classifier names it
	statusEntry
	// ClassifiedBy lists what makes a task this function: "comm NAME" or "cgroup PATH".
	ClassifiedBy []string `json:"classified_by"`
}

type statusStep struct {
	FromMs float64 `json:"from_ms"`
	Rank   uint32  `json:"rank"`
}

type statusCounters struct {
	Enqueues    uint64 `json:"enqueues"`
	Direct      uint64 `json:"direct"`
	Ranked      uint64 `json:"ranked"`
	Default     uint64 `json:"default"`
	Stale       uint64 `json:"stale"`
	Aged        uint64 `json:"aged"`
	Preempted   uint64 `json:"preempted"`
	Kept        uint64 `json:"kept"`
	Dispatches  uint64 `json:"dispatches"`
	Records     uint64 `json:"records"`
	RecordsLost uint64 `json:"records_lost"`
	Classified  uint64 `json:"classified"`
	// Warm invocations: boundaries marked by worker threads (backend.Counters).
	Classed         uint64 `json:"classed"`
	MarkedStarts    uint64 `json:"marked_starts"`
	NestedStarts    uint64 `json:"nested_starts"`
	UnmatchedEnds   uint64 `json:"unmatched_ends"`
	MarksLost       uint64 `json:"marks_lost"`
	BadAreas        uint64 `json:"bad_areas"`
	UnknownMarks    uint64 `json:"unknown_marks"`
	NotCurrentStops uint64 `json:"not_current_stops"`
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func nsMs(ns int64) float64 { return ms(time.Duration(ns)) }

// entryStatus is e as status shows it, with the default slice filled in.
func entryStatus(e policy.Entry, k policy.Knobs) statusEntry {
	slice := e.Slice
	if slice == 0 {
		slice = k.DefaultSlice
	}
	steps := []statusStep{}
	for i := range int(e.NSteps) {
		steps = append(steps, statusStep{FromMs: nsMs(e.StepAt[i]), Rank: e.StepRank[i]})
	}
	return statusEntry{Rank: e.Rank, SliceMs: nsMs(slice), Steps: steps}
}

// buildStatus turns a snapshot into the report: names from the classifiers (see
// functionNames), the top rows by rank.
func buildStatus(snap backend.Snapshot, names map[uint32]functionName, pin string, top int) statusReport {
	c := snap.Counters
	k := snap.Knobs
	r := statusReport{
		PinPath:        pin,
		HeartbeatAgeMs: ms(snap.HeartbeatAge()),
		HeartbeatStale: snap.Stale(),
		StaleAfterMs:   ms(snap.HeartbeatStale),
		Generation:     snap.Generation,
		Knobs: statusKnobs{WakeLagMs: nsMs(k.WakeLag), DefaultSliceMs: nsMs(k.DefaultSlice), MaxWaitMs: nsMs(k.MaxWait),
			Preempt: k.Preempt},
		Functions: len(snap.Policy),
		Counters: statusCounters{Enqueues: c.Enqueues, Direct: c.Direct, Ranked: c.Ranked, Default: c.Default, Stale: c.Stale,
			Aged: c.Aged, Preempted: c.Preempted, Kept: c.Kept, Dispatches: c.Dispatches, Records: c.Records, RecordsLost: c.RecordsLost,
			Classified: c.Classified, Classed: c.Classed, MarkedStarts: c.MarkedStarts, NestedStarts: c.NestedStarts,
			UnmatchedEnds: c.UnmatchedEnds, MarksLost: c.MarksLost, BadAreas: c.BadAreas, UnknownMarks: c.UnknownMarks,
			NotCurrentStops: c.NotCurrentStops},
		Top:     []statusRow{},
		Classed: classedStatus(snap, names),
	}
	if snap.HasDefault {
		d := entryStatus(snap.Default, k)
		r.Default = &d
	}
	for id, e := range snap.Policy {
		n := names[id]
		name := n.name
		if name == "" {
			name = fmt.Sprintf("#%d", id)
		}
		by := n.by
		if by == nil {
			by = []string{}
		}
		r.Top = append(r.Top, statusRow{ID: id, Name: name, statusEntry: entryStatus(e, k), ClassifiedBy: by})
	}
	sort.Slice(r.Top, func(i, j int) bool {
		if r.Top[i].Rank != r.Top[j].Rank {
			return r.Top[i].Rank < r.Top[j].Rank
		}
		return r.Top[i].ID < r.Top[j].ID
	})
	if top > 0 && len(r.Top) > top {
		r.Top = r.Top[:top]
	}
	return r
}

// classedStatus lists the functions with class entries in snap, by id, their classes in order.
func classedStatus(snap backend.Snapshot, names map[uint32]functionName) []statusClassed {
	byFn := map[uint32][]statusClass{}
	for k, e := range snap.Classes {
		byFn[k.Function] = append(byFn[k.Function], statusClass{Class: k.Class, statusEntry: entryStatus(e, snap.Knobs)})
	}
	out := []statusClassed{}
	for fn, cs := range byFn {
		sort.Slice(cs, func(i, j int) bool { return cs[i].Class < cs[j].Class })
		name := names[fn].name
		if name == "" {
			name = fmt.Sprintf("#%d", fn)
		}
		out = append(out, statusClassed{ID: fn, Name: name, Classes: cs})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// stepsText is steps as "0ms:1 40ms:6", or "-" when there are none.
func stepsText(steps []statusStep) string {
	if len(steps) == 0 {
		return "-"
	}
	var b strings.Builder
	for i, st := range steps {
		if i > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "%gms:%d", st.FromMs, st.Rank)
	}
	return b.String()
}

// writeStatus prints the report as text (an aligned table) or JSON.
func writeStatus(w io.Writer, r statusReport, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	hb := fmt.Sprintf("%s ago", roundAge(r.HeartbeatAgeMs))
	switch {
	case r.StaleAfterMs == 0:
		hb += " (staleness check off)"
	case r.HeartbeatStale:
		hb += fmt.Sprintf(" STALE: older than %s, the kernel ignores the ranks (plain fair vtime)", roundAge(r.StaleAfterMs))
	default:
		hb += fmt.Sprintf(" (ranks apply; stale after %s)", roundAge(r.StaleAfterMs))
	}
	schedExt := r.SchedExt
	if r.Ops != "" {
		schedExt += fmt.Sprintf(" (ops %q)", r.Ops)
	}
	c := r.Counters
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "pinned maps:\t%s\n", printable(r.PinPath))
	if !strings.HasPrefix(r.Ops, "alps") {
		schedExt += ": alps is not attached; these pins were left by a daemon that did not stop cleanly"
	}
	fmt.Fprintf(tw, "sched_ext:\t%s\n", schedExt)
	fmt.Fprintf(tw, "heartbeat:\t%s\n", hb)
	guard := "off"
	if r.Knobs.MaxWaitMs > 0 {
		guard = fmt.Sprintf("%g ms", r.Knobs.MaxWaitMs)
	}
	fmt.Fprintf(tw, "policy:\t%d functions ranked (table %d); wake lag %g ms, default slice %g ms, max wait %s, preempt %v\n",
		r.Functions, r.Generation, r.Knobs.WakeLagMs, r.Knobs.DefaultSliceMs, guard, r.Knobs.Preempt)
	if d := r.Default; d != nil {
		fmt.Fprintf(tw, "default entry:\trank %d, slice %.2f ms, steps %s (functions without an entry)\n", d.Rank, d.SliceMs, stepsText(d.Steps))
	} else {
		fmt.Fprintf(tw, "default entry:\tnone (functions without an entry are unranked)\n")
	}
	fmt.Fprintf(tw, "counters:\tenqueues %d, direct %d, ranked %d, default %d, stale %d, aged %d, preempted %d, kept %d, dispatches %d, records %d, records lost %d, classified %d\n",
		c.Enqueues, c.Direct, c.Ranked, c.Default, c.Stale, c.Aged, c.Preempted, c.Kept, c.Dispatches, c.Records, c.RecordsLost, c.Classified)
	if c.MarkedStarts+c.NestedStarts+c.UnmatchedEnds+c.BadAreas+c.UnknownMarks > 0 {
		fmt.Fprintf(tw, "warm invocations:\tstarts %d, ordered by a class %d; ignored: starts inside an invocation %d, ends outside one %d, marks of threads of no function %d; marks lost %d, bad areas %d\n",
			c.MarkedStarts, c.Classed, c.NestedStarts, c.UnmatchedEnds, c.UnknownMarks, c.MarksLost, c.BadAreas)
	}
	for _, cl := range r.Classed {
		var b strings.Builder
		for i, k := range cl.Classes {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%d: rank %d steps %s", k.Class, k.Rank, stepsText(k.Steps))
		}
		fmt.Fprintf(tw, "learned per class:\t%s (id %d): %s\n", printable(cl.Name), cl.ID, b.String())
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(r.Top) == 0 {
		_, err := fmt.Fprintln(w, "\nno function is ranked yet")
		return err
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "RANK\tID\tFUNCTION\tSLICE_MS\tSTEPS (CPU USED -> RANK)\tCLASSIFIED BY\n")
	for _, row := range r.Top {
		steps := stepsText(row.Steps)
		by := make([]string, len(row.ClassifiedBy))
		for i, b := range row.ClassifiedBy {
			by[i] = printable(b)
		}
		fmt.Fprintf(tw, "%d\t%d\t%s\t%.2f\t%s\t%s\n", row.Rank, row.ID, printable(row.Name), row.SliceMs, steps, strings.Join(by, ", "))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(r.Top) < r.Functions {
		_, err := fmt.Fprintf(w, "(top %d of %d; --top 0 shows all)\n", len(r.Top), r.Functions)
		return err
	}
	return nil
}

// printable returns s as it is when every rune is a printable character other than a tab, and
// Go-quoted otherwise: process and cgroup names come from other users, and a terminal would
// act on their control bytes.
func printable(s string) string {
	for _, r := range s {
		if r == '\t' || r == utf8.RuneError || !unicode.IsPrint(r) {
			return strconv.Quote(s)
		}
	}
	return s
}

func roundAge(msf float64) string {
	d := time.Duration(msf * float64(time.Millisecond))
	if d >= time.Second {
		return d.Round(10 * time.Millisecond).String()
	}
	return d.Round(time.Millisecond).String()
}

// functionName is what the classifier maps say about a function id.
type functionName struct {
	name string
	by   []string
}

// maxCgroupDirs bounds the walk of cgroupfs that names classified cgroups.
const maxCgroupDirs = 100000

// functionNames names function ids from the pinned classifier maps and the configuration the
// daemon runs with: a process name is named by its process_names rule (NAME=FUNCTION, or NAME
// itself), a cgroup id by the cgroup_patterns match of its path under cgroup_root (found by
// walking cgroupfs). The daemon's own registry is not pinned; functions it learned from records
// only, without a classifier, stay "#ID".
func functionNames(snap backend.Snapshot, cfg configs.Config) map[uint32]functionName {
	out := map[uint32]functionName{}
	add := func(fn uint32, name, by string) {
		n := out[fn]
		if n.name == "" {
			n.name = name
		}
		n.by = append(n.by, by)
		out[fn] = n
	}
	rules, _ := frontend.ParseProcessNames(cfg.Frontend.ProcessNames)
	byComm := map[string]string{}
	for _, r := range rules {
		byComm[r.Comm] = r.Function
	}
	comms := make([]string, 0, len(snap.Comms))
	for c := range snap.Comms {
		comms = append(comms, c)
	}
	sort.Strings(comms)
	for _, c := range comms {
		name := byComm[c]
		if name == "" {
			name = c
		}
		add(snap.Comms[c], name, "comm "+c)
	}
	if len(snap.Cgroups) == 0 || cfg.Frontend.CgroupRoot == "" {
		return out
	}
	cgRules, err := frontend.NewCgroupRules(cfg.Frontend.CgroupPatterns)
	if err != nil {
		cgRules, _ = frontend.NewCgroupRules(nil)
	}
	root := cfg.Frontend.CgroupRoot
	left, seen := len(snap.Cgroups), 0
	filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		if seen++; seen > maxCgroupDirs || left == 0 {
			return filepath.SkipAll
		}
		id, err := frontend.CgroupID(path)
		if err != nil {
			return nil
		}
		fn, ok := snap.Cgroups[id]
		if !ok {
			return nil
		}
		left--
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		name := cgRules.Function(rel)
		if name == "" {
			name = rel
		}
		add(fn, name, "cgroup "+rel)
		return nil
	})
	return out
}

// showStatus prints the pinned policy of the running daemon: its top functions with rank and
// slice, the heartbeat age, the knobs and counters. With nothing pinned it fails with one line.
func showStatus(w io.Writer, cfg configs.Config, env statusEnv, opts statusOptions) error {
	pin := cfg.Frontend.PinPath
	src, err := env.open(pin)
	if err != nil {
		return fmt.Errorf("status (frontend.pin_path): %w", err)
	}
	defer src.Close()
	snap, err := src.Snapshot()
	if err != nil {
		return fmt.Errorf("status: %s: %w", pin, err)
	}
	r := buildStatus(snap, functionNames(snap, cfg), pin, opts.top)
	state, ops, err := env.schedExt()
	if err != nil {
		state = "unavailable: " + err.Error()
	}
	r.SchedExt, r.Ops = state, ops
	return writeStatus(w, r, opts.json)
}
