package store

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/segmentio/kafka-go"
)

// TestRawFramesAreStoredOnceAndExpireByMonth writes accepted frames through the archiver's
// insert path twice (a replay), reads them back once, and on a server without TTL drops
// the months past the retention and nothing newer.
func TestRawFramesAreStoredOnceAndExpireByMonth(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	now := time.Now().UTC()
	mk := func(qn string, at time.Time) message.RawFrame {
		return message.RawFrame{ID: message.RawFrameID("65230100000004", qn, "2061", at), Site: "STH-S1", MN: "65230100000004", QN: qn, CN: "2061",
			DataTime: at, ReceivedAt: at.Add(2500 * time.Millisecond), Remote: "10.0.0.7:5000",
			Raw: "QN=" + qn + ";ST=21;CN=2061;PW=***;MN=65230100000004;CP=&&w21003-Avg=1&&", ReadingIDs: []string{"r-" + qn}}
	}
	recent := mk("20261204100000001", now.Truncate(time.Hour).Add(-time.Hour))
	old := mk("20240101100000001", now.AddDate(-2, 0, 0).Truncate(time.Hour))
	var msgs []kafka.Message
	for i, f := range []message.RawFrame{recent, old} {
		v, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, kafka.Message{Topic: e.cfg.Kafka.Topics.RawFrames, Partition: 0, Offset: int64(i), Key: []byte(f.Site), Value: v})
	}
	for range 2 { // delivered again after a rebalance
		if _, err := e.w.Write(ctx, KindRawFrames, e.cfg.Kafka.Topics.RawFrames, msgs); err != nil {
			t.Fatal(err)
		}
	}
	r := NewReader(e.conn, e.schema.Database)
	got, err := r.RawFrames(ctx, RawFrameQuery{Site: "STH-S1", From: old.DataTime, To: now})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != old.ID || got[1].ID != recent.ID || !slices.Equal(got[1].ReadingIDs, recent.ReadingIDs) ||
		got[1].Raw != recent.Raw || !got[1].ReceivedAt.Equal(recent.ReceivedAt) || !got[1].DataTime.Equal(recent.DataTime) {
		t.Fatalf("raw frames read back %+v, want the two written once", got)
	}

	e.w.schema.RawFramesRetentionDays = 400
	dropped, err := e.w.DropExpiredRawFrames(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if e.schema.Features.TTL {
		if len(dropped) != 0 {
			t.Errorf("with TTL the archiver dropped %v itself", dropped)
		}
		return
	}
	if want := old.DataTime.Format("200601"); !slices.Equal(dropped, []string{want}) {
		t.Errorf("dropped %v, want [%s]", dropped, want)
	}
	if n := e.count(t, "SELECT count() FROM %s FINAL", e.table(TableRawFrames)); n != 1 {
		t.Errorf("%d raw frames after the retention, want the recent one", n)
	}
}
