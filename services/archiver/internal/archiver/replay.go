package archiver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/riverwatch/riverwatch/pkg/store"
	"github.com/riverwatch/riverwatch/pkg/stream"

	"github.com/segmentio/kafka-go"
)

// ReplayRequest selects a range of a topic to archive again, e.g. to backfill after
// ClickHouse lost data or after an archiver bug. Replaying is harmless: rows are
// deduplicated by their ids and rollups are rebuilt, not added to.
type ReplayRequest struct {
	Kind  store.Kind
	Topic string
	// Partition to replay; -1 replays every partition.
	Partition int
	// By offset: [FromOffset, ToOffset). FromOffset < 0 selects by time instead; ToOffset < 0
	// means the end of the partition as of the start of the replay.
	FromOffset int64
	ToOffset   int64
	// By time (Kafka message timestamps): [From, To); a zero To means the end of the
	// partition as of the start.
	From, To time.Time
	// MaxRows and MaxBytes cut batches, as archiver.max_rows and archiver.max_bytes do
	// the consumer's; both must be > 0.
	MaxRows  int
	MaxBytes int
	// IdleTimeout ends a partition early when no message arrives for this long (default
	// 10 s), so that a range ending in a gap of the log does not wait forever.
	IdleTimeout time.Duration
}

// ReplayStats says what a replay archived.
type ReplayStats struct {
	Partitions int
	Messages   int
	Rows       map[string]int // rows written per table
	Rejected   int            // messages recorded in rejected as undecodable
}

// Replay re-reads a range of a topic, outside any consumer group (nothing is committed), and
// archives it with w in batches.
func Replay(ctx context.Context, cl stream.Cluster, req ReplayRequest, w *store.Writer, log *slog.Logger) (ReplayStats, error) {
	stats := ReplayStats{Rows: map[string]int{}}
	if req.IdleTimeout <= 0 {
		req.IdleTimeout = 10 * time.Second
	}
	if err := req.Validate(); err != nil {
		return stats, fmt.Errorf("replay: %w", err)
	}
	parts, err := stream.Partitions(ctx, cl, req.Topic)
	if err != nil {
		return stats, fmt.Errorf("replay: %w", err)
	}
	if req.Partition >= 0 {
		if !slices.Contains(parts, req.Partition) {
			return stats, fmt.Errorf("replay: topic %s has no partition %d", req.Topic, req.Partition)
		}
		parts = []int{req.Partition}
	}
	for _, p := range parts {
		start, end, err := replayBounds(ctx, cl, req, p)
		if err != nil {
			return stats, err
		}
		stats.Partitions++
		if start >= end {
			log.Info("replay: nothing in range", "topic", req.Topic, "partition", p, "from", start, "to", end)
			continue
		}
		log.Info("replay: partition", "topic", req.Topic, "partition", p, "from_offset", start, "to_offset", end)
		if err := replayPartition(ctx, cl, req, p, start, end, w, &stats, log); err != nil {
			return stats, err
		}
	}
	return stats, nil
}

// replayBounds returns the offsets [start, end) of a partition to replay.
func replayBounds(ctx context.Context, cl stream.Cluster, req ReplayRequest, p int) (int64, int64, error) {
	first, last, err := stream.Bounds(ctx, cl, req.Topic, p)
	if err != nil {
		return 0, 0, fmt.Errorf("replay: %w", err)
	}
	start, end := req.FromOffset, last
	if req.FromOffset < 0 {
		if start, err = stream.OffsetAt(ctx, cl, req.Topic, p, req.From); err != nil {
			return 0, 0, fmt.Errorf("replay: %w", err)
		}
		if !req.To.IsZero() {
			if end, err = stream.OffsetAt(ctx, cl, req.Topic, p, req.To); err != nil {
				return 0, 0, fmt.Errorf("replay: %w", err)
			}
		}
	} else if req.ToOffset >= 0 {
		end = req.ToOffset
	}
	return max(start, first), min(end, last), nil
}

func replayPartition(ctx context.Context, cl stream.Cluster, req ReplayRequest, p int, start, end int64, w *store.Writer, stats *ReplayStats, log *slog.Logger) error {
	var (
		batch []kafka.Message
		size  int
	)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		res, err := w.Write(ctx, req.Kind, req.Topic, batch)
		if err != nil {
			return fmt.Errorf("replay %s/%d stopped; resume with -partition %d -from-offset %d: %w",
				req.Topic, p, p, batch[0].Offset, err)
		}
		stats.Messages += len(batch)
		stats.Rejected += res.Rejected
		for t, n := range res.Rows {
			stats.Rows[t] += n
		}
		batch, size = batch[:0], 0
		return nil
	}
	next := start
	var writeErr error
	cfg := stream.ReaderConfig{Cluster: cl, MaxWait: 500 * time.Millisecond, Idle: req.IdleTimeout}
	err := stream.ReadPartition(ctx, cfg, req.Topic, p, start, end, func(m kafka.Message) error {
		next = m.Offset + 1
		batch = append(batch, m)
		size += len(m.Value)
		if len(batch) >= req.MaxRows || size >= req.MaxBytes {
			writeErr = flush()
			return writeErr
		}
		return nil
	})
	switch {
	case writeErr != nil:
		return writeErr
	case errors.Is(err, stream.ErrIdle):
		log.Warn("replay: no message before the end of the range, partition done early",
			"topic", req.Topic, "partition", p, "next_offset", next, "end", end)
	case err != nil && len(batch) > 0:
		return errors.Join(fmt.Errorf("replay: fetch %s/%d: %w", req.Topic, p, err), flush())
	case err != nil:
		return err
	}
	return flush()
}
