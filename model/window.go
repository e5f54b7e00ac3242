package model

// Record is what the backend reports about one completed invocation.
type Record struct {
	Function uint32 // dense function id (the BPF map key)
	Arrival  int64  // when the invocation arrived (ns)
	CPU      int64  // CPU time it consumed (ns)
	Wall     int64  // completion - arrival (ns)
	Blocked  int64  // time spent sleeping, e.g. on I/O (ns)
	Wakeups  uint32 // times it woke up after blocking
}

// End is the completion time of the invocation.
func (r Record) End() int64 { return r.Arrival + r.Wall }

// Burst is the mean uninterrupted CPU burst between two sleeps of the invocation.
func (r Record) Burst() int64 { return r.CPU / int64(r.Wakeups+1) }

// Window holds the most recent completed invocations, bounded both in count and in age.
// Records are kept in the order they were added (completion order). The zero Window is not
// usable; use NewWindow.
type Window struct {
	buf   []Record
	head  int // index of the oldest record
	n     int
	span  int64
	total int64 // records ever added
}

// NewWindow returns a window keeping at most size records that completed less than span ns
// ago (span <= 0: no age bound).
func NewWindow(size int, span int64) *Window {
	if size < 1 {
		size = 1
	}
	return &Window{buf: make([]Record, size), span: span}
}

// Add appends a completed invocation, evicting the oldest one if the window is full.
func (w *Window) Add(r Record) {
	w.total++
	i := (w.head + w.n) % len(w.buf)
	w.buf[i] = r
	if w.n < len(w.buf) {
		w.n++
		return
	}
	w.head = (w.head + 1) % len(w.buf)
}

// Expire drops the records that completed before now - span. Records are assumed to be added
// in completion order, so only the oldest end of the window is examined.
func (w *Window) Expire(now int64) {
	if w.span <= 0 {
		return
	}
	for w.Expiring(now) {
		w.head = (w.head + 1) % len(w.buf)
		w.n--
	}
}

// Expiring reports whether Expire(now) would drop a record. With Total it tells a caller
// whether the window changed since it last looked.
func (w *Window) Expiring(now int64) bool {
	return w.span > 0 && w.n > 0 && w.buf[w.head].End() < now-w.span
}

// Len is the number of records in the window.
func (w *Window) Len() int { return w.n }

// Total is the number of records ever added.
func (w *Window) Total() int64 { return w.total }

// At returns the i-th record, oldest first.
func (w *Window) At(i int) Record { return w.buf[(w.head+i)%len(w.buf)] }

// Records appends the window's records, oldest first, to dst and returns it.
func (w *Window) Records(dst []Record) []Record {
	for i := 0; i < w.n; i++ {
		dst = append(dst, w.At(i))
	}
	return dst
}
