package frontend

import (
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/alps-sched/alps/configs"
	"github.com/alps-sched/alps/model"
)

func TestReplay(t *testing.T) {
	var recs []Invocation
	for i := 0; i < 30; i++ {
		fn, cpu := "short", int64(2e6)
		if i%3 == 0 {
			fn, cpu = "long", int64(80e6)
		}
		start := int64(i) * 10e6
		recs = append(recs, Invocation{Function: fn, Start: start, End: start + cpu, CPU: cpu})
	}
	recs = append(recs, Invocation{Function: "lost", Lost: true})
	l := newFakeLearner()
	reg := NewRegistry(16)
	res, err := Replay(recs, l, reg, 100*time.Millisecond, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if res.Updates < 3 || res.Table.Len() != 2 {
		t.Fatalf("%d updates, table of %d", res.Updates, res.Table.Len())
	}
	if _, ok := l.seen[mustID(reg, "lost")]; ok {
		t.Error("a lost invocation was learned from")
	}
	var b strings.Builder
	WriteTable(&b, res.Table, reg.Name, 1)
	if got := strings.Count(b.String(), "\n"); got != 2 || !strings.Contains(b.String(), "long") {
		t.Errorf("table:\n%s", b.String())
	}
	if _, err := Replay(nil, l, reg, time.Second, zerolog.Nop()); err == nil {
		t.Error("empty replay accepted")
	}
}

func mustID(r *Registry, name string) uint32 { id, _ := r.ID(name); return id }

// TestReplayWithModelLearner runs the dry run with the real learner: the short function must
// rank ahead of the long one.
func TestReplayWithModelLearner(t *testing.T) {
	cfg := testConfig(t)
	l, err := model.NewLearner(configs.LearnerConfig(cfg))
	if err != nil {
		t.Fatal(err)
	}
	var recs []Invocation
	for i := 0; i < 200; i++ {
		fn, cpu := "short", int64(3e6)
		if i%4 == 0 {
			fn, cpu = "long", int64(200e6)
		}
		start := int64(i) * 20e6
		recs = append(recs, Invocation{Function: fn, Start: start, End: start + cpu, CPU: cpu})
	}
	reg := NewRegistry(16)
	res, err := Replay(recs, l, reg, time.Second, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	s, _ := res.Table.Lookup(mustID(reg, "short"))
	g, _ := res.Table.Lookup(mustID(reg, "long"))
	if s.Rank >= g.Rank {
		t.Errorf("short rank %d not ahead of long rank %d", s.Rank, g.Rank)
	}
}
