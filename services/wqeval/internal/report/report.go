// Package report prints wqeval's assessment: the class of every reading (GB 3838-2002),
// the period assessment of every site treated as a section, and the rating of the river
// or lake (环办〔2011〕22号).
package report

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/riverwatch/riverwatch/pkg/evaluate"
	"github.com/riverwatch/riverwatch/pkg/standard"
	"github.com/riverwatch/riverwatch/services/wqeval/internal/samples"
)

// Print prints the readings, the sections and the river; rejected rows are listed and
// counted on stderr.
func Print(stdout, stderr io.Writer, rows []samples.Row, body standard.WaterBody) {
	w := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "== Readings (GB 3838-2002, %s limits) ==\n", body)
	fmt.Fprintln(w, "LINE\tSITE\tPARAMETER\tTIME\tVALUE\tUNIT\tCLASS\tOVER III\tNOTE")
	bySite := map[string][]evaluate.Sample{}
	rejected := 0
	for _, r := range rows {
		s := r.Sample
		if r.Err != nil {
			rejected++
			fmt.Fprintf(w, "%d\t%s\t%s\t\t\t%s\t\t\trejected: %v\n", r.Line, s.Site, s.Param, r.Unit, r.Err)
			fmt.Fprintf(stderr, "wqeval: line %d rejected: %v\n", r.Line, r.Err)
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
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Line, s.Site, s.Param, s.Time.Format("2006-01-02 15:04"),
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
			over = strconv.FormatFloat(evaluate.RoundMultiple(it.Multiple), 'f', 1, 64) // as 22号 prints it
		}
		ev := ""
		if it.Evaluated {
			ev = "yes"
		}
		mean := strconv.FormatFloat(it.Mean, 'g', 6, 64)
		if it.Param == "ph" && it.HasRange && it.N > 1 {
			// pH is classed by its range, not its mean: show the range that decided it.
			mean += " (" + strconv.FormatFloat(it.Min, 'g', 6, 64) + "–" + strconv.FormatFloat(it.Max, 'g', 6, 64) + ")"
		}
		fmt.Fprintf(w, "  %s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n", it.Param, it.N,
			mean, standard.CanonicalUnit(it.Param), it.Class.Roman(), over, ev, it.Name)
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

// Check prints every rejected row on stderr and returns 1 if there is any, else says OK
// on stdout and returns 0.
func Check(stdout, stderr io.Writer, rows []samples.Row) int {
	rejected := 0
	for _, r := range rows {
		if r.Err != nil {
			rejected++
			fmt.Fprintf(stderr, "wqeval: line %d rejected: %v\n", r.Line, r.Err)
		}
	}
	if rejected > 0 {
		fmt.Fprintf(stderr, "wqeval: %d of %d rows rejected\n", rejected, len(rows))
		return 1
	}
	fmt.Fprintf(stdout, "wqeval: %d rows: OK\n", len(rows))
	return 0
}
