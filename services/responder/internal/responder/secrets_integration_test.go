package responder_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/auth"
	"github.com/riverwatch/riverwatch/pkg/config"
	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/store"
	"github.com/riverwatch/riverwatch/pkg/store/storetest"
	"github.com/riverwatch/riverwatch/pkg/stream"
	"github.com/riverwatch/riverwatch/pkg/testinfra"
	"github.com/segmentio/kafka-go"
)

// readTopic returns every record of a topic, read from the start until nothing new has
// arrived for a second.
func readTopic(t *testing.T, cfg *config.Config, topic string) []kafka.Message {
	t.Helper()
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: cfg.Kafka.Brokers, Topic: topic,
		GroupID: fmt.Sprintf("%s.dump-%d", cfg.Kafka.GroupPrefix, time.Now().UnixNano()), StartOffset: kafka.FirstOffset, MaxWait: 100 * time.Millisecond})
	defer r.Close()
	var out []kafka.Message
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		m, err := r.ReadMessage(ctx)
		cancel()
		if err != nil {
			return out
		}
		out = append(out, m)
	}
}

// clickHouseText returns what a query answers as text, every column, through the
// server's HTTP interface (port 8123 on the native address's host, or
// $RIVERWATCH_TEST_CLICKHOUSE_HTTP).
func clickHouseText(t *testing.T, cfg *config.Config, query string) []byte {
	t.Helper()
	base := os.Getenv("RIVERWATCH_TEST_CLICKHOUSE_HTTP")
	if base == "" {
		host, _, err := net.SplitHostPort(cfg.ClickHouse.Addr)
		if err != nil {
			t.Fatal(err)
		}
		base = "http://" + net.JoinHostPort(host, "8123")
	}
	resp, err := http.Post(base+"/", "text/plain", strings.NewReader(query))
	if err != nil {
		t.Fatalf("clickhouse http: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("clickhouse http %d: %s (%v)", resp.StatusCode, b, err)
	}
	return b
}

// TestARobotKeyInAFailedDeliveryLeavesNoTraceAnywhere and forged commands on the real
// topic (security review H2, H4): changji's river-chief office is a WeCom robot whose
// address carries its key, and the robot answers 500 echoing the address it was called
// at. The failed attempts are recorded — so the search below has something to search —
// yet the key is nowhere: not in the responder's log, not on the incidents, state or
// rejected topics, not in ClickHouse once the incidents topic is archived, not in what
// the store answers the api. Then an unsigned and a wrongly signed resolve are written to
// the commands topic: the incident stays open and each is recorded on riverwatch.rejected
// with its reason.
func TestARobotKeyInAFailedDeliveryLeavesNoTraceAnywhere(t *testing.T) {
	cfg := testinfra.Config(t)
	bin := testinfra.BuildService(t, "responder")
	secret := fmt.Sprintf("ROBOTKEY%d", time.Now().UnixNano())
	var robotCalls atomic.Int32
	robot := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		robotCalls.Add(1)
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprintf(w, `{"errcode":500,"errmsg":"internal error calling %s"}`, r.URL.String())
	}))
	defer robot.Close()
	rcv := newReceiver(t, 1000)
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	contacts := writeContacts(t, srv.URL)
	b, err := os.ReadFile(contacts)
	if err != nil {
		t.Fatal(err)
	}
	robotURL := robot.URL + "/cgi-bin/webhook/send?key=" + secret
	b = bytes.ReplaceAll(b, []byte(fmt.Sprintf("%q", srv.URL+"/changji/river_chief_office/wecom")), []byte(fmt.Sprintf("%q", robotURL)))
	if !bytes.Contains(b, []byte(secret)) {
		t.Fatal("the robot's address did not make it into the contacts file")
	}
	cfg.ContactsFile = filepath.Join(t.TempDir(), "contacts.yaml")
	if err := os.WriteFile(cfg.ContactsFile, b, 0o600); err != nil {
		t.Fatal(err)
	}
	listen := testinfra.FreeAddr(t)
	env := append(testinfra.Env(cfg),
		"RIVERWATCH_RESPONDER_LISTEN="+listen,
		"RIVERWATCH_RESPONDER_TICK_INTERVAL=50ms",
		"RIVERWATCH_RESPONDER_RETRY_BASE=100ms",
		"RIVERWATCH_RESPONDER_RETRY_MAX=200ms",
		"RIVERWATCH_RESPONDER_MAX_ATTEMPTS=3",
		"RIVERWATCH_RESPONDER_WEBHOOK_SECRET="+webhookSecret,
		"RIVERWATCH_LOG_LEVEL=debug",
	)
	_, ups, events, logPath := follow(t, cfg)
	commands := stream.NewWriter(stream.WriterConfig{Cluster: stream.Plain(cfg.Kafka.Brokers...), Topic: cfg.Kafka.Topics.Commands}, nil)
	defer commands.Close()

	start(t, bin, env, listen, logPath)
	now := time.Now().UTC()
	ev := message.Event{
		ID: message.EventID(message.EventExceedanceOpened, "TTH-S2", "nh3n", now, ""), Type: message.EventExceedanceOpened,
		Site: "TTH-S2", River: "toutun", Parameter: "nh3n", Value: 3.2, Limit: 1.0, TargetClass: "III", Class: "劣V",
		Multiple: 2.2, Severity: "severe", ObservedAt: now, EmittedAt: now,
	}
	publish(t, events, ev.Site, ev)

	// Every attempt to the robot fails; the responder gives up after max_attempts and
	// records each attempt with its error.
	var failed []message.Notification
	testinfra.Eventually(t, 90*time.Second, "the robot's failed attempts recorded", func() bool {
		failed = nil
		for _, up := range ups.snapshot() {
			if n := up.Notification; n != nil && strings.Contains(n.Recipient, "changji") && strings.Contains(n.Recipient, "river_chief_office") && n.Error != "" {
				failed = append(failed, *n)
			}
		}
		return len(failed) >= 3
	})
	if robotCalls.Load() < 3 {
		t.Errorf("the robot was called %d times, want at least 3", robotCalls.Load())
	}
	incID := ups.latest().ID

	// Forged commands: neither applies, each is recorded with its reason.
	other, err := message.NewCommandKey([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	resolve := func(id string) message.Command {
		return message.Command{ID: id, Type: message.CommandResolve, IncidentID: incID, Actor: "intruder", ActorRole: auth.RoleAdmin,
			ActorJurisdictions: []string{auth.AllJurisdictions}, Note: "all clear", At: time.Now().UTC()}
	}
	publish(t, commands, incID, resolve("cmd-unsigned"))
	publishSigned(t, commands, other, resolve("cmd-other-key"))
	wantReasons := map[string]string{"cmd-unsigned": message.ReasonUnsignedCommand, "cmd-other-key": message.ReasonBadSignature}
	var rejected []kafka.Message
	testinfra.Eventually(t, 60*time.Second, "both forged commands on the rejected topic", func() bool {
		rejected = readTopic(t, cfg, cfg.Kafka.Topics.Rejected)
		found := 0
		for _, m := range rejected {
			var rj message.Rejection
			if json.Unmarshal(m.Value, &rj) != nil {
				continue
			}
			for id, reason := range wantReasons {
				if rj.Reason == reason && strings.Contains(rj.Raw, id) {
					found++
				}
			}
		}
		return found == len(wantReasons)
	})
	for id := range wantReasons {
		if l := ups.logWith(id); l != nil {
			t.Errorf("forged command %s reached the incident's log: %+v", id, l)
		}
	}
	if inc := ups.latest(); inc.Status == message.IncidentResolved {
		t.Errorf("after forged resolves the incident is %s, want it open", inc.Status)
	}

	// Where the key could have gone: the log, every topic the responder writes, ClickHouse
	// once the incidents are archived, and what the store answers the api.
	places := map[string][]byte{}
	places["responder log"], _ = os.ReadFile(logPath)
	for _, topic := range []string{cfg.Kafka.Topics.Incidents, cfg.Responder.StateTopic, cfg.Kafka.Topics.Rejected} {
		var all bytes.Buffer
		for _, m := range readTopic(t, cfg, topic) {
			all.Write(m.Key)
			all.Write(m.Value)
			for _, h := range m.Headers {
				all.Write(h.Value)
			}
		}
		places["topic "+topic] = all.Bytes()
	}
	if len(places["topic "+cfg.Kafka.Topics.Incidents]) == 0 || len(places["responder log"]) == 0 {
		t.Fatal("nothing to search: the incidents topic or the log is empty")
	}
	archive := storetest.NewArchive(t)
	if _, err := archive.Writer.Write(context.Background(), store.KindIncidents, cfg.Kafka.Topics.Incidents, readTopic(t, cfg, cfg.Kafka.Topics.Incidents)); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{store.TableNotifications, store.TableIncidentLog, store.TableIncidents} {
		places["ClickHouse "+table] = clickHouseText(t, cfg, "SELECT * FROM "+archive.Table(table)+" FORMAT TSV")
	}
	if !bytes.Contains(places["ClickHouse "+store.TableNotifications], []byte("changji")) {
		t.Fatal("the failed notifications were not archived: nothing to search in ClickHouse")
	}
	notes, err := archive.Reader.Notifications(context.Background(), incID)
	if err != nil {
		t.Fatal(err)
	}
	logEntries, err := archive.Reader.IncidentLog(context.Background(), incID)
	if err != nil {
		t.Fatal(err)
	}
	answered, _ := json.Marshal([]any{notes, logEntries})
	places["the store's answers to the api"] = answered
	for where, b := range places {
		if bytes.Contains(b, []byte(secret)) {
			i := bytes.Index(b, []byte(secret))
			t.Errorf("the robot's key is in %s: …%s…", where, b[max(0, i-120):min(len(b), i+40)])
		}
	}
	t.Logf("%d failed attempts recorded (first error: %q); %d rejected records; key found nowhere in %d places", len(failed), failed[0].Error, len(rejected), len(places))
}
