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
)

// Names of the map pins Load creates under Options.PinPath.
const (
	PinPolicy   = "policy"
	PinKnobs    = "knobs"
	PinCounters = "counters"
	PinCommFn   = "comm_fn"
	PinCgroupFn = "cgroup_fn"
	PinExitInfo = "exit_info"
)

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
	// Knobs of the live policy table.
	Knobs Knobs
	// Generation is the live half of the policy array (0 or 1); it flips on every SetPolicy.
	Generation uint32
	// Heartbeat is when the frontend last called Heartbeat, CLOCK_MONOTONIC ns.
	Heartbeat int64
	// Now is when the snapshot was taken, CLOCK_MONOTONIC ns.
	Now int64
	// Policy is the live table: function id -> entry.
	Policy map[uint32]Entry
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

// Stale reports whether the heartbeat is older than Knobs.HeartbeatStale, in which case the
// scheduler ignores the ranks and orders every task as plain fair vtime.
func (s Snapshot) Stale() bool {
	return s.Knobs.HeartbeatStale > 0 && s.HeartbeatAge() > s.Knobs.HeartbeatStale
}

// Pinned is a read-only view of the maps a running scheduler pinned (Options.PinPath). It
// never writes to them. Open it with OpenPinned.
type Pinned struct {
	dir  string
	maps *pinnedMaps
}

// OpenPinned opens the maps pinned under dir read-only. It fails with ErrNotPinned when
// nothing is pinned there and ErrPinnedAccess when this user may not read the pins.
func OpenPinned(dir string) (*Pinned, error) {
	if dir == "" {
		return nil, fmt.Errorf("pin path is empty: %w", ErrNotPinned)
	}
	pm := &pinnedMaps{}
	want := []struct {
		name string
		dst  **ebpf.Map
		typ  ebpf.MapType
		key  uint32
		val  uint32
	}{
		{PinKnobs, &pm.knobs, ebpf.Array, 4, uint32(binary.Size(rawKnobs{}))},
		{PinPolicy, &pm.policy, ebpf.Array, 4, uint32(binary.Size(rawPolicy{}))},
		{PinCounters, &pm.counters, ebpf.PerCPUArray, 4, 8},
		{PinCommFn, &pm.commFn, ebpf.Hash, 16, 4},
		{PinCgroupFn, &pm.cgroupFn, ebpf.Hash, 8, 4},
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
		if m.Type() != w.typ || m.KeySize() != w.key || m.ValueSize() != w.val {
			pm.close()
			return nil, fmt.Errorf("pinned map %s is not this alps version's (%v, key %d, value %d bytes; want %v, %d, %d)",
				p, m.Type(), m.KeySize(), m.ValueSize(), w.typ, w.key, w.val)
		}
	}
	return &Pinned{dir: dir, maps: pm}, nil
}

// Dir is the pin directory.
func (p *Pinned) Dir() string { return p.dir }

// Snapshot reads the live policy table, knobs, heartbeat, counters and classifier maps. The
// table is read between two reads of the knobs and read again if a SetPolicy switched
// tables meanwhile, so it is never a mix of two tables (unless the frontend switched twice
// during one read, which takes a few milliseconds).
func (p *Pinned) Snapshot() (Snapshot, error) {
	return snapshot(p.maps, monotonicNow)
}

// Close releases the map handles; the pins stay.
func (p *Pinned) Close() error { return p.maps.close() }

// mapSource is what snapshot reads; pinnedMaps reads the kernel maps, tests use a fake.
type mapSource interface {
	readKnobs() (rawKnobs, error)
	// readPolicy returns the valid rows of the whole policy array (both halves), by key.
	readPolicy() (map[uint32]rawPolicy, error)
	readCounters() (Counters, error)
	readComms() (map[string]uint32, error)
	readCgroups() (map[uint64]uint32, error)
}

// snapshotTries bounds how often snapshot reads the table again after a concurrent switch.
const snapshotTries = 3

func snapshot(src mapSource, now func() uint64) (Snapshot, error) {
	var (
		k    rawKnobs
		rows map[uint32]rawPolicy
	)
	for try := 0; ; try++ {
		before, err := src.readKnobs()
		if err != nil {
			return Snapshot{}, err
		}
		if rows, err = src.readPolicy(); err != nil {
			return Snapshot{}, err
		}
		if k, err = src.readKnobs(); err != nil {
			return Snapshot{}, err
		}
		if k.Gen == before.Gen {
			break
		}
		if try+1 == snapshotTries {
			return Snapshot{}, fmt.Errorf("reading the policy table: it changed during each of %d reads", snapshotTries)
		}
	}
	s := Snapshot{
		Knobs: Knobs{
			RankStep: time.Duration(k.RankStep), MaxPenalty: time.Duration(k.MaxPenalty), WakeLag: time.Duration(k.WakeLag),
			DefaultSlice: time.Duration(k.DefaultSlice), HeartbeatStale: time.Duration(k.HeartbeatStale),
		},
		Generation: k.Gen & 1,
		Heartbeat:  int64(k.Heartbeat),
		Now:        int64(now()),
		Policy:     map[uint32]Entry{},
	}
	base := s.Generation * MaxFunctions
	for key, r := range rows {
		if r.Valid == 0 || key < base || key >= base+MaxFunctions {
			continue
		}
		s.Policy[key-base] = Entry{Rank: r.Rank, Slice: time.Duration(r.Slice)}
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
	knobs, policy, counters, commFn, cgroupFn *ebpf.Map
}

func (m *pinnedMaps) close() error {
	var first error
	for _, mm := range []*ebpf.Map{m.knobs, m.policy, m.counters, m.commFn, m.cgroupFn} {
		if mm == nil {
			continue
		}
		if err := mm.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

func (m *pinnedMaps) readKnobs() (rawKnobs, error) {
	var k rawKnobs
	if err := m.knobs.Lookup(uint32(0), &k); err != nil {
		return k, fmt.Errorf("reading the pinned knobs: %w", err)
	}
	return k, nil
}

// policyBatch is how many policy rows one batch lookup reads.
const policyBatch = 8192

func (m *pinnedMaps) readPolicy() (map[uint32]rawPolicy, error) {
	out := map[uint32]rawPolicy{}
	keys := make([]uint32, policyBatch)
	vals := make([]rawPolicy, policyBatch)
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
func (m *pinnedMaps) iteratePolicy() (map[uint32]rawPolicy, error) {
	out := map[uint32]rawPolicy{}
	var (
		key uint32
		val rawPolicy
	)
	it := m.policy.Iterate()
	for it.Next(&key, &val) {
		if val.Valid != 0 {
			out[key] = val
		}
	}
	if err := it.Err(); err != nil {
		return nil, fmt.Errorf("reading the pinned policy table: %w", err)
	}
	return out, nil
}

func (m *pinnedMaps) readCounters() (Counters, error) { return sumCounters(m.counters) }

func (m *pinnedMaps) readComms() (map[string]uint32, error) {
	return readClassifier(m.commFn, "process-name", func(k [16]byte) string { return cString(k[:]) })
}

func (m *pinnedMaps) readCgroups() (map[uint64]uint32, error) {
	return readClassifier(m.cgroupFn, "cgroup", func(k uint64) uint64 { return k })
}

// readClassifier reads a classifier map (key -> function id), converting its keys.
func readClassifier[K any, O comparable](m *ebpf.Map, what string, conv func(K) O) (map[O]uint32, error) {
	out := map[O]uint32{}
	var (
		key K
		fn  uint32
	)
	it := m.Iterate()
	for it.Next(&key, &fn) {
		out[conv(key)] = fn
	}
	if err := it.Err(); err != nil {
		return nil, fmt.Errorf("reading the pinned %s classifier: %w", what, err)
	}
	return out, nil
}

// sumCounters reads the per-CPU counters map and sums each counter over the CPUs.
func sumCounters(m *ebpf.Map) (Counters, error) {
	var c Counters
	fields := []*uint64{&c.Enqueues, &c.Direct, &c.Ranked, &c.Stale, &c.Capped, &c.Dispatches,
		&c.Records, &c.RecordsLost, &c.Classified}
	for i, f := range fields {
		n, err := classify.SumCounter(m, uint32(i))
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
