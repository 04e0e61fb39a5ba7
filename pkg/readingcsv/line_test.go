package readingcsv

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
)

func TestLineQuotesAsEncodingCSVDoes(t *testing.T) {
	for _, rec := range [][]string{
		{"STH-S2", "cod", "1.5", "mg/L", "2024-06-01T00:00:00Z"},
		{"", "", ""},
		{"a,b", `say "hi"`, "two\nlines", "cr\rhere", " leading space", "\tleading tab", `\.`, "全角，逗号"},
		{"\u3000ideographic space"},
	} {
		var b bytes.Buffer
		w := csv.NewWriter(&b)
		w.Write(rec)
		w.Flush()
		if want, got := strings.TrimSuffix(b.String(), "\n"), Line(rec); got != want {
			t.Errorf("Line(%q) = %q, want %q (encoding/csv)", rec, got, want)
		}
	}
}
