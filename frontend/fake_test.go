package frontend

import (
	"errors"
	"sync"
	"time"

	"github.com/alps-sched/alps/policy"
)

// fakeKernel records what the daemon does to the kernel side.
type fakeKernel struct {
	mu        sync.Mutex
	policies  []*policy.Table
	beats     int
	cgroups   map[uint64]uint32
	comms     map[string]uint32
	records   chan policy.Record
	exited    chan policy.ExitInfo
	closed    bool
	dropped   uint64
	failPush  bool
	closeInfo policy.ExitInfo
	latencies []time.Duration // SetRecordLatency calls
}

func newFakeKernel(buf int) *fakeKernel {
	return &fakeKernel{cgroups: map[uint64]uint32{}, comms: map[string]uint32{},
		records: make(chan policy.Record, buf), exited: make(chan policy.ExitInfo, 1),
		closeInfo: policy.ExitInfo{Kind: 64, Reason: "unregistered from user space"}}
}

func (k *fakeKernel) SetPolicy(t *policy.Table) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.failPush {
		return errors.New("map update failed")
	}
	k.policies = append(k.policies, t)
	return nil
}

func (k *fakeKernel) SetRecordLatency(d time.Duration) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.latencies = append(k.latencies, d)
}

func (k *fakeKernel) Heartbeat() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.beats++
	return nil
}

func (k *fakeKernel) SetCgroupFunction(id uint64, fn uint32) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.cgroups[id] = fn
	return nil
}

func (k *fakeKernel) DeleteCgroup(id uint64) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.cgroups, id)
	return nil
}

func (k *fakeKernel) SetCommFunction(comm string, fn uint32) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.comms[comm] = fn
	return nil
}

func (k *fakeKernel) Records() <-chan policy.Record  { return k.records }
func (k *fakeKernel) Dropped() uint64                { k.mu.Lock(); defer k.mu.Unlock(); return k.dropped }
func (k *fakeKernel) Exited() <-chan policy.ExitInfo { return k.exited }

func (k *fakeKernel) Close() (policy.ExitInfo, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.closed = true
	return k.closeInfo, nil
}

func (k *fakeKernel) snapshot() (pols []*policy.Table, beats int, cg map[uint64]uint32, closed bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	cg = map[uint64]uint32{}
	for a, b := range k.cgroups {
		cg[a] = b
	}
	return append([]*policy.Table(nil), k.policies...), k.beats, cg, k.closed
}

// fakeLearner ranks functions by how many records it saw of them (fewest first), and counts
// its updates.
type fakeLearner struct {
	seen    map[uint32]int
	version uint64
	slow    func()
}

func newFakeLearner() *fakeLearner { return &fakeLearner{seen: map[uint32]int{}} }

func (l *fakeLearner) Observe(r policy.Record) { l.seen[r.Function]++ }

func (l *fakeLearner) Update(now int64) *policy.Table {
	if l.slow != nil {
		l.slow()
	}
	l.version++
	t := &policy.Table{Version: l.version, Entries: map[uint32]policy.Entry{}}
	for fn, n := range l.seen {
		t.Entries[fn] = policy.Entry{Rank: uint32(n), Slice: 5e6}
	}
	return t
}
