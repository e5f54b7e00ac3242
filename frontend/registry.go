package frontend

import (
	"fmt"
	"sort"
	"sync"
)

// Registry gives each function name a dense id (the BPF map key) and remembers the name of
// each id. It holds at most max names: when full, the least recently used name that is not
// pinned is forgotten and its id reused, in O(1) (the unpinned ids form a list in order of
// use). A caller that gets an eviction must clear every per-id state it keeps for the id (the
// Classifier does, and tells the daemon to forget the id's records). It is safe for
// concurrent use.
type Registry struct {
	mu     sync.Mutex
	max    int
	ids    map[string]uint32
	names  []string // id -> name ("" when free)
	pinned []bool
	// Doubly linked list of the held, unpinned ids, most recently used first (none: -1).
	prev, next []int32
	head, tail int32
	npinned    int
}

// NewRegistry returns a registry of at most max functions.
func NewRegistry(max int) *Registry {
	if max < 1 {
		max = 1
	}
	return &Registry{max: max, ids: map[string]uint32{}, head: -1, tail: -1}
}

// ID returns the id of name, assigning one if needed; evicted is the name that lost its id to
// make room ("" if none), which is then the returned id.
func (r *Registry) ID(name string) (id uint32, evicted string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if id, ok := r.ids[name]; ok {
		r.use(id)
		return id, ""
	}
	id, evicted = r.assign(name)
	r.pushFront(id)
	return id, evicted
}

// Pin is ID for a name that must keep its id for the registry's life (a process-name rule
// installed once in the kernel). At least one id stays unpinned, so ID never fails.
func (r *Registry) Pin(name string) (id uint32, evicted string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	id, ok := r.ids[name]
	if ok && r.pinned[id] {
		return id, "", nil
	}
	if r.npinned+1 >= r.max {
		return 0, "", fmt.Errorf("%q: more pinned functions than learner.max_functions - 1 (%d)", name, r.max-1)
	}
	if ok {
		r.unlink(id)
	} else {
		id, evicted = r.assign(name)
	}
	r.pinned[id] = true
	r.npinned++
	return id, evicted, nil
}

// assign gives name a new or evicted id (not linked in the list).
func (r *Registry) assign(name string) (id uint32, evicted string) {
	switch {
	case len(r.names) < r.max:
		id = uint32(len(r.names))
		r.names = append(r.names, "")
		r.pinned = append(r.pinned, false)
		r.prev = append(r.prev, -1)
		r.next = append(r.next, -1)
	default:
		id = uint32(r.tail) // the least recently used unpinned id: one exists (Pin keeps it so)
		r.unlink(id)
		evicted = r.names[id]
		delete(r.ids, evicted)
	}
	r.ids[name] = id
	r.names[id] = name
	return id, evicted
}

// use moves a held, unpinned id to the front of the list.
func (r *Registry) use(id uint32) {
	if r.pinned[id] || r.head == int32(id) {
		return
	}
	r.unlink(id)
	r.pushFront(id)
}

func (r *Registry) pushFront(id uint32) {
	i := int32(id)
	r.prev[i], r.next[i] = -1, r.head
	if r.head >= 0 {
		r.prev[r.head] = i
	}
	r.head = i
	if r.tail < 0 {
		r.tail = i
	}
}

func (r *Registry) unlink(id uint32) {
	i := int32(id)
	p, n := r.prev[i], r.next[i]
	if p >= 0 {
		r.next[p] = n
	} else {
		r.head = n
	}
	if n >= 0 {
		r.prev[n] = p
	} else {
		r.tail = p
	}
	r.prev[i], r.next[i] = -1, -1
}

// Touch marks id as used now (a record of it arrived).
func (r *Registry) Touch(id uint32) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if int(id) < len(r.names) && r.names[id] != "" {
		r.use(id)
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
