package bench

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/riverwatch/riverwatch/pkg/stream"
)

// hopEvery is how often the raw hop sends its record: 100 a second, so a 20 s run holds
// 2,000 samples, enough for a p99.9.
const hopEvery = 10 * time.Millisecond

// rawHop measures one bare Kafka hop beside the pipeline's load, on the same machine at
// the same moment: a record every hopEvery published with the services' writer (acks=all,
// their batch timeout) to a topic of its own and read back with the bench's reader of
// events, timed from before the publish to its receipt. The pipeline's reading → event
// path crosses two such hops (readings, events) plus the gateway and the assessor, so its
// tail cannot be shorter than the hop's: the hop's p99 says how much of the tail belongs
// to the machine and the broker rather than to riverwatch.
type rawHop struct {
	mu  sync.Mutex
	lat []time.Duration
}

// startRawHop starts the hop on the run's topic name; stop ends it and returns the
// latencies measured.
func (e *Env) startRawHop(ctx context.Context, name string) (stop func() []time.Duration, err error) {
	topic := e.Topic(name)
	cl := stream.Plain(e.Brokers...)
	if err := stream.EnsureTopics(ctx, cl, stream.TopicSpec{Name: topic, Partitions: 1}); err != nil {
		return nil, err
	}
	h := &rawHop{}
	stopReading, err := readFromEnd(ctx, e.Brokers, topic, 1, func(m kafka.Message, at time.Time) {
		if len(m.Value) != 8 {
			return
		}
		sent := time.Unix(0, int64(binary.BigEndian.Uint64(m.Value)))
		h.mu.Lock()
		h.lat = append(h.lat, at.Sub(sent))
		h.mu.Unlock()
	})
	if err != nil {
		return nil, err
	}
	w := stream.NewWriter(stream.WriterConfig{Cluster: cl, Topic: topic, Label: "hop"}, nil)
	// Warm up: the new topic's metadata reaches the broker's cache and the connection
	// opens before the first timed record (the reader ignores this one: not 8 bytes).
	warm := time.Now().Add(20 * time.Second)
	for {
		err := w.Publish(ctx, kafka.Message{Value: []byte("warm up")})
		if err == nil {
			break
		}
		if time.Now().After(warm) || ctx.Err() != nil {
			stopReading()
			w.Close()
			return nil, fmt.Errorf("the raw hop's topic %s takes no writes: %w", topic, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	hctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(hopEvery)
		defer t.Stop()
		for {
			select {
			case <-hctx.Done():
				return
			case <-t.C:
			}
			v := binary.BigEndian.AppendUint64(nil, uint64(time.Now().UnixNano()))
			if err := w.Publish(hctx, kafka.Message{Value: v}); err != nil && hctx.Err() == nil {
				e.Log.Warn("raw hop publish failed", "topic", topic, "err", err)
			}
		}
	}()
	return func() []time.Duration {
		cancel()
		<-done
		time.Sleep(200 * time.Millisecond) // the last records in flight
		stopReading()
		w.Close()
		h.mu.Lock()
		defer h.mu.Unlock()
		return h.lat
	}, nil
}
