package dashboard_test

import (
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/riverwatch/riverwatch/pkg/message"
)

// The reservoir source STH-D1 (body: lake) shows its trophic state: on the reports page the
// year is an annual assessment, and the chlorophyll a, TN and transparency sampled this month
// are far short of 8 months with data, so it is 数据不足 naming them (the seeded CODMn and TP
// have the months); this month, with them beside CODMn and TP, it has an index and the
// grade of that index.
func TestReportsShowAReservoirsTrophicStateOrTheItemsItLacks(t *testing.T) {
	h := newHarness(t)
	loc := h.net.Location
	at := h.fix.Now.Truncate(time.Hour).Add(-2 * time.Hour)
	if at.In(loc).Month() != h.fix.Now.In(loc).Month() {
		t.Skip("the first hours of a month: the samples would fall in the month before")
	}
	lab := func(param, unit string, v float64) message.Reading {
		return message.Reading{ID: message.ReadingID("STH-D1", param, message.IntervalSample, at), Site: "STH-D1", Parameter: param,
			Value: v, Unit: unit, Interval: message.IntervalSample, Flag: message.FlagNormal, ObservedAt: at, ReceivedAt: at, Source: message.SourceCSV}
	}
	h.store.AddReadings(lab("chlorophyll", "mg/L", 0.004), lab("tn", "mg/L", 0.6), lab("transparency", "m", 2.5))
	h.signIn("dev-admin-token", "zh")
	h.do(
		chromedp.Navigate(h.srv.URL+"/#/reports"),
		chromedp.WaitVisible(`body[data-ready="reports"] [data-testid="sources-card"] tr[data-site="STH-D1"]`),
	)
	year := get(h, chromedp.Evaluate[string](`document.querySelector('[data-testid="sources-card"] tr[data-site="STH-D1"] [data-testid="tli-grade"]').textContent.trim()`))
	if year != "数据不足 (缺少 叶绿素a、总氮、透明度)" {
		t.Errorf("the year's trophic state %q, want 数据不足 naming the three items sampled this month only", year)
	}
	month := h.fix.Now.In(loc).Format("2006-01")
	h.signIn("dev-admin-token", "en")
	h.do(
		chromedp.Navigate(h.srv.URL+"/#/monthly/"+month),
		chromedp.WaitVisible(`body[data-ready="monthly"] [data-testid="sources-card"] tr[data-site="STH-D1"]`),
	)
	index := get(h, chromedp.Evaluate[string](`document.querySelector('[data-testid="sources-card"] tr[data-site="STH-D1"] [data-testid="tli-index"]').textContent.trim()`))
	grade := get(h, chromedp.Evaluate[string](`document.querySelector('[data-testid="sources-card"] tr[data-site="STH-D1"] [data-testid="tli-grade"]').textContent.trim()`))
	h.shot("monthly-trophic")
	if !regexp.MustCompile(`^[0-9]+\.[0-9]$`).MatchString(index) {
		t.Fatalf("this month's index %q, want a number with one decimal", index)
	}
	v, _ := strconv.ParseFloat(index, 64)
	want := "hyper eutrophic"
	switch {
	case v < 30:
		want = "oligotrophic"
	case v <= 50:
		want = "mesotrophic"
	case v <= 60:
		want = "light eutrophic"
	case v <= 70:
		want = "middle eutrophic"
	}
	if grade != want {
		t.Errorf("index %s graded %q, want %q", index, grade, want)
	}
}

// A drinking-water source shows its compliance with its target and with Class Ⅲ plus Tables
// 2 and 3: STH-D2 with a manganese sample of 0.15 (limit 0.1, (0.15 − 0.1)/0.1 = 0.5) meets
// neither and names 锰(0.5); STH-D1 (seeded Ⅰ–Ⅱ) meets both.
func TestTheMonthlyReportJudgesDrinkingSourcesBothWays(t *testing.T) {
	h := newHarness(t)
	loc := h.net.Location
	at := h.fix.Now.Truncate(time.Hour).Add(-2 * time.Hour)
	if at.In(loc).Month() != h.fix.Now.In(loc).Month() {
		t.Skip("the first hours of a month: the sample would fall in the month before")
	}
	h.store.AddReadings(message.Reading{ID: message.ReadingID("STH-D2", "mn", message.IntervalSample, at), Site: "STH-D2", Parameter: "mn",
		Value: 0.15, Unit: "mg/L", Interval: message.IntervalSample, Flag: message.FlagNormal, ObservedAt: at, ReceivedAt: at, Source: message.SourceCSV})
	h.signIn("dev-admin-token", "zh")
	h.do(
		chromedp.Navigate(h.srv.URL+"/#/monthly/"+h.fix.Now.In(loc).Format("2006-01")),
		chromedp.WaitVisible(`body[data-ready="monthly"] [data-testid="sources-card"] tr[data-site="STH-D2"] [data-testid="src-iii"]`),
	)
	cell := func(site, id string) string {
		return get(h, chromedp.Evaluate[string](`document.querySelector('[data-testid="sources-card"] tr[data-site="`+site+`"] [data-testid="`+id+`"]').textContent.trim()`))
	}
	got := [][3]string{{cell("STH-D1", "src-target"), cell("STH-D1", "src-iii"), cell("STH-D1", "src-exceeding")},
		{cell("STH-D2", "src-target"), cell("STH-D2", "src-iii"), cell("STH-D2", "src-exceeding")}}
	want := [][3]string{{"达标", "达标", ""}, {"未达标", "未达标", "锰(0.5)"}}
	if got[0] != want[0] || got[1] != want[1] {
		t.Errorf("sources %v, want %v", got, want)
	}
}

// #/backtest shows the stored backtest (the api's fixture, confirming on two readings instead
// of three at STH-S2 and TTH-S1): per site one alarm under the current rules and two under
// the candidate, one added (the blip from 02:40), the mean delay 20 → 10 minutes; the two
// timelines side by side, the added alarm marked in the candidate's. changji's viewer sees
// STH-S2 alone, with the total over it.
func TestTheBacktestPageShowsTheStoredBacktestSideBySide(t *testing.T) {
	h := newHarness(t)
	for _, c := range []struct {
		token, lang string
		sites       []string
		total       []string // episodes current, candidate, added, removed, delay current, candidate
		lanes       int
	}{
		{"dev-admin-token", "zh", []string{"STH-S2", "TTH-S1"}, []string{"2", "4", "2", "0", "20 分钟", "10 分钟"}, 2},
		{"dev-viewer-changji", "en", []string{"STH-S2"}, []string{"1", "2", "1", "0", "20 min", "10 min"}, 1},
	} {
		h.signIn(c.token, c.lang)
		h.do(
			chromedp.Navigate(h.srv.URL+"/#/backtest"),
			chromedp.WaitVisible(`body[data-ready="backtest"] [data-testid="bt-total"]`),
		)
		sites := get(h, chromedp.Evaluate[[]string](`[...document.querySelectorAll('[data-testid="bt-sites"] tbody tr[data-site]')].map((r) => r.dataset.site)`))
		total := get(h, chromedp.Evaluate[[]string](`[...document.querySelectorAll('[data-testid="bt-total"] td')].slice(1, 7).map((td) => td.textContent.trim())`))
		cur := get(h, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="bt-timeline-current"] [data-testid="bt-episode"]').length`))
		cand := get(h, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="bt-timeline-candidate"] [data-testid="bt-episode"]').length`))
		marked := get(h, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="bt-timeline-candidate"] [data-changed="yes"]').length`))
		added := get(h, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="bt-added-list"] li').length`))
		h.shot("backtest-" + c.lang)
		if !slices.Equal(sites, c.sites) || !slices.Equal(total, c.total) {
			t.Errorf("%s: sites %v total %v; want %v %v", c.token, sites, total, c.sites, c.total)
		}
		if cur != c.lanes || cand != 2*c.lanes || marked != c.lanes || added != c.lanes {
			t.Errorf("%s: timelines %d current and %d candidate alarms, %d marked, %d listed added; want %d, %d, %d, %d",
				c.token, cur, cand, marked, added, c.lanes, 2*c.lanes, c.lanes, c.lanes)
		}
	}
}
