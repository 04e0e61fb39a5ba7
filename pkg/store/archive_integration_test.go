package store_test

import (
	"context"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/store"
	"github.com/riverwatch/riverwatch/pkg/store/storetest"
	"github.com/segmentio/kafka-go"
	"strings"
)

func TestWriterArchivesEveryTopicIntoItsTables(t *testing.T) {
	e := storetest.NewArchive(t)
	ctx := context.Background()
	at := time.Date(2025, 6, 1, 8, 0, 0, 0, time.UTC)
	incident := func(version uint64, status string) message.IncidentUpdate {
		acked := at.Add(time.Minute)
		inc := &message.Incident{ID: "inc-1", Version: version, Status: status, Level: "IV", Colour: "blue", River: "santun",
			Site: "STH-S2", Sites: []string{"STH-S2", "STH-S3"}, Jurisdictions: []string{"changji"},
			Steps: []message.Step{{ID: "s1", Role: "monitor", Action: "sample", Deadline: at.Add(time.Hour)}}, OpenedAt: at, UpdatedAt: at}
		if status == message.IncidentAcknowledged {
			inc.AckedAt = &acked
		}
		return message.IncidentUpdate{Kind: message.UpdateIncident, Incident: inc}
	}
	updates := []message.IncidentUpdate{
		incident(1, message.IncidentOpen),
		{Kind: message.UpdateLog, Log: &message.LogEntry{ID: "log-1", IncidentID: "inc-1", Version: 1, At: at, Actor: "responder", Action: "opened"}},
		{Kind: message.UpdateNotification, Notification: &message.Notification{ID: "n-1", Key: "k-1", IncidentID: "inc-1", Channel: "webhook", Attempt: 1, Status: "failed", At: at}},
		{Kind: message.UpdateNotification, Notification: &message.Notification{ID: "n-2", Key: "k-1", IncidentID: "inc-1", Channel: "webhook", Attempt: 2, Status: "sent", At: at.Add(time.Second)}},
	}
	key := func(u message.IncidentUpdate) string { return "inc-1" }
	write := func(kind store.Kind, msgs []kafka.Message) {
		t.Helper()
		if _, err := e.Writer.Write(ctx, kind, "t."+string(kind), msgs); err != nil {
			t.Fatalf("write %s: %v", kind, err)
		}
	}
	write(store.KindIncidents, storetest.AsMessages(t, updates, key, 0, 0))
	// A newer snapshot, then the old one replayed: the newest version stays.
	write(store.KindIncidents, storetest.AsMessages(t, []message.IncidentUpdate{incident(2, message.IncidentAcknowledged)}, key, 0, 4))
	write(store.KindIncidents, storetest.AsMessages(t, updates[:1], key, 0, 0))
	write(store.KindEvents, storetest.AsMessages(t, []message.Event{{Type: message.EventExceedanceOpened, Site: "STH-S2", Parameter: "cod", Value: 31, Limit: 20,
		ObservedAt: at, EmittedAt: at, ArrivalAt: at.Add(time.Hour)}}, func(message.Event) string { return "STH-S2" }, 0, 0))
	write(store.KindRejected, storetest.AsMessages(t, []message.Rejection{{Reason: "crc", Source: "hj212", Raw: "##0101", ReceivedAt: at}}, func(message.Rejection) string { return "" }, 0, 0))

	for table, want := range map[string]uint64{store.TableIncidents: 1, store.TableIncidentLog: 1, store.TableNotifications: 2, store.TableEvents: 1, store.TableRejected: 1} {
		if n := e.Count(t, "SELECT count() FROM %s FINAL", e.Table(table)); n != want {
			t.Errorf("%s: %d rows, want %d", table, n, want)
		}
	}
	var (
		status, steps string
		version       uint64
		acked         *time.Time
		juris         []string
	)
	if err := e.Conn.QueryRow(ctx, "SELECT status, version, acked_at, jurisdictions, steps FROM "+e.Table(store.TableIncidents)+" FINAL WHERE id = 'inc-1'").
		Scan(&status, &version, &acked, &juris, &steps); err != nil {
		t.Fatal(err)
	}
	if status != message.IncidentAcknowledged || version != 2 || acked == nil || !slices.Equal(juris, []string{"changji"}) || !strings.Contains(steps, `"action":"sample"`) {
		t.Errorf("incident = %s v%d acked %v juris %v steps %s; want the acknowledged version 2", status, version, acked, juris, steps)
	}
	var arrival *time.Time
	if err := e.Conn.QueryRow(ctx, "SELECT arrival_at FROM "+e.Table(store.TableEvents)+" FINAL").Scan(&arrival); err != nil || arrival == nil || !arrival.Equal(at.Add(time.Hour)) {
		t.Errorf("event arrival_at = %v (%v), want %v", arrival, err, at.Add(time.Hour))
	}
}

func TestRollupsUnchangedByReplayedBatch(t *testing.T) {
	e := storetest.NewArchive(t)
	ctx := context.Background()
	// 3 hours of minute data for 25 series, across midnight in Shanghai (16:00 UTC).
	base := time.Date(2025, 6, 1, 14, 30, 0, 0, time.UTC)
	recs := storetest.Readings(25*180, base)
	msgs := storetest.AsMessages(t, recs, storetest.ReadingKey, 0, 0)
	if _, err := e.Writer.Write(ctx, store.KindReadings, "t.readings", msgs); err != nil {
		t.Fatal(err)
	}
	hourly, daily := e.RollupSnapshot(t)

	// What the rollups must say, computed here from the records.
	type agg struct {
		samples, valid uint64
		sum, min, max  float64
	}
	want := map[string]*agg{}
	for _, r := range recs {
		k := r.Site + "|" + r.Parameter + "|" + r.ObservedAt.Truncate(time.Hour).Format(time.RFC3339)
		a := want[k]
		if a == nil {
			a = &agg{min: math.Inf(1), max: math.Inf(-1)}
			want[k] = a
		}
		a.samples++
		if r.Flag == message.FlagNormal {
			a.valid++
			a.sum += r.Value
			a.min, a.max = min(a.min, r.Value), max(a.max, r.Value)
		}
	}
	if len(hourly) != len(want) {
		t.Fatalf("%d hourly rows, want %d", len(hourly), len(want))
	}
	for _, h := range hourly {
		a := want[h.Site+"|"+h.Parameter+"|"+h.Start.Format(time.RFC3339)]
		if a == nil || h.Samples != a.samples || h.Valid != a.valid || math.Abs(h.Sum-a.sum) > 1e-9 || h.Min != a.min || h.Max != a.max {
			t.Fatalf("hourly %+v, want %+v", h, a)
		}
	}
	var dailySamples uint64
	days := map[string]bool{}
	for _, d := range daily {
		dailySamples += d.Samples
		days[d.Start.Format("2006-01-02")] = true
	}
	if dailySamples != uint64(len(recs)) || !days["2025-06-01"] || !days["2025-06-02"] {
		t.Errorf("daily rows hold %d samples over days %v; want %d over 2025-06-01 and 2025-06-02 (Shanghai)", dailySamples, days, len(recs))
	}

	// The same batch again (a retry), then part of it cut differently (a replay after a
	// crash, with other offsets): the raw table holds repeats, the results do not.
	if _, err := e.Writer.Write(ctx, store.KindReadings, "t.readings", msgs); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Writer.Write(ctx, store.KindReadings, "t.readings", storetest.AsMessages(t, recs[1000:3000], storetest.ReadingKey, 1, 77)); err != nil {
		t.Fatal(err)
	}
	hourly2, daily2 := e.RollupSnapshot(t)
	if !slices.Equal(hourly, hourly2) {
		t.Errorf("hourly rollup changed after replays:\nbefore %v\nafter  %v", hourly, hourly2)
	}
	if !slices.Equal(daily, daily2) {
		t.Errorf("daily rollup changed after replays:\nbefore %v\nafter  %v", daily, daily2)
	}
	raw := e.Count(t, "SELECT count() FROM %s", e.Table(store.TableReadings))
	final := e.Count(t, "SELECT count() FROM %s FINAL", e.Table(store.TableReadings))
	if final != uint64(len(recs)) {
		t.Errorf("readings FINAL = %d, want %d", final, len(recs))
	}
	if !e.Schema.Features.DedupToken && raw != uint64(2*len(recs)+2000) {
		t.Errorf("raw readings = %d, want %d physical repeats (else this test proves nothing)", raw, 2*len(recs)+2000)
	}
	t.Logf("raw rows %d, distinct %d; %d hourly and %d daily rollup rows unchanged", raw, final, len(hourly), len(daily))

	// A late reading in an archived hour is counted: the hour is recomputed, not added to.
	late := recs[0]
	late.ObservedAt = late.ObservedAt.Add(30 * time.Second)
	late.ID = message.ReadingID(late.Site, late.Parameter, late.Interval, late.ObservedAt)
	late.Flag = message.FlagNormal
	if _, err := e.Writer.Write(ctx, store.KindReadings, "t.readings", storetest.AsMessages(t, []message.Reading{late}, storetest.ReadingKey, 2, 0)); err != nil {
		t.Fatal(err)
	}
	h3 := e.Hourly(t, storetest.RollupQuery{Site: late.Site, Parameter: late.Parameter, From: base.Truncate(time.Hour), To: base})
	before := want[late.Site+"|"+late.Parameter+"|"+base.Truncate(time.Hour).Format(time.RFC3339)]
	if len(h3) != 1 || h3[0].Samples != before.samples+1 || h3[0].Valid != before.valid+1 {
		t.Errorf("after a late reading: %+v, want samples %d valid %d", h3, before.samples+1, before.valid+1)
	}
}

func TestReaderSeriesReturnsEachReadingOnceInOrder(t *testing.T) {
	e := storetest.NewArchive(t)
	ctx := context.Background()
	base := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	recs := storetest.Readings(25*10, base)
	recs[0].ObservedAt = recs[0].ObservedAt.Add(123 * time.Millisecond)
	recs[0].ID = message.ReadingID(recs[0].Site, recs[0].Parameter, recs[0].Interval, recs[0].ObservedAt)
	msgs := storetest.AsMessages(t, recs, storetest.ReadingKey, 0, 0)
	for range 2 {
		if _, err := e.Writer.Write(ctx, store.KindReadings, "t.readings", msgs); err != nil {
			t.Fatal(err)
		}
	}
	series, err := e.Reader.Series(ctx, store.SeriesQuery{Site: recs[0].Site, Parameters: []string{recs[0].Parameter},
		From: base, To: base.Add(time.Hour), Resolution: store.ResolutionRaw})
	if err != nil {
		t.Fatal(err)
	}
	if len(series) != 1 || len(series[0].Points) != 10 {
		t.Fatalf("%+v, want one series of 10 readings (each once)", series)
	}
	got := series[0].Points
	if !got[0].T.Equal(recs[0].ObservedAt) || got[0].Value != recs[0].Value || got[0].Flag != recs[0].Flag {
		t.Errorf("first reading %+v, want %+v", got[0], recs[0])
	}
	for i := 1; i < len(got); i++ {
		if got[i].T.Before(got[i-1].T) {
			t.Errorf("readings out of order at %d", i)
		}
	}
	if n := e.Count(t, "SELECT count() FROM %s FINAL WHERE id = '%s' AND station = '%s'", e.Table(store.TableReadings), recs[0].ID, recs[0].Station); n != 1 {
		t.Errorf("%d rows of %s with station %s, want 1", n, recs[0].ID, recs[0].Station)
	}
}

// TestReaderConformance holds the ClickHouse Reader to the read model's suite, on data
// written through the archiver's Writer; the same suite runs against apitest.MemStore.
func TestReaderConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) (storetest.Reader, storetest.Seeder) {
		a := storetest.NewArchive(t)
		return a.Reader, a
	})
}
