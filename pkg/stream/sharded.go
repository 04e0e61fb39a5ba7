package stream

import (
	"context"
	"errors"
	"hash/fnv"
	"sync"

	"github.com/segmentio/kafka-go"
)

// Publisher sends messages to one topic and returns once Kafka acknowledged them all.
// *Writer is one; Sharded fans out over several.
type Publisher interface {
	Publish(ctx context.Context, msgs ...kafka.Message) error
}

// Sharded publishes through several Publishers (writers to the same topic), choosing one
// by message key. kafka-go's Writer has one produce request in flight per partition: the
// messages that arrive meanwhile wait and go in the next batch. That is efficient until a
// batch reaches kafka.batch_size; past it, the queue grows and so does every station's wait.
// Several writers give each partition several requests in flight, and since a key (a site)
// always goes through the same writer, one site's readings stay in order — a station,
// besides, sends its next frame only after the answer to the last. services/gateway uses
// gateway.kafka_writers of them (default 1: on the 2-core development machine more writers
// only meant more, smaller requests).
type Sharded []Publisher

// Publish sends each message through the writer of its key, the writers in parallel, and
// returns once all acknowledged, or the errors.
func (s Sharded) Publish(ctx context.Context, msgs ...kafka.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	if len(s) == 1 {
		return s[0].Publish(ctx, msgs...)
	}
	first := s.shard(msgs[0].Key)
	same := true
	for i := 1; i < len(msgs) && same; i++ {
		same = s.shard(msgs[i].Key) == first
	}
	if same { // the common case: one station's frame
		return s[first].Publish(ctx, msgs...)
	}
	groups := make([][]kafka.Message, len(s))
	for _, m := range msgs {
		i := s.shard(m.Key)
		groups[i] = append(groups[i], m)
	}
	errs := make([]error, len(s))
	var wg sync.WaitGroup
	for i, g := range groups {
		if len(g) > 0 {
			wg.Go(func() { errs[i] = s[i].Publish(ctx, g...) })
		}
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (s Sharded) shard(key []byte) int {
	h := fnv.New32a()
	h.Write(key)
	return int(h.Sum32() % uint32(len(s)))
}
