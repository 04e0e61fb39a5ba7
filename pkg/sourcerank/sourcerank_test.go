package sourcerank

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/network"
	"github.com/riverwatch/riverwatch/pkg/testinfra"
)

// The river of docs/sources.md: 1.0 m/s, 5 m³/s, no transport section (Jobson's spread,
// f = 1.5); every station reports every 5 minutes.
const testNetwork = `
timezone: UTC
jurisdictions: [{id: j, name: J}]
rivers:
  - {id: r, name: R, velocity_mps: 1.0, flow_m3s: 5.0, length_km: 20}
sites:
  - {id: U, kind: section, river: r, km: 2, jurisdiction: j, target_class: III, station: {mn: "1", password: p, interval_s: 300}}
  - {id: M, kind: section, river: r, km: 5, jurisdiction: j, target_class: III, station: {mn: "6", password: p, interval_s: 300}}
  - {id: O3, kind: outfall, river: r, km: 4, jurisdiction: j, limits: GB18918-1A, flow_m3s: 0.4, station: {mn: "5", password: p, interval_s: 300}}
  - {id: O1, kind: outfall, river: r, km: 6.4, jurisdiction: j, limits: GB18918-1A, flow_m3s: 0.6, station: {mn: "2", password: p, interval_s: 300}}
  - {id: O2, kind: outfall, river: r, km: 8, jurisdiction: j, limits: {nh3n: 15, cod: 100, conductivity: 5000}, flow_m3s: 0.2, station: {mn: "3", password: p, interval_s: 300}}
  - {id: S, kind: section, river: r, km: 10, jurisdiction: j, target_class: III, station: {mn: "4", password: p, interval_s: 300}}
  - {id: O9, kind: outfall, river: r, km: 9, jurisdiction: j, limits: GB18918-1A}
`

func testNet(t *testing.T) *network.Network {
	t.Helper()
	n, err := network.Parse([]byte(testNetwork))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// day is the morning of the worked example: the section's exceedance opened at 08:55.
var day = time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)

func at(h, m int) time.Time {
	return day.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute)
}

// step is a series every 5 minutes from 30 h before 08:55 to 09:30: base, then high from
// `from` up to (not including) `until`.
func step(base, high float64, from, until time.Time) []Sample {
	var out []Sample
	for t := at(8, 55).Add(-30 * time.Hour); !t.After(at(9, 30)); t = t.Add(5 * time.Minute) {
		v := base
		if !t.Before(from) && t.Before(until) {
			v = high
		}
		out = append(out, Sample{T: t, Value: v})
	}
	return out
}

func flat(v float64) []Sample { return step(v, v, at(0, 0), at(0, 0)) }

// worked is the readings of the worked example (docs/sources.md).
func worked() Readings {
	end := at(12, 0)
	return Readings{
		"S":  {"nh3n": step(0.2, 2.0, at(8, 50), end), "tp": step(0.05, 0.14, at(8, 50), end), "codmn": flat(3), "conductivity": flat(500)},
		"O1": {"nh3n": step(1.0, 19, at(8, 0), end), "tp": step(0.3, 1.2, at(8, 0), end), "flow": flat(0.6)},
		"O2": {"nh3n": step(0.5, 3.0, at(7, 30), end), "cod": step(30, 90, at(7, 30), end)},
		"U":  {"nh3n": flat(0.3), "tp": flat(0.06)},
	}
}

// TestRankMatchesTheWorkedExample checks docs/sources.md's numbers, computed by hand:
//
// O1, 3.6 km above S: T = 3600 s; f = 1.5: T_fast = 2400 s, earliest = 0.89 × 2400 = 2136 s
// (= T_fast − 2 × 0.055 × T_fast); latest = 3600 × 1.5 = 5400 s; slack = 300 + 300 s.
// Band 1536–6000 s. Observed lag 08:50 − 08:00 = 3000 s:
// timing = 1 − 0.5 × (3600 − 3000)/(3600 − 1536) = 1 − 300/2064 = 0.854651 → 0.855.
// Excesses in multiples of S's Class III limits (NH3-N 1.0, TP 0.2): S (1.8, 0.45), O1
// (18, 4.5): parallel, cosine 1; both of S's two risen parameters measured: signature 1.
// Share 0.6/(0.6 + 5) = 0.107143: expected NH3-N 18 × 0.107143 = 1.928571 against 1.8
// observed, 1.8/1.928571 = 0.933333; TP 0.9 × 0.107143 = 0.096429 against 0.09, the same
// 0.933333: magnitude 0.933. NH3-N 19 > 5 (GB 18918-1A): over its limit, 1.
// Score 0.4 × 0.855 + 0.3 × 1 + 0.2 × 0.933 + 0.1 × 1 = 0.342 + 0.3 + 0.1866 + 0.1 = 0.929.
//
// O2, 2 km above: T = 2000 s, earliest 0.89 × 1333.3 = 1186.7 s, latest 3000 s; band
// 586.7–3600 s; observed lag 08:50 − 07:30 = 4800 s: outside, timing 0. Only NH3-N is
// compared (S measures no COD): cosine 1 over 1 of 2 parameters, signature 0.5. Share
// 0.2/5.2 = 0.038462: 2.5 × 0.038462 = 0.096154 expected against 1.8, magnitude
// 0.096154/1.8 = 0.053419 → 0.053. 3.0 < 15: not over. Score 0.3 × 0.5 + 0.2 × 0.053 =
// 0.1606 → 0.161.
//
// U, 8 km above, flat: nothing rose, score 0. O9 (1 km above), M and O3 have no readings:
// score 0. Equal scores sort the nearer first: O9, M, O3, U.
func TestRankMatchesTheWorkedExample(t *testing.T) {
	rk, err := Rank(testNet(t), Query{Site: "S", At: at(8, 55), Parameters: []string{"nh3n"}, Readings: worked()}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !rk.Onset.Equal(at(8, 50)) || rk.Lead != "nh3n" {
		t.Fatalf("onset %v lead %q, want 08:50 nh3n", rk.Onset, rk.Lead)
	}
	if len(rk.Rises) != 2 || rk.Rises[0].Parameter != "nh3n" || rk.Rises[1].Parameter != "tp" {
		t.Fatalf("rises at S: %+v, want nh3n and tp", rk.Rises)
	}
	type want struct {
		site                                           string
		score, timing, signature, magnitude, overLimit float64
		lag, expected, earliest, latest, slack         time.Duration
	}
	wants := []want{
		{"O1", 0.929, 0.855, 1, 0.933, 1, 3000 * time.Second, 3600 * time.Second, 2136 * time.Second, 5400 * time.Second, 600 * time.Second},
		{"O2", 0.161, 0, 0.5, 0.053, 0, 4800 * time.Second, 2000 * time.Second, 1186667 * time.Millisecond, 3000 * time.Second, 600 * time.Second},
		{"O9", 0, 0, 0, 0, 0, -1, 1000 * time.Second, 593333 * time.Millisecond, 1500 * time.Second, 3900 * time.Second}, // no station: hourly
		{"U", 0, 0, 0, 0, 0, -1, 8000 * time.Second, 4746667 * time.Millisecond, 12000 * time.Second, 600 * time.Second},
	}
	// M (5 km) and O3 (6 km) have no readings either, and rank after O9 by distance.
	got := rk.Candidates
	if len(got) != 6 {
		t.Fatalf("%d candidates, want 6 (O1, O2, O9, M, O3, U): %v", len(got), summary(rk))
	}
	for i, w := range wants {
		c := got[i]
		if w.site == "U" {
			c = got[5]
		}
		if c.Site != w.site || c.Score != w.score || c.Timing != w.timing || c.Signature != w.signature ||
			c.Magnitude != w.magnitude || c.OverLimit != w.overLimit {
			t.Errorf("candidate %d: %s score %v (timing %v signature %v magnitude %v over %v), want %+v\n%s",
				i, c.Site, c.Score, c.Timing, c.Signature, c.Magnitude, c.OverLimit, w, strings.Join(c.Evidence, "\n"))
		}
		if far(c.Lag.Expected, w.expected) || far(c.Lag.Earliest, w.earliest) || far(c.Lag.Latest, w.latest) || c.Lag.Slack != w.slack {
			t.Errorf("%s: lag %+v, want expected %v earliest %v latest %v slack %v", c.Site, c.Lag, w.expected, w.earliest, w.latest, w.slack)
		}
		if w.lag >= 0 && (c.ObservedLag == nil || *c.ObservedLag != w.lag) {
			t.Errorf("%s: observed lag %v, want %v", c.Site, c.ObservedLag, w.lag)
		}
	}
	if got[3].Site != "M" || got[4].Site != "O3" {
		t.Errorf("fourth and fifth candidates %s and %s, want M and O3", got[3].Site, got[4].Site)
	}
	o1 := strings.Join(got[0].Evidence, "\n")
	for _, s := range []string{"nh3n rose here at 07-01 08:00, 50 min before S; the plume needs 1 h (26 min–1 h 40 min)",
		"cosine 1.000", "+18 here × 0.1071", "+1.93 expected at S, +1.8 observed", "over its limit 5"} {
		if !strings.Contains(o1, s) {
			t.Errorf("O1's evidence lacks %q:\n%s", s, o1)
		}
	}
}

func far(a, b time.Duration) bool { return math.Abs(float64(a-b)) > float64(time.Millisecond) }

func TestRankOrdersTheCandidatesByTheirEvidence(t *testing.T) {
	end := at(12, 0)
	section := map[string][]Sample{"nh3n": step(0.2, 2.0, at(8, 50), end), "tp": step(0.05, 0.14, at(8, 50), end), "conductivity": flat(500)}
	tests := []struct {
		name     string
		readings Readings
		opt      Options
		first    string // the site ranked first
		absent   string // a site that must not be ranked
		evidence map[string]string
	}{
		{
			// O1 rose in NH3-N and TP at its lag, in S's ratio; O2 rose at its lag but in
			// conductivity, which S did not; O3 rose in NH3-N alone at its lag, too little
			// for its discharge to explain S.
			name: "the true outfall comes first from a mixture of three",
			readings: Readings{
				"S":  section,
				"O1": {"nh3n": step(1.0, 19, at(8, 0), end), "tp": step(0.3, 1.2, at(8, 0), end)},
				"O2": {"nh3n": flat(0.5), "conductivity": step(900, 4000, at(8, 15), end)},
				"O3": {"nh3n": step(1.0, 4.0, at(7, 10), end), "tp": flat(0.3)},
			},
			first:    "O1",
			evidence: map[string]string{"O2": "cosine 0.000", "O3": "+3 here"},
		},
		{
			name: "a rise after the section's cannot be its source",
			readings: Readings{
				"S":  section,
				"O1": {"nh3n": step(1.0, 19, at(9, 0), end), "tp": step(0.3, 1.2, at(9, 0), end)},
				"O3": {"nh3n": step(1.0, 25, at(7, 10), end), "tp": step(0.3, 1.6, at(7, 10), end)},
			},
			first:    "O3",
			evidence: map[string]string{"O1": "too late to be its source"},
		},
		{
			name:     "an outfall without readings is ranked with nothing and says so",
			readings: Readings{"S": section},
			first:    "O9",
			evidence: map[string]string{"O1": "no readings of nh3n, tp here"},
		},
		{
			name:     "a site whose slowest travel exceeds MaxLag is left out",
			readings: Readings{"S": section},
			opt:      Options{MaxLag: 2 * time.Hour},
			first:    "O9",
			absent:   "U",
		},
		{
			name: "a noisy baseline hides a small rise",
			readings: Readings{
				"S":  section,
				"O1": {"nh3n": wavy(1.0, 0.5), "tp": flat(0.3)},
			},
			first:    "O9",
			evidence: map[string]string{"O1": "nothing rose here between 07-01 05:40 and 07-01 09:00"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rk, err := Rank(testNet(t), Query{Site: "S", At: at(8, 55), Parameters: []string{"nh3n"}, Readings: tc.readings}, tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			if len(rk.Candidates) == 0 || rk.Candidates[0].Site != tc.first {
				t.Fatalf("ranking %v, want %s first", summary(rk), tc.first)
			}
			for i := 1; i < len(rk.Candidates); i++ {
				if rk.Candidates[i].Score > rk.Candidates[i-1].Score {
					t.Errorf("ranking %v is not by score", summary(rk))
				}
			}
			for _, c := range rk.Candidates {
				if c.Site == tc.absent {
					t.Errorf("%s is ranked: %v", tc.absent, summary(rk))
				}
				if want, ok := tc.evidence[c.Site]; ok && !strings.Contains(strings.Join(c.Evidence, "\n"), want) {
					t.Errorf("%s's evidence lacks %q:\n%s", c.Site, want, strings.Join(c.Evidence, "\n"))
				}
			}
		})
	}
}

// wavy swings by ±amp around base every 5 minutes, with a last-hour bump of amp.
func wavy(base, amp float64) []Sample {
	xs := flat(base)
	for i := range xs {
		if i%2 == 0 {
			xs[i].Value += amp
		} else {
			xs[i].Value -= amp
		}
	}
	return xs
}

func summary(rk Ranking) []string {
	var out []string
	for _, c := range rk.Candidates {
		out = append(out, fmt.Sprintf("%s:%.3f", c.Site, c.Score))
	}
	return out
}

func TestWindowsCoverWhatRankReads(t *testing.T) {
	net := testNet(t)
	ws, err := Windows(net, "S", at(8, 55), Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Window{}
	for _, w := range ws {
		got[w.Site] = w
	}
	// S: its baseline and onset search, 30 h before 08:55 to one interval after.
	if w := got["S"]; !w.From.Equal(at(8, 55).Add(-30*time.Hour)) || !w.To.Equal(at(9, 0)) {
		t.Errorf("S: %v – %v", w.From, w.To)
	}
	// O1: latest 5400 s × f 1.5 = 8100 s; from (08:55 − 6 h) − 2 × 8100 s − 600 s − 24 h,
	// to 08:55 + S's interval + 600 s.
	want := at(8, 55).Add(-6*time.Hour - 16200*time.Second - 600*time.Second - 24*time.Hour)
	if w := got["O1"]; !w.From.Equal(want) || !w.To.Equal(at(9, 10)) {
		t.Errorf("O1: %v – %v, want %v – 09:10", w.From, w.To, want)
	}
	if len(ws) != 7 {
		t.Errorf("%d windows, want S and its six upstream sites", len(ws))
	}
	if _, err := Windows(net, "nowhere", at(8, 55), Options{}); err == nil {
		t.Error("an unknown site has windows")
	}
}

// TestASectionThatSawNothingHalvesTheSourcesAboveIt: O3's rise is as good as O1's in the
// worked example, but M, between O3 and S, saw NH3-N stay flat through its own window:
// the plume would have had to pass it.
func TestASectionThatSawNothingHalvesTheSourcesAboveIt(t *testing.T) {
	end := at(12, 0)
	// O3 is 6 km above S: T = 6000 s; a rise at 07:10 is 100 min = 6000 s before 08:50.
	base := Readings{
		"S":  {"nh3n": step(0.2, 2.0, at(8, 50), end), "tp": step(0.05, 0.14, at(8, 50), end)},
		"O3": {"nh3n": step(1.0, 19, at(7, 10), end), "tp": step(0.3, 1.2, at(7, 10), end), "flow": flat(0.6)},
	}
	score := func(rd Readings) Candidate {
		t.Helper()
		rk, err := Rank(testNet(t), Query{Site: "S", At: at(8, 55), Parameters: []string{"nh3n"}, Readings: rd}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range rk.Candidates {
			if c.Site == "O3" {
				return c
			}
		}
		t.Fatal("O3 is not ranked")
		return Candidate{}
	}
	alone := score(base)
	base["M"] = map[string][]Sample{"nh3n": flat(0.3)}
	flatM := score(base)
	base["M"] = map[string][]Sample{"nh3n": step(0.3, 2.1, at(8, 0), end)}
	risenM := score(base)
	if alone.Score < 0.9 || flatM.Score != round(alone.Score*PassFactor, 3) || risenM.Score != alone.Score {
		t.Errorf("O3 alone %v, under a flat M %v (want half), under a risen M %v (want the same)", alone.Score, flatM.Score, risenM.Score)
	}
	for _, tc := range []struct {
		c    Candidate
		want string
	}{{flatM, "M, between here and S, saw no rise of nh3n: score × 0.5"}, {risenM, "M, between here and S, saw nh3n rise too"}} {
		if !strings.Contains(strings.Join(tc.c.Evidence, "\n"), tc.want) {
			t.Errorf("O3's evidence lacks %q: %q", tc.want, tc.c.Evidence)
		}
	}
}

// TestTheDocsQuoteTheWorkedExamplesEvidence: docs/sources.md prints O1's evidence as Rank
// gives it, and its scores as the worked example's test checks them.
func TestTheDocsQuoteTheWorkedExamplesEvidence(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(testinfra.ModuleRoot(t), "docs", "sources.md"))
	if err != nil {
		t.Fatal(err)
	}
	rk, err := Rank(testNet(t), Query{Site: "S", At: at(8, 55), Parameters: []string{"nh3n"}, Readings: worked()}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	o1 := rk.Candidates[0]
	block := "```\n" + strings.Join(o1.Evidence, "\n") + "\n```"
	if !strings.Contains(string(doc), block) {
		t.Errorf("docs/sources.md does not quote O1's evidence:\n%s", block)
	}
	for _, score := range []string{fmt.Sprintf("**%.3f**", o1.Score), fmt.Sprintf("**%.3f**", rk.Candidates[1].Score)} {
		if !strings.Contains(string(doc), score) {
			t.Errorf("docs/sources.md does not give the score %s", score)
		}
	}
}

// TestAnOutfallOnATributaryIsDilutedTwice: TO discharges 0.5 m³/s into a tributary of
// 2 m³/s, which joins a main river of 10 m³/s above MS. Its share at MS is
// 0.5/(0.5 + 2) × (2 + 0.5)/(12 + 0.5) = 0.2 × 0.2 = 0.04: a rise of 10 there explains
// the 0.4 at MS exactly (magnitude 1).
func TestAnOutfallOnATributaryIsDilutedTwice(t *testing.T) {
	net, err := network.Parse([]byte(`
timezone: UTC
jurisdictions: [{id: j, name: J}]
rivers:
  - {id: main, name: M, velocity_mps: 1.0, flow_m3s: 10, length_km: 100}
  - {id: trib, name: T, velocity_mps: 1.0, flow_m3s: 2, length_km: 20, joins: {river: main, at_km: 50}}
sites:
  - {id: TO, kind: outfall, river: trib, km: 18, jurisdiction: j, limits: GB18918-1A, flow_m3s: 0.5, station: {mn: "1", password: p, interval_s: 300}}
  - {id: MS, kind: section, river: main, km: 51, jurisdiction: j, target_class: III, station: {mn: "2", password: p, interval_s: 300}}
`))
	if err != nil {
		t.Fatal(err)
	}
	// 3 km at 1 m/s: T = 3000 s = 50 min; TO rises 50 min before MS.
	end := at(12, 0)
	rd := Readings{
		"MS": {"nh3n": step(0.2, 0.6, at(8, 50), end)},
		"TO": {"nh3n": step(1, 11, at(8, 0), end)},
	}
	rk, err := Rank(net, Query{Site: "MS", At: at(8, 55), Parameters: []string{"nh3n"}, Readings: rd}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rk.Candidates) != 1 {
		t.Fatalf("candidates %v", summary(rk))
	}
	c := rk.Candidates[0]
	if c.DilutionShare != 0.04 || c.Magnitude != 1 || c.Timing != 1 {
		t.Errorf("share %v magnitude %v timing %v, want 0.04, 1, 1:\n%s", c.DilutionShare, c.Magnitude, c.Timing, strings.Join(c.Evidence, "\n"))
	}
	if ev := strings.Join(c.Evidence, "\n"); !strings.Contains(ev, "discharge 0.5 m³/s into 2 m³/s, joined 2.5 → 12.5 m³/s") {
		t.Errorf("evidence %s", ev)
	}
}
