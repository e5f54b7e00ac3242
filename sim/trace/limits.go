package trace

import (
	"bufio"
	"io"
	"os"
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
