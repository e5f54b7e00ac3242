package backend

import (
	"errors"
	"fmt"
	"github.com/alps-sched/alps/invocation"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/alps-sched/alps/policy"
)

// fakeSource is a mapSource over fixed values. gens, when set, is the generation returned by
// successive readState calls (to simulate SetPolicy switching tables during a read).
type fakeSource struct {
	state   pinnedState
	tables  [2]tableHeader
	gens    []uint32
	calls   int
	rows    map[uint32]alpsEntry
	counter Counters
	comms   map[string]uint32
	cgroups map[uint64]uint32
	classes map[uint64]alpsEntry
	err     error
}

func (f *fakeSource) readState() (pinnedState, error) {
	st := f.state
	if f.calls < len(f.gens) {
		st.gen = f.gens[f.calls]
	}
	f.calls++
	return st, f.err
}
func (f *fakeSource) readTables() ([2]tableHeader, error)        { return f.tables, nil }
func (f *fakeSource) readPolicy() (map[uint32]alpsEntry, error)  { return f.rows, nil }
func (f *fakeSource) readCounters() (Counters, error)            { return f.counter, nil }
func (f *fakeSource) readComms() (map[string]uint32, error)      { return f.comms, nil }
func (f *fakeSource) readCgroups() (map[uint64]uint32, error)    { return f.cgroups, nil }
func (f *fakeSource) readClasses() (map[uint64]alpsEntry, error) { return f.classes, nil }

// row is a kernel policy row without steps.
func row(rank uint32, slice uint64, valid uint8) alpsEntry {
	return alpsEntry{Steps: alpsAlpsSteps{Rank: rank, Slice: slice}, Valid: valid}
}

func TestSnapshotLiveHalf(t *testing.T) {
	const ms = uint64(time.Millisecond)
	const mf = policy.MaxFunctions
	rows := map[uint32]alpsEntry{
		3:          row(9, 1*ms, 1), // half 0
		5:          row(1, 2*ms, 0), // half 0, invalid
		mf + 3:     row(0, 4*ms, 1), // half 1
		mf + 7:     row(2, 0, 1),    // half 1, default slice
		mf + 8:     row(4, 8*ms, 0), // half 1, invalid
		2*mf - 1:   {Steps: alpsAlpsSteps{Rank: 5, Slice: 3 * ms, Nsteps: 2, StepAt: [8]uint64{0, 9 * ms}, StepRank: [8]uint32{5, 8}}, Valid: 1},
		2*mf + 100: row(1, 0, 1), // out of range: ignored
	}
	pooled := policy.Entry{Rank: 2, NSteps: 2, StepAt: [8]int64{0, 40e6}, StepRank: [8]uint32{2, 7}}
	tables := [2]tableHeader{{knobs: policy.Knobs{WakeLag: 20e6, DefaultSlice: 20e6, MaxWait: 500e6}},
		{knobs: policy.Knobs{WakeLag: 10e6, DefaultSlice: 5e6, Preempt: true}, dflt: pooled, hasDefault: true}}
	classes := map[uint64]alpsEntry{
		classKey(0, policy.ClassKey{Function: 3, Class: 2}): row(1, 0, 1),
		classKey(1, policy.ClassKey{Function: 3, Class: 2}): row(6, 0, 1),
		classKey(1, policy.ClassKey{Function: 7, Class: 9}): row(8, 0, 0), // invalid
	}
	tests := []struct {
		name    string
		gen     uint32
		want    map[uint32]policy.Entry
		classes map[policy.ClassKey]policy.Entry
	}{
		{"half 0", 0, map[uint32]policy.Entry{3: {Rank: 9, Slice: 1e6}}, map[policy.ClassKey]policy.Entry{{Function: 3, Class: 2}: {Rank: 1}}},
		{"half 1", 1, map[uint32]policy.Entry{3: {Rank: 0, Slice: 4e6}, 7: {Rank: 2},
			mf - 1: {Rank: 5, Slice: 3e6, NSteps: 2, StepAt: [8]int64{0, 9e6}, StepRank: [8]uint32{5, 8}}},
			map[policy.ClassKey]policy.Entry{{Function: 3, Class: 2}: {Rank: 6}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := &fakeSource{state: pinnedState{layout: LayoutVersion, gen: tt.gen, heartbeat: 1_000 * ms, stale: 3000 * ms},
				tables: tables, rows: rows, classes: classes, counter: Counters{Enqueues: 42},
				comms: map[string]uint32{"resize": 3}, cgroups: map[uint64]uint32{77: 7}}
			s, err := snapshot(src, func() uint64 { return 1_250 * ms })
			if err != nil {
				t.Fatal(err)
			}
			if s.Generation != tt.gen || s.Layout != LayoutVersion {
				t.Errorf("Generation, Layout = %d, %d; want %d, %d", s.Generation, s.Layout, tt.gen, LayoutVersion)
			}
			if len(s.Policy) != len(tt.want) {
				t.Errorf("Policy = %v, want %v", s.Policy, tt.want)
			}
			for fn, e := range tt.want {
				if got, ok := s.Policy[fn]; !ok || got != e {
					t.Errorf("Policy[%d] = %+v (present %v), want %+v", fn, got, ok, e)
				}
			}
			if live := tables[tt.gen]; s.Knobs != live.knobs || s.Default != live.dflt || s.HasDefault != live.hasDefault {
				t.Errorf("Knobs, Default, HasDefault = %+v, %+v, %v; want the live table's %+v", s.Knobs, s.Default, s.HasDefault, live)
			}
			if s.HeartbeatAge() != 250*time.Millisecond || s.HeartbeatStale != 3*time.Second || s.Stale() {
				t.Errorf("HeartbeatAge() = %v, bound %v, Stale() = %v; want 250ms, 3s, false", s.HeartbeatAge(), s.HeartbeatStale, s.Stale())
			}
			if !reflect.DeepEqual(s.Classes, tt.classes) {
				t.Errorf("Classes = %+v, want %+v", s.Classes, tt.classes)
			}
			if s.Counters.Enqueues != 42 || s.Comms["resize"] != 3 || s.Cgroups[77] != 7 {
				t.Errorf("counters/classifiers not carried: %+v %v %v", s.Counters, s.Comms, s.Cgroups)
			}
		})
	}
}

func TestSnapshotRetriesWhenTheTableSwitches(t *testing.T) {
	rows := map[uint32]alpsEntry{1: row(1, 0, 1), policy.MaxFunctions + 2: row(2, 0, 1)}
	// Read 1: gen 0 before, 1 after (switched: read again). Read 2: 1 and 1.
	src := &fakeSource{gens: []uint32{0, 1, 1, 1}, rows: rows}
	s, err := snapshot(src, func() uint64 { return 0 })
	if err != nil {
		t.Fatal(err)
	}
	if src.calls != 4 || s.Generation != 1 || len(s.Policy) != 1 || s.Policy[2].Rank != 2 {
		t.Fatalf("after a switch: %d state reads, gen %d, policy %v; want 4 reads, gen 1, {2: rank 2}", src.calls, s.Generation, s.Policy)
	}

	always := &fakeSource{gens: []uint32{0, 1, 0, 1, 0, 1}, rows: rows}
	if _, err := snapshot(always, func() uint64 { return 0 }); err == nil || !strings.Contains(err.Error(), "changed during") {
		t.Fatalf("a table switching on every read: err = %v, want a 'changed during' error", err)
	}
	if always.calls != 2*snapshotTries {
		t.Errorf("gave up after %d state reads, want %d", always.calls, 2*snapshotTries)
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
		s := Snapshot{HeartbeatStale: tt.stale, Heartbeat: 5e9, Now: 5e9 + int64(tt.age)}
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

// testObjects are the scheduler's maps and globals without its programs (which need
// sched_ext): what SetPolicy, Heartbeat, the classifiers and pin touch.
type testObjects struct {
	Policy   *ebpf.Map `ebpf:"policy"`
	Tables   *ebpf.Map `ebpf:"tables"`
	Counters *ebpf.Map `ebpf:"counters"`
	CommFn   *ebpf.Map `ebpf:"comm_fn"`
	CgroupFn *ebpf.Map `ebpf:"cgroup_fn"`
	ExitInfo *ebpf.Map `ebpf:"exit_info"`
	Classes  *ebpf.Map `ebpf:"class_policy"`
	InvAreas *ebpf.Map `ebpf:"inv_areas"`
	Data     *ebpf.Map `ebpf:".data"`
	Rodata   *ebpf.Map `ebpf:".rodata"`
	alpsVariables
}

// mapsOnly returns a Scheduler over the real alps maps and globals, without programs, or
// skips when BPF maps cannot be made here.
func mapsOnly(t *testing.T) *Scheduler {
	t.Helper()
	spec, err := loadAlps()
	if err != nil {
		t.Fatal(err)
	}
	if err := spec.Variables["heartbeat_stale"].Set(uint64(3 * time.Second)); err != nil {
		t.Fatal(err)
	}
	var o testObjects
	if err := spec.LoadAndAssign(&o, nil); err != nil {
		t.Skipf("cannot create the alps maps here: %v", err)
	}
	t.Cleanup(func() {
		for _, m := range []*ebpf.Map{o.Policy, o.Tables, o.Counters, o.CommFn, o.CgroupFn, o.ExitInfo, o.Classes, o.InvAreas, o.Data, o.Rodata} {
			m.Close()
		}
	})
	s := &Scheduler{done: make(chan struct{})}
	s.objs.Policy, s.objs.Tables, s.objs.Counters, s.objs.CommFn = o.Policy, o.Tables, o.Counters, o.CommFn
	s.objs.CgroupFn, s.objs.ExitInfo, s.objs.Data, s.objs.Rodata = o.CgroupFn, o.ExitInfo, o.Data, o.Rodata
	s.objs.ClassPolicy, s.objs.InvAreas = o.Classes, o.InvAreas
	s.objs.alpsVariables = o.alpsVariables
	return s
}

// TestPinnedRoundTrip pins the real alps maps the way Load does, writes them with the
// Scheduler's own methods and reads them back through OpenPinned.
func TestPinnedRoundTrip(t *testing.T) {
	dir := bpffs(t)
	s := mapsOnly(t)
	pins := filepath.Join(dir, "alps")
	if err := s.pin(pins); err != nil {
		t.Fatal(err)
	}
	k := testKnobs
	steps := policy.Entry{Rank: 1, Slice: 4e6, NSteps: 3, StepAt: [policy.MaxSteps]int64{0, 20e6, 500e6},
		StepRank: [policy.MaxSteps]uint32{1, 3, 12}}
	first := map[uint32]policy.Entry{1: {Rank: 3, Slice: 5e6}, 9: {Rank: 0}}
	second := map[uint32]policy.Entry{2: {Rank: 1, Slice: 7e6}, 9: {Rank: 4, Slice: 1e6}, policy.MaxFunctions - 1: steps}
	third := map[uint32]policy.Entry{4: {Rank: 0, Slice: 2e6}}
	pooled := policy.Entry{Rank: 1, Slice: 3e6, NSteps: 2, StepAt: [policy.MaxSteps]int64{0, 40e6},
		StepRank: [policy.MaxSteps]uint32{1, 6}}
	classes := []map[policy.ClassKey]policy.Entry{
		{{Function: 1, Class: 2}: {Rank: 0}, {Function: 1, Class: 5}: {Rank: 6, Slice: 2e6}},
		{{Function: 9, Class: 1}: steps},
		nil, // installed over the first's half: its classes are gone
	}
	for i, table := range []map[uint32]policy.Entry{first, second, third} {
		k.MaxWait = int64(i+1) * 100e6
		k.Preempt = i%2 == 1
		hasDefault := i == 1 // the second table pools; the third, installed over the first's half, does not
		if err := s.SetPolicy(&policy.Table{Knobs: k, Entries: table, Default: pooled, HasDefault: hasDefault, Classes: classes[i]}); err != nil {
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
		if len(snap.Policy) != len(table) {
			t.Fatalf("read %v, want %v", snap.Policy, table)
		}
		for fn, e := range table {
			if snap.Policy[fn] != e {
				t.Errorf("policy[%d] = %+v, want %+v", fn, snap.Policy[fn], e)
			}
		}
		if len(snap.Classes) != len(classes[i]) || (len(classes[i]) > 0 && !reflect.DeepEqual(snap.Classes, classes[i])) {
			t.Errorf("class entries %+v, want %+v", snap.Classes, classes[i])
		}
		if snap.HasDefault != hasDefault || (hasDefault && snap.Default != pooled) {
			t.Errorf("default entry %+v (present %v), want %+v (present %v)", snap.Default, snap.HasDefault, pooled, hasDefault)
		}
		if snap.Knobs != k || snap.Layout != LayoutVersion || snap.HeartbeatStale != 3*time.Second {
			t.Errorf("knobs %+v, layout %d, heartbeat bound %v; want %+v, %d, 3s", snap.Knobs, snap.Layout, snap.HeartbeatStale,
				k, LayoutVersion)
		}
		if age := snap.HeartbeatAge(); age < 0 || age > 5*time.Second || snap.Stale() {
			t.Errorf("heartbeat age %v (stale %v) right after Heartbeat", age, snap.Stale())
		}
	}
	// A table the kernel cannot apply is refused and the live one stays.
	bad := &policy.Table{Knobs: k, Entries: map[uint32]policy.Entry{5: {NSteps: 2, StepAt: [policy.MaxSteps]int64{0, 0}}}}
	if err := s.SetPolicy(bad); err == nil || !strings.Contains(err.Error(), "function 5") {
		t.Errorf("SetPolicy(non-monotone steps) = %v, want a refusal naming function 5", err)
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
	if err := s.objs.Counters.Update(alpsCounterCNT_RANKED, perCPU, ebpf.UpdateAny); err != nil {
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
	if len(snap.Policy) != 1 || snap.Policy[4].Slice != 2e6 {
		t.Errorf("after a refused table the policy is %v, want the third table", snap.Policy)
	}

	// A layout version this alps does not read is refused in one line.
	if err := s.objs.alpsVariables.LayoutVersion.Set(uint32(LayoutVersion + 1)); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenPinned(pins); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("layout version %d", LayoutVersion+1)) {
		t.Errorf("OpenPinned of layout %d: %v; want a refusal naming the version", LayoutVersion+1, err)
	}
	if err := s.objs.alpsVariables.LayoutVersion.Set(uint32(LayoutVersion)); err != nil {
		t.Fatal(err)
	}

	// A map of another layout where the knobs should be is refused, naming the pin (Pin moves
	// each map's pin to the other directory).
	other := filepath.Join(dir, "other")
	foreign, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.Array, KeySize: 4, ValueSize: 8, MaxEntries: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer foreign.Close()
	for name, m := range map[string]*ebpf.Map{PinState: s.objs.Data, PinConfig: s.objs.Rodata, PinPolicy: s.objs.Policy,
		PinCounters: s.objs.Counters, PinCommFn: s.objs.CommFn, PinCgroupFn: s.objs.CgroupFn, PinTables: foreign} {
		if err := os.MkdirAll(other, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := m.Pin(filepath.Join(other, name)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := OpenPinned(other); err == nil || !strings.Contains(err.Error(), filepath.Join(other, PinTables)) ||
		!strings.Contains(err.Error(), "not this alps version's") {
		t.Errorf("OpenPinned over foreign maps: %v; want it to name %s as not alps's", err, PinTables)
	}
}

// TestInvocationMapPin: the registration map is pinned 0600, or 0660 with the group given, and
// a thread registered through the pin is in the scheduler's map.
func TestInvocationMapPin(t *testing.T) {
	dir := bpffs(t)
	s := mapsOnly(t)
	for _, gid := range []int{-1, 4242} {
		p := filepath.Join(dir, fmt.Sprintf("inv-%d", gid))
		if err := s.pinInvocationMap(p, gid); err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		want := os.FileMode(0o600)
		if gid >= 0 {
			want = 0o660
		}
		if st.Mode().Perm() != want || (gid >= 0 && int(st.Sys().(*syscall.Stat_t).Gid) != gid) {
			t.Errorf("group %d: pin mode %v gid %d, want %v", gid, st.Mode().Perm(), st.Sys().(*syscall.Stat_t).Gid, want)
		}
	}
	reg, err := invocation.Open(filepath.Join(dir, "inv-4242"))
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	th, err := reg.Register()
	if err != nil {
		t.Fatal(err)
	}
	defer th.Close()
	pidfd, err := unix.PidfdOpen(unix.Gettid(), unix.PIDFD_THREAD)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(pidfd)
	var addr uint64
	if err := s.InvocationAreas().Lookup(uint32(pidfd), &addr); err != nil || addr == 0 {
		t.Errorf("the registered thread's entry: %#x, %v", addr, err)
	}
}
