package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverwatch/riverwatch/pkg/chstore"
	"github.com/riverwatch/riverwatch/pkg/config"
	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/store"
	"github.com/riverwatch/riverwatch/pkg/stream"
	"github.com/riverwatch/riverwatch/pkg/testinfra"
	"github.com/riverwatch/riverwatch/services/api/internal/api"
	"github.com/segmentio/kafka-go"
)

// Integration tests of CHStore on the real ClickHouse server: the schema is created by the
// archiver's migrations and the rows written by the archiver's own insert path
// (store.Writer, which also rebuilds the rollups), so the queries are tested against
// exactly what production stores.

type chEnv struct {
	cfg   *config.Config
	conn  driver.Conn
	w     *store.Writer
	store *api.CHStore
	loc   *time.Location
}

func newCHEnv(t testing.TB) *chEnv {
	t.Helper()
	testinfra.Require(t)
	cfg := testinfra.Config(t)
	conn := testinfra.ClickHouse(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	v, err := chstore.ServerVersion(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	schema := store.NewSchema(cfg, v)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if _, err := store.Migrate(ctx, conn, schema, log); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	loc, err := time.LoadLocation(cfg.Archiver.RollupTimezone)
	if err != nil {
		t.Fatal(err)
	}
	w := store.NewWriter(conn, schema, loc, store.NewMetrics(prometheus.NewRegistry()), log)
	return &chEnv{cfg: cfg, conn: conn, w: w, store: api.NewCHStore(conn, cfg.ClickHouse.Database), loc: loc}
}

var offset int64

// write archives records as the archiver does with a batch from Kafka.
func write[T any](t testing.TB, e *chEnv, kind store.Kind, key func(T) string, records ...T) {
	t.Helper()
	if err := archiveRecords(e, kind, key, records...); err != nil {
		t.Fatal(err)
	}
}

var offsetMu sync.Mutex

func archiveRecords[T any](e *chEnv, kind store.Kind, key func(T) string, records ...T) error {
	msgs := make([]kafka.Message, len(records))
	offsetMu.Lock()
	for i, r := range records {
		b, err := json.Marshal(r)
		if err != nil {
			offsetMu.Unlock()
			return err
		}
		offset++
		msgs[i] = kafka.Message{Topic: "t." + string(kind), Key: []byte(key(r)), Value: b, Offset: offset, Time: time.Now()}
	}
	offsetMu.Unlock()
	if _, err := e.w.Write(context.Background(), kind, "t."+string(kind), msgs); err != nil {
		return fmt.Errorf("archive %s: %w", kind, err)
	}
	return nil
}

func bySite(r message.Reading) string            { return r.Site }
func byEventSite(ev message.Event) string        { return ev.Site }
func byIncident(u message.IncidentUpdate) string { return updateIncidentID(u) }
func updateIncidentID(u message.IncidentUpdate) string {
	switch {
	case u.Incident != nil:
		return u.Incident.ID
	case u.Log != nil:
		return u.Log.IncidentID
	case u.Notification != nil:
		return u.Notification.IncidentID
	}
	return ""
}

func reading(site, param string, v float64, at time.Time, flag string) message.Reading {
	return message.Reading{
		ID: message.ReadingID(site, param, message.IntervalHour, at), Site: site, Parameter: param, Value: v, Unit: "mg/L",
		Interval: message.IntervalHour, Flag: flag, ObservedAt: at, ReceivedAt: at.Add(time.Minute), Source: message.SourceHJ212,
	}
}

func TestCHStoreReadsReadingsAndRollupsDeduplicated(t *testing.T) {
	e := newCHEnv(t)
	ctx := context.Background()
	// 1 February 2026, 00:00 in Changji = 31 January 16:00 UTC.
	start := time.Date(2026, 1, 31, 12, 0, 0, 0, time.UTC)
	var rs []message.Reading
	for h := range 24 {
		at := start.Add(time.Duration(h) * time.Hour)
		rs = append(rs, reading("STH-S2", "nh3n", float64(h), at, "N"), reading("STH-S2", "do", 6, at.Add(30*time.Minute), "N"))
	}
	rs = append(rs, reading("STH-S2", "nh3n", 999, start.Add(90*time.Minute), "D")) // invalid: not in statistics
	write(t, e, store.KindReadings, bySite, rs...)
	write(t, e, store.KindReadings, bySite, rs[:10]...) // a replayed batch

	series, err := e.store.Series(ctx, api.SeriesQuery{Site: "STH-S2", Parameters: []string{"nh3n"}, From: start, To: start.Add(24 * time.Hour), Resolution: api.ResolutionRaw, Location: e.loc})
	if err != nil {
		t.Fatal(err)
	}
	if len(series) != 1 || len(series[0].Points) != 25 {
		t.Fatalf("raw nh3n: %+v, want 25 points once each", series)
	}
	if p := series[0].Points[2]; p.Value != 999 || p.Flag != "D" || p.Count != 1 {
		t.Errorf("raw flagged point %+v", p)
	}
	page, err := e.store.Series(ctx, api.SeriesQuery{Site: "STH-S2", From: start, To: start.Add(24 * time.Hour), Resolution: api.ResolutionRaw, Limit: 5, Offset: 3, Location: e.loc})
	if err != nil {
		t.Fatal(err)
	}
	if len(page) != 2 || len(page[0].Points) != 5 || page[0].Parameter != "do" || !page[1].Points[0].T.Equal(start.Add(2*time.Hour)) {
		t.Errorf("raw page (limit 5 offset 3 per parameter): %+v", page)
	}

	hourly, err := e.store.Series(ctx, api.SeriesQuery{Site: "STH-S2", Parameters: []string{"nh3n"}, From: start, To: start.Add(24 * time.Hour), Resolution: api.ResolutionHour, Location: e.loc})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(hourly[0].Points); n != 24 {
		t.Fatalf("hourly nh3n: %d buckets, want 24", n)
	}
	if p := hourly[0].Points[1]; p.Value != 1 || p.Count != 1 || !p.T.Equal(start.Add(time.Hour)) {
		t.Errorf("hour bucket with a flagged reading: %+v, want the valid reading only", p)
	}

	daily, err := e.store.Series(ctx, api.SeriesQuery{Site: "STH-S2", Parameters: []string{"nh3n"}, From: start.Add(-48 * time.Hour), To: start.Add(48 * time.Hour), Resolution: api.ResolutionDay, Location: e.loc})
	if err != nil {
		t.Fatal(err)
	}
	// Local days: 31 Jan (12:00–15:00 UTC: 0..3) and 1 Feb (16:00 UTC on: 4..23).
	if pts := daily[0].Points; len(pts) != 2 || pts[0].Count != 4 || pts[0].Value != 1.5 || pts[1].Count != 20 ||
		!pts[1].T.Equal(time.Date(2026, 2, 1, 0, 0, 0, 0, e.loc)) {
		t.Errorf("daily buckets (local days) %+v", pts)
	}

	means, err := e.store.MonthlyMeans(ctx, api.MeansQuery{Sites: []string{"STH-S2", "STH-S1"}, From: time.Date(2026, 1, 1, 0, 0, 0, 0, e.loc), To: time.Date(2026, 3, 1, 0, 0, 0, 0, e.loc), Location: e.loc})
	if err != nil {
		t.Fatal(err)
	}
	var nh3n []api.MonthlyMean
	for _, m := range means {
		if m.Parameter == "nh3n" {
			nh3n = append(nh3n, m)
		}
	}
	if len(nh3n) != 2 || nh3n[0].Count != 4 || nh3n[0].Mean != 1.5 || nh3n[1].Count != 20 || nh3n[1].Mean != 13.5 ||
		!nh3n[1].Month.Equal(time.Date(2026, 2, 1, 0, 0, 0, 0, e.loc)) {
		t.Errorf("monthly means (local months) %+v", nh3n)
	}

	latest, err := e.store.Latest(ctx, []string{"STH-S2", "STH-S1"}, start)
	if err != nil {
		t.Fatal(err)
	}
	if len(latest) != 2 || latest[1].Parameter != "nh3n" || latest[1].Value != 23 || !latest[1].ObservedAt.Equal(start.Add(23*time.Hour)) || latest[1].Flag != "N" {
		t.Errorf("latest %+v", latest)
	}
}

func TestCHStoreEventsAndOpenExceedances(t *testing.T) {
	e := newCHEnv(t)
	ctx := context.Background()
	at := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	ev := func(typ, site, param string, dt time.Duration) message.Event {
		obs := at.Add(dt)
		return message.Event{ID: message.EventID(typ, site, param, obs, ""), Type: typ, Site: site, Parameter: param, Value: 2, Limit: 1,
			ObservedAt: obs, EmittedAt: obs.Add(time.Second), ArrivalAt: obs.Add(time.Hour)}
	}
	events := []message.Event{
		ev(message.EventExceedanceOpened, "STH-S2", "nh3n", 0),
		ev(message.EventExceedanceUpdated, "STH-S2", "nh3n", time.Hour),
		ev(message.EventExceedanceOpened, "STH-S2", "tp", 0),
		ev(message.EventExceedanceCleared, "STH-S2", "tp", 2*time.Hour),
		ev(message.EventQualitySuspect, "STH-S3", "do", 30*time.Minute),
	}
	write(t, e, store.KindEvents, byEventSite, events...)
	write(t, e, store.KindEvents, byEventSite, events...) // replayed

	all, err := e.store.Events(ctx, api.EventQuery{From: at.Add(-time.Hour), To: at.Add(3 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 5 || all[0].Type != message.EventExceedanceCleared || !all[0].ArrivalAt.Equal(at.Add(3*time.Hour)) {
		t.Fatalf("events %+v", all)
	}
	some, err := e.store.Events(ctx, api.EventQuery{Sites: []string{"STH-S2"}, Types: []string{message.EventExceedanceOpened}, From: at, To: at.Add(3 * time.Hour), Limit: 1, Offset: 1})
	if err != nil || len(some) != 1 || some[0].Type != message.EventExceedanceOpened {
		t.Errorf("filtered page %+v %v", some, err)
	}
	none, err := e.store.Events(ctx, api.EventQuery{Sites: []string{}, From: at, To: at.Add(time.Hour)})
	if err != nil || len(none) != 0 {
		t.Errorf("no visible site: %+v %v", none, err)
	}
	open, err := e.store.OpenExceedances(ctx, []string{"STH-S2", "STH-S3"})
	if err != nil {
		t.Fatal(err)
	}
	if len(open) != 1 || open[0].Parameter != "nh3n" || open[0].Type != message.EventExceedanceUpdated {
		t.Errorf("open exceedances %+v, want nh3n's update only (tp was cleared)", open)
	}
}

func TestCHStoreIncidentsLogsAndCommands(t *testing.T) {
	e := newCHEnv(t)
	ctx := context.Background()
	at := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	inc := func(id string, version uint64, status string, juris ...string) message.IncidentUpdate {
		return message.IncidentUpdate{Kind: message.UpdateIncident, Incident: &message.Incident{
			ID: id, Version: version, Title: id, Status: status, Level: "IV", Colour: "blue", Site: "STH-S2", Sites: []string{"STH-S2"},
			Jurisdictions: juris, Steps: []message.Step{{ID: "s1", Jurisdiction: juris[0], Role: "duty", Action: "report", Deadline: at.Add(time.Hour)}},
			OpenedAt: at.Add(time.Duration(version) * time.Minute), UpdatedAt: at,
		}}
	}
	before, err := e.store.Watermark(ctx)
	if err != nil {
		t.Fatal(err)
	}
	write(t, e, store.KindIncidents, byIncident,
		inc("a", 1, message.IncidentOpen, "changji", "xpcc6"),
		inc("b", 1, message.IncidentOpen, "urumqi"),
		inc("a", 2, message.IncidentAcknowledged, "changji", "xpcc6"),
		message.IncidentUpdate{Kind: message.UpdateLog, Log: &message.LogEntry{ID: "l1", IncidentID: "a", Version: 1, At: at, Actor: "responder", Action: "opened"}},
		message.IncidentUpdate{Kind: message.UpdateLog, Log: &message.LogEntry{ID: "l2", IncidentID: "a", Version: 2, At: at.Add(time.Minute), Actor: "昌吉市应急值班", Action: "acknowledged", CommandID: "cmd-1"}},
		message.IncidentUpdate{Kind: message.UpdateNotification, Notification: &message.Notification{ID: "n1", Key: "k", IncidentID: "a", Channel: "webhook", Attempt: 1, Status: "sent", At: at}},
	)
	after, err := e.store.Watermark(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after.Incidents == before.Incidents || after.Log == before.Log {
		t.Errorf("watermark did not move: %+v → %+v", before, after)
	}

	got, err := e.store.Incident(ctx, "a")
	if err != nil || got.Version != 2 || got.Status != message.IncidentAcknowledged || len(got.Steps) != 1 {
		t.Errorf("incident a: %+v %v, want the newest snapshot", got, err)
	}
	if _, err := e.store.Incident(ctx, "zzz"); err != api.ErrNotFound {
		t.Errorf("unknown incident: %v", err)
	}
	ids := func(q api.IncidentQuery) []string {
		list, err := e.store.Incidents(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, i := range list {
			out = append(out, i.ID)
		}
		return out
	}
	for _, c := range []struct {
		q    api.IncidentQuery
		want []string
	}{
		{api.IncidentQuery{}, []string{"a", "b"}},
		{api.IncidentQuery{Jurisdictions: []string{"xpcc6"}}, []string{"a"}},
		{api.IncidentQuery{Jurisdictions: []string{"xpcc12"}}, nil},
		{api.IncidentQuery{Jurisdictions: []string{}}, nil},
		{api.IncidentQuery{Statuses: []string{message.IncidentOpen}}, []string{"b"}},
		{api.IncidentQuery{Limit: 1, Offset: 1}, []string{"b"}},
	} {
		if got := ids(c.q); !slices.Equal(got, c.want) {
			t.Errorf("incidents %+v: %v, want %v", c.q, got, c.want)
		}
	}
	log, err := e.store.IncidentLog(ctx, "a")
	if err != nil || len(log) != 2 || log[1].CommandID != "cmd-1" {
		t.Errorf("log %+v %v", log, err)
	}
	entry, err := e.store.CommandLog(ctx, "cmd-1")
	if err != nil || entry.IncidentID != "a" || entry.Version != 2 || entry.Action != "acknowledged" {
		t.Errorf("command log %+v %v", entry, err)
	}
	if _, err := e.store.CommandLog(ctx, "cmd-unknown"); err != api.ErrNotFound {
		t.Errorf("command not applied yet: %v", err)
	}
	notes, err := e.store.Notifications(ctx, "a")
	if err != nil || len(notes) != 1 || notes[0].Status != "sent" {
		t.Errorf("notifications %+v %v", notes, err)
	}
}

// archivingResponder plays the responder at the end of riverwatch.commands: it applies an
// acknowledge by writing the new snapshot and its log entry through the archiver.
type archivingResponder struct {
	t  testing.TB
	e  *chEnv
	wg *sync.WaitGroup
}

func (r archivingResponder) Send(ctx context.Context, cmd message.Command) error {
	inc, err := r.e.store.Incident(ctx, cmd.IncidentID)
	if err != nil {
		return err
	}
	inc.Version++
	inc.Status = message.IncidentAcknowledged
	now := cmd.At
	inc.AckedAt = &now
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		time.Sleep(200 * time.Millisecond) // the responder and the archiver take a while
		// The log entry first: the API must wait for the snapshot it announces.
		if err := archiveRecords(r.e, store.KindIncidents, byIncident,
			message.IncidentUpdate{Kind: message.UpdateLog, Log: &message.LogEntry{ID: "ack-" + cmd.ID, IncidentID: inc.ID, Version: inc.Version, At: now, Actor: cmd.Actor, Action: "acknowledged", CommandID: cmd.ID}}); err != nil {
			r.t.Error(err)
			return
		}
		time.Sleep(200 * time.Millisecond)
		if err := archiveRecords(r.e, store.KindIncidents, byIncident, message.IncidentUpdate{Kind: message.UpdateIncident, Incident: &inc}); err != nil {
			r.t.Error(err)
		}
	}()
	return nil
}

func TestAcknowledgeRoundTripThroughClickHouse(t *testing.T) {
	e := newCHEnv(t)
	at := time.Now().UTC().Truncate(time.Second)
	write(t, e, store.KindIncidents, byIncident, message.IncidentUpdate{Kind: message.UpdateIncident, Incident: &message.Incident{
		ID: "inc-rt", Version: 1, Title: "round trip", Status: message.IncidentOpen, Level: "IV", Site: "STH-S2",
		Jurisdictions: []string{"changji"}, OpenedAt: at, UpdatedAt: at,
	}})
	var wg sync.WaitGroup
	defer wg.Wait()
	env := newEnv(t, func(o *api.Options) {
		o.Store = e.store
		o.Commander = archivingResponder{t: t, e: e, wg: &wg}
		o.CommandTimeout = 10 * time.Second
		o.CommandPoll = 50 * time.Millisecond
	})
	res := env.do(t, "POST", "/api/v1/incidents/inc-rt/ack", responderChangji, nil)
	var cr api.CommandResponse
	res.decode(t, &cr)
	if res.status != 200 || cr.Incident == nil || cr.Incident.Status != message.IncidentAcknowledged || cr.Incident.Version != 2 {
		t.Fatalf("%d %s", res.status, res.body)
	}
	var d api.IncidentDetail
	env.do(t, "GET", "/api/v1/incidents/inc-rt", viewerChangji, nil).decode(t, &d)
	if len(d.Log) != 1 || d.Log[0].CommandID != cr.CommandID {
		t.Errorf("audit trail %+v", d.Log)
	}
}

func TestKafkaCommanderPublishesTheCommandKeyedByIncident(t *testing.T) {
	testinfra.Require(t)
	cfg := testinfra.Config(t)
	w := stream.NewWriter(stream.WriterConfig{Brokers: cfg.Kafka.Brokers, Topic: cfg.Kafka.Topics.Commands}, nil)
	defer w.Close()
	cmd := message.Command{ID: "c1", Type: message.CommandAcknowledge, IncidentID: "inc-9", Actor: "昌吉市应急值班", At: time.Now().UTC()}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := api.NewKafkaCommander(w).Send(ctx, cmd); err != nil {
		t.Fatal(err)
	}
	got := make(chan kafka.Message, 1)
	c := stream.NewConsumer(stream.ConsumerConfig{Brokers: cfg.Kafka.Brokers, Topic: cfg.Kafka.Topics.Commands, GroupID: cfg.Kafka.GroupPrefix + "-check"})
	go func() {
		_ = c.Run(ctx, func(_ context.Context, batch []kafka.Message) error {
			select {
			case got <- batch[0]:
			default:
			}
			return nil
		})
	}()
	select {
	case m := <-got:
		var back message.Command
		if err := json.Unmarshal(m.Value, &back); err != nil || string(m.Key) != "inc-9" || back.ID != "c1" || back.Actor != cmd.Actor {
			t.Errorf("message key %q value %s (%v)", m.Key, m.Value, err)
		}
	case <-ctx.Done():
		t.Fatal("command not on the topic")
	}
}

// TestServiceBinaryServesAPIAndDashboard starts the real api binary (services/api) on the
// test's database and topics, as make up runs it.
func TestServiceBinaryServesAPIAndDashboard(t *testing.T) {
	e := newCHEnv(t)
	write(t, e, store.KindReadings, bySite, reading("STH-S2", "nh3n", 2.6, time.Now().UTC().Add(-time.Hour).Truncate(time.Second), "N"))
	bin := testinfra.BuildService(t, "api")
	addr := testinfra.FreeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "-config", filepath.Join(testinfra.ModuleRoot(t), "configs", "riverwatch.yaml"))
	cmd.Dir = testinfra.ModuleRoot(t)
	cmd.Env = append(testinfra.Env(e.cfg), "RIVERWATCH_API_LISTEN="+addr)
	var logs bytes.Buffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cancel()
			<-done
		}
		cancel()
		if t.Failed() {
			t.Logf("api logs:\n%s", logs.String())
		}
	})
	base := "http://" + addr
	testinfra.Eventually(t, 30*time.Second, "api ready", func() bool {
		res, err := http.Get(base + "/readyz")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == 200
	})
	get := func(path, token string) (int, string) {
		req, _ := http.NewRequest("GET", base+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if code, body := get("/api/v1/sites/STH-S2", viewerChangji); code != 200 || !strings.Contains(body, `"class":"劣V"`) {
		t.Errorf("site from ClickHouse: %d %s", code, body)
	}
	if code, _ := get("/api/v1/sites", ""); code != 401 {
		t.Errorf("no token: %d", code)
	}
	if code, body := get("/", ""); code != 200 || !strings.Contains(body, "/static/app.js") {
		t.Errorf("dashboard: %d", code)
	}
	if code, body := get("/static/app.js", ""); code != 200 || !strings.Contains(body, "EventSource") {
		t.Errorf("dashboard script: %d", code)
	}
	if code, body := get("/metrics", ""); code != 200 || !strings.Contains(body, "riverwatch_api_requests_total") {
		t.Errorf("metrics: %d", code)
	}
}
