package standard

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func TestLookupRoundTripsEveryCode(t *testing.T) {
	seen := map[string]bool{}
	for i := 1; i < len(params); i++ {
		c := params[i].code
		if c == "" || c != strings.ToLower(c) || strings.ContainsAny(c, " -") {
			t.Errorf("params[%d]: code %q is not a lower-case identifier", i, c)
		}
		if seen[c] {
			t.Errorf("code %q appears twice", c)
		}
		seen[c] = true
		if got := lookup(c); got != paramID(i) {
			t.Errorf("lookup(%q) = %d, want %d: run go generate", c, got, i)
		}
	}
	if lookup("") != 0 || lookup("unknown") != 0 {
		t.Error("unknown codes must map to 0")
	}
}

func TestTableShape(t *testing.T) {
	var n1, n2, n3 int
	for i := 1; i < len(params); i++ {
		d := &params[i]
		switch d.table {
		case table1:
			n1++
			if d.dir == dirUpper || d.dir == dirLower {
				for k := 1; k < 5; k++ {
					if (d.dir == dirUpper && d.limits[k] < d.limits[k-1]) || (d.dir == dirLower && d.limits[k] > d.limits[k-1]) {
						t.Errorf("%s: class limits out of order: %v", d.code, d.limits)
					}
				}
			}
		case table2:
			n2++
		case table3:
			n3++
		}
		if (d.table == table2 || d.table == table3) && d.single <= 0 {
			t.Errorf("%s: no single limit", d.code)
		}
	}
	// GB 3838-2002: Table 1 has 24 items, Table 2 five, Table 3 eighty (facts §1).
	if n1 != 24 || n2 != 5 || n3 != 80 {
		t.Errorf("table sizes = %d, %d, %d; want 24, 5, 80", n1, n2, n3)
	}
}

// TestDocTable3MatchesData checks the code table in doc.go against the data.
func TestDocTable3MatchesData(t *testing.T) {
	src, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile(`(?m)^//\t\s*(\d+)\s+(\S+)\s+(\S+), .*, ([0-9.e-]+)$`)
	rows := row.FindAllStringSubmatch(string(src), -1)
	if len(rows) != 80 {
		t.Fatalf("doc.go lists %d Table 3 rows, want 80", len(rows))
	}
	for i, r := range rows {
		if r[1] != strconv.Itoa(i+1) {
			t.Errorf("doc.go row %d numbered %s", i+1, r[1])
		}
		d := def(r[2])
		if d == nil || d.table != table3 {
			t.Errorf("doc.go row %s: %q is not a Table 3 code", r[1], r[2])
			continue
		}
		want, _ := strconv.ParseFloat(r[4], 64)
		if d.single != want || d.zh != r[3] {
			t.Errorf("doc.go row %s: %s %s %v, data %s %v", r[1], r[2], r[3], want, d.zh, d.single)
		}
	}
}
