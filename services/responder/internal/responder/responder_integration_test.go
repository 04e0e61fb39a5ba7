package responder_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/auth"
	"github.com/riverwatch/riverwatch/pkg/config"
	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/notify"
	"github.com/riverwatch/riverwatch/pkg/silence"
	"github.com/riverwatch/riverwatch/pkg/stream"
	"github.com/riverwatch/riverwatch/pkg/testinfra"
	"github.com/segmentio/kafka-go"
)

const webhookSecret = "integration-secret"

// received is one message as a jurisdiction's receiver processed it.
type received struct {
	Key, Jurisdiction, Role, Format, Text, Kind, StepID string
	Who                                                 string // the target URL's who= (a rota's person)
	Link                                                string // the incident's page (webhook only)
}

// receiver stands for every jurisdiction's endpoint (/<jurisdiction>/<role>/<format>). It
// honours the idempotency key, as the package doc says an exactly-once receiver must: a key
// it has processed is acknowledged again and dropped.
type receiver struct {
	t         *testing.T
	mu        sync.Mutex
	processed map[string]received
	order     []string
	raw       int
	dropped   []string
	blockAt   int           // the raw request number that hangs until release is closed
	blocked   chan struct{} // closed when that request arrived (and was processed)
	release   chan struct{}
}

func newReceiver(t *testing.T, blockAt int) *receiver {
	return &receiver{t: t, processed: map[string]received{}, blockAt: blockAt, blocked: make(chan struct{}), release: make(chan struct{})}
}

// serveReceiver starts a receiver (blockAt as newReceiver's) on a local server and writes
// the contacts file that sends every jurisdiction × role to it into cfg; at the test's end
// the blocked request is released and the server closed.
func serveReceiver(t *testing.T, cfg *config.Config, blockAt int) *receiver {
	t.Helper()
	rcv := newReceiver(t, blockAt)
	srv := httptest.NewServer(rcv)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { // before the server closes: its handler may be blocked
		select {
		case <-rcv.release:
		default:
			close(rcv.release)
		}
	})
	cfg.ContactsFile = writeContacts(t, srv.URL)
	return rcv
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) != 3 {
		http.Error(w, "bad path", http.StatusNotFound)
		return
	}
	key := r.Header.Get(notify.HeaderIdempotencyKey)
	m := received{Key: key, Jurisdiction: parts[0], Role: parts[1], Format: parts[2], Who: r.URL.Query().Get("who")}
	switch m.Format {
	case "webhook":
		if err := notify.Verify(webhookSecret, r.Header.Get(notify.HeaderSignature), body, time.Now(), 5*time.Minute); err != nil {
			rc.t.Errorf("webhook signature: %v", err)
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		var nm notify.Message
		if err := json.Unmarshal(body, &nm); err != nil || nm.Key != key {
			rc.t.Errorf("webhook body %s: %v", body, err)
		}
		m.Text, m.Kind, m.StepID, m.Link = nm.Subject+"\n"+nm.Body, nm.Kind, nm.StepID, nm.Link
	case "wecom":
		var wm notify.WeComMessage
		_ = json.Unmarshal(body, &wm)
		m.Text = wm.Markdown.Content
	case "dingtalk":
		var dm notify.DingTalkMessage
		_ = json.Unmarshal(body, &dm)
		m.Text = dm.Markdown.Text
	}
	rc.mu.Lock()
	rc.raw++
	n := rc.raw
	if _, seen := rc.processed[key]; seen {
		rc.dropped = append(rc.dropped, key)
	} else {
		rc.processed[key] = m
		rc.order = append(rc.order, key)
	}
	rc.mu.Unlock()
	if n == rc.blockAt {
		close(rc.blocked)
		<-rc.release // the responder is killed while it waits for this answer
	}
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, `{"errcode":0,"errmsg":"ok"}`)
}

func (rc *receiver) find(pred func(received) bool) []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []received
	for _, k := range rc.order {
		if pred(rc.processed[k]) {
			out = append(out, rc.processed[k])
		}
	}
	return out
}

// updates collects everything published on the incidents topic.
type updates struct {
	mu  sync.Mutex
	all []message.IncidentUpdate
}

func (u *updates) run(ctx context.Context, cfg *config.Config, group string) {
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: cfg.Kafka.Brokers, Topic: cfg.Kafka.Topics.Incidents, GroupID: group, MaxWait: 100 * time.Millisecond, StartOffset: kafka.FirstOffset})
	defer r.Close()
	for {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			return
		}
		var up message.IncidentUpdate
		if json.Unmarshal(m.Value, &up) == nil {
			u.mu.Lock()
			u.all = append(u.all, up)
			u.mu.Unlock()
		}
	}
}

func (u *updates) snapshot() []message.IncidentUpdate {
	u.mu.Lock()
	defer u.mu.Unlock()
	return slices.Clone(u.all)
}

func (u *updates) latest() *message.Incident {
	var best *message.Incident
	for _, up := range u.snapshot() {
		if up.Incident != nil && (best == nil || up.Incident.Version > best.Version) {
			best = up.Incident
		}
	}
	return best
}

func (u *updates) logWith(commandID string) *message.LogEntry {
	for _, up := range u.snapshot() {
		if up.Log != nil && up.Log.CommandID == commandID {
			return up.Log
		}
	}
	return nil
}

// writeContacts gives every jurisdiction × role its own endpoint on the receiver, in the
// three HTTP formats.
func writeContacts(t *testing.T, base string) string {
	t.Helper()
	roles := []string{"river_chief_office", "eeb", "emergency", "water_plant", "source_monitor", "maintenance", "discharger_supervisor"}
	var b strings.Builder
	b.WriteString("roles:\n")
	for _, r := range roles {
		fmt.Fprintf(&b, "  %s: %s\n", r, r)
	}
	b.WriteString("contacts:\n")
	for _, j := range []string{"urumqi", "changji", "xpcc12", "xpcc6"} {
		for _, r := range roles {
			format := "webhook"
			switch {
			case j == "changji" && r == "river_chief_office":
				format = "wecom"
			case j == "xpcc12" && r == "river_chief_office":
				format = "dingtalk"
			}
			fmt.Fprintf(&b, "  - {jurisdiction: %s, role: %s, people: [{name: %s-%s, channel: %s, target: %q}]}\n", j, r, j, r, format, base+"/"+j+"/"+r+"/"+format)
		}
	}
	path := filepath.Join(t.TempDir(), "contacts.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

type proc struct {
	cmd *exec.Cmd
	log *os.File
}

// follow sets up what the tests below share around a responder run: the path of its log
// (printed when the test fails), a reader of the incidents it publishes and a writer of
// events, all ended when the test is. ctx ends with the test too.
func follow(t *testing.T, cfg *config.Config) (ctx context.Context, ups *updates, events *stream.Writer, logPath string) {
	t.Helper()
	logPath = filepath.Join(t.TempDir(), "responder.log")
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("responder log:\n%s", b)
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ups = &updates{}
	go ups.run(ctx, cfg, cfg.Kafka.GroupPrefix+".test-reader")
	events = stream.NewWriter(stream.WriterConfig{Cluster: stream.Plain(cfg.Kafka.Brokers...), Topic: cfg.Kafka.Topics.Events}, nil)
	t.Cleanup(func() { events.Close() })
	return ctx, ups, events, logPath
}

func start(t *testing.T, bin string, env []string, listen, logPath string) *proc {
	t.Helper()
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-config", filepath.Join(testinfra.ModuleRoot(t), "configs", "riverwatch.yaml"))
	cmd.Env, cmd.Stdout, cmd.Stderr = env, f, f
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, log: f}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait(); f.Close() })
	testinfra.Eventually(t, 60*time.Second, "responder ready", func() bool {
		resp, err := http.Get("http://" + listen + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return p
}

func publish(t *testing.T, w *stream.Writer, key string, v any, headers ...kafka.Header) {
	t.Helper()
	b, _ := json.Marshal(v)
	// kafka-go's shared transport caches the cluster's metadata for a few seconds, so a
	// writer may not see a topic the test created a moment ago: retry that, nothing else.
	deadline := time.Now().Add(15 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := w.Publish(ctx, kafka.Message{Key: []byte(key), Value: b, Headers: headers})
		cancel()
		switch {
		case err == nil:
			return
		case unknownTopic(err) && time.Now().Before(deadline):
			time.Sleep(500 * time.Millisecond)
		default:
			t.Fatal(err)
		}
	}
}

// unknownTopic reports whether a publish failed only because the writer did not know the
// topic yet.
func unknownTopic(err error) bool {
	var we kafka.WriteErrors
	if errors.As(err, &we) {
		for _, e := range we {
			if e != nil && !errors.Is(e, kafka.UnknownTopicOrPartition) {
				return false
			}
		}
		return true
	}
	return errors.Is(err, kafka.UnknownTopicOrPartition)
}

// publishSigned publishes a command signed with key, as the api does.
func publishSigned(t *testing.T, w *stream.Writer, key message.CommandKey, cmd message.Command) {
	t.Helper()
	b, _ := json.Marshal(cmd)
	publish(t, w, cmd.IncidentID, cmd, kafka.Header{Key: message.HeaderCommandSignature, Value: []byte(key.Sign(b))})
}

// TestExceedanceNotifiesUpAndDownstreamAndSurvivesSIGKILL runs the responder binary on the
// real broker: an exceedance at TTH-S2 (urumqi; xpcc12 upstream, changji downstream) opens
// an incident, the responder is SIGKILLed in the middle of a delivery and restarted, then
// receipts, an acknowledgement, an escalation and the recovery follow. No notification is
// lost and the receivers process none twice.
func TestExceedanceNotifiesUpAndDownstreamAndSurvivesSIGKILL(t *testing.T) {
	cfg := testinfra.Config(t)
	bin := testinfra.BuildService(t, "responder")
	rcv := serveReceiver(t, cfg, 3)
	listen := testinfra.FreeAddr(t)
	env := append(testinfra.Env(cfg),
		"RIVERWATCH_RESPONDER_LISTEN="+listen,
		"RIVERWATCH_RESPONDER_TIME_SCALE=600", // 30 min → 3 s, 1 h → 6 s
		"RIVERWATCH_RESPONDER_TICK_INTERVAL=50ms",
		"RIVERWATCH_RESPONDER_RETRY_BASE=200ms",
		"RIVERWATCH_RESPONDER_WEBHOOK_SECRET="+webhookSecret,
		"RIVERWATCH_RESPONDER_WORKERS=2",
		"RIVERWATCH_LOG_LEVEL=debug",
	)
	_, ups, events, logPath := follow(t, cfg)
	commands := stream.NewWriter(stream.WriterConfig{Cluster: stream.Plain(cfg.Kafka.Brokers...), Topic: cfg.Kafka.Topics.Commands}, nil)
	defer commands.Close()

	a := start(t, bin, env, listen, logPath)
	now := time.Now().UTC()
	ev := message.Event{
		ID: message.EventID(message.EventExceedanceOpened, "TTH-S2", "nh3n", now, ""), Type: message.EventExceedanceOpened,
		Site: "TTH-S2", River: "toutun", Parameter: "nh3n", Value: 3.2, Limit: 1.0, TargetClass: "III", Class: "劣V",
		Multiple: 2.2, Severity: "severe", ObservedAt: now, EmittedAt: now,
	}
	publish(t, events, ev.Site, ev)

	select {
	case <-rcv.blocked:
	case <-time.After(60 * time.Second):
		t.Fatal("no third delivery arrived")
	}
	// With an incident open, the responder's port serves no incident data (review finding
	// H1): only the api does, with tokens and jurisdictions.
	for _, path := range []string{"/incidents", "/incidents/" + ev.ID, "/api/v1/incidents"} {
		resp, err := http.Get("http://" + listen + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s on the responder's port: %d, want 404", path, resp.StatusCode)
		}
	}
	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = a.cmd.Wait()
	close(rcv.release)
	t.Logf("SIGKILLed the responder with a delivery in flight (%d processed)", len(rcv.find(func(received) bool { return true })))

	start(t, bin, env, listen, logPath)
	assigned := func(jur, role, format string) []received {
		return rcv.find(func(m received) bool {
			return m.Jurisdiction == jur && m.Role == role && m.Format == format && !strings.Contains(m.Text, "【督办】") && !strings.Contains(m.Text, "【解除预警】") && !strings.Contains(m.Text, "【续报·")
		})
	}
	testinfra.Eventually(t, 60*time.Second, "the four step notifications", func() bool {
		return len(assigned("urumqi", "river_chief_office", "webhook")) == 1 && len(assigned("urumqi", "eeb", "webhook")) == 1 &&
			len(assigned("xpcc12", "eeb", "webhook")) == 1 && len(assigned("changji", "river_chief_office", "wecom")) == 1
	})
	checks := []struct {
		what   string
		m      received
		substr []string
	}{
		{"self verify", assigned("urumqi", "river_chief_office", "webhook")[0], []string{"【IV级·蓝色预警】头屯河八钢断面氨氮超标", "请立即组织现场核实", "3.2mg/L", "超标2.2倍"}},
		{"upstream search report", assigned("xpcc12", "eeb", "webhook")[0], []string{"【溯源排查】下游头屯河八钢断面", "头屯河水库出口断面", "1小时内"}},
		{"downstream warning", assigned("changji", "river_chief_office", "wecom")[0], []string{"【预警】上游头屯河八钢断面", "预计于", "约8.3小时后", "头屯河昌吉市出境断面", "相距30.0公里"}},
	}
	for _, c := range checks {
		for _, s := range c.substr {
			if !strings.Contains(c.m.Text, s) {
				t.Errorf("%s lacks %q:\n%s", c.what, s, c.m.Text)
			}
		}
	}
	if m := assigned("urumqi", "river_chief_office", "webhook")[0]; m.StepID != "section_exceedance.verify.urumqi" || m.Kind != "assign" {
		t.Errorf("verify message: step %q kind %q", m.StepID, m.Kind)
	}

	// Receipts and the acknowledgement come back through the api's topic.
	var incID string
	testinfra.Eventually(t, 30*time.Second, "incident on the incidents topic", func() bool {
		if inc := ups.latest(); inc != nil {
			incID = inc.ID
		}
		return incID != ""
	})
	// Every message links to the incident's page on the dashboard (responder.dashboard_url).
	if m := assigned("urumqi", "river_chief_office", "webhook")[0]; m.Link != "http://127.0.0.1:8080/#/incidents/"+incID {
		t.Errorf("the verify message links to %q, want the incident's page", m.Link)
	}
	// A resolve written to the topic without the api's key, by someone who could reach
	// Kafka, must change nothing (review finding H4); the genuine commands after it apply.
	key, err := message.LoadCommandKey(cfg.Kafka.CommandsKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	forged := message.Command{ID: "cmd-forged-resolve", Type: message.CommandResolve, IncidentID: incID, Actor: "市长", ActorRole: auth.RoleAdmin, ActorJurisdictions: []string{auth.AllJurisdictions}, Note: "all clear", At: time.Now().UTC()}
	publish(t, commands, incID, forged)
	for _, c := range []message.Command{
		{ID: "cmd-receipt-changji", Type: message.CommandConfirmReceipt, IncidentID: incID, StepID: "section_exceedance.warn_downstream.changji", Actor: "changji-duty", ActorRole: auth.RoleResponder, ActorJurisdictions: []string{"changji"}, At: time.Now().UTC()},
		{ID: "cmd-ack", Type: message.CommandAcknowledge, IncidentID: incID, Actor: "urumqi-duty", ActorRole: auth.RoleResponder, ActorJurisdictions: []string{"urumqi"}, Note: "已派员赴现场", At: time.Now().UTC()},
		{ID: "cmd-done-verify", Type: message.CommandStepDone, IncidentID: incID, StepID: "section_exceedance.verify.urumqi", Actor: "urumqi-duty", ActorRole: auth.RoleResponder, ActorJurisdictions: []string{"urumqi"}, Note: "现场核实：八钢断面上游排口有异常排水", At: time.Now().UTC()},
	} {
		publishSigned(t, commands, key, c)
		testinfra.Eventually(t, 60*time.Second, "command "+c.ID+" applied", func() bool { return ups.logWith(c.ID) != nil })
		if l := ups.logWith(c.ID); l.Action == "command_rejected" {
			t.Errorf("command %s rejected: %s", c.ID, l.Detail)
		}
	}
	// The forged resolve came first on the incident's partition: it was read and refused.
	if l := ups.logWith(forged.ID); l != nil {
		t.Errorf("the unsigned resolve reached the incident's log: %+v", l)
	}
	if inc := ups.latest(); inc == nil || inc.Status == message.IncidentResolved {
		t.Errorf("after an unsigned resolve the incident is %+v, want it still open", inc)
	}
	// xpcc12 never confirms its search report: after 30 min (3 s) its river-chief office is told.
	testinfra.Eventually(t, 30*time.Second, "escalation to xpcc12's river-chief office", func() bool {
		return len(rcv.find(func(m received) bool {
			return m.Jurisdiction == "xpcc12" && m.Role == "river_chief_office" && m.Format == "dingtalk" && strings.Contains(m.Text, "【督办】")
		})) == 1
	})

	cleared := time.Now().UTC()
	publish(t, events, "TTH-S2", message.Event{
		ID: message.EventID(message.EventExceedanceCleared, "TTH-S2", "nh3n", cleared, ""), Type: message.EventExceedanceCleared,
		Site: "TTH-S2", River: "toutun", Parameter: "nh3n", Value: 0.6, Limit: 1.0, ObservedAt: cleared, EmittedAt: cleared,
	})
	testinfra.Eventually(t, 60*time.Second, "resolution", func() bool {
		inc := ups.latest()
		return inc != nil && inc.Status == message.IncidentResolved
	})
	// End of Alert: exactly once to everyone notified.
	recipients := map[string]bool{}
	for _, m := range rcv.find(func(m received) bool { return !strings.Contains(m.Text, "【解除预警】") }) {
		recipients[m.Jurisdiction+"/"+m.Role] = true
	}
	testinfra.Eventually(t, 30*time.Second, "End of Alert to everyone notified", func() bool {
		return len(rcv.find(func(m received) bool { return strings.Contains(m.Text, "【解除预警】") })) >= len(recipients)
	})
	time.Sleep(500 * time.Millisecond) // let any stray delivery show itself
	eoa := map[string]int{}
	for _, m := range rcv.find(func(m received) bool { return strings.Contains(m.Text, "【解除预警】") }) {
		eoa[m.Jurisdiction+"/"+m.Role]++
	}
	for r := range recipients {
		if eoa[r] != 1 {
			t.Errorf("%s received %d End of Alert messages, want 1", r, eoa[r])
		}
	}

	// Nothing lost, nothing processed twice: the keys the responder recorded as sent are
	// exactly the keys the receivers processed, and each logical message has one key.
	testinfra.Eventually(t, 30*time.Second, "sent records for every processed key", func() bool {
		sent := map[string]bool{}
		for _, up := range ups.snapshot() {
			if n := up.Notification; n != nil && n.Status == "sent" {
				sent[n.Key] = true
			}
		}
		rcv.mu.Lock()
		defer rcv.mu.Unlock()
		if len(sent) != len(rcv.processed) {
			return false
		}
		for k := range rcv.processed {
			if !sent[k] {
				return false
			}
		}
		return true
	})
	interrupted := 0
	for _, up := range ups.snapshot() {
		if n := up.Notification; n != nil && n.Status == "interrupted" {
			interrupted++
		}
	}
	rcv.mu.Lock()
	logical := map[string]int{}
	for _, m := range rcv.processed {
		logical[m.Jurisdiction+"|"+m.Role+"|"+m.Format+"|"+m.Text]++
	}
	t.Logf("receivers: %d requests, %d distinct keys processed, %d repeats dropped (%v); %d interrupted attempts recorded",
		rcv.raw, len(rcv.processed), len(rcv.dropped), rcv.dropped, interrupted)
	if len(rcv.dropped) == 0 || interrupted == 0 {
		t.Errorf("the delivery in flight at the kill was not re-delivered with its key (dropped %d, interrupted %d)", len(rcv.dropped), interrupted)
	}
	if len(rcv.dropped) > 2 { // at most the deliveries in flight (workers = 2)
		t.Errorf("%d repeats: more than were in flight", len(rcv.dropped))
	}
	rcv.mu.Unlock()
	for k, n := range logical {
		if n > 1 {
			t.Errorf("one message processed %d times under different keys: %s", n, k)
		}
	}

	if path := os.Getenv("RIVERWATCH_INCIDENT_RECORD"); path != "" {
		dumpRecord(t, path, incID, ups.snapshot())
	}
}

// dumpRecord writes one incident's full record — the latest snapshot, the audit trail and
// every delivery attempt — as the api returns it.
func dumpRecord(t *testing.T, path, id string, all []message.IncidentUpdate) {
	var rec struct {
		Incident      *message.Incident      `json:"incident"`
		Log           []message.LogEntry     `json:"log"`
		Notifications []message.Notification `json:"notifications"`
	}
	for _, up := range all {
		switch {
		case up.Incident != nil && up.Incident.ID == id && (rec.Incident == nil || up.Incident.Version > rec.Incident.Version):
			rec.Incident = up.Incident
		case up.Log != nil && up.Log.IncidentID == id:
			rec.Log = append(rec.Log, *up.Log)
		case up.Notification != nil && up.Notification.IncidentID == id:
			rec.Notifications = append(rec.Notifications, *up.Notification)
		}
	}
	b, _ := json.MarshalIndent(rec, "", "  ")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Error(err)
	}
}

// TestUndecodableEventEndsOnTheRejectedTopic runs the responder binary on the real broker:
// an event that does not decode is recorded on the rejected topic with its reason, like
// every consumer records such input, and does not block the events behind it.
func TestUndecodableEventEndsOnTheRejectedTopic(t *testing.T) {
	cfg := testinfra.Config(t)
	bin := testinfra.BuildService(t, "responder")
	serveReceiver(t, cfg, -1)
	listen := testinfra.FreeAddr(t)
	env := append(testinfra.Env(cfg), "RIVERWATCH_RESPONDER_LISTEN="+listen, "RIVERWATCH_RESPONDER_WEBHOOK_SECRET="+webhookSecret)
	ctx, ups, events, logPath := follow(t, cfg)
	start(t, bin, env, listen, logPath)

	// The writer may not see the topic created a moment ago yet: retry until it does.
	testinfra.Eventually(t, 30*time.Second, "the undecodable event published", func() bool {
		wctx, wcancel := context.WithTimeout(ctx, 5*time.Second)
		defer wcancel()
		return events.Publish(wctx, kafka.Message{Key: []byte("TTH-S2"), Value: []byte("{not an event")}) == nil
	})
	now := time.Now().UTC()
	publish(t, events, "TTH-S2", message.Event{
		ID: message.EventID(message.EventExceedanceOpened, "TTH-S2", "nh3n", now, ""), Type: message.EventExceedanceOpened,
		Site: "TTH-S2", River: "toutun", Parameter: "nh3n", Value: 3.2, Limit: 1.0, TargetClass: "III", Class: "劣V",
		Multiple: 2.2, Severity: "severe", ObservedAt: now, EmittedAt: now,
	})

	rd := kafka.NewReader(kafka.ReaderConfig{Brokers: cfg.Kafka.Brokers, Topic: cfg.Kafka.Topics.Rejected, GroupID: cfg.Kafka.GroupPrefix + ".test-rejected", MaxWait: 100 * time.Millisecond, StartOffset: kafka.FirstOffset})
	defer rd.Close()
	rctx, rcancel := context.WithTimeout(ctx, 60*time.Second)
	defer rcancel()
	m, err := rd.ReadMessage(rctx)
	if err != nil {
		t.Fatalf("nothing on the rejected topic: %v", err)
	}
	var rej message.Rejection
	if err := json.Unmarshal(m.Value, &rej); err != nil {
		t.Fatal(err)
	}
	if rej.Reason != message.ReasonUndecodable || rej.Source != "responder" || rej.Raw != "{not an event" ||
		!strings.HasPrefix(rej.Remote, cfg.Kafka.Topics.Events+"/") || string(m.Key) != rej.ID {
		t.Errorf("rejection %+v", rej)
	}
	testinfra.Eventually(t, 60*time.Second, "the event behind the bad one opens an incident", func() bool { return ups.latest() != nil })
}

// TestSilenceHoldsThroughARestartAndItsExpiryReleases runs the responder binary on the real
// broker: a silence of TTH-S2 arrives as a signed command; an exceedance there opens an
// incident marked silenced_by, whose notifications are recorded as inhibited and reach
// nobody, also after a SIGKILL and restart (the silence is in the state topic); when an
// operator expires the silence the held notifications go out, once each.
func TestSilenceHoldsThroughARestartAndItsExpiryReleases(t *testing.T) {
	cfg := testinfra.Config(t)
	bin := testinfra.BuildService(t, "responder")
	rcv := serveReceiver(t, cfg, -1)
	listen := testinfra.FreeAddr(t)
	env := append(testinfra.Env(cfg), "RIVERWATCH_RESPONDER_LISTEN="+listen, "RIVERWATCH_RESPONDER_WEBHOOK_SECRET="+webhookSecret,
		"RIVERWATCH_RESPONDER_TICK_INTERVAL=50ms")
	ctx, ups, events, logPath := follow(t, cfg)
	commands := stream.NewWriter(stream.WriterConfig{Cluster: stream.Plain(cfg.Kafka.Brokers...), Topic: cfg.Kafka.Topics.Commands}, nil)
	defer commands.Close()
	key, err := message.LoadCommandKey(cfg.Kafka.CommandsKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	a := start(t, bin, env, listen, logPath)

	now := time.Now().UTC()
	create := message.Command{ID: "cmd-silence", Type: message.CommandSilenceCreate, Actor: "urumqi-admin", ActorRole: auth.RoleAdmin,
		ActorJurisdictions: []string{"urumqi"}, At: now, Silence: &silence.Silence{
			ID: "sil-integration", Matchers: []silence.Matcher{{Name: silence.LabelSite, Value: "TTH-S2"}},
			StartsAt: now.Add(-time.Minute), EndsAt: now.Add(time.Hour), Comment: "氨氮分析仪校准",
		}}
	// The writer may not see the topics created a moment ago yet: retry until it does.
	cb, _ := json.Marshal(create)
	testinfra.Eventually(t, 30*time.Second, "the silence command published", func() bool {
		wctx, wcancel := context.WithTimeout(ctx, 5*time.Second)
		defer wcancel()
		return commands.Publish(wctx, kafka.Message{Key: []byte(create.Silence.ID), Value: cb,
			Headers: []kafka.Header{{Key: message.HeaderCommandSignature, Value: []byte(key.Sign(cb))}}}) == nil
	})
	testinfra.Eventually(t, 60*time.Second, "silence created", func() bool { return ups.logWith(create.ID) != nil })
	if l := ups.logWith(create.ID); l.Action != "silence_created" {
		t.Fatalf("silence_create: %s %s", l.Action, l.Detail)
	}

	ev := message.Event{
		ID: message.EventID(message.EventExceedanceOpened, "TTH-S2", "nh3n", now, ""), Type: message.EventExceedanceOpened,
		Site: "TTH-S2", River: "toutun", Parameter: "nh3n", Value: 3.2, Limit: 1.0, TargetClass: "III", Class: "劣V",
		Multiple: 2.2, Severity: "severe", ObservedAt: now, EmittedAt: now,
	}
	publish(t, events, ev.Site, ev)
	inhibited := func() int {
		n := 0
		for _, up := range ups.snapshot() {
			if up.Notification != nil && up.Notification.Status == "inhibited" {
				n++
			}
		}
		return n
	}
	testinfra.Eventually(t, 60*time.Second, "silenced incident with inhibited notifications", func() bool {
		inc := ups.latest()
		return inc != nil && slices.Equal(inc.SilencedBy, []string{"sil-integration"}) && inhibited() >= 4
	})
	held := inhibited()
	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = a.cmd.Wait()
	start(t, bin, env, listen, logPath)
	time.Sleep(time.Second) // ticks at 50 ms: a forgotten silence would deliver by now
	if got := rcv.find(func(received) bool { return true }); len(got) != 0 {
		t.Fatalf("a silenced incident reached %d receivers", len(got))
	}

	expire := message.Command{ID: "cmd-unsilence", Type: message.CommandSilenceExpire, SilenceID: "sil-integration", Actor: "urumqi-admin",
		ActorRole: auth.RoleAdmin, ActorJurisdictions: []string{"urumqi"}, Note: "校准完成", At: time.Now().UTC()}
	publishSigned(t, commands, key, expire)
	testinfra.Eventually(t, 60*time.Second, "held notifications delivered after the expiry", func() bool {
		return len(rcv.find(func(received) bool { return true })) >= held
	})
	time.Sleep(500 * time.Millisecond)
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if len(rcv.processed) != held || len(rcv.dropped) != 0 {
		t.Errorf("%d held, %d delivered, %d repeats", held, len(rcv.processed), len(rcv.dropped))
	}
	if l := ups.logWith(expire.ID); l == nil || l.Action != "silence_expired" {
		t.Errorf("expiry log %+v", l)
	}
}

// apiCall sends one request to a running api and decodes its JSON answer.
func apiCall(t *testing.T, method, url, token string, body, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = strings.NewReader(string(b))
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && json.Unmarshal(b, out) != nil {
		t.Logf("%s %s → %d %s", method, url, resp.StatusCode, b)
	}
	return resp.StatusCode
}

// throughTheAPI starts the archiver, the responder and the api binaries on the real broker
// and ClickHouse, with a webhook receiver for the responder's notifications, and returns the
// api's base URL. Their logs' tails are printed when the test fails.
func throughTheAPI(t *testing.T) (cfg *config.Config, rcv *receiver, base string) {
	t.Helper()
	cfg = testinfra.Config(t)
	bins := map[string]string{}
	for _, name := range []string{"responder", "archiver", "api"} {
		bins[name] = testinfra.BuildService(t, name)
	}
	rcv = serveReceiver(t, cfg, -1)
	listen := map[string]string{"responder": testinfra.FreeAddr(t), "archiver": testinfra.FreeAddr(t), "api": testinfra.FreeAddr(t)}
	env := append(testinfra.Env(cfg),
		"RIVERWATCH_RESPONDER_LISTEN="+listen["responder"], "RIVERWATCH_ARCHIVER_LISTEN="+listen["archiver"],
		"RIVERWATCH_API_LISTEN="+listen["api"], "RIVERWATCH_API_COMMAND_TIMEOUT=30s",
		"RIVERWATCH_RESPONDER_WEBHOOK_SECRET="+webhookSecret, "RIVERWATCH_RESPONDER_TICK_INTERVAL=50ms")
	dir := t.TempDir()
	t.Cleanup(func() {
		if t.Failed() {
			for name := range bins {
				b, err := os.ReadFile(filepath.Join(dir, name+".log"))
				t.Logf("%s log (%v, tail):\n%s", name, err, b[max(0, len(b)-3000):])
			}
		}
	})
	for _, name := range []string{"archiver", "responder", "api"} { // the archiver migrates first
		start(t, bins[name], env, listen[name], filepath.Join(dir, name+".log"))
	}
	return cfg, rcv, "http://" + listen["api"] + "/api/v1"
}

// TestSilenceEndToEndThroughTheAPI runs the api, the responder and the archiver binaries on
// the real broker and ClickHouse: an admin creates a silence through the REST API; an
// exceedance at the silenced site opens an incident that the api shows silenced_by it, with
// inhibited notifications and nothing delivered; the admin expires the silence through the
// API, and the held notifications are delivered and recorded as sent.
func TestSilenceEndToEndThroughTheAPI(t *testing.T) {
	cfg, rcv, base := throughTheAPI(t)
	const admin = "dev-admin-token"

	now := time.Now().UTC()
	var created struct {
		Status    string `json:"status"`
		SilenceID string `json:"silence_id"`
	}
	code := apiCall(t, "POST", base+"/silences", admin, map[string]any{
		"matchers": []map[string]any{{"name": "site", "value": "TTH-S2"}},
		"ends_at":  now.Add(time.Hour).Format(time.RFC3339), "comment": "八钢断面氨氮分析仪校准",
	}, &created)
	if code != http.StatusOK || created.Status != "applied" {
		t.Fatalf("POST /silences: %d %+v", code, created)
	}

	events := stream.NewWriter(stream.WriterConfig{Cluster: stream.Plain(cfg.Kafka.Brokers...), Topic: cfg.Kafka.Topics.Events}, nil)
	defer events.Close()
	publish(t, events, "TTH-S2", message.Event{
		ID: message.EventID(message.EventExceedanceOpened, "TTH-S2", "nh3n", now, ""), Type: message.EventExceedanceOpened,
		Site: "TTH-S2", River: "toutun", Parameter: "nh3n", Value: 3.2, Limit: 1.0, TargetClass: "III", Class: "劣V",
		Multiple: 2.2, Severity: "severe", ObservedAt: now, EmittedAt: now,
	})
	type detail struct {
		Incident      message.Incident       `json:"incident"`
		Notifications []message.Notification `json:"notifications"`
		Log           []message.LogEntry     `json:"log"`
	}
	var d detail
	count := func(status string) int {
		n := 0
		for _, x := range d.Notifications {
			if x.Status == status {
				n++
			}
		}
		return n
	}
	testinfra.Eventually(t, 60*time.Second, "the api shows a silenced incident with inhibited notifications", func() bool {
		var page struct {
			Items []message.Incident `json:"items"`
		}
		if apiCall(t, "GET", base+"/incidents", admin, nil, &page) != http.StatusOK || len(page.Items) == 0 {
			return false
		}
		d = detail{}
		apiCall(t, "GET", base+"/incidents/"+page.Items[0].ID, admin, nil, &d)
		return slices.Equal(d.Incident.SilencedBy, []string{created.SilenceID}) && count("inhibited") >= 4
	})
	held := count("inhibited")
	time.Sleep(500 * time.Millisecond)
	if got := rcv.find(func(received) bool { return true }); len(got) != 0 {
		t.Fatalf("a silenced incident reached %d receivers", len(got))
	}
	if path := os.Getenv("RIVERWATCH_SILENCE_RECORD"); path != "" {
		b, _ := json.MarshalIndent(d, "", "  ")
		_ = os.WriteFile(path, b, 0o644)
	}

	var expired struct {
		Status  string `json:"status"`
		Silence struct {
			State     string `json:"state"`
			ExpiredBy string `json:"expired_by"`
		} `json:"silence"`
	}
	if code := apiCall(t, "DELETE", base+"/silences/"+created.SilenceID, admin, nil, &expired); code != http.StatusOK || expired.Silence.State != "expired" {
		t.Fatalf("DELETE /silences/%s: %d %+v", created.SilenceID, code, expired)
	}
	defer func() {
		if t.Failed() {
			t.Logf("%d held, %d received, %d recorded sent, silenced_by %v", held, len(rcv.find(func(received) bool { return true })), count("sent"), d.Incident.SilencedBy)
		}
	}()
	testinfra.Eventually(t, 60*time.Second, "the held notifications delivered and recorded as sent", func() bool {
		var fresh detail // silenced_by is omitted once empty: decode into a new value
		apiCall(t, "GET", base+"/incidents/"+d.Incident.ID, admin, nil, &fresh)
		d = fresh
		return len(rcv.find(func(received) bool { return true })) >= held && count("sent") >= held && len(d.Incident.SilencedBy) == 0
	})
	var list struct {
		Silences []struct {
			ID    string `json:"id"`
			State string `json:"state"`
		} `json:"silences"`
	}
	apiCall(t, "GET", base+"/silences?state=expired", admin, nil, &list)
	if len(list.Silences) != 1 || list.Silences[0].ID != created.SilenceID {
		t.Errorf("expired silences %+v", list)
	}
}

// TestOfflineStationsExceedancePagesMaintenanceOnly runs the responder on the real broker:
// a station goes offline, then its series exceeds. The exceedance's incident is inhibited
// (inhibited_by says the station is offline), every notification it would have sent is
// recorded as inhibited with who and why, and only the maintenance unit is told.
func TestOfflineStationsExceedancePagesMaintenanceOnly(t *testing.T) {
	cfg := testinfra.Config(t)
	bin := testinfra.BuildService(t, "responder")
	rcv := serveReceiver(t, cfg, -1)
	listen := testinfra.FreeAddr(t)
	env := append(testinfra.Env(cfg), "RIVERWATCH_RESPONDER_LISTEN="+listen, "RIVERWATCH_RESPONDER_WEBHOOK_SECRET="+webhookSecret,
		"RIVERWATCH_RESPONDER_TICK_INTERVAL=50ms")
	_, ups, events, logPath := follow(t, cfg)
	start(t, bin, env, listen, logPath)

	now := time.Now().UTC()
	off := message.Event{ID: message.EventID(message.EventStationOffline, "TTH-S2", "", now, ""), Type: message.EventStationOffline,
		Site: "TTH-S2", River: "toutun", ObservedAt: now, EmittedAt: now}
	publish(t, events, off.Site, off)
	ev := message.Event{
		ID: message.EventID(message.EventExceedanceOpened, "TTH-S2", "nh3n", now, ""), Type: message.EventExceedanceOpened,
		Site: "TTH-S2", River: "toutun", Parameter: "nh3n", Value: 3.2, Limit: 1.0, TargetClass: "III", Class: "劣V",
		Multiple: 2.2, Severity: "severe", ObservedAt: now, EmittedAt: now.Add(time.Second),
	}
	publish(t, events, ev.Site, ev)

	alarm := func() *message.Incident {
		var best *message.Incident
		for _, up := range ups.snapshot() {
			if up.Incident != nil && slices.Contains(up.Incident.EventIDs, ev.ID) && (best == nil || up.Incident.Version > best.Version) {
				best = up.Incident
			}
		}
		return best
	}
	chiefsNotTold := func() int {
		n := 0
		for _, up := range ups.snapshot() {
			if nt := up.Notification; nt != nil && nt.Status == "inhibited" && strings.Contains(nt.Recipient, "/river_chief_office/") &&
				strings.Contains(nt.Error, "offline") {
				n++
			}
		}
		return n
	}
	testinfra.Eventually(t, 60*time.Second, "the exceedance's incident inhibited, the river chief's page recorded as inhibited", func() bool {
		inc := alarm()
		return inc != nil && len(inc.InhibitedBy) > 0 && strings.Contains(inc.InhibitedBy[0], "TTH-S2 offline") && chiefsNotTold() > 0
	})
	testinfra.Eventually(t, 60*time.Second, "the maintenance unit told of the inhibited alarm", func() bool {
		return len(rcv.find(func(r received) bool { return r.Role == "maintenance" && strings.Contains(r.Text, "告警已抑制") })) > 0
	})
	time.Sleep(time.Second) // ticks at 50 ms: a page that was not inhibited would be delivered by now
	for _, r := range rcv.find(func(received) bool { return true }) {
		if r.Role != "maintenance" {
			t.Errorf("%s/%s was told (%s): only the maintenance unit should be", r.Jurisdiction, r.Role, r.Kind)
		}
	}
}
