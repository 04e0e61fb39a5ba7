// Command wqeval classifies water-quality readings against GB 3838-2002 and
// assesses each section's period and the river by 环办〔2011〕22号.
//
// It reads a CSV with the header site,parameter,value,unit,time and the
// optional columns below_dl,dl (columns in any order) from -file or standard
// input. Parameters are canonical codes (cod, nh3n, ...; case is ignored);
// values are converted to canonical units. A value written "0.01L" is below
// a detection limit of 0.01. Naive times are China Standard Time.
//
//	wqeval -file readings.csv -body river
//
// It prints the class of every reading, the period assessment of every site
// (treated as a section) and the rating of the river (or lake). Rejected rows
// are listed and counted on standard error. The exit status is 0 unless the
// input cannot be read at all.
package main

import (
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/riverwatch/riverwatch/pkg/evaluate"
	"github.com/riverwatch/riverwatch/pkg/standard"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run is the whole command, testable without a process.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("wqeval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("file", "", "CSV file to read (default: standard input)")
	bodyName := fs.String("body", "river", "water body: river or lake (lake/reservoir TP and TN limits)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	body, err := standard.ParseWaterBody(*bodyName)
	if err != nil {
		fmt.Fprintln(stderr, "wqeval:", err)
		return 2
	}
	in := stdin
	if *file != "" {
		f, err := os.Open(*file)
		if err != nil {
			fmt.Fprintln(stderr, "wqeval:", err)
			return 1
		}
		defer f.Close()
		in = f
	}
	rows, err := readCSV(in)
	if err != nil {
		fmt.Fprintln(stderr, "wqeval:", err)
		return 1
	}
	report(stdout, stderr, rows, body)
	return 0
}

// row is one CSV line, converted, or the reason it was rejected.
type row struct {
	line   int
	sample evaluate.Sample
	unit   string // as written
	err    error
}

// readCSV reads and converts every row. A row that cannot be read or
// converted is kept with its error.
func readCSV(in io.Reader) ([]row, error) {
	r := csv.NewReader(in)
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("reading the header: %w", err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))] = i
	}
	for _, need := range []string{"site", "parameter", "value", "unit", "time"} {
		if _, ok := col[need]; !ok {
			return nil, fmt.Errorf("the header needs a %q column (site,parameter,value,unit,time[,below_dl,dl])", need)
		}
	}
	var rows []row
	for line := 2; ; line++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if err != nil {
			rows = append(rows, row{line: line, err: err})
			continue
		}
		field := func(name string) string {
			if i, ok := col[name]; ok && i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		rw := row{line: line, unit: field("unit")}
		rw.sample, rw.err = convert(field("site"), field("parameter"), field("value"), rw.unit, field("time"), field("below_dl"), field("dl"))
		rows = append(rows, rw)
	}
}

// convert turns the fields of one row into a sample in canonical units.
func convert(site, param, value, unit, when, belowDL, dl string) (evaluate.Sample, error) {
	s := evaluate.Sample{Site: site, Param: strings.ToLower(param)}
	if site == "" {
		return s, errors.New("no site")
	}
	if !standard.Known(s.Param) {
		return s, fmt.Errorf("%w: %q", standard.ErrUnknownParameter, param)
	}
	var err error
	if s.Time, err = parseTime(when); err != nil {
		return s, err
	}
	if belowDL != "" {
		if s.BelowDL, err = strconv.ParseBool(belowDL); err != nil {
			return s, fmt.Errorf("below_dl %q: not a boolean", belowDL)
		}
	}
	if num, ok := strings.CutSuffix(value, "L"); ok && num != "" { // HJ/T 91 "0.01L": below a DL of 0.01
		s.BelowDL, value, dl = true, num, num
	}
	if value != "" {
		if s.Value, err = strconv.ParseFloat(value, 64); err != nil {
			return s, fmt.Errorf("value %q: not a number", value)
		}
		if s.Value, err = standard.ToCanonical(s.Param, s.Value, unit); err != nil {
			return s, err
		}
	} else if !s.BelowDL {
		return s, errors.New("no value")
	}
	if dl != "" {
		if s.DL, err = strconv.ParseFloat(dl, 64); err != nil {
			return s, fmt.Errorf("dl %q: not a number", dl)
		}
		if s.DL, err = standard.ToCanonical(s.Param, s.DL, unit); err != nil {
			return s, err
		}
	}
	if s.BelowDL && s.DL <= 0 && s.Value <= 0 {
		return s, errors.New("below the detection limit, but no detection limit given")
	}
	return s, standard.Plausible(s.Param, s.Effective())
}

// parseTime reads a time; one without a zone is China Standard Time (UTC+8,
// no DST), as HJ 212 DataTime is.
func parseTime(s string) (time.Time, error) {
	cst := time.FixedZone("CST", 8*3600)
	for _, l := range []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02", "20060102150405"} {
		if t, err := time.ParseInLocation(l, s, cst); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("time %q: not RFC 3339, YYYY-MM-DD[ hh:mm[:ss]] or YYYYMMDDhhmmss", s)
}

// report prints the readings, the sections and the river.
func report(stdout, stderr io.Writer, rows []row, body standard.WaterBody) {
	w := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "== Readings (GB 3838-2002, %s limits) ==\n", body)
	fmt.Fprintln(w, "LINE\tSITE\tPARAMETER\tTIME\tVALUE\tUNIT\tCLASS\tOVER III\tNOTE")
	bySite := map[string][]evaluate.Sample{}
	rejected := 0
	for _, r := range rows {
		s := r.sample
		if r.err != nil {
			rejected++
			fmt.Fprintf(w, "%d\t%s\t%s\t\t\t%s\t\t\trejected: %v\n", r.line, s.Site, s.Param, r.unit, r.err)
			fmt.Fprintf(stderr, "wqeval: line %d rejected: %v\n", r.line, r.err)
			continue
		}
		bySite[s.Site] = append(bySite[s.Site], s)
		v, note := s.Effective(), ""
		if s.BelowDL {
			note = "below DL, counted as DL/2"
		}
		class := "-"
		if c, err := standard.Classify(s.Param, v, body); err == nil {
			class = c.Roman()
		} else if errors.Is(err, standard.ErrNoClass) {
			note = strings.TrimPrefix(note+"; no class limit", "; ")
		}
		over := ""
		if m, ok := standard.Multiple(s.Param, v, body); ok && m > 0 {
			over = strconv.FormatFloat(m, 'f', 2, 64)
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.line, s.Site, s.Param, s.Time.Format("2006-01-02 15:04"),
			strconv.FormatFloat(v, 'g', -1, 64), standard.CanonicalUnit(s.Param), class, over, note)
	}
	w.Flush()
	if rejected > 0 {
		fmt.Fprintf(stderr, "wqeval: %d of %d rows rejected\n", rejected, len(rows))
	}

	fmt.Fprintln(stdout, "\n== Period assessment per section (环办〔2011〕22号, single-factor, 21 items) ==")
	var river evaluate.RiverResult
	if body == standard.Lake {
		river = evaluate.Lake(bySite)
	} else {
		river = evaluate.River(bySite)
	}
	for _, sec := range river.Sections {
		printSection(stdout, sec)
	}

	fmt.Fprintf(stdout, "\n== %s rating ==\n", map[standard.WaterBody]string{standard.River: "River", standard.Lake: "Lake"}[body])
	fmt.Fprintf(stdout, "method: %s, %d of %d sections rated\n", river.Method, river.Rated, len(river.Sections))
	if river.Method == evaluate.MethodMean {
		fmt.Fprintf(stdout, "class: %s\n", classLine(river.Class))
	} else {
		fmt.Fprintf(stdout, "status: %s %s\n", orDash(river.Descriptor), river.Color)
	}
	fmt.Fprintf(stdout, "sections Ⅰ–Ⅲ: %d (%.1f %%), 劣Ⅴ: %d (%.1f %%)\n",
		river.SectionsIIIOrBetter, 100*river.ShareIIIOrBetter, river.SectionsWorseV, 100*river.ShareWorseV)
	if len(river.MainPollutants) > 0 {
		fmt.Fprintf(stdout, "main pollutants: %s\n", joinStrings(river.MainPollutants))
	}
	if len(river.RiverPollutants) > 0 {
		fmt.Fprintf(stdout, "main pollutants (section exceedance rate): %s\n", joinStrings(river.RiverPollutants))
	}
	if river.Method == evaluate.MethodMean && len(river.Items) > 0 {
		printItems(stdout, river.Items, "MEAN OF SECTIONS", "SECTIONS")
	}
}

func printSection(out io.Writer, sec evaluate.SectionResult) {
	fmt.Fprintf(out, "\n%s: %s, %d samples", sec.Site, classLine(sec.Class), sec.Samples)
	if sec.Samples > 0 {
		fmt.Fprintf(out, ", %s – %s", sec.From.Format("2006-01-02"), sec.To.Format("2006-01-02"))
	}
	fmt.Fprintln(out)
	if len(sec.MainPollutants) > 0 {
		fmt.Fprintf(out, "main pollutants: %s\n", sec.MainPollutantsText())
	}
	printItems(out, sec.Items, "MEAN", "N")
}

func printItems(out io.Writer, items []evaluate.ItemResult, meanHeader, nHeader string) {
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	// The Chinese name goes last: tabwriter counts runes, not display width.
	fmt.Fprintf(w, "  ITEM\t%s\t%s\tUNIT\tCLASS\tOVER III\tEVALUATED\tNAME\n", nHeader, meanHeader)
	for _, it := range items {
		over := ""
		if it.Multiple > 0 {
			over = strconv.FormatFloat(it.Multiple, 'f', 2, 64)
		}
		ev := ""
		if it.Evaluated {
			ev = "yes"
		}
		fmt.Fprintf(w, "  %s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n", it.Param, it.N,
			strconv.FormatFloat(it.Mean, 'g', 6, 64), standard.CanonicalUnit(it.Param), it.Class.Roman(), over, ev, it.Name)
	}
	w.Flush()
}

// classLine describes a class as "Ⅳ类 轻度污染 #e8dd3e", or "no class".
func classLine(c standard.Class) string {
	if c == 0 {
		return "no class (no evaluated item)"
	}
	return c.Roman() + "类 " + c.Descriptor() + " " + c.Color()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func joinStrings[T fmt.Stringer](xs []T) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = x.String()
	}
	return strings.Join(parts, "、")
}
