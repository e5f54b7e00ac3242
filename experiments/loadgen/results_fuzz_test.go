package loadgen

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzReadResults: any records file (what alps-frontend --dry-run --records reads) is a list
// of records within the documented limits or one error line; never a panic. What is read
// writes back and reads back the same.
func FuzzReadResults(f *testing.F) {
	head := strings.Join(resultHeader, ",") + "\n"
	f.Add([]byte(head + "0,a,0,0,10,5,5,0,0,0,\n1,\"b,c\",1.5,2,30.25,20,20,4,2,0,\n"))
	f.Add([]byte(head + "0,a,0,0,0,0,5,0,0,1,\"spawn failed: \"\"x\"\"\"\n"))
	f.Add([]byte("\ufeff" + head + "0,a,0,0,9223372036854,5,5,0,0,0,\n"))
	f.Add([]byte(head + "0,a,0,0,NaN,5,5,0,0,0,\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rs, err := ReadResults(bytes.NewReader(data), "r.csv")
		if err != nil {
			if msg := err.Error(); strings.Contains(msg, "\n") || !strings.HasPrefix(msg, "r.csv") {
				t.Fatalf("error %q: want one line naming r.csv", msg)
			}
			return
		}
		for i, r := range rs {
			for _, v := range []int64{r.Arrival, r.Start, r.End, r.CPU, r.Demand, r.IO} {
				if v < 0 || v > MaxResultMs*1e6 {
					t.Fatalf("record %d: time %d ns accepted", i, v)
				}
			}
			if r.Function == "" || len(r.Function) > MaxResultName || r.Blocks < 0 {
				t.Fatalf("record %d accepted: %+v", i, r)
			}
		}
		var buf bytes.Buffer
		if err := WriteResults(&buf, rs); err != nil {
			t.Fatal(err)
		}
		back, err := ReadResults(&buf, "back.csv")
		if err != nil || len(back) != len(rs) {
			t.Fatalf("written records do not read back: %v", err)
		}
	})
}
