package assessor

import (
	"context"
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/riverwatch/riverwatch/pkg/stream"
	"github.com/riverwatch/riverwatch/services/assessor/internal/engine"
)

// restoreTimeout bounds the loading of the state topic.
const restoreTimeout = 2 * time.Minute

// restore rebuilds the engine from the compacted state topic: every record is read up to
// the end the topic had when the restore began, the newest per key kept. Series and
// stations of the assigned partitions are restored in full; the rest is kept as context
// (the latest values that predictions mix with). It returns where each state partition
// ended, for the tailer, and the high watermark of each assigned readings partition.
func (a *Assessor) restore(ctx context.Context, own map[int32]bool, assigned []stream.Assignment) (ends map[int]int64, highest map[int]int64, err error) {
	ctx, cancel := context.WithTimeout(ctx, restoreTimeout)
	defer cancel()
	a.m.restores.Inc()
	start := time.Now()

	highest = map[int]int64{}
	for _, p := range assigned {
		_, end, err := stream.Bounds(ctx, a.cfg.Kafka, a.cfg.ReadingsTopic, p.Partition)
		if err != nil {
			return nil, nil, err
		}
		highest[p.Partition] = end
	}

	state, err := stream.ReadCompacted(ctx, stream.ReaderConfig{Cluster: a.cfg.Kafka}, a.cfg.StateTopic)
	if err != nil {
		return nil, nil, err
	}
	latest := make([]engine.Record, 0, len(state.Values))
	var bad int
	for k, v := range state.Values {
		rec, err := engine.DecodeRecord([]byte(k), v)
		if err != nil {
			bad++
			a.log.Warn("undecodable state record", "topic", a.cfg.StateTopic, "key", k, "err", err)
			continue
		}
		latest = append(latest, rec)
	}

	a.mu.Lock()
	defer a.mu.Unlock()
	a.engine.Reset()
	for _, rec := range latest {
		if err := a.engine.Import(rec, own[rec.Partition()]); err != nil {
			// A site or parameter that left the network: its state is of no use.
			a.log.Warn("state record skipped", "topic", a.cfg.StateTopic, "key", rec.Key, "err", err)
		}
	}
	a.m.restoredRecords.Add(float64(len(latest)))
	a.log.Info("state loaded", "topic", a.cfg.StateTopic, "records", len(latest), "undecodable", bad,
		"took", time.Since(start).Round(time.Millisecond))
	return state.Ends, highest, nil
}

// tail follows one state partition from where the restore stopped and keeps the context
// of the partitions other instances own up to date: their latest values feed this
// instance's predictions.
func (a *Assessor) tail(ctx context.Context, own map[int32]bool, p int, from int64) {
	err := stream.ReadPartition(ctx, stream.ReaderConfig{Cluster: a.cfg.Kafka, MaxWait: time.Second}, a.cfg.StateTopic, p, from, -1,
		func(m kafka.Message) error {
			if p, ok := readingsPartitionOf(m); ok && own[p] {
				return nil // ours: known without decoding it (a quarter of the CPU when it was decoded)
			}
			rec, err := engine.DecodeRecord(m.Key, m.Value)
			if err != nil || rec.Partition() < 0 || own[rec.Partition()] {
				return nil // ours (we wrote it), or not from Kafka
			}
			a.mu.Lock()
			_ = a.engine.Import(rec, false) // unknown sites are skipped, as in restore
			a.mu.Unlock()
			return nil
		})
	if err != nil && ctx.Err() == nil {
		a.log.Warn("tail state", "topic", a.cfg.StateTopic, "partition", p, "err", err)
	}
}

// headerReadingsPartition names, on a state record, the readings partition whose series
// it describes, so that the tailer can skip its own records without decoding them.
// Records written before the header existed are decoded, as they always were.
const headerReadingsPartition = "riverwatch-readings-partition"

func readingsPartitionHeader(p int32) kafka.Header {
	return kafka.Header{Key: headerReadingsPartition, Value: strconv.AppendInt(nil, int64(p), 10)}
}

// readingsPartitionOf reads the header readingsPartitionHeader wrote.
func readingsPartitionOf(m kafka.Message) (int32, bool) {
	for _, h := range m.Headers {
		if h.Key == headerReadingsPartition {
			p, err := strconv.ParseInt(string(h.Value), 10, 32)
			return int32(p), err == nil
		}
	}
	return 0, false
}
