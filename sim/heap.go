package sim

// ordered is an element of a minHeap: a plain value that compares itself with another.
type ordered[T any] interface{ less(T) bool }

// minHeap is a binary min-heap of plain values (no interface boxing, no allocation beyond
// the slice's growth). The simulator's event queue and the policies' run queues use it.
type minHeap[T ordered[T]] []T

func (h *minHeap[T]) push(x T) {
	*h = append(*h, x)
	h.up(len(*h) - 1)
}

func (h *minHeap[T]) pop() T {
	s := *h
	top := s[0]
	n := len(s) - 1
	s[0] = s[n]
	*h = s[:n]
	h.down(0)
	return top
}

// remove takes out the element at index i.
func (h *minHeap[T]) remove(i int) T {
	s := *h
	x := s[i]
	n := len(s) - 1
	s[i] = s[n]
	*h = s[:n]
	if i < n {
		h.down(i)
		h.up(i)
	}
	return x
}

func (h minHeap[T]) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !h[i].less(h[p]) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
}

func (h minHeap[T]) down(i int) {
	n := len(h)
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && h[r].less(h[l]) {
			m = r
		}
		if !h[m].less(h[i]) {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}

// tagged is a task with a float key (the fluid models' finish tags).
type tagged struct {
	f float64
	t TaskID
}

// less orders by finish tag, then task.
func (a tagged) less(b tagged) bool { return a.f < b.f || (a.f == b.f && a.t < b.t) }

// coreQueue orders the cores by their next stop time (ties: running task id, so that
// simultaneous stops are handled in an order that does not depend on core numbering). Every
// core is always in it; one with nothing due has time never. Rescheduling a core moves it in
// place, so no stale entries build up.
type coreQueue struct {
	at  []int64
	key []TaskID
	h   []int32 // heap of cores
	pos []int32 // index of each core in h
}

func newCoreQueue(n int) coreQueue {
	q := coreQueue{at: make([]int64, n), key: make([]TaskID, n), h: make([]int32, n), pos: make([]int32, n)}
	for c := range n {
		q.at[c] = never
		q.h[c], q.pos[c] = int32(c), int32(c)
	}
	return q
}

// before orders cores a and b by stop time, then running task.
func (q *coreQueue) before(a, b int) bool {
	return q.at[a] < q.at[b] || (q.at[a] == q.at[b] && q.key[a] < q.key[b])
}

func (q *coreQueue) less(i, j int) bool { return q.before(int(q.h[i]), int(q.h[j])) }

func (q *coreQueue) swap(i, j int) {
	q.h[i], q.h[j] = q.h[j], q.h[i]
	q.pos[q.h[i]], q.pos[q.h[j]] = int32(i), int32(j)
}

// top is the core with the earliest stop and its time.
func (q *coreQueue) top() (int, int64) { c := q.h[0]; return int(c), q.at[c] }

// set reschedules core c.
func (q *coreQueue) set(c int, at int64, key TaskID) {
	q.at[c], q.key[c] = at, key
	i := int(q.pos[c])
	for i > 0 {
		p := (i - 1) / 2
		if !q.less(i, p) {
			break
		}
		q.swap(i, p)
		i = p
	}
	q.down(i)
}

// reorder restores the order after at and key were changed in place for every core. order
// lists every core once, nearly sorted by stop time: it is sorted (insertion sort) and
// becomes the heap as it is (a sorted array is a heap).
func (q *coreQueue) reorder(order []int) {
	for i := 1; i < len(order); i++ {
		c := order[i]
		j := i
		for ; j > 0 && q.before(c, order[j-1]); j-- {
			order[j] = order[j-1]
		}
		order[j] = c
	}
	for i, c := range order {
		q.h[i], q.pos[c] = int32(c), int32(i)
	}
}

// heapify restores the order after at and key were changed in place for some cores.
func (q *coreQueue) heapify() {
	for i := len(q.h)/2 - 1; i >= 0; i-- {
		q.down(i)
	}
}

func (q *coreQueue) down(i int) {
	n := len(q.h)
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && q.less(r, l) {
			m = r
		}
		if !q.less(m, i) {
			break
		}
		q.swap(i, m)
		i = m
	}
}
