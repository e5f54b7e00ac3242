package orderingcheck

import "testing"

func TestReadCases(t *testing.T) {
	cases, err := ReadCases("../testdata/ordering_vectors.csv")
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) == 0 {
		t.Fatal("no cases")
	}
	for _, c := range cases {
		if c.Name == "" || c.In.Weight == 0 {
			t.Errorf("case %+v: missing name or weight", c)
		}
	}
}
