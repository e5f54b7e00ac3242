package frontend

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/alps-sched/alps/configs"
	"github.com/alps-sched/alps/model"
	"github.com/alps-sched/alps/policy"
)

// TestRegistryLRU (issue 11, defect 11): the registry evicts exactly the least recently used
// unpinned name, as a naive model does, under random use.
func TestRegistryLRU(t *testing.T) {
	for _, tc := range []struct {
		max, names, ops int
		pins            []string
	}{
		{1, 3, 200, nil},
		{2, 5, 500, nil},
		{8, 40, 5000, []string{"n1", "n2"}},
		{64, 100, 20000, []string{"n7"}},
	} {
		t.Run(fmt.Sprintf("max%d", tc.max), func(t *testing.T) {
			r := NewRegistry(tc.max)
			var lru []string // naive model: unpinned names, least recently used first
			held := map[string]uint32{}
			for _, p := range tc.pins {
				id, _, err := r.Pin(p)
				if err != nil {
					t.Fatal(err)
				}
				held[p] = id
			}
			rng := rand.New(rand.NewPCG(uint64(tc.max), 1))
			for range tc.ops {
				name := fmt.Sprintf("n%d", rng.IntN(tc.names))
				if slices.Contains(tc.pins, name) {
					continue
				}
				if rng.IntN(4) == 0 {
					if id, ok := held[name]; ok {
						r.Touch(id)
						i := slices.Index(lru, name)
						lru = append(slices.Delete(lru, i, i+1), name)
					}
					continue
				}
				want := ""
				if _, ok := held[name]; !ok && len(held) == tc.max {
					want, lru = lru[0], lru[1:]
					delete(held, want)
				}
				id, ev := r.ID(name)
				if ev != want {
					t.Fatalf("%s evicted %q, want %q", name, ev, want)
				}
				if want != "" && id != heldID(t, r, name) {
					t.Fatalf("id mismatch")
				}
				held[name] = id
				if i := slices.Index(lru, name); i >= 0 {
					lru = slices.Delete(lru, i, i+1)
				}
				lru = append(lru, name)
			}
			for name, id := range held {
				if r.Name(id) != name {
					t.Fatalf("id %d is %q, want %q", id, r.Name(id), name)
				}
			}
		})
	}
	// Pins leave one evictable id.
	r := NewRegistry(2)
	if _, _, err := r.Pin("a"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.Pin("b"); err == nil {
		t.Error("pinned every id")
	}
}

func heldID(t *testing.T, r *Registry, name string) uint32 {
	t.Helper()
	for id, n := range r.Names() {
		if n == name {
			return id
		}
	}
	t.Fatalf("%s not held", name)
	return 0
}

// BenchmarkRegistryEvict: a new name when the registry is full, at 100000 names (the issue
// measured 48.6 µs per name with an O(max) scan).
func BenchmarkRegistryEvict(b *testing.B) {
	r := NewRegistry(100_000)
	names := make([]string, 200_000)
	for i := range names {
		names[i] = fmt.Sprintf("fn-%d", i)
	}
	for _, n := range names[:100_000] {
		r.ID(n)
	}
	b.ResetTimer()
	for i := range b.N {
		r.ID(names[(100_000+i)%len(names)]) // a new name each time: an eviction
	}
}

// TestReusedIDForgets (issue 11, defect 11): with max_functions 2, a new 1 ms function that
// takes an evicted 980 ms function's id is ranked from its own demand only.
func TestReusedIDForgets(t *testing.T) {
	cfg := testConfig(t)
	cfg.Learner.MaxFunctions = 2
	l, err := model.NewLearner(configs.LearnerConfig(cfg))
	if err != nil {
		t.Fatal(err)
	}
	var recs []Invocation
	ms := int64(time.Millisecond)
	for i := range 10 {
		at := int64(i) * 2000 * ms
		recs = append(recs, Invocation{Function: "slow", Start: at, End: at + 980*ms, CPU: 980 * ms},
			Invocation{Function: "medium", Start: at + 990*ms, End: at + 1000*ms, CPU: 10 * ms})
	}
	at := int64(20_000) * ms
	recs = append(recs, Invocation{Function: "medium", Start: at, End: at + 10*ms, CPU: 10 * ms},
		Invocation{Function: "tiny", Start: at + 20*ms, End: at + 21*ms, CPU: ms})
	reg := NewRegistry(2)
	res, err := Replay(recs, l, reg, time.Second, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	id := mustID(reg, "tiny")
	e, ok := res.Table.Lookup(id)
	if !ok {
		t.Fatalf("no entry for tiny (id %d): %+v", id, res.Table.Entries)
	}
	if e.Demand > 2*ms {
		t.Errorf("tiny predicted %.1f ms: the evicted function's records were counted", float64(e.Demand)/1e6)
	}
}

// TestEvictionForgetsCgroups (issue 11, defect 11): when a function is evicted, the cgroups
// classified with its id are forgotten in the kernel, so no two functions' cgroups share an
// id; the daemon's learner forgets the id's pending records too.
func TestEvictionForgetsCgroups(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"fn-a", "fn-b", "fn-c"} {
		if err := os.Mkdir(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cfg := testConfig(t)
	cfg.Learner.MaxFunctions = 2
	cfg.Frontend.CgroupRoot = root
	cfg.Frontend.CgroupPatterns = []string{"^fn-([a-z])$"}
	k := newFakeKernel(16)
	fl := &forgetLearner{fakeLearner: newFakeLearner()}
	d, err := New(Options{Config: cfg, Kernel: k, Log: zerolog.Nop(), NewLearner: func(configs.Config) (Learner, error) { return fl, nil }})
	if err != nil {
		t.Fatal(err)
	}
	d.class.classify(filepath.Join(root, "fn-a"))
	d.class.classify(filepath.Join(root, "fn-b"))
	a, _ := d.reg.ID("a")
	d.pending = append(d.pending, policy.Record{Function: a, CPU: 980e6}) // a's, before the reuse
	d.reg.Touch(mustID(d.reg, "b"))
	d.class.classify(filepath.Join(root, "fn-c")) // evicts a
	c, _ := d.reg.ID("c")
	if c != a {
		t.Fatalf("c got id %d, want a's %d", c, a)
	}
	_, _, cg, _ := k.snapshot()
	ids := map[uint32]int{}
	for _, fn := range cg {
		ids[fn]++
	}
	if len(cg) != 2 || ids[c] != 1 {
		t.Errorf("kernel cgroups %v: want fn-b and fn-c only, one per id", cg)
	}
	d.step()
	if len(fl.forgot) != 1 || fl.forgot[0] != a || fl.forgotAt != 1 {
		t.Errorf("learner forgot %v after %d records, want [%d] after the pending record (the old function's)", fl.forgot, fl.forgotAt, a)
	}
}

// forgetLearner is a fakeLearner that records Forget calls.
type forgetLearner struct {
	*fakeLearner
	forgot   []uint32
	forgotAt int // records observed before the first Forget
}

func (l *forgetLearner) Forget(fn uint32) {
	if len(l.forgot) == 0 {
		for _, n := range l.seen {
			l.forgotAt += n
		}
	}
	l.forgot = append(l.forgot, fn)
}
