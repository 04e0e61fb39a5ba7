package ingest

import (
	"context"
	"errors"
	"testing"

	"github.com/segmentio/kafka-go"
)

func TestShardedKeepsAKeyOnOneWriterAndJoinsErrors(t *testing.T) {
	ws := []*fakePublisher{{}, {}, {}}
	s := Sharded{ws[0], ws[1], ws[2]}
	var msgs []kafka.Message
	for _, k := range []string{"STH-S1", "STH-S2", "TTH-S1", "TTH-O1", "STH-S1", "STH-D1"} {
		msgs = append(msgs, kafka.Message{Key: []byte(k), Value: []byte(k)})
	}
	for range 3 {
		if err := s.Publish(context.Background(), msgs...); err != nil {
			t.Fatal(err)
		}
	}
	where := map[string]int{}
	total := 0
	for i, w := range ws {
		for _, m := range w.msgs {
			if j, ok := where[string(m.Key)]; ok && j != i {
				t.Errorf("key %s went through writers %d and %d", m.Key, j, i)
			}
			where[string(m.Key)] = i
			total++
		}
	}
	if total != 3*len(msgs) {
		t.Fatalf("%d messages published, want %d", total, 3*len(msgs))
	}
	if len(map[int]bool{where["STH-S1"]: true, where["STH-S2"]: true, where["TTH-S1"]: true, where["TTH-O1"]: true, where["STH-D1"]: true}) < 2 {
		t.Errorf("every key on one writer: %v", where)
	}
	// A failing writer fails the call.
	ws[where["STH-S2"]].setFail(errKafkaDown)
	if err := s.Publish(context.Background(), msgs...); !errors.Is(err, errKafkaDown) {
		t.Fatalf("err = %v", err)
	}
}
