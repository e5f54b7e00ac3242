package model

import "github.com/alps-sched/alps/policy"

// Window holds the most recent completed invocations, bounded both in count and in age.
// Records are kept in the order they were added (completion order). The zero Window is not
// usable; use NewWindow.
type Window struct {
	buf   []policy.Record
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
	return &Window{buf: make([]policy.Record, size), span: span}
}

// Add appends a completed invocation, evicting the oldest one if the window is full.
func (w *Window) Add(r policy.Record) {
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
	return w.span > 0 && w.n > 0 && w.buf[w.head].End < now-w.span
}

// Len is the number of records in the window.
func (w *Window) Len() int { return w.n }

// Total is the number of records ever added.
func (w *Window) Total() int64 { return w.total }

// At returns the i-th record, oldest first.
func (w *Window) At(i int) policy.Record { return w.buf[(w.head+i)%len(w.buf)] }

// Records appends the window's records, oldest first, to dst and returns it.
func (w *Window) Records(dst []policy.Record) []policy.Record {
	for i := 0; i < w.n; i++ {
		dst = append(dst, w.At(i))
	}
	return dst
}
