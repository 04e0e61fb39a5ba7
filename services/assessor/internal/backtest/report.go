package backtest

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"text/tabwriter"
	"time"
)

// Report is what a backtest found: each configuration's episodes, and per site and in
// total how they differ.
type Report struct {
	From     time.Time     `json:"from"`
	To       time.Time     `json:"to"`
	Readings int           `json:"readings"`
	Elapsed  time.Duration `json:"elapsed_ns"`
	Rules    [2]string     `json:"rules"` // current, candidate
	// Episodes of each configuration, in order of opening.
	Episodes [2][]Episode `json:"episodes"`
	Sites    []SiteReport `json:"sites"`
	Total    SiteReport   `json:"total"`
	// Added are the candidate's episodes that overlap none of the current one's (same
	// site and parameter, intervals that meet); Removed the other way round.
	Added   []Episode `json:"added"`
	Removed []Episode `json:"removed"`
}

// Totals sum one configuration's episodes.
type Totals struct {
	Episodes  int           `json:"episodes"`
	Open      time.Duration `json:"open_ns"`
	MeanDelay time.Duration `json:"mean_delay_ns"` // from the first exceeding reading to the opening
	Notifying int           `json:"notifying"`
}

// SiteReport compares the two configurations at one site ("" in Total).
type SiteReport struct {
	Site    string    `json:"site,omitempty"`
	Per     [2]Totals `json:"per"`
	Added   int       `json:"added"`
	Removed int       `json:"removed"`
}

// ReadingsPerSecond is how fast the replay went.
func (r *Report) ReadingsPerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Readings) / r.Elapsed.Seconds()
}

func (r *Report) compare() {
	r.Added = unmatched(r.Episodes[1], r.Episodes[0], r.To)
	r.Removed = unmatched(r.Episodes[0], r.Episodes[1], r.To)
	sites := map[string]*SiteReport{}
	site := func(id string) *SiteReport {
		if sites[id] == nil {
			sites[id] = &SiteReport{Site: id}
		}
		return sites[id]
	}
	delays := [2]map[string]time.Duration{{}, {}}
	var total [2]time.Duration
	for i, eps := range r.Episodes {
		for _, ep := range eps {
			s := site(ep.Site)
			s.Per[i].Episodes++
			s.Per[i].Open += ep.Open
			s.Per[i].Notifying += ep.Notifying
			delays[i][ep.Site] += ep.Delay()
			total[i] += ep.Delay()
			r.Total.Per[i].Episodes++
			r.Total.Per[i].Open += ep.Open
			r.Total.Per[i].Notifying += ep.Notifying
		}
	}
	for _, ep := range r.Added {
		site(ep.Site).Added++
		r.Total.Added++
	}
	for _, ep := range r.Removed {
		site(ep.Site).Removed++
		r.Total.Removed++
	}
	for _, s := range sites {
		for i := range s.Per {
			if s.Per[i].Episodes > 0 {
				s.Per[i].MeanDelay = delays[i][s.Site] / time.Duration(s.Per[i].Episodes)
			}
		}
		r.Sites = append(r.Sites, *s)
	}
	for i := range r.Total.Per {
		if r.Total.Per[i].Episodes > 0 {
			r.Total.Per[i].MeanDelay = total[i] / time.Duration(r.Total.Per[i].Episodes)
		}
	}
	sort.Slice(r.Sites, func(i, j int) bool { return r.Sites[i].Site < r.Sites[j].Site })
}

// unmatched returns the episodes of a that meet no episode of b on the same series.
func unmatched(a, b []Episode, end time.Time) []Episode {
	var out []Episode
	for _, x := range a {
		found := false
		for _, y := range b {
			if x.Site == y.Site && x.Parameter == y.Parameter && overlaps(x, y, end) {
				found = true
				break
			}
		}
		if !found {
			out = append(out, x)
		}
	}
	return out
}

func overlaps(x, y Episode, end time.Time) bool {
	xe, ye := x.Cleared, y.Cleared
	if xe.IsZero() {
		xe = end
	}
	if ye.IsZero() {
		ye = end
	}
	return !x.FirstOver.After(ye) && !y.FirstOver.After(xe)
}

// WriteTable prints the per-site comparison and the changed alarms for a terminal.
func (r *Report) WriteTable(w io.Writer) error {
	// The title goes before the table: as a cell it would set the width of the site column.
	if _, err := fmt.Fprintf(w, "backtest %s – %s: %d readings replayed in %s (%.0f readings/s)\n",
		r.From.Format(time.RFC3339), r.To.Format(time.RFC3339), r.Readings, r.Elapsed.Round(time.Millisecond), r.ReadingsPerSecond()); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "site\tepisodes %s\tepisodes %s\tadded\tremoved\tmean delay %s\tmean delay %s\topen %s\topen %s\tnotifying %s\tnotifying %s\t\n",
		r.Rules[0], r.Rules[1], r.Rules[0], r.Rules[1], r.Rules[0], r.Rules[1], r.Rules[0], r.Rules[1])
	row := func(s SiteReport, name string) {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t%d\t%d\t\n", name,
			s.Per[0].Episodes, s.Per[1].Episodes, s.Added, s.Removed,
			s.Per[0].MeanDelay.Round(time.Second), s.Per[1].MeanDelay.Round(time.Second),
			s.Per[0].Open.Round(time.Minute), s.Per[1].Open.Round(time.Minute),
			s.Per[0].Notifying, s.Per[1].Notifying)
	}
	for _, s := range r.Sites {
		row(s, s.Site)
	}
	row(r.Total, "total")
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, c := range []struct {
		what string
		eps  []Episode
	}{{"added by " + r.Rules[1], r.Added}, {"removed by " + r.Rules[1], r.Removed}} {
		for _, ep := range c.eps {
			if _, err := fmt.Fprintf(w, "%s: %s %s opened %s (first over %s), limit %s\n", c.what, ep.Site, ep.Parameter,
				ep.Opened.Format(time.RFC3339), ep.FirstOver.Format(time.RFC3339), strconv.FormatFloat(ep.Limit, 'g', -1, 64)); err != nil {
				return err
			}
		}
	}
	return nil
}

// WriteCSV writes one row per site and a total row.
func (r *Report) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"site", "episodes_current", "episodes_candidate", "added", "removed",
		"mean_delay_s_current", "mean_delay_s_candidate", "open_s_current", "open_s_candidate",
		"notifying_current", "notifying_candidate"})
	row := func(s SiteReport, name string) {
		_ = cw.Write([]string{name, strconv.Itoa(s.Per[0].Episodes), strconv.Itoa(s.Per[1].Episodes),
			strconv.Itoa(s.Added), strconv.Itoa(s.Removed),
			secs(s.Per[0].MeanDelay), secs(s.Per[1].MeanDelay), secs(s.Per[0].Open), secs(s.Per[1].Open),
			strconv.Itoa(s.Per[0].Notifying), strconv.Itoa(s.Per[1].Notifying)})
	}
	for _, s := range r.Sites {
		row(s, s.Site)
	}
	row(r.Total, "total")
	cw.Flush()
	return cw.Error()
}

// WriteJSON writes the whole report.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

func secs(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', 0, 64) }
