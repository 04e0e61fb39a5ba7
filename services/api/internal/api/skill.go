package api

import (
	"cmp"
	"math"
	"net/http"
	"slices"
	"time"

	"github.com/riverwatch/riverwatch/pkg/message"
)

// SkillReport is how well the plume model's predictions came true, per reach, over a
// period (GET /api/v1/predictions/skill).
type SkillReport struct {
	From    time.Time    `json:"from"`
	To      time.Time    `json:"to"`
	Reaches []ReachSkill `json:"reaches"`
}

// ReachSkill is the record of one reach, from the site that exceeded to the site the
// prediction was for, counted from the assessor's prediction.verified and
// prediction.refuted events observed in the period (docs/plume.md). A prediction whose band
// passed without a reading (no_data) has no verdict and is not counted.
type ReachSkill struct {
	FromSite     string `json:"from_site"`
	FromSiteName string `json:"from_site_name"`
	ToSite       string `json:"to_site"`
	ToSiteName   string `json:"to_site_name"`
	River        string `json:"river"` // the to-site's river
	// Checked is Verified + Refuted: the predictions judged.
	Checked  int `json:"checked"`
	Verified int `json:"verified"`
	Refuted  int `json:"refuted"`
	// HitRate is Verified / Checked, to three decimals.
	HitRate float64 `json:"hit_rate"`
	// Timed counts the verdicts in which the plume was seen (every verification, and the
	// refutations of a rise outside the band); the timing errors are over them.
	Timed int `json:"timed"`
	// MeanTimingErrorMin and MeanAbsTimingErrorMin are the mean and the mean absolute of
	// observed rise − predicted arrival (the event's arrival_at, the time the warning texts
	// announce), in minutes to one decimal; null when no verdict is timed. Positive: the
	// plume came later than announced.
	MeanTimingErrorMin    *float64 `json:"mean_timing_error_min"`
	MeanAbsTimingErrorMin *float64 `json:"mean_abs_timing_error_min"`
	// Measured counts the timed verdicts that carry the verification's own errors
	// (message.Verification, stored since migration 11; docs/plume.md "Verification"); the
	// means below are over them, null when none. Rise: the rise against the window's
	// expected leading edge, mean and mean absolute, minutes to one decimal; peak time and
	// peak height (mg/L, three decimals) over those whose peak was seen; duration (time
	// above the threshold against trailing − leading) over those whose fall was seen.
	Measured             int      `json:"measured"`
	MeanRiseErrorMin     *float64 `json:"mean_rise_error_min"`
	MeanAbsRiseErrorMin  *float64 `json:"mean_abs_rise_error_min"`
	MeanPeakTimeErrorMin *float64 `json:"mean_peak_time_error_min"`
	MeanPeakError        *float64 `json:"mean_peak_error"`
	MeanDurationErrorMin *float64 `json:"mean_duration_error_min"`
}

// skillPage is how many verdicts one store call reads; skillMaxVerdicts bounds a period
// (a narrower one answers a bigger network).
const (
	skillPage        = maxLimit
	skillMaxVerdicts = maxOffset
)

// skillSpan is the default period of the skill report: the last 30 days.
const skillSpan = 30 * 24 * time.Hour

// handleSkill answers GET /api/v1/predictions/skill?from=&to=: every reach whose to-site
// the caller sees, as /events scopes its events (a reach's from-site is named even when it
// is upstream in another jurisdiction, as a prediction event names its origin).
func (s *Server) handleSkill(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	from, to, err := s.parseRange(r, skillSpan)
	if err != nil {
		s.handleErr(w, r, "skill", err)
		return
	}
	q := EventQuery{Types: []string{message.EventPredictionVerified, message.EventPredictionRefuted}, From: from, To: to}
	if scope(p) != nil {
		q.Sites = siteIDs(s.visibleSites(p))
		if q.Sites == nil {
			q.Sites = []string{}
		}
	}
	var verdicts []message.Event
	for q.Offset = 0; ; q.Offset += skillPage {
		if q.Offset >= skillMaxVerdicts {
			s.fail(w, r, http.StatusBadRequest, "bad_request", "more than %d verdicts between from and to: narrow the period", skillMaxVerdicts)
			return
		}
		q.Limit = skillPage
		batch, err := s.store.Events(r.Context(), q)
		if err != nil {
			s.storeFail(w, r, "skill", err)
			return
		}
		verdicts = append(verdicts, batch...)
		if len(batch) < skillPage {
			break
		}
	}
	reaches := reachSkill(verdicts)
	for i := range reaches {
		rs := &reaches[i]
		if site, ok := s.net.Site(rs.FromSite); ok {
			rs.FromSiteName = site.Name
		}
		if site, ok := s.net.Site(rs.ToSite); ok {
			rs.ToSiteName, rs.River = site.Name, site.River
		}
	}
	writeJSON(w, http.StatusOK, SkillReport{From: from, To: to, Reaches: reaches})
}

// reachSkill counts verdicts per reach (from-site → to-site), ordered by from-site and
// to-site. An event id seen twice (a page shifted by a verdict stored meanwhile) counts once.
// A verdict is timed when the plume was seen: its value is the observed peak, 0 when no
// reading reached the threshold, and its observed time is then the rise.
func reachSkill(verdicts []message.Event) []ReachSkill {
	type key struct{ from, to string }
	type acc struct {
		skill       ReachSkill
		sum, sumAbs float64
		timed       int
		// the verification's errors
		rise, riseAbs, peakT, peak, dur skillMean
	}
	seen := map[string]bool{}
	byReach := map[key]*acc{}
	for _, e := range verdicts {
		if seen[e.ID] || (e.Type != message.EventPredictionVerified && e.Type != message.EventPredictionRefuted) {
			continue
		}
		seen[e.ID] = true
		k := key{e.OriginSite, e.Site}
		a := byReach[k]
		if a == nil {
			a = &acc{skill: ReachSkill{FromSite: e.OriginSite, ToSite: e.Site}}
			byReach[k] = a
		}
		a.skill.Checked++
		if e.Type == message.EventPredictionVerified {
			a.skill.Verified++
		} else {
			a.skill.Refuted++
		}
		if e.Value > 0 && !e.ArrivalAt.IsZero() {
			d := e.ObservedAt.Sub(e.ArrivalAt).Minutes()
			a.sum += d
			a.sumAbs += math.Abs(d)
			a.timed++
			if v := e.Verification; !v.IsZero() {
				a.skill.Measured++
				a.rise.add(v.RiseErrorS / 60)
				a.riseAbs.add(math.Abs(v.RiseErrorS) / 60)
				if !v.PeakAt.IsZero() {
					a.peakT.add(v.PeakTimeErrorS / 60)
					a.peak.add(v.PeakError)
				}
				if !v.FallAt.IsZero() {
					a.dur.add(v.DurationErrorS / 60)
				}
			}
		}
	}
	out := make([]ReachSkill, 0, len(byReach))
	for _, a := range byReach {
		rs := a.skill
		rs.HitRate = math.Round(float64(rs.Verified)/float64(rs.Checked)*1000) / 1000
		if n := a.timed; n > 0 {
			rs.Timed = n
			mean := math.Round(a.sum/float64(n)*10) / 10
			abs := math.Round(a.sumAbs/float64(n)*10) / 10
			rs.MeanTimingErrorMin, rs.MeanAbsTimingErrorMin = &mean, &abs
		}
		rs.MeanRiseErrorMin, rs.MeanAbsRiseErrorMin = a.rise.of(10), a.riseAbs.of(10)
		rs.MeanPeakTimeErrorMin, rs.MeanPeakError, rs.MeanDurationErrorMin = a.peakT.of(10), a.peak.of(1000), a.dur.of(10)
		out = append(out, rs)
	}
	slices.SortFunc(out, func(a, b ReachSkill) int {
		return cmp.Or(cmp.Compare(a.FromSite, b.FromSite), cmp.Compare(a.ToSite, b.ToSite))
	})
	return out
}

// skillMean accumulates a mean.
type skillMean struct {
	sum float64
	n   int
}

func (m *skillMean) add(x float64) { m.sum += x; m.n++ }

// of is the mean rounded to 1/scale, nil without values.
func (m skillMean) of(scale float64) *float64 {
	if m.n == 0 {
		return nil
	}
	v := math.Round(m.sum/float64(m.n)*scale) / scale
	return &v
}
