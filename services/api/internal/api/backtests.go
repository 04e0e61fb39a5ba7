package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Backtests are shown as the assessor's CLI stored them: `assessor backtest -format json
// -out DIR/NAME.json` into the directory api.backtest_dir names (docs/reports.md,
// "Backtests on the dashboard"). The api replays nothing: it serves the stored reports,
// each cut to the sites the caller sees.

// BacktestList is the body of GET /api/v1/backtests: the stored reports, newest first.
type BacktestList struct {
	// Configured is false when api.backtest_dir is empty: there is nothing to list.
	Configured bool              `json:"configured"`
	Items      []BacktestSummary `json:"items"`
}

// BacktestSummary is one stored report in the list.
type BacktestSummary struct {
	Name     string    `json:"name"` // the file's name without .json
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	Rules    [2]string `json:"rules"`
	Stored   time.Time `json:"stored"` // the file's modification time
	Sites    int       `json:"sites"`  // sites of the report the caller sees
	Added    int       `json:"added"`  // alarms the candidate adds at them
	Removed  int       `json:"removed"`
	Episodes [2]int    `json:"episodes"`
}

// BacktestReport is the body of GET /api/v1/backtests/{name}: the CLI's JSON report (its
// format: services/assessor/internal/backtest, Report) cut to the sites the caller sees, the
// total recomputed over them.
type BacktestReport struct {
	Name  string    `json:"name"`
	From  time.Time `json:"from"`
	To    time.Time `json:"to"`
	Rules [2]string `json:"rules"`
	// Readings replayed and the replay's time, over every site of the backtest: null for a
	// caller who does not see them all.
	Readings  *int                 `json:"readings"`
	ElapsedNS *int64               `json:"elapsed_ns"`
	Stored    time.Time            `json:"stored"`
	Episodes  [2][]BacktestEpisode `json:"episodes"`
	Sites     []BacktestSite       `json:"sites"`
	Total     BacktestSite         `json:"total"`
	Added     []BacktestEpisode    `json:"added"`
	Removed   []BacktestEpisode    `json:"removed"`
}

// BacktestEpisode is one alarm of one configuration, from the first exceeding reading of
// the run that opened it to its clearing (null: open at the end of the period).
type BacktestEpisode struct {
	Site      string     `json:"site"`
	Parameter string     `json:"parameter"`
	Limit     float64    `json:"limit"`
	Severity  string     `json:"severity,omitempty"`
	FirstOver time.Time  `json:"first_over"`
	Opened    time.Time  `json:"opened"`
	Cleared   *time.Time `json:"cleared,omitempty"`
	OpenNS    int64      `json:"open_ns"`
	Notifying int        `json:"notifying"`
}

// BacktestTotals sum one configuration's episodes at a site.
type BacktestTotals struct {
	Episodes    int   `json:"episodes"`
	OpenNS      int64 `json:"open_ns"`
	MeanDelayNS int64 `json:"mean_delay_ns"`
	Notifying   int   `json:"notifying"`
}

// BacktestSite compares the two configurations at one site ("" in the total).
type BacktestSite struct {
	Site    string            `json:"site,omitempty"`
	Per     [2]BacktestTotals `json:"per"`
	Added   int               `json:"added"`
	Removed int               `json:"removed"`
}

// backtestName is a stored report's name: a file name without a leading dot or a path.
var backtestName = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]{0,99}$`)

// Bounds on what the api reads: a report is a few hundred kB per month of a network's
// alarms; a file past maxBacktestBytes is refused rather than held in memory.
const (
	maxBacktestBytes = 32 << 20
	maxBacktests     = 200
)

// errBacktestTooLarge refuses a stored report over maxBacktestBytes.
var errBacktestTooLarge = errors.New("stored backtest larger than 32 MiB")

func (s *Server) handleBacktests(w http.ResponseWriter, r *http.Request) {
	list := BacktestList{Configured: s.opt.BacktestDir != "", Items: []BacktestSummary{}}
	if !list.Configured {
		writeJSON(w, http.StatusOK, list)
		return
	}
	entries, err := os.ReadDir(s.opt.BacktestDir)
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "internal", "backtest directory: %v", err)
		return
	}
	sees := s.seesSite(r)
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || e.IsDir() || !backtestName.MatchString(name) {
			continue
		}
		rep, err := s.loadBacktest(name)
		if err != nil {
			// One unreadable file does not hide the others; it is logged and left out.
			s.log.Warn("stored backtest unreadable", "file", e.Name(), "err", err)
			s.metrics.errors.WithLabelValues("backtest_unreadable").Inc()
			continue
		}
		cut := cutBacktest(rep, sees)
		list.Items = append(list.Items, BacktestSummary{Name: name, From: cut.From, To: cut.To, Rules: cut.Rules, Stored: cut.Stored,
			Sites: len(cut.Sites), Added: cut.Total.Added, Removed: cut.Total.Removed,
			Episodes: [2]int{cut.Total.Per[0].Episodes, cut.Total.Per[1].Episodes}})
	}
	slices.SortFunc(list.Items, func(a, b BacktestSummary) int {
		if c := b.Stored.Compare(a.Stored); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	if len(list.Items) > maxBacktests {
		list.Items = list.Items[:maxBacktests]
	}
	writeJSON(w, http.StatusOK, list)
}

func (s *Server) handleBacktest(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if s.opt.BacktestDir == "" || !backtestName.MatchString(name) {
		s.fail(w, r, http.StatusNotFound, "not_found", "no stored backtest %q", name)
		return
	}
	rep, err := s.loadBacktest(name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		s.fail(w, r, http.StatusNotFound, "not_found", "no stored backtest %q", name)
		return
	case err != nil:
		s.metrics.errors.WithLabelValues("backtest_unreadable").Inc()
		s.fail(w, r, http.StatusInternalServerError, "internal", "stored backtest %q: %v", name, err)
		return
	}
	writeJSON(w, http.StatusOK, cutBacktest(rep, s.seesSite(r)))
}

// seesSite returns whether the caller sees a site of the network (an unknown site: no).
func (s *Server) seesSite(r *http.Request) func(string) bool {
	seen := map[string]bool{}
	for _, site := range s.visibleSites(principal(r)) {
		seen[site.ID] = true
	}
	return func(id string) bool { return seen[id] }
}

// loadBacktest reads and decodes one stored report.
func (s *Server) loadBacktest(name string) (BacktestReport, error) {
	f, err := os.Open(filepath.Join(s.opt.BacktestDir, name+".json"))
	if err != nil {
		return BacktestReport{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return BacktestReport{}, err
	}
	if st.Size() > maxBacktestBytes {
		return BacktestReport{}, errBacktestTooLarge
	}
	var rep BacktestReport
	if err := json.NewDecoder(io.LimitReader(f, maxBacktestBytes)).Decode(&rep); err != nil {
		return BacktestReport{}, fmt.Errorf("decode: %w", err)
	}
	if rep.From.IsZero() || rep.To.IsZero() {
		return BacktestReport{}, errors.New("not a backtest report: no from or to")
	}
	rep.Name, rep.Stored = name, st.ModTime().UTC()
	return rep, nil
}

// cutBacktest keeps the sites the caller sees and recomputes the total over them; the
// replay's readings and time, which span every site, only for a caller who sees them all.
func cutBacktest(rep BacktestReport, sees func(string) bool) BacktestReport {
	keep := func(eps []BacktestEpisode) []BacktestEpisode {
		out := []BacktestEpisode{}
		for _, ep := range eps {
			if sees(ep.Site) {
				out = append(out, ep)
			}
		}
		return out
	}
	all := true
	for i := range rep.Episodes {
		all = all && len(keep(rep.Episodes[i])) == len(rep.Episodes[i])
		rep.Episodes[i] = keep(rep.Episodes[i])
	}
	all = all && len(keep(rep.Added)) == len(rep.Added) && len(keep(rep.Removed)) == len(rep.Removed)
	rep.Added, rep.Removed = keep(rep.Added), keep(rep.Removed)
	sites := []BacktestSite{}
	total := BacktestSite{}
	var delay [2]int64
	for _, st := range rep.Sites {
		if !sees(st.Site) {
			all = false
			continue
		}
		sites = append(sites, st)
		total.Added += st.Added
		total.Removed += st.Removed
		for i, p := range st.Per {
			total.Per[i].Episodes += p.Episodes
			total.Per[i].OpenNS += p.OpenNS
			total.Per[i].Notifying += p.Notifying
			delay[i] += p.MeanDelayNS * int64(p.Episodes) // the sites' means weighed by their episodes
		}
	}
	for i := range total.Per {
		if total.Per[i].Episodes > 0 {
			total.Per[i].MeanDelayNS = delay[i] / int64(total.Per[i].Episodes)
		}
	}
	rep.Sites = sites
	if !all {
		// The CLI's total stands for a caller who sees every site: it is the same figures.
		rep.Total, rep.Readings, rep.ElapsedNS = total, nil, nil
	}
	return rep
}
