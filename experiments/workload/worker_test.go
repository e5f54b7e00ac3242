package workload

import (
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

func TestWireRoundTrip(t *testing.T) {
	rq := Request{ID: 7, Class: 3, Units: 1 << 35, Blocks: 2, SleepUs: 1500}
	if b := rq.Encode(nil); len(b) != RequestSize || DecodeRequest(b) != rq {
		t.Errorf("request %+v: %d bytes, decoded %+v", rq, len(b), DecodeRequest(b))
	}
	rp := Reply{ID: 7, Flags: ReplyRegistered, CPU: 123456789, Start: 1 << 40, End: 1<<40 + 5}
	if b := rp.Encode(nil); len(b) != ReplySize || DecodeReply(b) != rp {
		t.Errorf("reply %+v: %d bytes, decoded %+v", rp, len(b), DecodeReply(b))
	}
}

// pipe returns a pipe, closed when t ends.
func pipe(t *testing.T) (r, w *os.File) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	return r, w
}

// serveAll serves reqs with o and returns the replies after the hello, by ID.
func serveAll(t *testing.T, o ServeOptions, reqs []Request) map[uint32]Reply {
	t.Helper()
	inR, inW := pipe(t)
	outR, outW := pipe(t)
	errc := make(chan error, 1)
	go func() { errc <- Serve(inR, outW, o); outW.Close() }()
	go func() {
		for _, r := range reqs {
			inW.Write(r.Encode(nil))
		}
		inW.Close()
	}()
	got := map[uint32]Reply{}
	buf := make([]byte, ReplySize)
	hello := false
	for {
		if _, err := io.ReadFull(outR, buf); err != nil {
			break
		}
		r := DecodeReply(buf)
		if r.ID == HelloID {
			hello = true
			continue
		}
		if !hello {
			t.Errorf("reply %d before the hello", r.ID)
		}
		got[r.ID] = r
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	return got
}

// TestServe: every request is answered once, with the thread CPU of about its work between
// its marks, concurrently up to Threads (two 60 ms requests on two threads overlap).
func TestServe(t *testing.T) {
	c, err := Calibrate(20*time.Millisecond, 3, "")
	if err != nil {
		t.Fatal(err)
	}
	reqs := []Request{{ID: 1, Units: c.Units(60)}, {ID: 2, Class: 5, Units: c.Units(60)}, {ID: 3, Units: c.Units(10), Blocks: 2, SleepUs: 20000}}
	got := serveAll(t, ServeOptions{Threads: 2, Prestart: 1}, reqs)
	if len(got) != len(reqs) {
		t.Fatalf("%d replies for %d requests: %+v", len(got), len(reqs), got)
	}
	for _, rq := range reqs {
		r := got[rq.ID]
		want := float64(rq.Units) / c.UnitsPerMs * 1e6
		if r.Flags != 0 || r.End <= r.Start || float64(r.CPU) < 0.5*want || float64(r.CPU) > 2*want || r.CPU > r.End-r.Start {
			t.Errorf("request %d (%.0f ms of work): reply %+v", rq.ID, want/1e6, r)
		}
	}
	if r := got[3]; r.End-r.Start < int64(40*time.Millisecond) {
		t.Errorf("request 3 with two 20 ms sleeps took %v between its marks", time.Duration(r.End-r.Start))
	}
	if a, b := got[1], got[2]; a.Start >= b.End || b.Start >= a.End {
		t.Errorf("requests 1 and 2 did not overlap on two threads: %+v %+v", a, b)
	}
}

func TestServeBadRequest(t *testing.T) {
	inR, inW := pipe(t)
	outR, outW := pipe(t)
	go io.Copy(io.Discard, outR)
	inW.Write(Request{ID: 9, Units: -5}.Encode(nil))
	err := Serve(inR, outW, ServeOptions{Threads: 1})
	if err == nil || !strings.Contains(err.Error(), "request 9") {
		t.Fatalf("Serve with a negative demand: %v, want an error naming request 9", err)
	}
	inR2, inW2 := pipe(t)
	inW2.Write([]byte("short"))
	inW2.Close()
	if err := Serve(inR2, outW, ServeOptions{Threads: 1}); err == nil || !strings.Contains(err.Error(), "of 5 bytes") {
		t.Fatalf("Serve of a truncated request: %v", err)
	}
	if err := Serve(inR2, outW, ServeOptions{}); err == nil {
		t.Fatal("Serve with 0 threads: no error")
	}
}

// TestServeThreads: requests arriving while all threads serve start more, up to Threads;
// beyond that they wait.
func TestServeThreads(t *testing.T) {
	c, err := Calibrate(20*time.Millisecond, 3, "")
	if err != nil {
		t.Fatal(err)
	}
	var reqs []Request
	for i := range 6 {
		reqs = append(reqs, Request{ID: uint32(i), Blocks: 1, SleepUs: 100000, Units: c.Units(1)}) // 100 ms asleep each
	}
	start := time.Now()
	got := serveAll(t, ServeOptions{Threads: 3, Prestart: 1}, reqs)
	el := time.Since(start)
	if len(got) != 6 {
		t.Fatalf("%d replies of 6", len(got))
	}
	// Three at a time: two waves of 100 ms, not one (6 threads) nor six (1 thread).
	if el < 190*time.Millisecond || el > 550*time.Millisecond {
		t.Errorf("6 requests sleeping 100 ms on 3 threads took %v, want about 200 ms", el)
	}
}
