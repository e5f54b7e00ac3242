package backend

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

// fakeSource is a mapSource over fixed values. gens, when set, is the generation returned by
// successive readKnobs calls (to simulate SetPolicy switching tables during a read).
type fakeSource struct {
	knobs   rawKnobs
	gens    []uint32
	calls   int
	rows    map[uint32]rawPolicy
	counter Counters
	comms   map[string]uint32
	cgroups map[uint64]uint32
	err     error
}

func (f *fakeSource) readKnobs() (rawKnobs, error) {
	k := f.knobs
	if f.calls < len(f.gens) {
		k.Gen = f.gens[f.calls]
	}
	f.calls++
	return k, f.err
}
func (f *fakeSource) readPolicy() (map[uint32]rawPolicy, error) { return f.rows, nil }
func (f *fakeSource) readCounters() (Counters, error)           { return f.counter, nil }
func (f *fakeSource) readComms() (map[string]uint32, error)     { return f.comms, nil }
func (f *fakeSource) readCgroups() (map[uint64]uint32, error)   { return f.cgroups, nil }

func TestSnapshotLiveHalf(t *testing.T) {
	ms := uint64(time.Millisecond)
	rows := map[uint32]rawPolicy{
		3:                    {Rank: 9, Valid: 1, Slice: 1 * ms}, // half 0
		5:                    {Rank: 1, Valid: 0, Slice: 2 * ms}, // half 0, invalid
		MaxFunctions + 3:     {Rank: 0, Valid: 1, Slice: 4 * ms}, // half 1
		MaxFunctions + 7:     {Rank: 2, Valid: 1, Slice: 0},      // half 1, default slice
		MaxFunctions + 8:     {Rank: 4, Valid: 0, Slice: 8 * ms}, // half 1, invalid
		2*MaxFunctions - 1:   {Rank: 5, Valid: 1, Slice: 3 * ms}, // last id of half 1
		2*MaxFunctions + 100: {Rank: 1, Valid: 1},                // out of range: ignored
	}
	knobs := rawKnobs{RankStep: 10 * ms, MaxPenalty: 500 * ms, WakeLag: 20 * ms, DefaultSlice: 20 * ms,
		HeartbeatStale: 3000 * ms, Heartbeat: 1_000 * ms}
	tests := []struct {
		name string
		gen  uint32
		want map[uint32]Entry
	}{
		{"half 0", 0, map[uint32]Entry{3: {Rank: 9, Slice: time.Millisecond}}},
		{"half 1", 1, map[uint32]Entry{3: {Rank: 0, Slice: 4 * time.Millisecond}, 7: {Rank: 2},
			MaxFunctions - 1: {Rank: 5, Slice: 3 * time.Millisecond}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := knobs
			k.Gen = tt.gen
			src := &fakeSource{knobs: k, rows: rows, counter: Counters{Enqueues: 42},
				comms: map[string]uint32{"resize": 3}, cgroups: map[uint64]uint32{77: 7}}
			s, err := snapshot(src, func() uint64 { return 1_250 * ms })
			if err != nil {
				t.Fatal(err)
			}
			if s.Generation != tt.gen {
				t.Errorf("Generation = %d, want %d", s.Generation, tt.gen)
			}
			if len(s.Policy) != len(tt.want) {
				t.Errorf("Policy = %v, want %v", s.Policy, tt.want)
			}
			for fn, e := range tt.want {
				if got, ok := s.Policy[fn]; !ok || got != e {
					t.Errorf("Policy[%d] = %+v (present %v), want %+v", fn, got, ok, e)
				}
			}
			wantKnobs := Knobs{RankStep: 10 * time.Millisecond, MaxPenalty: 500 * time.Millisecond,
				WakeLag: 20 * time.Millisecond, DefaultSlice: 20 * time.Millisecond, HeartbeatStale: 3 * time.Second}
			if s.Knobs != wantKnobs {
				t.Errorf("Knobs = %+v, want %+v", s.Knobs, wantKnobs)
			}
			if s.HeartbeatAge() != 250*time.Millisecond || s.Stale() {
				t.Errorf("HeartbeatAge() = %v, Stale() = %v; want 250ms, false", s.HeartbeatAge(), s.Stale())
			}
			if s.Counters.Enqueues != 42 || s.Comms["resize"] != 3 || s.Cgroups[77] != 7 {
				t.Errorf("counters/classifiers not carried: %+v %v %v", s.Counters, s.Comms, s.Cgroups)
			}
		})
	}
}

func TestSnapshotRetriesWhenTheTableSwitches(t *testing.T) {
	rows := map[uint32]rawPolicy{1: {Rank: 1, Valid: 1}, MaxFunctions + 2: {Rank: 2, Valid: 1}}
	// Read 1: gen 0 before, 1 after (switched: read again). Read 2: 1 and 1.
	src := &fakeSource{gens: []uint32{0, 1, 1, 1}, rows: rows}
	s, err := snapshot(src, func() uint64 { return 0 })
	if err != nil {
		t.Fatal(err)
	}
	if src.calls != 4 || s.Generation != 1 || len(s.Policy) != 1 || s.Policy[2].Rank != 2 {
		t.Fatalf("after a switch: %d knob reads, gen %d, policy %v; want 4 reads, gen 1, {2: rank 2}", src.calls, s.Generation, s.Policy)
	}

	always := &fakeSource{gens: []uint32{0, 1, 0, 1, 0, 1}, rows: rows}
	if _, err := snapshot(always, func() uint64 { return 0 }); err == nil || !strings.Contains(err.Error(), "changed during") {
		t.Fatalf("a table switching on every read: err = %v, want a 'changed during' error", err)
	}
	if always.calls != 2*snapshotTries {
		t.Errorf("gave up after %d knob reads, want %d", always.calls, 2*snapshotTries)
	}

	broken := &fakeSource{err: errors.New("boom")}
	if _, err := snapshot(broken, func() uint64 { return 0 }); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("read error: err = %v, want it passed on", err)
	}
}

func TestSnapshotStale(t *testing.T) {
	tests := []struct {
		name      string
		stale     time.Duration
		age       time.Duration
		wantStale bool
	}{
		{"fresh", 3 * time.Second, time.Second, false},
		{"exactly at the bound", 3 * time.Second, 3 * time.Second, false},
		{"past the bound", 3 * time.Second, 3*time.Second + 1, true},
		{"check disabled", 0, time.Hour, false},
	}
	for _, tt := range tests {
		s := Snapshot{Knobs: Knobs{HeartbeatStale: tt.stale}, Heartbeat: 5e9, Now: 5e9 + int64(tt.age)}
		if s.Stale() != tt.wantStale {
			t.Errorf("%s: Stale() = %v, want %v", tt.name, s.Stale(), tt.wantStale)
		}
	}
}

func TestOpenPinnedNothingPinned(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"", filepath.Join(dir, "missing"), dir} {
		p, err := OpenPinned(d)
		if p != nil || !errors.Is(err, ErrNotPinned) {
			t.Errorf("OpenPinned(%q) = %v, %v; want ErrNotPinned", d, p, err)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("OpenPinned(%q): error is not one line: %q", d, err)
		}
	}
	// dir is a tmpfs/ext4 directory: the error says no bpffs is mounted there.
	_, err := OpenPinned(filepath.Join(dir, "alps"))
	if err == nil || !strings.Contains(err.Error(), "no bpffs is mounted at "+dir) {
		t.Errorf("OpenPinned below a plain directory: %v; want it to say no bpffs is mounted at %s", err, dir)
	}
}

// bpffs returns a directory on a bpffs for the test, or skips when maps cannot be created or
// pinned here (not root, no BPF).
func bpffs(t *testing.T) string {
	t.Helper()
	m, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.Array, KeySize: 4, ValueSize: 4, MaxEntries: 1})
	if err != nil {
		t.Skipf("cannot create BPF maps here: %v", err)
	}
	m.Close()
	dir := t.TempDir()
	if err := unix.Mount("bpf", dir, "bpf", 0, ""); err != nil {
		t.Skipf("cannot mount a bpffs: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
	return dir
}

// TestPinnedRoundTrip pins the real alps maps the way Load does, writes them with the
// Scheduler's own methods and reads them back through OpenPinned.
func TestPinnedRoundTrip(t *testing.T) {
	dir := bpffs(t)
	spec, err := loadAlps()
	if err != nil {
		t.Fatal(err)
	}
	s := &Scheduler{done: make(chan struct{})}
	for name, dst := range map[string]**ebpf.Map{PinPolicy: &s.objs.Policy, PinKnobs: &s.objs.Knobs,
		PinCounters: &s.objs.Counters, PinCommFn: &s.objs.CommFn, PinCgroupFn: &s.objs.CgroupFn, PinExitInfo: &s.objs.ExitInfo} {
		m, err := ebpf.NewMap(spec.Maps[name])
		if err != nil {
			t.Fatalf("creating map %s: %v", name, err)
		}
		t.Cleanup(func() { m.Close() })
		*dst = m
	}
	pins := filepath.Join(dir, "alps")
	if err := s.pin(pins); err != nil {
		t.Fatal(err)
	}
	k := DefaultKnobs()
	setKnobs(&s.knobs, k)
	first := map[uint32]Entry{1: {Rank: 3, Slice: 5 * time.Millisecond}, 9: {Rank: 0}}
	second := map[uint32]Entry{2: {Rank: 1, Slice: 7 * time.Millisecond}, 9: {Rank: 4, Slice: time.Millisecond},
		MaxFunctions - 1: {Rank: 2}}
	third := map[uint32]Entry{4: {Rank: 0, Slice: 2 * time.Millisecond}}
	for _, step := range []struct {
		table map[uint32]Entry
	}{{first}, {second}, {third}} {
		if err := s.SetPolicy(step.table, k); err != nil {
			t.Fatal(err)
		}
		if err := s.Heartbeat(); err != nil {
			t.Fatal(err)
		}
		p, err := OpenPinned(pins)
		if err != nil {
			t.Fatal(err)
		}
		snap, err := p.Snapshot()
		p.Close()
		if err != nil {
			t.Fatal(err)
		}
		if len(snap.Policy) != len(step.table) {
			t.Fatalf("read %v, want %v", snap.Policy, step.table)
		}
		for fn, e := range step.table {
			if snap.Policy[fn] != e {
				t.Errorf("policy[%d] = %+v, want %+v", fn, snap.Policy[fn], e)
			}
		}
		if snap.Knobs != k {
			t.Errorf("knobs = %+v, want %+v", snap.Knobs, k)
		}
		if age := snap.HeartbeatAge(); age < 0 || age > 5*time.Second || snap.Stale() {
			t.Errorf("heartbeat age %v (stale %v) right after Heartbeat", age, snap.Stale())
		}
	}
	if err := s.SetCommFunction("resize", 4); err != nil {
		t.Fatal(err)
	}
	if err := s.SetCgroupFunction(12345, 9); err != nil {
		t.Fatal(err)
	}
	cpus, err := ebpf.PossibleCPU()
	if err != nil {
		t.Fatal(err)
	}
	perCPU := make([]uint64, cpus)
	perCPU[0] = 5
	perCPU[cpus-1] += 2
	if err := s.objs.Counters.Update(uint32(2), perCPU, ebpf.UpdateAny); err != nil { // CNT_RANKED
		t.Fatal(err)
	}
	p, err := OpenPinned(pins)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	snap, err := p.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if snap.Comms["resize"] != 4 || len(snap.Comms) != 1 || snap.Cgroups[12345] != 9 || len(snap.Cgroups) != 1 {
		t.Errorf("classifiers = %v, %v; want {resize: 4}, {12345: 9}", snap.Comms, snap.Cgroups)
	}
	if snap.Counters.Ranked != 7 || snap.Counters.Enqueues != 0 {
		t.Errorf("counters = %+v, want Ranked 7 summed over CPUs", snap.Counters)
	}

	// A map of another layout where the knobs should be is refused, naming the pin.
	other := filepath.Join(dir, "other")
	if err := os.Mkdir(other, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{PinPolicy, PinCounters, PinCommFn, PinCgroupFn} {
		if err := s.objs.Policy.Pin(filepath.Join(other, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.objs.Policy.Pin(filepath.Join(other, PinKnobs)); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenPinned(other); err == nil || !strings.Contains(err.Error(), filepath.Join(other, PinKnobs)) ||
		!strings.Contains(err.Error(), "not this alps version's") {
		t.Errorf("OpenPinned over foreign maps: %v; want it to name %s as not alps's", err, PinKnobs)
	}
}
