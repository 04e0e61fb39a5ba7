package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/silence"
	"github.com/riverwatch/riverwatch/pkg/store"
	"github.com/riverwatch/riverwatch/pkg/store/storetest"
	"github.com/riverwatch/riverwatch/pkg/stream"
	"github.com/riverwatch/riverwatch/pkg/testinfra"
	"github.com/riverwatch/riverwatch/services/api/internal/api"
	"github.com/segmentio/kafka-go"
)

// Integration tests of the api on the real ClickHouse server, through store.Reader, the
// read model the service uses (its queries are tested in pkg/store: golden SQL and the
// conformance suite). The rows are written by the archiver's own insert path
// (store.Writer, which also rebuilds the rollups), as production stores them.

func reading(site, param string, v float64, at time.Time, flag string) message.Reading {
	return message.Reading{
		ID: message.ReadingID(site, param, message.IntervalHour, at), Site: site, Parameter: param, Value: v, Unit: "mg/L",
		Interval: message.IntervalHour, Flag: flag, ObservedAt: at, ReceivedAt: at.Add(time.Minute), Source: message.SourceHJ212,
	}
}

// archivingResponder plays the responder at the end of riverwatch.commands: it applies an
// acknowledge by writing the new snapshot and its log entry through the archiver.
type archivingResponder struct {
	t  testing.TB
	e  *storetest.Archive
	wg *sync.WaitGroup
}

func (r archivingResponder) Send(ctx context.Context, cmd message.Command) error {
	inc, err := r.e.Reader.Incident(ctx, cmd.IncidentID)
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
		if err := storetest.WriteErr(r.e, store.KindIncidents, storetest.UpdateIncidentID,
			message.IncidentUpdate{Kind: message.UpdateLog, Log: &message.LogEntry{ID: "ack-" + cmd.ID, IncidentID: inc.ID, Version: inc.Version, At: now, Actor: cmd.Actor, Action: "acknowledged", CommandID: cmd.ID}}); err != nil {
			r.t.Error(err)
			return
		}
		time.Sleep(200 * time.Millisecond)
		if err := storetest.WriteErr(r.e, store.KindIncidents, storetest.UpdateIncidentID, message.IncidentUpdate{Kind: message.UpdateIncident, Incident: &inc}); err != nil {
			r.t.Error(err)
		}
	}()
	return nil
}

func TestAcknowledgeRoundTripThroughClickHouse(t *testing.T) {
	e := storetest.NewArchive(t)
	at := time.Now().UTC().Truncate(time.Second)
	storetest.Write(t, e, store.KindIncidents, storetest.UpdateIncidentID, message.IncidentUpdate{Kind: message.UpdateIncident, Incident: &message.Incident{
		ID: "inc-rt", Version: 1, Title: "round trip", Status: message.IncidentOpen, Level: "IV", Site: "STH-S2",
		Jurisdictions: []string{"changji"}, OpenedAt: at, UpdatedAt: at,
	}})
	var wg sync.WaitGroup
	defer wg.Wait()
	env := newEnv(t, func(o *api.Options) {
		o.Store = e.Reader
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
	w := stream.NewWriter(stream.WriterConfig{Cluster: stream.Plain(cfg.Kafka.Brokers...), Topic: cfg.Kafka.Topics.Commands}, nil)
	defer w.Close()
	cmd := message.Command{ID: "c1", Type: message.CommandAcknowledge, IncidentID: "inc-9", Actor: "昌吉市应急值班", At: time.Now().UTC()}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	key, err := message.LoadCommandKey(cfg.Kafka.CommandsKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := api.NewKafkaCommander(w, key).Send(ctx, cmd); err != nil {
		t.Fatal(err)
	}
	got := make(chan kafka.Message, 1)
	c := stream.NewConsumer(stream.ConsumerConfig{Cluster: stream.Plain(cfg.Kafka.Brokers...), Topic: cfg.Kafka.Topics.Commands, GroupID: cfg.Kafka.GroupPrefix + "-check"})
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
		var sig string
		for _, h := range m.Headers {
			if h.Key == message.HeaderCommandSignature {
				sig = string(h.Value)
			}
		}
		if err := key.Verify(m.Value, sig); err != nil {
			t.Errorf("the command on the topic does not verify with the key: %v (header %q)", err, sig)
		}
	case <-ctx.Done():
		t.Fatal("command not on the topic")
	}
}

// TestServiceBinaryServesAPIAndDashboard starts the real api binary (services/api) on the
// test's database and topics, as make up runs it.
func TestServiceBinaryServesAPIAndDashboard(t *testing.T) {
	e := storetest.NewArchive(t)
	storetest.Write(t, e, store.KindReadings, storetest.ReadingKey, reading("STH-S2", "nh3n", 2.6, time.Now().UTC().Add(-time.Hour).Truncate(time.Second), "N"))
	bin := testinfra.BuildService(t, "api")
	addr := testinfra.FreeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "-config", filepath.Join(testinfra.ModuleRoot(t), "configs", "riverwatch.yaml"))
	cmd.Dir = testinfra.ModuleRoot(t)
	cmd.Env = append(testinfra.Env(e.Config), "RIVERWATCH_API_LISTEN="+addr)
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

// silencingResponder plays the responder for silence commands: it writes the silence's
// snapshot and its log entry through the archiver (the log entry first), as the responder's
// updates on riverwatch.incidents reach ClickHouse.
type silencingResponder struct {
	t  testing.TB
	e  *storetest.Archive
	wg *sync.WaitGroup
}

func (r silencingResponder) Send(ctx context.Context, cmd message.Command) error {
	var sil silence.Silence
	action := "silence_created"
	switch cmd.Type {
	case message.CommandSilenceCreate:
		sil = *cmd.Silence
		sil.CreatedBy, sil.Version = cmd.Actor, 1
	case message.CommandSilenceExpire:
		var err error
		if sil, err = r.e.Reader.Silence(ctx, cmd.SilenceID); err != nil {
			return err
		}
		sil.Expire(cmd.At, cmd.Actor, "expired by operator")
		sil.Version++
		action = "silence_expired"
	}
	sil.UpdatedAt = cmd.At
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		time.Sleep(100 * time.Millisecond)
		if err := storetest.WriteErr(r.e, store.KindIncidents, storetest.UpdateIncidentID, message.IncidentUpdate{Kind: message.UpdateLog,
			Log: &message.LogEntry{ID: "log-" + cmd.ID, IncidentID: sil.ID, Version: sil.Version, At: cmd.At, Actor: cmd.Actor, Action: action, CommandID: cmd.ID}}); err != nil {
			r.t.Error(err)
			return
		}
		time.Sleep(200 * time.Millisecond)
		if err := storetest.WriteErr(r.e, store.KindIncidents, storetest.UpdateIncidentID, message.IncidentUpdate{Kind: message.UpdateSilence, Silence: &sil}); err != nil {
			r.t.Error(err)
		}
	}()
	return nil
}

func TestSilenceRoundTripThroughClickHouse(t *testing.T) {
	e := storetest.NewArchive(t)
	var wg sync.WaitGroup
	defer wg.Wait()
	env := newEnv(t, func(o *api.Options) {
		o.Store = e.Reader
		o.Commander = silencingResponder{t: t, e: e, wg: &wg}
		o.CommandTimeout = 10 * time.Second
		o.CommandPoll = 50 * time.Millisecond
	})
	res := env.do(t, "POST", "/api/v1/silences", admin, map[string]any{
		"matchers": []map[string]any{{"name": "site", "value": "STH-S2"}},
		"ends_at":  env.now.Add(4 * time.Hour).Format(time.RFC3339), "comment": "断面站房改造",
	})
	var sr api.SilenceResponse
	res.decode(t, &sr)
	if res.status != http.StatusOK || sr.Silence == nil || sr.Silence.State != silence.StateActive || sr.Silence.Version != 1 {
		t.Fatalf("create: %d %s", res.status, res.body)
	}
	var list api.SilencesResponse
	env.do(t, "GET", "/api/v1/silences", viewerChangji, nil).decode(t, &list)
	if len(list.Silences) != 1 || list.Silences[0].ID != sr.SilenceID || list.Silences[0].Comment != "断面站房改造" {
		t.Fatalf("list %+v", list)
	}
	res = env.do(t, "DELETE", "/api/v1/silences/"+sr.SilenceID, admin, nil)
	res.decode(t, &sr)
	if res.status != http.StatusOK || sr.Silence == nil || sr.Silence.State != silence.StateExpired || sr.Silence.Version != 2 {
		t.Fatalf("expire: %d %s", res.status, res.body)
	}
	env.do(t, "GET", "/api/v1/silences", viewerChangji, nil).decode(t, &list)
	if len(list.Silences) != 0 {
		t.Errorf("an expired silence is listed as live: %+v", list)
	}
}

// TestTheMonthlyReportThroughClickHouse serves monthlyEnv's data from the real archive
// (written by the archiver's insert path, rollups rebuilt): the same hand-worked May,
// non-detect at half its limit and automatic NH3-N first included.
func TestTheMonthlyReportThroughClickHouse(t *testing.T) {
	a := storetest.NewArchive(t)
	env := newEnv(t, func(o *api.Options) { o.Store = a.Reader })
	rs, incs := monthlySeed(env.net.Location)
	a.Readings(t, rs...)
	for i := range incs {
		storetest.Write(t, a, store.KindIncidents, storetest.UpdateIncidentID, message.IncidentUpdate{Kind: message.UpdateIncident, Incident: &incs[i]})
	}
	var rep api.MonthlyReport
	env.do(t, "GET", "/api/v1/reports/monthly?month=2026-05", admin, nil).decode(t, &rep)
	checkMonthlyMay(t, rep)
}
