package stream

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/segmentio/kafka-go"
)

// recordingPublisher records what it is asked to publish and fails with fail once set.
type recordingPublisher struct {
	mu   sync.Mutex
	msgs []kafka.Message
	fail error
}

func (p *recordingPublisher) Publish(_ context.Context, msgs ...kafka.Message) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail != nil {
		return p.fail
	}
	p.msgs = append(p.msgs, msgs...)
	return nil
}

func (p *recordingPublisher) setFail(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fail = err
}

func TestShardedKeepsAKeyOnOneWriterAndJoinsErrors(t *testing.T) {
	ws := []*recordingPublisher{{}, {}, {}}
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
	errKafkaDown := errors.New("kafka: connection refused")
	ws[where["STH-S2"]].setFail(errKafkaDown)
	if err := s.Publish(context.Background(), msgs...); !errors.Is(err, errKafkaDown) {
		t.Fatalf("err = %v", err)
	}
}
