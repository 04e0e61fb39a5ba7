package backtest

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/config"
	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/network"
	"github.com/riverwatch/riverwatch/pkg/store"
	"github.com/riverwatch/riverwatch/services/assessor/internal/assessor"
)

var t0 = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)

// history is a stored history in observation order.
type history []message.Reading

func (h history) ScanReadings(_ context.Context, q store.ScanQuery, fn func(message.Reading) error) error {
	for _, r := range h {
		if r.ObservedAt.Before(q.From) || !r.ObservedAt.Before(q.To) {
			continue
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

// seeded is M1's ammonia (Class III, 1 mg/L) every 10 minutes: a four-reading exceedance
// from 01:00, and a two-reading blip from 02:40, around normal values.
func seeded() history {
	var h history
	over := map[int]bool{6: true, 7: true, 8: true, 9: true, 16: true, 17: true}
	for i := range 26 {
		v := 0.40 + 0.01*float64(i%5) // never flat
		if over[i] {
			v = 1.3
		}
		obs := t0.Add(time.Duration(i) * 10 * time.Minute)
		h = append(h, message.Reading{ID: message.ReadingID("M1", "nh3n", message.IntervalMinute, obs), Site: "M1", Station: "M1",
			Parameter: "nh3n", Value: v, Unit: "mg/L", Interval: message.IntervalMinute, Flag: message.FlagNormal,
			ObservedAt: obs, ReceivedAt: obs.Add(time.Minute), Source: message.SourceHJ212})
	}
	return h
}

func rules(t testing.TB, name string, edit func(*config.Assessor)) Rules {
	t.Helper()
	net, err := network.Load("../engine/testdata/network.yaml")
	if err != nil {
		t.Fatal(err)
	}
	a := config.Default().Assessor
	if edit != nil {
		edit(&a)
	}
	return Rules{Name: name, Network: net, Options: assessor.OptionsFrom(a)}
}

// TestCandidateConfirmingOnTwoReadingsAddsExactlyTheBlip: the current rules confirm on
// three readings, the candidate on two; on the seeded history the candidate raises the
// same long exceedance ten minutes sooner and adds the two-reading blip, nothing else.
func TestCandidateConfirmingOnTwoReadingsAddsExactlyTheBlip(t *testing.T) {
	cur := rules(t, "current", nil)
	cand := rules(t, "candidate", func(a *config.Assessor) { a.ConfirmReadings = 2 })
	rep, err := Run(context.Background(), seeded(), Query{From: t0, To: t0.Add(6 * time.Hour)}, cur, cand)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Readings != 26 {
		t.Errorf("replayed %d readings, want 26", rep.Readings)
	}
	if n := len(rep.Episodes[0]); n != 1 {
		t.Fatalf("current: %d episodes %+v, want the long one", n, rep.Episodes[0])
	}
	long := rep.Episodes[0][0]
	if !long.FirstOver.Equal(t0.Add(60*time.Minute)) || !long.Opened.Equal(t0.Add(80*time.Minute)) || long.Delay() != 20*time.Minute {
		t.Errorf("current episode first over %s, opened %s, delay %s; want 01:00, 01:20, 20m", long.FirstOver, long.Opened, long.Delay())
	}
	if long.Cleared.IsZero() || long.Open <= 0 {
		t.Errorf("current episode did not clear: %+v", long)
	}
	if n := len(rep.Episodes[1]); n != 2 {
		t.Fatalf("candidate: %d episodes %+v, want 2", n, rep.Episodes[1])
	}
	if d := rep.Episodes[1][0].Delay(); d != 10*time.Minute {
		t.Errorf("candidate's long episode delay %s, want 10m", d)
	}
	if len(rep.Added) != 1 || !rep.Added[0].FirstOver.Equal(t0.Add(160*time.Minute)) || len(rep.Removed) != 0 {
		t.Errorf("added %+v removed %+v, want exactly the blip at 02:40 added", rep.Added, rep.Removed)
	}
	if rep.Total.Per[0].MeanDelay != 20*time.Minute || rep.Total.Per[1].MeanDelay != 10*time.Minute {
		t.Errorf("mean delays %s / %s, want 20m / 10m", rep.Total.Per[0].MeanDelay, rep.Total.Per[1].MeanDelay)
	}
	if len(rep.Sites) != 1 || rep.Sites[0].Site != "M1" || rep.Sites[0].Added != 1 {
		t.Errorf("per site %+v, want M1 with one added", rep.Sites)
	}
}

// TestTheSameRulesChangeNothing: a candidate equal to the current rules adds and removes
// nothing, and the replay is deterministic.
func TestTheSameRulesChangeNothing(t *testing.T) {
	rep, err := Run(context.Background(), seeded(), Query{From: t0, To: t0.Add(6 * time.Hour)}, rules(t, "a", nil), rules(t, "b", nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Added)+len(rep.Removed) != 0 || len(rep.Episodes[0]) != len(rep.Episodes[1]) {
		t.Errorf("same rules: added %d removed %d, episodes %d vs %d", len(rep.Added), len(rep.Removed), len(rep.Episodes[0]), len(rep.Episodes[1]))
	}
}

func TestReportWritesTableCSVAndJSON(t *testing.T) {
	rep, err := Run(context.Background(), seeded(), Query{From: t0, To: t0.Add(6 * time.Hour)},
		rules(t, "current", nil), rules(t, "candidate", func(a *config.Assessor) { a.ConfirmReadings = 2 }))
	if err != nil {
		t.Fatal(err)
	}
	var tbl, cs, js bytes.Buffer
	if err := rep.WriteTable(&tbl); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(tbl.String(), "added by candidate: M1 nh3n") {
		t.Errorf("table does not list the added alarm:\n%s", tbl.String())
	}
	if err := rep.WriteCSV(&cs); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&cs).ReadAll()
	if err != nil || len(recs) != 3 || recs[1][0] != "M1" || recs[2][0] != "total" || recs[2][3] != "1" {
		t.Errorf("csv %v %v, want header, M1 and total with 1 added", recs, err)
	}
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || len(back.Added) != 1 || back.Total.Per[1].Episodes != 2 {
		t.Errorf("json round trip: %v, %+v", err, back.Total)
	}
}

func TestAnEmptyPeriodIsRefused(t *testing.T) {
	if _, err := Run(context.Background(), seeded(), Query{From: t0, To: t0}, rules(t, "a", nil), rules(t, "b", nil)); err == nil {
		t.Error("an empty period was accepted")
	}
}
