package assessor

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/riverwatch/riverwatch/services/assessor/internal/engine"
)

// restoreTimeout bounds the loading of the state topic.
const restoreTimeout = 2 * time.Minute

// restore rebuilds the engine from the compacted state topic: every record is read up to
// the end the topic had when the restore began, the newest per key kept. Series and
// stations of the assigned partitions are restored in full; the rest is kept as context
// (the latest values that predictions mix with). It returns where each state partition
// ended, for the tailer, and the high watermark of each assigned readings partition.
func (a *Assessor) restore(ctx context.Context, own map[int32]bool, assigned []kafka.PartitionAssignment) (ends map[int]int64, highest map[int]int64, err error) {
	ctx, cancel := context.WithTimeout(ctx, restoreTimeout)
	defer cancel()
	a.m.restores.Inc()
	start := time.Now()

	highest = map[int]int64{}
	for _, p := range assigned {
		_, last, err := a.offsets(ctx, a.cfg.ReadingsTopic, p.ID)
		if err != nil {
			return nil, nil, err
		}
		highest[p.ID] = last
	}

	parts, err := a.partitions(ctx, a.cfg.StateTopic)
	if err != nil {
		return nil, nil, err
	}
	latest := map[string]engine.Record{}
	ends = map[int]int64{}
	var bad int
	for _, p := range parts {
		first, last, err := a.offsets(ctx, a.cfg.StateTopic, p)
		if err != nil {
			return nil, nil, err
		}
		ends[p] = last
		if last <= first {
			continue
		}
		n, err := a.readState(ctx, p, first, last, func(rec engine.Record) { latest[rec.Key] = rec })
		if err != nil {
			return nil, nil, err
		}
		bad += n
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
	return ends, highest, nil
}

// readState reads one state partition from first up to (not including) last, handing each
// record to apply. It returns how many records could not be decoded (skipped, logged).
func (a *Assessor) readState(ctx context.Context, p int, first, last int64, apply func(engine.Record)) (int, error) {
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers: a.cfg.Brokers, Topic: a.cfg.StateTopic, Partition: p,
		MinBytes: 1, MaxBytes: 16 << 20, MaxWait: 100 * time.Millisecond,
	})
	defer r.Close()
	if err := r.SetOffset(first); err != nil {
		return 0, fmt.Errorf("state partition %d: %w", p, err)
	}
	bad := 0
	for {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			return bad, fmt.Errorf("read state partition %d at %d of %d: %w", p, r.Offset(), last, err)
		}
		rec, err := engine.DecodeRecord(m.Key, m.Value)
		if err != nil {
			bad++
			a.log.Warn("undecodable state record", "topic", a.cfg.StateTopic, "partition", p, "offset", m.Offset, "err", err)
		} else {
			apply(rec)
		}
		// Compaction leaves gaps in offsets, never removes the last record.
		if m.Offset+1 >= last {
			return bad, nil
		}
	}
}

// tail follows one state partition from where the restore stopped and keeps the context
// of the partitions other instances own up to date: their latest values feed this
// instance's predictions.
func (a *Assessor) tail(ctx context.Context, own map[int32]bool, p int, from int64) {
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers: a.cfg.Brokers, Topic: a.cfg.StateTopic, Partition: p,
		MinBytes: 1, MaxBytes: 16 << 20, MaxWait: time.Second,
	})
	defer r.Close()
	if err := r.SetOffset(from); err != nil {
		a.log.Warn("tail state", "topic", a.cfg.StateTopic, "partition", p, "err", err)
		return
	}
	for {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			if ctx.Err() == nil {
				a.log.Warn("tail state", "topic", a.cfg.StateTopic, "partition", p, "err", err)
			}
			return
		}
		rec, err := engine.DecodeRecord(m.Key, m.Value)
		if err != nil || rec.Partition() < 0 || own[rec.Partition()] {
			continue // ours (we wrote it), or not from Kafka
		}
		a.mu.Lock()
		_ = a.engine.Import(rec, false) // unknown sites are skipped, as in restore
		a.mu.Unlock()
	}
}

// partitions lists a topic's partitions.
func (a *Assessor) partitions(ctx context.Context, topic string) ([]int, error) {
	var d kafka.Dialer
	conn, err := d.DialContext(ctx, "tcp", a.cfg.Brokers[0])
	if err != nil {
		return nil, fmt.Errorf("dial kafka: %w", err)
	}
	defer conn.Close()
	ps, err := conn.ReadPartitions(topic)
	if err != nil {
		return nil, fmt.Errorf("partitions of %s: %w", topic, err)
	}
	if len(ps) == 0 {
		return nil, errors.New("topic " + topic + " has no partitions")
	}
	out := make([]int, 0, len(ps))
	for _, p := range ps {
		out = append(out, p.ID)
	}
	return out, nil
}

// offsets returns a partition's first and last (next to be written) offsets.
func (a *Assessor) offsets(ctx context.Context, topic string, p int) (first, last int64, err error) {
	conn, err := kafka.DialLeader(ctx, "tcp", a.cfg.Brokers[0], topic, p)
	if err != nil {
		return 0, 0, fmt.Errorf("dial leader of %s/%d: %w", topic, p, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	first, last, err = conn.ReadOffsets()
	if err != nil {
		return 0, 0, fmt.Errorf("offsets of %s/%d: %w", topic, p, err)
	}
	return first, last, nil
}
