package archiver

import (
	"context"
	"fmt"
	"time"

	"github.com/riverwatch/riverwatch/pkg/store"
	"github.com/riverwatch/riverwatch/pkg/stream"
	"github.com/segmentio/kafka-go"
)

// Rollups off the commit path
//
//	readings batch ──► insert raw rows ──► publish its dirty buckets ──► commit readings offsets
//	                                        (archiver.rollup_topic)
//	rollup loop    ◄── dirty buckets of rollup_delay, merged ──► rebuild 5 min → hour → day
//	                   ──► record rollup_progress ──► commit rollup-topic offsets
//
// The readings path no longer waits for the rebuild, whose cost grows with the rows already
// in the touched hours: it waits only for the raw insert and one small produce. The dirty
// buckets are durable on Kafka before the readings offsets are committed, and they are
// committed only after their rebuild, so a crash anywhere loses no rebuild: a readings batch
// killed before its commit is replayed and marks its buckets again, a rebuild killed before
// its commit runs again. Rebuilding is idempotent (store/rollup.go), so a bucket rebuilt
// twice, or marked by two batches, counts every reading once.
//
// The topic has one partition, so the rollup loop sees the marks in the order they were
// made, and the Kafka time of the newest mark a rebuild covered is a watermark: every
// reading archived before it is in the rollups (rollup_progress, which the api reports).

// RollupGroupID returns the consumer group of the rollup loop.
func RollupGroupID(prefix string) string { return prefix + "-archiver-rollups" }

// rollupKey keys every mark: one partition, one order.
var rollupKey = []byte("rollups")

// rollupMarker publishes a batch's dirty buckets to the rollup topic.
type rollupMarker struct{ w *stream.Writer }

// mark returns once the buckets are acknowledged by Kafka.
func (m rollupMarker) mark(ctx context.Context, d store.Dirty) error {
	if len(d) == 0 {
		return nil
	}
	v, err := store.EncodeDirty(d)
	if err != nil {
		return err
	}
	if err := m.w.Publish(ctx, kafka.Message{Key: rollupKey, Value: v}); err != nil {
		return fmt.Errorf("record %d dirty rollup buckets: %w", d.Buckets(), err)
	}
	return nil
}

// rebuildMarked is the rollup loop's handler: the buckets of every mark in the batch,
// merged into one rebuild, then the watermark. A mark that does not decode is skipped and
// counted (it names no bucket a reading needs: the readings path writes only valid ones).
func (a *Archiver) rebuildMarked(ctx context.Context, batch []kafka.Message) error {
	dirty := store.Dirty{}
	var through time.Time
	for _, m := range batch {
		d, err := store.DecodeDirty(m.Value)
		if err != nil {
			a.m.Errors.WithLabelValues(a.cfg.Archiver.RollupTopic, "decode").Inc()
			a.log.Warn("dirty rollup mark skipped", "partition", m.Partition, "offset", m.Offset, "err", err)
			continue
		}
		dirty.Merge(d)
		if m.Time.After(through) {
			through = m.Time
		}
	}
	if len(dirty) > 0 {
		if err := a.w.RebuildDirty(ctx, dirty); err != nil {
			a.m.Errors.WithLabelValues(a.cfg.Archiver.RollupTopic, "rollup").Inc()
			return err
		}
	}
	if through.IsZero() {
		return nil
	}
	if err := a.w.RecordRollupProgress(ctx, through); err != nil {
		return err
	}
	a.m.RollupLag.Set(time.Since(through).Seconds())
	return nil
}
