package responder

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/segmentio/kafka-go"

	"github.com/riverwatch/riverwatch/pkg/auth"
	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/network"
	"github.com/riverwatch/riverwatch/pkg/notify"
	"github.com/riverwatch/riverwatch/pkg/testinfra"
	"github.com/riverwatch/riverwatch/services/responder/internal/incident"
	"github.com/riverwatch/riverwatch/services/responder/internal/playbook"
)

// fakePublisher records what it is asked to publish, or fails with err.
type fakePublisher struct {
	mu   sync.Mutex
	msgs []kafka.Message
	err  error
}

func (f *fakePublisher) Publish(_ context.Context, msgs ...kafka.Message) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	f.msgs = append(f.msgs, msgs...)
	return nil
}

func (f *fakePublisher) Close() error { return nil }

func (f *fakePublisher) rejections(t *testing.T) []message.Rejection {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []message.Rejection
	for _, m := range f.msgs {
		var rej message.Rejection
		if err := json.Unmarshal(m.Value, &rej); err != nil {
			t.Fatalf("rejected topic holds %q: %v", m.Value, err)
		}
		if string(m.Key) != rej.ID {
			t.Errorf("rejection keyed %q, id %q", m.Key, rej.ID)
		}
		out = append(out, rej)
	}
	return out
}

// newTestResponder is a responder over the repository's network, contacts and playbooks
// whose Kafka writers are fakes.
func newTestResponder(t *testing.T, rejected *fakePublisher) (*Responder, *fakePublisher) {
	t.Helper()
	root := filepath.Join(testinfra.ModuleRoot(t), "configs")
	net, err := network.Load(filepath.Join(root, "sites.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	contacts, err := notify.LoadContacts(filepath.Join(root, "contacts.yaml"), net, "http://127.0.0.1:1/hook")
	if err != nil {
		t.Fatal(err)
	}
	books, err := playbook.Load(filepath.Join(root, "playbooks.yaml"), net, contacts)
	if err != nil {
		t.Fatal(err)
	}
	key, err := message.LoadCommandKey(filepath.Join(root, "commands.key"))
	if err != nil {
		t.Fatal(err)
	}
	updates := &fakePublisher{}
	return &Responder{
		log: slog.New(slog.DiscardHandler), net: net, books: books, key: key, m: newMetrics(prometheus.NewRegistry()),
		eng:     incident.New(incident.Config{}, nil, net, books, contacts),
		updates: updates, state: &fakePublisher{}, rejected: rejected, stations: &fakePublisher{},
		wake:   make(chan struct{}, 1),
		shards: 1, owned: []int{0}, serving: true, placement: map[string]int{}, commandsNext: map[int]int64{},
	}, updates
}

func TestUndecodableEventsAndCommandsEndOnTheRejectedTopic(t *testing.T) {
	rejected := &fakePublisher{}
	r, updates := newTestResponder(t, rejected)
	now := time.Now().UTC()
	ev := exceedance("ev-1", now)
	good, _ := json.Marshal(ev)
	at := time.Date(2026, 7, 1, 9, 0, 0, 0, time.UTC)
	events := []kafka.Message{
		{Topic: "rw.events", Partition: 1, Offset: 7, Time: at, Value: []byte("{not json")},
		{Topic: "rw.events", Partition: 1, Offset: 8, Time: at, Value: good},
	}
	if err := r.handleEvents(t.Context(), events); err != nil {
		t.Fatal(err)
	}
	commands := []kafka.Message{signed(r.key, kafka.Message{Topic: "rw.commands", Partition: 0, Offset: 3, Time: at, Value: []byte(`{"id":`)})}
	if err := r.handleCommands(t.Context(), commands); err != nil {
		t.Fatal(err)
	}
	got := rejected.rejections(t)
	if len(got) != 2 {
		t.Fatalf("%d rejections, want 2: %+v", len(got), got)
	}
	for i, want := range []struct{ remote, raw string }{{"rw.events/1/7", "{not json"}, {"rw.commands/0/3", `{"id":`}} {
		if rej := got[i]; rej.Reason != message.ReasonUndecodable || rej.Source != "responder" || rej.Remote != want.remote ||
			rej.Raw != want.raw || rej.Detail == "" || !rej.ReceivedAt.Equal(at) {
			t.Errorf("rejection %d: %+v, want reason %s from responder at %s", i, rej, message.ReasonUndecodable, want.remote)
		}
	}
	if len(updates.msgs) == 0 {
		t.Error("the good event beside the bad one opened no incident")
	}
	var invalid dto.Metric
	if err := r.m.events.WithLabelValues(incident.OutcomeInvalid).Write(&invalid); err != nil {
		t.Fatal(err)
	}
	if n := invalid.GetCounter().GetValue(); n != 1 {
		t.Errorf("invalid events counted %v, want 1", n)
	}
}

func TestAFailedRejectionWriteAppliesNothingAndIsRetried(t *testing.T) {
	rejected := &fakePublisher{err: errors.New("broker down")}
	r, updates := newTestResponder(t, rejected)
	now := time.Now().UTC()
	good, _ := json.Marshal(exceedance("ev-1", now))
	batch := []kafka.Message{{Topic: "rw.events", Offset: 1, Value: []byte("garbage")}, {Topic: "rw.events", Offset: 2, Value: good}}
	if err := r.handleEvents(t.Context(), batch); err == nil {
		t.Fatal("the batch was accepted although its rejection was not recorded")
	}
	if len(updates.msgs) != 0 || len(r.eng.List()) != 0 {
		t.Errorf("the batch was applied before its rejection was recorded: %d updates", len(updates.msgs))
	}
	rejected.err = nil
	if err := r.handleEvents(t.Context(), batch); err != nil {
		t.Fatal(err)
	}
	if got := rejected.rejections(t); len(got) != 1 || len(updates.msgs) == 0 {
		t.Errorf("retry: %d rejections, %d updates; want 1 and some", len(got), len(updates.msgs))
	}
}

// signed adds km's signature with key, as the api's commander does.
func signed(key message.CommandKey, km kafka.Message) kafka.Message {
	km.Headers = append(km.Headers, kafka.Header{Key: message.HeaderCommandSignature, Value: []byte(key.Sign(km.Value))})
	return km
}

func TestForgedCommandChangesNothingAndIsRecorded(t *testing.T) {
	rejected := &fakePublisher{}
	r, _ := newTestResponder(t, rejected)
	now := time.Now().UTC()
	ev := exceedance("ev-forged", now)
	b, _ := json.Marshal(ev)
	if err := r.handleEvents(t.Context(), []kafka.Message{{Topic: "rw.events", Value: b}}); err != nil {
		t.Fatal(err)
	}
	incID, ok := r.eng.IncidentOf(ev.ID)
	if !ok {
		t.Fatal("the exceedance opened no incident")
	}
	resolve := func(id string) []byte {
		b, _ := json.Marshal(message.Command{ID: id, Type: message.CommandResolve, IncidentID: incID, Actor: "市长",
			ActorRole: auth.RoleAdmin, ActorJurisdictions: []string{auth.AllJurisdictions}, Note: "all clear", At: now})
		return b
	}
	other, err := message.NewCommandKey([]byte("a key that is not the api's key, 32+ bytes long"))
	if err != nil {
		t.Fatal(err)
	}
	altered := signed(r.key, kafka.Message{Value: resolve("c-altered")})
	altered.Value = resolve("c-altered-2") // changed after signing
	tests := []struct {
		name   string
		km     kafka.Message
		reason string
	}{
		{"no signature", kafka.Message{Value: resolve("c-unsigned")}, message.ReasonUnsignedCommand},
		{"signed with another key", signed(other, kafka.Message{Value: resolve("c-other")}), message.ReasonBadSignature},
		{"altered after signing", altered, message.ReasonBadSignature},
		{"a signature that is not hex", kafka.Message{Value: resolve("c-junk"), Headers: []kafka.Header{{Key: message.HeaderCommandSignature, Value: []byte("v1=zz")}}}, message.ReasonBadSignature},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.km.Topic, tt.km.Offset, tt.km.Time = "rw.commands", int64(i), now
			if err := r.handleCommands(t.Context(), []kafka.Message{tt.km}); err != nil {
				t.Fatal(err)
			}
			if inc, _ := r.eng.Get(incID); inc.Status == message.IncidentResolved {
				t.Fatalf("a command with %s resolved the incident", tt.name)
			}
			got := rejected.rejections(t)
			if len(got) != i+1 || got[i].Reason != tt.reason || got[i].Raw != string(tt.km.Value) {
				t.Fatalf("rejections %+v, want #%d with reason %s and the command as raw", got, i, tt.reason)
			}
		})
	}
	var forged dto.Metric
	if err := r.m.commands.WithLabelValues("", message.ReasonBadSignature).Write(&forged); err != nil {
		t.Fatal(err)
	}
	if n := forged.GetCounter().GetValue(); n != 3 {
		t.Errorf("bad signatures counted %v, want 3", n)
	}
	// The genuine command, signed with the api's key, applies.
	if err := r.handleCommands(t.Context(), []kafka.Message{signed(r.key, kafka.Message{Topic: "rw.commands", Offset: 9, Value: resolve("c-genuine")})}); err != nil {
		t.Fatal(err)
	}
	if inc, _ := r.eng.Get(incID); inc.Status != message.IncidentResolved {
		t.Errorf("the signed resolve left the incident %s", inc.Status)
	}
}

// exceedance is an ammonia exceedance at TTH-S2 (Class III, 3.2 mg/L), which opens an
// incident under the repository's playbooks.
func exceedance(id string, now time.Time) message.Event {
	return message.Event{
		ID: id, Type: message.EventExceedanceOpened, Site: "TTH-S2", River: "toutun", Parameter: "nh3n",
		Value: 3.2, Limit: 1.0, TargetClass: "III", Class: "劣V", Multiple: 2.2, Severity: "severe", ObservedAt: now, EmittedAt: now,
	}
}
