package store

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/config"
	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/segmentio/kafka-go"
)

func msgOf(t *testing.T, v any, partition int, offset int64) kafka.Message {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return kafka.Message{Value: b, Partition: partition, Offset: offset, Time: time.Date(2025, 6, 1, 8, 0, 0, 0, time.UTC)}
}

var t0 = time.Date(2025, 6, 1, 7, 59, 30, 250e6, time.UTC)

func sampleBatch(t *testing.T) *batchRows {
	t.Helper()
	lo := 1.0
	msgs := []kafka.Message{
		msgOf(t, message.Reading{ID: "r1", Site: "S1", Parameter: "cod", Value: 12, Unit: "mg/L", Min: &lo, Interval: "hour", Flag: "N", ObservedAt: t0, ReceivedAt: t0}, 0, 1),
		msgOf(t, message.Rejection{Reason: "crc", Source: "hj212", Raw: "##bad", ReceivedAt: t0}, 0, 2),
		msgOf(t, message.Event{Type: message.EventExceedanceOpened, Site: "S1", Parameter: "cod", ObservedAt: t0, EmittedAt: t0}, 0, 3),
		msgOf(t, message.IncidentUpdate{Kind: message.UpdateIncident, Incident: &message.Incident{ID: "i1", Version: 2, OpenedAt: t0, UpdatedAt: t0}}, 0, 4),
		msgOf(t, message.IncidentUpdate{Kind: message.UpdateLog, Log: &message.LogEntry{ID: "l1", IncidentID: "i1", At: t0}}, 0, 5),
		msgOf(t, message.IncidentUpdate{Kind: message.UpdateNotification, Notification: &message.Notification{ID: "n1", Key: "k1", IncidentID: "i1", Attempt: 1, At: t0}}, 0, 6),
	}
	kinds := []Kind{KindReadings, KindRejected, KindEvents, KindIncidents, KindIncidents, KindIncidents}
	all := &batchRows{touched: touchedSet{}, intern: message.Interner{}}
	for i, m := range msgs {
		if err := all.add(kinds[i], m); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	return all
}

func TestBlocksNameEveryColumnOfTheirTableInOrder(t *testing.T) {
	b := sampleBatch(t)
	specs := map[string]tableSpec{}
	for _, tb := range tables {
		specs[tb.name] = tb
	}
	got := b.blocks()
	if len(got) != 6 {
		t.Fatalf("%d blocks, want one per raw table (6)", len(got))
	}
	for _, bl := range got {
		spec, ok := specs[bl.table]
		if !ok {
			t.Fatalf("block for unknown table %s", bl.table)
		}
		if !slices.Equal(bl.names(), spec.columnNames()) {
			t.Errorf("%s: block columns %v\nwant table columns %v", bl.table, bl.names(), spec.columnNames())
		}
		for _, c := range bl.cols {
			if n := reflect.ValueOf(c.data).Len(); n != bl.rows {
				t.Errorf("%s.%s has %d values for %d rows", bl.table, c.name, n, bl.rows)
			}
		}
	}
}

func TestDecodeRoutesIncidentUpdatesByKind(t *testing.T) {
	b := sampleBatch(t)
	if len(b.incidents.id) != 1 || len(b.logs.id) != 1 || len(b.notifications.id) != 1 {
		t.Errorf("incidents %d, log %d, notifications %d; want 1 each", len(b.incidents.id), len(b.logs.id), len(b.notifications.id))
	}
	if got := b.incidents.steps[0]; got != "[]" {
		t.Errorf("steps of an incident without steps = %q, want []", got)
	}
	var doc message.Incident
	if err := json.Unmarshal([]byte(b.incidents.doc[0]), &doc); err != nil || doc.ID != "i1" || doc.Version != 2 {
		t.Errorf("doc = %s (%v)", b.incidents.doc[0], err)
	}
}

func TestDecodeFillsMissingIDsDeterministically(t *testing.T) {
	b := sampleBatch(t)
	wantRej := message.RejectionID("hj212", "crc", t0, "##bad")
	if b.rejected.id[0] != wantRej {
		t.Errorf("rejection id %q, want %q", b.rejected.id[0], wantRej)
	}
	wantEv := message.EventID(message.EventExceedanceOpened, "S1", "cod", t0, "")
	if b.events.id[0] != wantEv {
		t.Errorf("event id %q, want %q", b.events.id[0], wantEv)
	}
	// Times are stored as seconds plus milliseconds.
	if !b.readings.observedAt[0].Equal(t0.Truncate(time.Second)) || b.readings.observedMs[0] != 250 {
		t.Errorf("observed %v + %d ms, want %v + 250", b.readings.observedAt[0], b.readings.observedMs[0], t0.Truncate(time.Second))
	}
	if b.readings.version[0] != ReadingVersion(t0) {
		t.Errorf("reading version %d, want ReadingVersion(received_at) %d", b.readings.version[0], ReadingVersion(t0))
	}
}

func TestTheFirstReceiptOfAReadingHasTheHighestVersion(t *testing.T) {
	t0 := time.Date(2025, 6, 1, 8, 0, 0, 0, time.UTC)
	tests := []struct {
		name          string
		first, second time.Time
		want          int // sign of ReadingVersion(first) - ReadingVersion(second)
	}{
		{"a resend an hour later loses", t0, t0.Add(time.Hour), +1},
		{"a resend a millisecond later loses", t0, t0.Add(time.Millisecond), +1},
		{"a replay of the same record ties: one row", t0, t0, 0},
		{"a receipt before 1970 is clamped, never wraps", time.Unix(-5, 0), time.Unix(0, 0), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := ReadingVersion(tt.first), ReadingVersion(tt.second)
			got := 0
			if a > b {
				got = 1
			} else if a < b {
				got = -1
			}
			if got != tt.want {
				t.Errorf("versions %d and %d: order %d, want %d", a, b, got, tt.want)
			}
		})
	}
}

func TestUnarchivableMessagesBecomeRejections(t *testing.T) {
	good := message.Reading{ID: "r1", Site: "S1", Parameter: "cod", Value: 1, Flag: "N", ObservedAt: t0, ReceivedAt: t0}
	tests := []struct {
		name string
		kind Kind
		msg  kafka.Message
		want string // in the detail
	}{
		{"bad json", KindReadings, kafka.Message{Value: []byte(`{"site":`), Offset: 7}, "reading:"},
		{"reading without site", KindReadings, msgOf(t, message.Reading{Parameter: "cod", ObservedAt: t0}, 0, 7), "site and parameter"},
		{"reading without time", KindReadings, msgOf(t, message.Reading{Site: "S1", Parameter: "cod"}, 0, 7), "observed_at"},
		{"reading value beyond float64", KindReadings, kafka.Message{Value: []byte(`{"site":"S1","parameter":"cod","value":1e999,"observed_at":"2025-01-01T00:00:00Z"}`), Offset: 7}, "reading"},
		{"event without type", KindEvents, msgOf(t, message.Event{Site: "S1", ObservedAt: t0}, 0, 7), "type and site"},
		{"rejection without reason", KindRejected, msgOf(t, message.Rejection{Raw: "x"}, 0, 7), "no reason"},
		{"unknown update kind", KindIncidents, msgOf(t, message.IncidentUpdate{Kind: "gossip"}, 0, 7), "unknown kind"},
		{"incident kind without incident", KindIncidents, msgOf(t, message.IncidentUpdate{Kind: message.UpdateIncident}, 0, 7), "without an incident id"},
		{"notification without key", KindIncidents, msgOf(t, message.IncidentUpdate{Kind: message.UpdateNotification, Notification: &message.Notification{IncidentID: "i1"}}, 0, 7), "without incident_id or key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			goodMsg := msgOf(t, good, 0, 6)
			msgs := []kafka.Message{tt.msg}
			if tt.kind == KindReadings {
				msgs = append([]kafka.Message{goodMsg}, tt.msg)
			}
			b := decodeBatch(tt.kind, "rw.topic", msgs)
			if len(b.failures) != 1 || len(b.rejected.id) != 1 {
				t.Fatalf("failures %d, rejected rows %d; want 1 and 1", len(b.failures), len(b.rejected.id))
			}
			if tt.kind == KindReadings && len(b.readings.id) != 1 {
				t.Errorf("the good reading beside the bad one was not kept")
			}
			if b.rejected.reason[0] != ReasonDecode || !strings.Contains(b.rejected.detail[0], tt.want) ||
				!strings.Contains(b.rejected.detail[0], "rw.topic partition 0 offset 7") {
				t.Errorf("rejection reason %q detail %q", b.rejected.reason[0], b.rejected.detail[0])
			}
			again := decodeBatch(tt.kind, "rw.topic", msgs)
			if again.rejected.id[0] != b.rejected.id[0] {
				t.Errorf("the same message got two rejection ids: %s, %s", b.rejected.id[0], again.rejected.id[0])
			}
		})
	}
}

func TestTimesOutsideDateTimeAreClamped(t *testing.T) {
	for _, tt := range []struct {
		in   time.Time
		want time.Time
	}{
		{time.Time{}, epoch},
		{time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC), epoch},
		{time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC), maxTime},
		{time.Date(2025, 1, 1, 8, 0, 0, 0, time.FixedZone("CST", 8*3600)), time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		if got := sec(tt.in); !got.Equal(tt.want) || got.Location() != time.UTC {
			t.Errorf("sec(%v) = %v, want %v UTC", tt.in, got, tt.want)
		}
	}
	if nullTime(nil) != nil || optTime(time.Time{}) != nil {
		t.Error("absent times must stay NULL")
	}
}

func TestOffsetRangesDescribeEachPartition(t *testing.T) {
	msgs := []kafka.Message{{Partition: 2, Offset: 9}, {Partition: 0, Offset: 100}, {Partition: 2, Offset: 7}, {Partition: 0, Offset: 250}}
	if got, want := offsetRanges("rw.readings", msgs), "rw.readings|p0:100-250,p2:7-9"; got != want {
		t.Errorf("offsetRanges = %q, want %q", got, want)
	}
}

func TestParseKindAcceptsKindOrTopicName(t *testing.T) {
	topics := config.Topics{Readings: "t.readings", Rejected: "t.rejected", Events: "t.events", Incidents: "t.incidents", Commands: "t.commands", Corrections: "t.corrections"}
	for _, in := range []string{"events", "t.events"} {
		k, topic, err := ParseKind(topics, in)
		if err != nil || k != KindEvents || topic != "t.events" {
			t.Errorf("ParseKind(%q) = %q, %q, %v", in, k, topic, err)
		}
	}
	if _, _, err := ParseKind(topics, "t.commands"); err == nil {
		t.Error("commands are not archived, ParseKind accepted them")
	}
}

// A correction outranks every receipt, whenever either happened, and the later correction
// outranks the earlier.
func TestACorrectionOutranksEveryReceiptAndTheLaterCorrectionWins(t *testing.T) {
	early, late := time.Unix(0, 0), time.Date(2105, 12, 31, 0, 0, 0, 0, time.UTC)
	for _, receipt := range []time.Time{early, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), late} {
		for _, corrected := range []time.Time{early, late} {
			if CorrectionVersion(corrected) <= ReadingVersion(receipt) {
				t.Errorf("correction at %s ≤ receipt at %s", corrected, receipt)
			}
		}
	}
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	if CorrectionVersion(t0.Add(time.Millisecond)) <= CorrectionVersion(t0) {
		t.Error("the later correction does not win")
	}
}
