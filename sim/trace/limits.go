package trace

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
)

// Limits of the readers and the generator. A value beyond one is rejected with an error
// naming the file, the line and the limit; each is checked before anything of that size is
// allocated.
const (
	MaxArrivalMs   = 1e10       // an arrival time (ms, ~116 days)
	MaxDemandMs    = 1e8        // CPU or I/O time of one invocation (ms, ~28 hours)
	MaxWaits       = 1 << 20    // I/O waits of one invocation
	MaxInvocations = 50_000_000 // invocations in one trace (~1.6 GB in memory)
	MaxFunctions   = 1_000_000  // distinct functions in one trace (and gen --functions)
	MaxNameBytes   = 256        // bytes of a function name
	MaxLineBytes   = 64 << 10   // bytes of one CSV record (a line, quoted newlines included)
)

// errLineTooLong is returned by lineLimiter.
type errLineTooLong struct{ line int }

func (e errLineTooLong) Error() string {
	return fmt.Sprintf("line longer than %d bytes", MaxLineBytes)
}

// lineLimiter fails a read once a record (bytes since the last newline outside double quotes)
// grows beyond MaxLineBytes, so that a reader never buffers an unbounded record. It counts
// lines (1-based) to name the record's first line in the error.
type lineLimiter struct {
	r      io.Reader
	run    int  // bytes of the current record so far
	quoted bool // inside a quoted field
	line   int  // current line
	start  int  // the current record's first line
	err    error
}

func newLineLimiter(r io.Reader) *lineLimiter { return &lineLimiter{r: r, line: 1, start: 1} }

func (l *lineLimiter) Read(p []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	n, err := l.r.Read(p)
	for i, b := range p[:n] {
		switch {
		case b == '"':
			l.quoted = !l.quoted
		case b == '\n':
			l.line++
			if !l.quoted {
				l.run, l.start = 0, l.line
				continue
			}
		}
		l.run++
		if l.run > MaxLineBytes {
			l.err = errLineTooLong{line: l.start}
			return i, l.err
		}
	}
	return n, err
}

// isDecimal reports whether s is a plain decimal number: an optional sign, digits with at most
// one decimal point, and an optional exponent. It rejects what strconv.ParseFloat also
// accepts: hexadecimal, digit separators, inf and nan.
func isDecimal(s string) bool {
	i, n := 0, len(s)
	if i < n && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := 0
	for ; i < n && s[i] >= '0' && s[i] <= '9'; i++ {
		digits++
	}
	if i < n && s[i] == '.' {
		i++
		for ; i < n && s[i] >= '0' && s[i] <= '9'; i++ {
			digits++
		}
	}
	if digits == 0 {
		return false
	}
	if i < n && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < n && (s[i] == '+' || s[i] == '-') {
			i++
		}
		exp := 0
		for ; i < n && s[i] >= '0' && s[i] <= '9'; i++ {
			exp++
		}
		if exp == 0 {
			return false
		}
	}
	return i == n
}

// parseNumber parses a plain decimal number (isDecimal). When s is not one, problem says why
// ("is not a number", "is not a finite number", "is not a decimal number", "is out of range").
func parseNumber(s string) (v float64, problem string) {
	v, err := strconv.ParseFloat(s, 64)
	rangeErr := err != nil && errors.Is(err, strconv.ErrRange)
	switch {
	case s == "" || err != nil && !rangeErr:
		return 0, "is not a number"
	case !isDecimal(s) && (math.IsNaN(v) || math.IsInf(v, 0)):
		return 0, "is not a finite number"
	case !isDecimal(s):
		return 0, "is not a decimal number"
	case math.IsInf(v, 0):
		return 0, "is out of range"
	}
	return v, "" // an underflow is 0
}

// countLines returns the number of newlines in f (at most limit) and rewinds it, so that a
// reader can size its slices once instead of growing them.
func countLines(f *os.File, limit int) int {
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return 0
	}
	br := bufio.NewReaderSize(f, 1<<20)
	n := 0
	for n <= limit {
		chunk, err := br.ReadSlice('\n')
		if len(chunk) > 0 && chunk[len(chunk)-1] == '\n' {
			n++
		}
		if err != nil && err != bufio.ErrBufferFull {
			break
		}
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return -1
	}
	return min(n, limit)
}
