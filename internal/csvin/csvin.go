// Package csvin holds what alps's CSV readers share to read untrusted files strictly: a
// reader that bounds the bytes of one record, so that no reader buffers an unbounded line,
// and the parsing of plain decimal numbers.
package csvin

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
)

// LineTooLongError is returned by a Limit reader when a record exceeds its bound.
type LineTooLongError struct {
	Line  int // the record's first line, 1-based
	Limit int
}

func (e *LineTooLongError) Error() string {
	return fmt.Sprintf("line longer than %d bytes", e.Limit)
}

// Limit returns a reader that fails once a record (the bytes since the last newline outside
// double quotes) grows beyond max bytes.
func Limit(r io.Reader, max int) io.Reader {
	return &limiter{r: r, max: max, line: 1, start: 1}
}

type limiter struct {
	r      io.Reader
	max    int
	run    int  // bytes of the current record so far
	quoted bool // inside a quoted field
	line   int  // current line
	start  int  // the current record's first line
	err    error
}

func (l *limiter) Read(p []byte) (int, error) {
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
		if l.run > l.max {
			l.err = &LineTooLongError{Line: l.start, Limit: l.max}
			return i, l.err
		}
	}
	return n, err
}

// Error formats an error of a csv.Reader over a Limit reader as "name:line:column: message".
func Error(name string, err error) error {
	var tl *LineTooLongError
	if errors.As(err, &tl) {
		return fmt.Errorf("%s:%d:1: %v", name, tl.Line, tl)
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s:%d:%d: %v", name, pe.Line, pe.Column, pe.Err)
	}
	return fmt.Errorf("%s: %w", name, err)
}

// IsDecimal reports whether s is a plain decimal number: an optional sign, digits with at most
// one decimal point, and an optional exponent. It rejects what strconv.ParseFloat also
// accepts: hexadecimal, digit separators, inf and nan.
func IsDecimal(s string) bool {
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

// Number parses a plain decimal number (IsDecimal). When s is not one, problem says why:
// "is not a number", "is not a finite number", "is not a decimal number" or "is out of
// range". An underflow is 0.
func Number(s string) (v float64, problem string) {
	v, err := strconv.ParseFloat(s, 64)
	rangeErr := err != nil && errors.Is(err, strconv.ErrRange)
	switch {
	case s == "" || err != nil && !rangeErr:
		return 0, "is not a number"
	case !IsDecimal(s) && (math.IsNaN(v) || math.IsInf(v, 0)):
		return 0, "is not a finite number"
	case !IsDecimal(s):
		return 0, "is not a decimal number"
	case math.IsInf(v, 0):
		return 0, "is out of range"
	}
	return v, ""
}
