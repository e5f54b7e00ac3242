package backend

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/alps-sched/alps/backend/internal/classify"
	"github.com/alps-sched/alps/policy"
)

// Names of the map pins Load creates under Options.PinPath.
const (
	PinPolicy   = "policy"    // the policy rows of both tables
	PinTables   = "tables"    // the knobs and default entries of both tables
	PinState    = "state"     // the scheduler's globals (.data): layout, live half, heartbeat, vnow
	PinConfig   = "config"    // its load-time constants (.rodata): the heartbeat bound
	PinCounters = "counters"  // event counters
	PinCommFn   = "comm_fn"   // process-name classifier
	PinCgroupFn = "cgroup_fn" // cgroup classifier
	PinExitInfo = "exit_info" // why it stopped
	PinClasses  = "classes"   // the class entries of both tables
)

// LayoutVersion is the version of the pinned maps' layout this alps reads and writes
// (LAYOUT_VERSION of bpf/alps.bpf.c).
const LayoutVersion = 4

// Errors of OpenPinned, one line each and meant to be shown to the user as they are
// (wrapped with the pin directory).
var (
	// ErrNotPinned: no alps maps are pinned there (no scheduler loaded with that PinPath,
	// or no bpffs mounted).
	ErrNotPinned = errors.New("no alps maps are pinned here: is alps-frontend running with this pin path?")
	// ErrPinnedAccess: the pins exist but this user may not open them.
	ErrPinnedAccess = errors.New("reading the pinned alps maps needs root (CAP_BPF or CAP_SYS_ADMIN)")
)

// Snapshot is the state of a running alps scheduler as its pinned maps show it.
type Snapshot struct {
	// Layout is the pinned maps' layout version (LayoutVersion).
	Layout uint32
	// Knobs of the live policy table.
	Knobs policy.Knobs
	// HeartbeatStale is the scheduler's heartbeat bound (Options.HeartbeatStale).
	HeartbeatStale time.Duration
	// Generation is the live half of the policy tables (0 or 1); it flips on every SetPolicy.
	Generation uint32
	// Heartbeat is when the frontend last called Heartbeat, CLOCK_MONOTONIC ns.
	Heartbeat int64
	// Now is when the snapshot was taken, CLOCK_MONOTONIC ns.
	Now int64
	// Policy is the live table's entries: function id -> entry (with its attained steps).
	Policy map[uint32]policy.Entry
	// Classes are the live table's class entries (functions learned per class hint).
	Classes map[policy.ClassKey]policy.Entry
	// Default, when HasDefault, is the live table's entry of every function without one
	// (policy.Table.Default); without it such functions are unranked.
	Default    policy.Entry
	HasDefault bool
	// Counters are the scheduler's event counts. RecordsDropped is always 0: the loader
	// counts it in user space, not in a map.
	Counters Counters
	// Comms are the process-name classifications: name -> function id.
	Comms map[string]uint32
	// Cgroups are the cgroup classifications: cgroup v2 id -> function id.
	Cgroups map[uint64]uint32
}

// HeartbeatAge is how long ago the frontend last wrote the heartbeat.
func (s Snapshot) HeartbeatAge() time.Duration { return time.Duration(s.Now - s.Heartbeat) }

// Stale reports whether the heartbeat is older than HeartbeatStale, in which case the
// scheduler ignores the table and orders every task as plain fair vtime.
func (s Snapshot) Stale() bool {
	return s.HeartbeatStale > 0 && s.HeartbeatAge() > s.HeartbeatStale
}

// Pinned is a read-only view of the maps a running scheduler pinned (Options.PinPath). It
// never writes to them. Open it with OpenPinned.
type Pinned struct {
	dir  string
	maps *pinnedMaps
}

// OpenPinned opens the maps pinned under dir read-only. It fails with ErrNotPinned when
// nothing is pinned there, ErrPinnedAccess when this user may not read the pins, and names
// a pin of another alps version's layout.
func OpenPinned(dir string) (*Pinned, error) {
	if dir == "" {
		return nil, fmt.Errorf("pin path is empty: %w", ErrNotPinned)
	}
	spec, err := loadAlps()
	if err != nil {
		return nil, fmt.Errorf("reading the alps BPF object: %w", err)
	}
	pm := &pinnedMaps{spec: spec}
	want := []struct {
		name, spec string
		dst        **ebpf.Map
	}{
		{PinState, ".data", &pm.state}, {PinConfig, ".rodata", &pm.config}, {PinTables, "tables", &pm.tables},
		{PinPolicy, "policy", &pm.policy}, {PinCounters, "counters", &pm.counters}, {PinCommFn, "comm_fn", &pm.commFn},
		{PinCgroupFn, "cgroup_fn", &pm.cgroupFn}, {PinClasses, "class_policy", &pm.classes},
	}
	for _, w := range want {
		p := filepath.Join(dir, w.name)
		m, err := ebpf.LoadPinnedMap(p, &ebpf.LoadPinOptions{ReadOnly: true})
		if err != nil {
			pm.close()
			switch {
			case errors.Is(err, fs.ErrNotExist):
				return nil, notPinned(dir)
			case errors.Is(err, fs.ErrPermission):
				return nil, fmt.Errorf("%s: %w", dir, ErrPinnedAccess)
			}
			return nil, fmt.Errorf("opening the pinned map %s: %w", p, err)
		}
		*w.dst = m
		ms := spec.Maps[w.spec]
		if m.Type() != ms.Type || m.KeySize() != ms.KeySize || m.ValueSize() != ms.ValueSize {
			pm.close()
			return nil, fmt.Errorf("pinned map %s is not this alps version's (%v, key %d, value %d bytes; want %v, %d, %d)",
				p, m.Type(), m.KeySize(), m.ValueSize(), ms.Type, ms.KeySize, ms.ValueSize)
		}
	}
	st, err := pm.readState()
	if err != nil {
		pm.close()
		return nil, err
	}
	if st.layout != LayoutVersion {
		pm.close()
		return nil, fmt.Errorf("pinned maps in %s have layout version %d; this alps reads version %d", dir, st.layout, LayoutVersion)
	}
	return &Pinned{dir: dir, maps: pm}, nil
}

// Dir is the pin directory.
func (p *Pinned) Dir() string { return p.dir }

// Snapshot reads the live policy table, knobs, heartbeat, counters and classifier maps. The
// table is read between two reads of the live half and read again if a SetPolicy switched
// tables meanwhile, so it is never a mix of two tables (unless the frontend switched twice
// during one read, which takes a few milliseconds).
func (p *Pinned) Snapshot() (Snapshot, error) {
	return snapshot(p.maps, monotonicNow)
}

// Close releases the map handles; the pins stay.
func (p *Pinned) Close() error { return p.maps.close() }

// tableHeader is one half's entry of the tables map: its knobs and default entry.
type tableHeader struct {
	knobs      policy.Knobs
	dflt       policy.Entry
	hasDefault bool
}

// pinnedState is what status reads of the scheduler's globals.
type pinnedState struct {
	layout, gen      uint32
	heartbeat, stale uint64
}

// mapSource is what snapshot reads; pinnedMaps reads the kernel maps, tests use a fake.
type mapSource interface {
	readState() (pinnedState, error)
	readTables() ([2]tableHeader, error)
	// readPolicy returns the valid rows of the whole policy array (both halves), by key.
	readPolicy() (map[uint32]alpsEntry, error)
	readCounters() (Counters, error)
	readComms() (map[string]uint32, error)
	readCgroups() (map[uint64]uint32, error)
	// readClasses returns the valid class entries of both halves, by kernel key (classKey).
	readClasses() (map[uint64]alpsEntry, error)
}

// snapshotTries bounds how often snapshot reads the table again after a concurrent switch.
const snapshotTries = 3

func snapshot(src mapSource, now func() uint64) (Snapshot, error) {
	var (
		st     pinnedState
		tables [2]tableHeader
		rows   map[uint32]alpsEntry
		cls    map[uint64]alpsEntry
	)
	for try := 0; ; try++ {
		before, err := src.readState()
		if err != nil {
			return Snapshot{}, err
		}
		if tables, err = src.readTables(); err != nil {
			return Snapshot{}, err
		}
		if rows, err = src.readPolicy(); err != nil {
			return Snapshot{}, err
		}
		if cls, err = src.readClasses(); err != nil {
			return Snapshot{}, err
		}
		if st, err = src.readState(); err != nil {
			return Snapshot{}, err
		}
		if st.gen == before.gen {
			break
		}
		if try+1 == snapshotTries {
			return Snapshot{}, fmt.Errorf("reading the policy table: it changed during each of %d reads", snapshotTries)
		}
	}
	live := tables[st.gen&1]
	s := Snapshot{
		Layout:         st.layout,
		Generation:     st.gen & 1,
		Knobs:          live.knobs,
		Default:        live.dflt,
		HasDefault:     live.hasDefault,
		HeartbeatStale: time.Duration(st.stale),
		Heartbeat:      int64(st.heartbeat),
		Now:            int64(now()),
		Policy:         map[uint32]policy.Entry{},
		Classes:        map[policy.ClassKey]policy.Entry{},
	}
	base := s.Generation * policy.MaxFunctions
	for key, r := range rows {
		if r.Valid == 0 || key < base || key >= base+policy.MaxFunctions {
			continue
		}
		s.Policy[key-base] = entryFrom(r)
	}
	for key, r := range cls {
		if k, g := classKeyFrom(key); r.Valid != 0 && g == s.Generation {
			s.Classes[k] = entryFrom(r)
		}
	}
	var err error
	if s.Counters, err = src.readCounters(); err != nil {
		return Snapshot{}, err
	}
	if s.Comms, err = src.readComms(); err != nil {
		return Snapshot{}, err
	}
	if s.Cgroups, err = src.readCgroups(); err != nil {
		return Snapshot{}, err
	}
	return s, nil
}

type pinnedMaps struct {
	spec                                                               *ebpf.CollectionSpec
	state, config, tables, policy, counters, commFn, cgroupFn, classes *ebpf.Map
}

func (m *pinnedMaps) close() error {
	var first error
	for _, mm := range []*ebpf.Map{m.state, m.config, m.tables, m.policy, m.counters, m.commFn, m.cgroupFn, m.classes} {
		if mm == nil {
			continue
		}
		if err := mm.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// readGlobals decodes the named variables of a pinned section map (.data or .rodata),
// at the offsets this binary's scheduler object gives them.
func (m *pinnedMaps) readGlobals(sm *ebpf.Map, vars map[string]any) error {
	buf := make([]byte, sm.ValueSize())
	if err := sm.Lookup(uint32(0), &buf); err != nil {
		return fmt.Errorf("reading the pinned scheduler state: %w", err)
	}
	for name, dst := range vars {
		vs := m.spec.Variables[name]
		if vs == nil || int(vs.Offset+vs.Size()) > len(buf) {
			return fmt.Errorf("the pinned scheduler state has no %s", name)
		}
		if _, err := binary.Decode(buf[vs.Offset:vs.Offset+vs.Size()], binary.NativeEndian, dst); err != nil {
			return fmt.Errorf("decoding the pinned %s: %w", name, err)
		}
	}
	return nil
}

func (m *pinnedMaps) readState() (pinnedState, error) {
	var s pinnedState
	if err := m.readGlobals(m.state, map[string]any{"layout_version": &s.layout, "gen": &s.gen,
		"heartbeat": &s.heartbeat}); err != nil {
		return s, err
	}
	err := m.readGlobals(m.config, map[string]any{"heartbeat_stale": &s.stale})
	return s, err
}

func (m *pinnedMaps) readTables() ([2]tableHeader, error) {
	var out [2]tableHeader
	for i := range out {
		var raw alpsTable
		if err := m.tables.Lookup(uint32(i), &raw); err != nil {
			return out, fmt.Errorf("reading the pinned policy knobs: %w", err)
		}
		h := &out[i]
		h.knobs, h.dflt, h.hasDefault = tableFrom(raw)
	}
	return out, nil
}

// policyBatch is how many policy rows one batch lookup reads.
const policyBatch = 4096

func (m *pinnedMaps) readPolicy() (map[uint32]alpsEntry, error) {
	out := map[uint32]alpsEntry{}
	keys := make([]uint32, policyBatch)
	vals := make([]alpsEntry, policyBatch)
	var cursor ebpf.MapBatchCursor
	for {
		n, err := m.policy.BatchLookup(&cursor, keys, vals, nil)
		for i := range n {
			if vals[i].Valid != 0 {
				out[keys[i]] = vals[i]
			}
		}
		if errors.Is(err, ebpf.ErrKeyNotExist) {
			return out, nil
		}
		if errors.Is(err, ebpf.ErrNotSupported) {
			return m.iteratePolicy()
		}
		if err != nil {
			return nil, fmt.Errorf("reading the pinned policy table: %w", err)
		}
	}
}

// iteratePolicy is readPolicy for kernels without batch lookups of arrays.
func (m *pinnedMaps) iteratePolicy() (map[uint32]alpsEntry, error) {
	return iterateMap[uint32](m.policy, "policy table", func(e alpsEntry) bool { return e.Valid != 0 })
}

func (m *pinnedMaps) readClasses() (map[uint64]alpsEntry, error) {
	return iterateMap[uint64, alpsEntry](m.classes, "class entries", nil)
}

func (m *pinnedMaps) readCounters() (Counters, error) { return sumCounters(m.counters) }

func (m *pinnedMaps) readComms() (map[string]uint32, error) {
	return readClassifier(m.commFn, "process-name", func(k [16]byte) string { return cString(k[:]) })
}

func (m *pinnedMaps) readCgroups() (map[uint64]uint32, error) {
	return readClassifier(m.cgroupFn, "cgroup", func(k uint64) uint64 { return k })
}

// readClassifier reads a classifier map (key -> function id), converting its keys.
func readClassifier[K comparable, O comparable](m *ebpf.Map, what string, conv func(K) O) (map[O]uint32, error) {
	in, err := iterateMap[K, uint32](m, what+" classifier", nil)
	if err != nil {
		return nil, err
	}
	out := make(map[O]uint32, len(in))
	for k, fn := range in {
		out[conv(k)] = fn
	}
	return out, nil
}

// iterateMap reads the entries of m that keep accepts (nil: all); what names m in errors.
func iterateMap[K comparable, V any](m *ebpf.Map, what string, keep func(V) bool) (map[K]V, error) {
	out := map[K]V{}
	var (
		key K
		val V
	)
	it := m.Iterate()
	for it.Next(&key, &val) {
		if keep == nil || keep(val) {
			out[key] = val
		}
	}
	if err := it.Err(); err != nil {
		return nil, fmt.Errorf("reading the pinned %s: %w", what, err)
	}
	return out, nil
}

// sumCounters reads the per-CPU counters map and sums each counter over the CPUs.
func sumCounters(m *ebpf.Map) (Counters, error) {
	var c Counters
	for i, f := range counterFields(&c) {
		n, err := classify.SumCounter(m, i)
		if err != nil {
			return c, fmt.Errorf("reading counter %d: %w", i, err)
		}
		*f = n
	}
	return c, nil
}

// notPinned is ErrNotPinned for dir, saying so when no bpffs is mounted where the pins
// would be.
func notPinned(dir string) error {
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil {
			var st unix.Statfs_t
			if unix.Statfs(d, &st) == nil && st.Type != unix.BPF_FS_MAGIC && d != dir {
				return fmt.Errorf("%s: %w (no bpffs is mounted at %s)", dir, ErrNotPinned, d)
			}
			break
		}
		if d == filepath.Dir(d) {
			break
		}
	}
	return fmt.Errorf("%s: %w", dir, ErrNotPinned)
}
