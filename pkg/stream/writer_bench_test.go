package stream_test

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/stream"
	"github.com/riverwatch/riverwatch/pkg/testinfra"
	"github.com/segmentio/kafka-go"
)

// BenchmarkPublish measures Writer.Publish on the real broker in the two shapes riverwatch
// publishes in, for several batch sizes:
//
//	small  200 goroutines each publishing 10 readings per call: the gateway answering
//	       200 stations, one HJ 212 upload per call
//	large  8 goroutines each publishing 1,000 readings per call: the simulator's kafka
//	       mode, the assessor's state after a big batch
//
// It reports messages/s, the p99 of one Publish call and the bytes allocated per message:
// kafka-go allocates a slice of BatchSize messages (152 B each) for every batch it opens,
// however few messages end up in it. Sizes above MaxBatchSize are capped by NewWriter; before
// the cap (2 cores, -count 3, shared machine) small publishes at 5000 did 73–179 k msgs/s with
// 59–71 MB allocated per 10,000 messages, at 1000 289–308 k msgs/s with 12–13 MB; large ones
// 355–441 k msgs/s at 5000 and 357–415 k at 1000 (22–26 MB against 9–10 MB).
//
// Run: RIVERWATCH_INTEGRATION=1 go test -run '^$' -bench BenchmarkPublish -benchtime 20x ./pkg/stream/
func BenchmarkPublish(b *testing.B) {
	brokers := testinfra.KafkaBrokers(b)
	value := []byte(`{"id":"0b3c6a1f9e2d4c5b8a7f6e5d4c3b2a19","site":"LOAD-00017","station":"LD000000000017","parameter":"nh3n","value":0.312,"unit":"mg/L","interval":"rtd","flag":"N","observed_at":"2026-11-28T01:55:06Z","received_at":"2026-11-29T01:55:06.123456789Z","source":"hj212"}`)
	shapes := []struct {
		name         string
		workers, per int // goroutines, messages per Publish call
		calls        int // calls per goroutine per iteration
	}{
		{"small", 200, 10, 5},
		{"large", 8, 1000, 2},
	}
	for _, sh := range shapes {
		for _, size := range []int{100, 500, stream.MaxBatchSize} {
			b.Run(fmt.Sprintf("%s/batch=%d", sh.name, size), func(b *testing.B) {
				topic := testinfra.Name(b)
				ctx := context.Background()
				if err := stream.EnsureTopics(ctx, stream.Plain(brokers...), stream.TopicSpec{Name: topic, Partitions: 6}); err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { deleteTopic(b, brokers[0], topic) })
				w := stream.NewWriter(stream.WriterConfig{Cluster: stream.Plain(brokers...), Topic: topic, BatchSize: size}, nil)
				defer w.Close()
				msgs := make([][]kafka.Message, sh.workers)
				for i := range msgs {
					for j := range sh.per {
						msgs[i] = append(msgs[i], kafka.Message{Key: []byte("LOAD-" + strconv.Itoa((i*sh.per+j)%1000)), Value: value})
					}
				}
				// Warm up: the new topic's metadata reaches the broker's cache, connections open.
				testinfra.Eventually(b, 20*time.Second, "the new topic to take writes", func() bool {
					return w.Publish(ctx, msgs[0]...) == nil
				})
				var mu sync.Mutex
				var lat []time.Duration
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					var wg sync.WaitGroup
					for i := range sh.workers {
						wg.Add(1)
						go func() {
							defer wg.Done()
							for range sh.calls {
								t0 := time.Now()
								if err := w.Publish(ctx, msgs[i]...); err != nil {
									b.Error(err)
									return
								}
								d := time.Since(t0)
								mu.Lock()
								lat = append(lat, d)
								mu.Unlock()
							}
						}()
					}
					wg.Wait()
				}
				n := float64(b.N * sh.workers * sh.calls * sh.per)
				b.ReportMetric(n/b.Elapsed().Seconds(), "msgs/s")
				slices.Sort(lat)
				b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
			})
		}
	}
}

// deleteTopic removes a benchmark's topic, so that runs do not pile up topics on the broker.
func deleteTopic(b *testing.B, broker, topic string) {
	conn, err := kafka.Dial("tcp", broker)
	if err != nil {
		b.Logf("delete topic %s: %v", topic, err)
		return
	}
	defer conn.Close()
	ctrl, err := conn.Controller()
	if err != nil {
		b.Logf("delete topic %s: %v", topic, err)
		return
	}
	cc, err := kafka.Dial("tcp", net.JoinHostPort(ctrl.Host, strconv.Itoa(ctrl.Port)))
	if err != nil {
		b.Logf("delete topic %s: %v", topic, err)
		return
	}
	defer cc.Close()
	if err := cc.DeleteTopics(topic); err != nil {
		b.Logf("delete topic %s: %v", topic, err)
	}
}
