// Package readingcsv is the one codec of readings written as CSV: the gateway's uploads
// (POST /api/v1/readings.csv) and wqeval's input.
//
// # The format
//
// The first record is the header; column names are matched without regard to case or
// surrounding space, in any order, and a leading UTF-8 BOM (as spreadsheets write) is
// skipped. Leading space in fields is trimmed.
//
//	site         the site id (required)
//	parameter    the parameter's canonical code: cod, nh3n, … (required)
//	value        the value, a decimal or exponent number: 1.2E-03 (required); NaN, Inf,
//	             hex and digit separators are not numbers. HJ/T 91's "0.01L" (below a
//	             detection limit of 0.01) is read by ParseValue where a reader accepts it.
//	unit         the unit the value is written in (required; may be empty)
//	observed_at  when the sample was taken (required); "time" is the same column.
//	             RFC 3339; ParseTime also reads zone-less forms in a given time zone.
//	flag         HJ 212 data flag (optional, gateway)
//	interval     rtd, min, hour, day or lab (optional, gateway)
//	min, max     the period's extremes (optional, gateway)
//	below_dl     true when the value is below the detection limit, the value being the
//	             limit (optional, gateway and wqeval)
//	dl           the detection limit (optional, wqeval)
//
// Which optional columns a reader accepts is its Options' choice: the gateway refuses a
// header with a column it would not carry, wqeval ignores columns it does not know.
package readingcsv

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// The columns of the format.
const (
	Site       = "site"
	Parameter  = "parameter"
	Value      = "value"
	Unit       = "unit"
	ObservedAt = "observed_at"
	Flag       = "flag"
	Interval   = "interval"
	Min        = "min"
	Max        = "max"
	BelowDL    = "below_dl"
	DL         = "dl"
)

// timeAlias is another name of ObservedAt.
const timeAlias = "time"

// Required are the columns every header has.
var Required = []string{Site, Parameter, Value, Unit, ObservedAt}

// Options say what a Reader accepts beyond the required columns.
type Options struct {
	// Optional lists the optional columns accepted.
	Optional []string
	// Lenient ignores columns the reader does not know and reads records with fewer or
	// more fields than the header (a missing field is empty). Otherwise an unknown column
	// is an error of the header and a record of another length is refused (Row.Err).
	Lenient bool
}

// Row is one record after the header: its fields by column, trimmed.
type Row struct {
	// Line is the record's number in the input, the header being line 1.
	Line int
	// Raw is the record as CSV, for the record of a refusal.
	Raw    string
	fields map[string]string
	// Err says why the record could not be read (wrong number of fields, CSV syntax in
	// lenient mode); its fields are then empty.
	Err error
}

// Get returns the field of column name ("" when the header has no such column); "time"
// is ObservedAt.
func (r Row) Get(name string) string {
	if name == timeAlias {
		name = ObservedAt
	}
	return r.fields[name]
}

// Has reports whether the row has the column (even empty).
func (r Row) Has(name string) bool {
	_, ok := r.fields[name]
	return ok
}

// Reader reads rows of a readings CSV.
type Reader struct {
	cr     *csv.Reader
	opts   Options
	col    map[string]int
	header int
	line   int
}

// NewReader reads the header of in and returns a Reader of its rows. The header's
// errors name the column; an empty input is an error.
func NewReader(in io.Reader, opts Options) (*Reader, error) {
	cr := csv.NewReader(skipBOM(in))
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("empty CSV: expected the header %s", headerHelp(opts))
	}
	if err != nil {
		return nil, fmt.Errorf("CSV header: %w", err)
	}
	known := append(slices.Clone(Required), opts.Optional...)
	col := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(h))
		if h == timeAlias {
			h = ObservedAt
		}
		if !slices.Contains(known, h) {
			if opts.Lenient {
				continue
			}
			return nil, fmt.Errorf("CSV header: unknown column %q (known: %s)", h, strings.Join(known, ", "))
		}
		if _, dup := col[h]; dup {
			return nil, fmt.Errorf("CSV header: column %q twice", h)
		}
		col[h] = i
	}
	for _, name := range Required {
		if _, ok := col[name]; !ok {
			return nil, fmt.Errorf("CSV header: column %q missing (the header needs %s)", name, headerHelp(opts))
		}
	}
	return &Reader{cr: cr, opts: opts, col: col, header: len(header), line: 1}, nil
}

func headerHelp(opts Options) string {
	h := strings.Join(Required, ",")
	if len(opts.Optional) > 0 {
		h += "[," + strings.Join(opts.Optional, ",") + "]"
	}
	return h
}

// skipBOM drops a leading UTF-8 byte order mark.
func skipBOM(in io.Reader) io.Reader {
	buf := make([]byte, 3)
	n, err := io.ReadFull(in, buf)
	if n == 3 && bytes.Equal(buf, []byte("\xEF\xBB\xBF")) {
		return in
	}
	rest := io.MultiReader(bytes.NewReader(buf[:n]), in)
	if err != nil {
		return bytes.NewReader(buf[:n])
	}
	return rest
}

// Read returns the next row, or io.EOF. Broken CSV syntax is an error (the rest cannot
// be read), except in lenient mode, where it is the row's Err.
func (r *Reader) Read() (Row, error) {
	rec, err := r.cr.Read()
	r.line++
	if errors.Is(err, io.EOF) {
		return Row{}, io.EOF
	}
	if err != nil {
		if r.opts.Lenient {
			return Row{Line: r.line, Err: err}, nil
		}
		return Row{}, fmt.Errorf("CSV: %w", err)
	}
	if line, _ := r.cr.FieldPos(0); line > 0 {
		r.line = line
	}
	row := Row{Line: r.line, Raw: Line(rec)}
	if !r.opts.Lenient && len(rec) != r.header {
		row.Err = fmt.Errorf("%d fields, the header has %d", len(rec), r.header)
		return row, nil
	}
	row.fields = make(map[string]string, len(r.col))
	for name, i := range r.col {
		if i < len(rec) {
			row.fields[name] = strings.TrimSpace(rec[i])
		} else {
			row.fields[name] = ""
		}
	}
	return row, nil
}

// Line encodes one record as a CSV line, without the line end, quoting as encoding/csv's
// Writer does. It allocates only the line (a csv.Writer per row would allocate a 4 KiB
// buffer each: 40 MiB for an upload of 10 000 rows).
func Line(rec []string) string {
	n := len(rec)
	for _, f := range rec {
		n += len(f) + 2
	}
	var b strings.Builder
	b.Grow(n)
	for i, f := range rec {
		if i > 0 {
			b.WriteByte(',')
		}
		if !fieldNeedsQuotes(f) {
			b.WriteString(f)
			continue
		}
		b.WriteByte('"')
		b.WriteString(strings.ReplaceAll(f, `"`, `""`))
		b.WriteByte('"')
	}
	return b.String()
}

// fieldNeedsQuotes is encoding/csv's rule for a comma-separated field.
func fieldNeedsQuotes(f string) bool {
	if f == "" {
		return false
	}
	if f == `\.` || strings.ContainsAny(f, ",\"\r\n") {
		return true
	}
	r, _ := utf8.DecodeRuneInString(f)
	return unicode.IsSpace(r)
}

// ParseNumber accepts decimals and exponents (lab exports write 1.2E-03), nothing else:
// no NaN, Inf, hex or digit separators.
func ParseNumber(s string) (float64, bool) {
	if s == "" || strings.ContainsAny(s, "xXnNiI_pP") {
		return 0, false
	}
	v, err := strconv.ParseFloat(s, 64)
	return v, err == nil
}

// ParseValue reads a value that may be written below a detection limit, HJ/T 91's
// "0.01L": it returns the number and whether it had the L.
func ParseValue(s string) (v float64, belowDL bool, err error) {
	if num, ok := strings.CutSuffix(s, "L"); ok && num != "" {
		s, belowDL = num, true
	}
	v, ok := ParseNumber(s)
	if !ok {
		return 0, belowDL, fmt.Errorf("%q is not a number", s)
	}
	return v, belowDL, nil
}

// timeLayouts are the forms ParseTime reads; all but RFC 3339 are zone-less.
var timeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02", "20060102150405"}

// ParseTime reads an observed_at: RFC 3339, or zone-less YYYY-MM-DD[(T| )hh:mm[:ss]] or
// YYYYMMDDhhmmss (HJ 212's DataTime form) in loc.
func ParseTime(s string, loc *time.Location) (time.Time, error) {
	for _, l := range timeLayouts {
		if t, err := time.ParseInLocation(l, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("time %q: not RFC 3339, YYYY-MM-DD[ hh:mm[:ss]] or YYYYMMDDhhmmss", s)
}
