package stream

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/segmentio/kafka-go"
)

// ErrIdle is returned by ReadPartition when no message arrived for ReaderConfig.Idle.
var ErrIdle = errors.New("no message within the idle timeout")

// ReaderConfig configures the readers outside consumer groups: ReadPartition and
// ReadCompacted. Nothing they read is committed.
type ReaderConfig struct {
	Cluster Cluster
	// MaxWait bounds a fetch's wait at the broker (default 100 ms).
	MaxWait time.Duration
	// Idle, when positive, ends a read with ErrIdle when no message arrived for this long,
	// so that a range ending in a gap of the log (compaction, transactions) does not wait
	// forever.
	Idle time.Duration
}

// Partitions lists a topic's partition ids, in order.
func Partitions(ctx context.Context, cl Cluster, topic string) ([]int, error) {
	broker, err := cl.first()
	if err != nil {
		return nil, err
	}
	conn, err := cl.dialer().DialContext(ctx, "tcp", broker)
	if err != nil {
		return nil, fmt.Errorf("dial kafka %s: %w", broker, err)
	}
	defer conn.Close()
	ps, err := conn.ReadPartitions(topic)
	if err != nil {
		return nil, fmt.Errorf("partitions of %s: %w", topic, err)
	}
	if len(ps) == 0 {
		return nil, fmt.Errorf("topic %s has no partitions", topic)
	}
	out := make([]int, 0, len(ps))
	for _, p := range ps {
		out = append(out, p.ID)
	}
	slices.Sort(out)
	return out, nil
}

// Bounds returns a partition's first offset and its end (the offset the next message
// written will get).
func Bounds(ctx context.Context, cl Cluster, topic string, partition int) (first, end int64, err error) {
	err = withLeader(ctx, cl, topic, partition, func(c *kafka.Conn) error {
		first, end, err = c.ReadOffsets()
		return err
	})
	if err != nil {
		return 0, 0, fmt.Errorf("offsets of %s/%d: %w", topic, partition, err)
	}
	return first, end, nil
}

// OffsetAt returns the offset of a partition's first message at or after t (by message
// timestamp), or the partition's end when there is none. It is resolved now, as a number,
// so that a message published before a reader's first fetch is not skipped (kafka-go's
// LastOffset would be resolved only at that fetch).
func OffsetAt(ctx context.Context, cl Cluster, topic string, partition int, t time.Time) (int64, error) {
	var off int64
	err := withLeader(ctx, cl, topic, partition, func(c *kafka.Conn) error {
		var err error
		if off, err = c.ReadOffset(t); err == nil && off < 0 {
			off, err = c.ReadLastOffset()
		}
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("offset of %s/%d at %s: %w", topic, partition, t.Format(time.RFC3339), err)
	}
	return off, nil
}

func withLeader(ctx context.Context, cl Cluster, topic string, partition int, f func(*kafka.Conn) error) error {
	broker, err := cl.first()
	if err != nil {
		return err
	}
	conn, err := cl.dialer().DialLeader(ctx, "tcp", broker, topic, partition)
	if err != nil {
		return fmt.Errorf("dial leader: %w", err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl) // best effort: the call then fails instead of hanging
	}
	return f(conn)
}

// newPartitionReader returns a kafka-go reader of one partition (no group) positioned at
// offset; queue is how many messages it may fetch ahead.
func newPartitionReader(cl Cluster, topic string, partition int, offset int64, maxWait time.Duration, queue int) (*kafka.Reader, error) {
	if maxWait <= 0 {
		maxWait = 100 * time.Millisecond
	}
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers:          cl.Brokers,
		Dialer:           cl.dialer(),
		Topic:            topic,
		Partition:        partition,
		MinBytes:         1,
		MaxBytes:         16 << 20,
		MaxWait:          maxWait,
		ReadBatchTimeout: maxWait + time.Second,
		QueueCapacity:    max(queue, 100),
	})
	if err := r.SetOffset(offset); err != nil {
		r.Close()
		return nil, fmt.Errorf("seek %s/%d to %d: %w", topic, partition, offset, err)
	}
	return r, nil
}

// ReadPartition reads one partition of a topic, outside any consumer group, from offset
// from up to (not including) to, and calls fn with each message in order. to < 0 reads until
// ctx is done (then it returns nil). It returns nil once the message before to was read —
// compaction leaves gaps in offsets, so "before to" is any offset ≥ to-1 — or fn's error,
// or ErrIdle (see ReaderConfig.Idle).
func ReadPartition(ctx context.Context, cfg ReaderConfig, topic string, partition int, from, to int64, fn func(kafka.Message) error) error {
	if to >= 0 && from >= to {
		return nil
	}
	r, err := newPartitionReader(cfg.Cluster, topic, partition, from, cfg.MaxWait, 0)
	if err != nil {
		return err
	}
	defer r.Close()
	for {
		fctx, cancel := ctx, context.CancelFunc(func() {})
		if cfg.Idle > 0 {
			fctx, cancel = context.WithTimeout(ctx, cfg.Idle)
		}
		m, err := r.FetchMessage(fctx)
		cancel()
		if err != nil {
			switch {
			case to < 0 && ctx.Err() != nil:
				return nil
			case ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded):
				return fmt.Errorf("read %s/%d at %d: %w", topic, partition, r.Offset(), ErrIdle)
			}
			return fmt.Errorf("read %s/%d at %d: %w", topic, partition, r.Offset(), err)
		}
		if to >= 0 && m.Offset >= to {
			return nil
		}
		if err := fn(m); err != nil {
			return err
		}
		if to >= 0 && m.Offset+1 >= to {
			return nil
		}
	}
}

// Compacted is a compacted topic read to its end: the newest value of every key, and where
// each partition ended (to follow it from there).
type Compacted struct {
	Values map[string][]byte
	Ends   map[int]int64
}

// ReadCompacted reads every partition of a compacted topic from its first offset to the
// end it had when the call began and keeps the newest value of each key; a tombstone (an
// empty value) removes its key.
func ReadCompacted(ctx context.Context, cfg ReaderConfig, topic string) (Compacted, error) {
	out := Compacted{Values: map[string][]byte{}, Ends: map[int]int64{}}
	parts, err := Partitions(ctx, cfg.Cluster, topic)
	if err != nil {
		return out, err
	}
	for _, p := range parts {
		end, err := readCompactedPartition(ctx, cfg, topic, p, out.Values)
		if err != nil {
			return out, err
		}
		out.Ends[p] = end
	}
	return out, nil
}

// ReadCompactedPartition is ReadCompacted of one partition: the newest value of each key
// in it, and where it ended.
func ReadCompactedPartition(ctx context.Context, cfg ReaderConfig, topic string, partition int) (map[string][]byte, int64, error) {
	vals := map[string][]byte{}
	end, err := readCompactedPartition(ctx, cfg, topic, partition, vals)
	return vals, end, err
}

func readCompactedPartition(ctx context.Context, cfg ReaderConfig, topic string, partition int, vals map[string][]byte) (int64, error) {
	first, end, err := Bounds(ctx, cfg.Cluster, topic, partition)
	if err != nil {
		return 0, err
	}
	return end, ReadPartition(ctx, cfg, topic, partition, first, end, func(m kafka.Message) error {
		if len(m.Value) == 0 {
			delete(vals, string(m.Key))
		} else {
			vals[string(m.Key)] = m.Value
		}
		return nil
	})
}
