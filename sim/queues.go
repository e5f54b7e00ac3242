package sim

// taskQueue is a FIFO ring of task ids that grows as needed.
type taskQueue struct {
	buf        []TaskID
	head, size int
}

func (q *taskQueue) len() int { return q.size }

func (q *taskQueue) push(t TaskID) {
	if q.size == len(q.buf) {
		nb := make([]TaskID, max(16, 2*len(q.buf)))
		for i := 0; i < q.size; i++ {
			nb[i] = q.buf[(q.head+i)%len(q.buf)]
		}
		q.buf, q.head = nb, 0
	}
	q.buf[(q.head+q.size)%len(q.buf)] = t
	q.size++
}

func (q *taskQueue) pop() TaskID {
	t := q.buf[q.head]
	q.head = (q.head + 1) % len(q.buf)
	q.size--
	return t
}

// keyHeap is a min-heap of tasks by (key, insertion order).
type keyHeap struct {
	s   minHeap[keyed]
	seq uint32
}

type keyed struct {
	key int64
	seq uint32
	t   TaskID
}

func (a keyed) less(b keyed) bool {
	return a.key < b.key || (a.key == b.key && a.seq < b.seq)
}

func (h *keyHeap) len() int { return len(h.s) }

func (h *keyHeap) push(key int64, t TaskID) {
	h.seq++
	h.s.push(keyed{key: key, seq: h.seq, t: t})
}

func (h *keyHeap) pop() keyed { return h.s.pop() }
