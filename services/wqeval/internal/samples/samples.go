// Package samples reads wqeval's input: a readings CSV (pkg/readingcsv) with the columns
// site, parameter, value, unit, time (or observed_at) and the optional below_dl, dl,
// converted to evaluate.Samples in canonical units. Columns it does not know are ignored.
// Parameters are canonical codes (cod, nh3n, …; case is ignored). A value written "0.01L"
// is below a detection limit of 0.01. Times without a zone are China Standard Time (UTC+8,
// no DST), as HJ 212 DataTime is.
package samples

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/riverwatch/riverwatch/pkg/evaluate"
	"github.com/riverwatch/riverwatch/pkg/readingcsv"
	"github.com/riverwatch/riverwatch/pkg/standard"
)

// cst is the time zone of times written without one.
var cst = time.FixedZone("CST", 8*3600)

// options are wqeval's columns: what a laboratory's spreadsheet has.
var options = readingcsv.Options{Optional: []string{readingcsv.BelowDL, readingcsv.DL}, Lenient: true}

// Row is one CSV line, converted, or the reason it was rejected.
type Row struct {
	Line   int
	Sample evaluate.Sample
	Unit   string // as written
	Err    error
}

// Read reads and converts every row. A row that cannot be read or converted is kept with
// its error; only an input whose header cannot be read is an error.
func Read(in io.Reader) ([]Row, error) {
	r, err := readingcsv.NewReader(in, options)
	if err != nil {
		return nil, fmt.Errorf("reading the header: %w", err)
	}
	var rows []Row
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if err != nil {
			return rows, err
		}
		if rec.Err != nil {
			rows = append(rows, Row{Line: rec.Line, Err: rec.Err})
			continue
		}
		rw := Row{Line: rec.Line, Unit: rec.Get(readingcsv.Unit)}
		rw.Sample, rw.Err = Convert(rec.Get(readingcsv.Site), rec.Get(readingcsv.Parameter), rec.Get(readingcsv.Value), rw.Unit,
			rec.Get(readingcsv.ObservedAt), rec.Get(readingcsv.BelowDL), rec.Get(readingcsv.DL))
		rows = append(rows, rw)
	}
}

// ReadFile reads the file at path, or stdin when path is empty.
func ReadFile(path string, stdin io.Reader) ([]Row, error) {
	if path == "" {
		return Read(stdin)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Read(f)
}

// Convert turns the fields of one row into a sample in canonical units.
func Convert(site, param, value, unit, when, belowDL, dl string) (evaluate.Sample, error) {
	s := evaluate.Sample{Site: site, Param: strings.ToLower(param)}
	if site == "" {
		return s, errors.New("no site")
	}
	if !standard.Known(s.Param) {
		return s, fmt.Errorf("%w: %q", standard.ErrUnknownParameter, param)
	}
	var err error
	if s.Time, err = readingcsv.ParseTime(when, cst); err != nil {
		return s, err
	}
	if belowDL != "" {
		if s.BelowDL, err = strconv.ParseBool(belowDL); err != nil {
			return s, fmt.Errorf("below_dl %q: not a boolean", belowDL)
		}
	}
	if value != "" {
		v, lessThan, err := readingcsv.ParseValue(value)
		if err != nil {
			return s, fmt.Errorf("value %q: not a number", value)
		}
		if lessThan { // HJ/T 91 "0.01L": below a DL of 0.01
			s.BelowDL, dl = true, strings.TrimSuffix(value, "L")
		}
		if s.Value, err = standard.ToCanonical(s.Param, v, unit); err != nil {
			return s, err
		}
	} else if !s.BelowDL {
		return s, errors.New("no value")
	}
	if dl != "" {
		v, ok := readingcsv.ParseNumber(dl)
		if !ok {
			return s, fmt.Errorf("dl %q: not a number", dl)
		}
		if s.DL, err = standard.ToCanonical(s.Param, v, unit); err != nil {
			return s, err
		}
	}
	if s.BelowDL && s.DL <= 0 && s.Value <= 0 {
		return s, errors.New("below the detection limit, but no detection limit given")
	}
	return s, standard.Plausible(s.Param, s.Effective())
}
