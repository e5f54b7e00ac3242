package policy

import (
	"bytes"
	"strings"
	"testing"
)

// TestTableClasses: class entries are looked up by (function, class) with the function's
// entry as fallback, validated like entries and written after them.
func TestTableClasses(t *testing.T) {
	tab := &Table{Entries: map[uint32]Entry{1: {Rank: 5}},
		Classes: map[ClassKey]Entry{{1, 2}: {Rank: 0}, {3, 1}: {Rank: 9}}}
	for _, tt := range []struct {
		fn, class uint32
		rank      uint32
		ok        bool
	}{{1, 2, 0, true}, {1, 0, 5, true}, {1, 7, 5, true}, {3, 1, 9, true}, {3, 2, 0, false}, {4, 0, 0, false}} {
		if e, ok := tab.LookupClass(tt.fn, tt.class); ok != tt.ok || e.Rank != tt.rank {
			t.Errorf("LookupClass(%d, %d) = rank %d, %v; want %d, %v", tt.fn, tt.class, e.Rank, ok, tt.rank, tt.ok)
		}
	}
	if _, ok := (*Table)(nil).LookupClass(1, 2); ok {
		t.Error("a nil table has an entry")
	}
	if err := tab.validateClasses(); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := tab.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[1], "1 rank 5") || !strings.HasPrefix(lines[2], "1 class 2 rank 0") ||
		!strings.HasPrefix(lines[3], "3 class 1 rank 9") {
		t.Errorf("WriteText:\n%s", b.String())
	}
	for _, bad := range []struct {
		k    ClassKey
		e    Entry
		want string
	}{
		{ClassKey{MaxFunctions, 1}, Entry{}, "function 16384, class 1"},
		{ClassKey{2, 0}, Entry{}, "function 2, class 0"},
		{ClassKey{2, 3}, Entry{Slice: -1}, "function 2 class 3: negative slice"},
	} {
		tb := &Table{Classes: map[ClassKey]Entry{bad.k: bad.e}}
		if err := tb.validateClasses(); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("Validate of class entry %+v: %v, want an error about %q", bad.k, err, bad.want)
		}
	}
}
