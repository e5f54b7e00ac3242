package frontend

import (
	"sort"
	"sync"
)

// Registry gives each function name a dense id (the BPF map key) and remembers the name of
// each id. It holds at most max names: when full, the least recently used name whose id is
// not pinned is forgotten and its id reused. It is safe for concurrent use.
type Registry struct {
	mu    sync.Mutex
	max   int
	ids   map[string]uint32
	names []string // id -> name ("" when free)
	used  []int64  // id -> last use (a logical clock)
	clock int64
	free  []uint32
}

// NewRegistry returns a registry of at most max functions.
func NewRegistry(max int) *Registry {
	if max < 1 {
		max = 1
	}
	return &Registry{max: max, ids: map[string]uint32{}}
}

// ID returns the id of name, assigning one if needed; evicted is the name that lost its id to
// make room ("" if none).
func (r *Registry) ID(name string) (id uint32, evicted string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.clock++
	if id, ok := r.ids[name]; ok {
		r.used[id] = r.clock
		return id, ""
	}
	switch {
	case len(r.free) > 0:
		id = r.free[len(r.free)-1]
		r.free = r.free[:len(r.free)-1]
	case len(r.names) < r.max:
		id = uint32(len(r.names))
		r.names = append(r.names, "")
		r.used = append(r.used, 0)
	default:
		id = 0
		for i := range r.used {
			if r.used[i] < r.used[id] {
				id = uint32(i)
			}
		}
		evicted = r.names[id]
		delete(r.ids, evicted)
	}
	r.ids[name] = id
	r.names[id] = name
	r.used[id] = r.clock
	return id, evicted
}

// Touch marks id as used now (a record of it arrived).
func (r *Registry) Touch(id uint32) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if int(id) < len(r.used) && r.names[id] != "" {
		r.clock++
		r.used[id] = r.clock
	}
}

// Name returns the name of id, or "" if the id is free.
func (r *Registry) Name(id uint32) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if int(id) < len(r.names) {
		return r.names[id]
	}
	return ""
}

// Len is the number of names held.
func (r *Registry) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.ids)
}

// Names returns the names held, by id.
func (r *Registry) Names() map[uint32]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[uint32]string, len(r.ids))
	for name, id := range r.ids {
		out[id] = name
	}
	return out
}

// SortedNames returns the names held in id order.
func (r *Registry) SortedNames() []string {
	m := r.Names()
	ids := make([]int, 0, len(m))
	for id := range m {
		ids = append(ids, int(id))
	}
	sort.Ints(ids)
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = m[uint32(id)]
	}
	return out
}
