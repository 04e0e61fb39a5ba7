package readingcsv

import (
	"io"
	"strings"
	"testing"
	"time"
)

func readAll(t *testing.T, in string, opts Options) ([]Row, error) {
	t.Helper()
	r, err := NewReader(strings.NewReader(in), opts)
	if err != nil {
		return nil, err
	}
	var rows []Row
	for {
		row, err := r.Read()
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return rows, err
		}
		rows = append(rows, row)
	}
}

func TestHeader(t *testing.T) {
	gateway := Options{Optional: []string{Flag, Interval, Min, Max}}
	lab := Options{Optional: []string{BelowDL, DL}, Lenient: true}
	tests := []struct {
		name, in string
		opts     Options
		wantErr  string
	}{
		{"the gateway's header", "site,parameter,value,unit,observed_at,flag\n", gateway, ""},
		{"a BOM and any case", "\xEF\xBB\xBFSite, PARAMETER,value,unit,observed_at\n", gateway, ""},
		{"time is observed_at", "site,parameter,value,unit,time,below_dl,dl\n", lab, ""},
		{"strict refuses an unknown column", "site,parameter,value,unit,observed_at,colour\n", gateway, `unknown column "colour"`},
		{"lenient ignores an unknown column", "site,parameter,value,unit,time,colour\n", lab, ""},
		{"a column twice", "site,parameter,value,unit,observed_at,time\n", gateway, `column "observed_at" twice`},
		{"a required column missing", "site,parameter,value,observed_at\n", gateway, `column "unit" missing`},
		{"empty", "", gateway, "empty CSV"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewReader(strings.NewReader(tt.in), tt.opts)
			if (err == nil) != (tt.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("NewReader = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestRowsKeepTheirLineAndFields(t *testing.T) {
	in := "site,parameter,value,unit,observed_at\nS1, cod ,12,mg/L,2025-06-01T00:00:00Z\nS2,cod\n"
	rows, err := readAll(t, in, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 {
		t.Fatalf("%d rows", len(rows))
	}
	if r := rows[0]; r.Line != 2 || r.Get(Parameter) != "cod" || r.Get("time") != "2025-06-01T00:00:00Z" || r.Err != nil {
		t.Errorf("row 1 = %+v", r)
	}
	if r := rows[1]; r.Line != 3 || r.Err == nil || !strings.Contains(r.Err.Error(), "2 fields, the header has 5") {
		t.Errorf("row 2 = %+v, want refused for its length", r)
	}
	lenient, err := readAll(t, in, Options{Lenient: true})
	if err != nil {
		t.Fatal(err)
	}
	if r := lenient[1]; r.Err != nil || r.Get(Value) != "" || r.Get(Parameter) != "cod" {
		t.Errorf("lenient row 2 = %+v, want it read with empty fields", r)
	}
}

func TestParseNumberAcceptsDecimalsAndExponentsOnly(t *testing.T) {
	for s, ok := range map[string]bool{"1.5": true, "1.2E-03": true, "-3": true, "NaN": false, "Inf": false, "0x10": false, "1_000": false, "": false} {
		if _, got := ParseNumber(s); got != ok {
			t.Errorf("ParseNumber(%q) ok = %v, want %v", s, got, ok)
		}
	}
}

func TestParseValueReadsBelowTheDetectionLimit(t *testing.T) {
	v, below, err := ParseValue("0.01L")
	if err != nil || v != 0.01 || !below {
		t.Errorf("ParseValue(0.01L) = %v %v %v", v, below, err)
	}
	if _, _, err := ParseValue("L"); err == nil {
		t.Error(`ParseValue("L"): no error`)
	}
}

func TestParseTimeReadsZonelessFormsInTheGivenZone(t *testing.T) {
	cst := time.FixedZone("CST", 8*3600)
	want := time.Date(2025, 6, 1, 8, 0, 0, 0, cst)
	for _, s := range []string{"2025-06-01T08:00:00+08:00", "2025-06-01T00:00:00Z", "2025-06-01 08:00", "2025-06-01 08:00:00", "20250601080000"} {
		got, err := ParseTime(s, cst)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseTime(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	if _, err := ParseTime("yesterday", cst); err == nil {
		t.Error("ParseTime(yesterday): no error")
	}
}
