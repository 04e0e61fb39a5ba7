package simulate

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/riverwatch/riverwatch/pkg/message"
)

// LatestObserved returns the newest observed time among the last readings of each
// partition of the readings topic (up to perPartition of them) that belong to the given
// sites; zero when there are none.
//
// It exists because simulated time starts in the past: a second run within a scenario's
// span of the first replays times the pipeline has already seen, and the assessor ignores a
// reading more than assessor.grace older than its series' newest. `simulator run` checks
// this before it starts instead of telling a story nobody will hear.
func LatestObserved(ctx context.Context, brokers []string, topic string, sites []string, perPartition int) (time.Time, error) {
	parts, err := partitions(ctx, brokers, topic)
	if err != nil {
		return time.Time{}, err
	}
	var latest time.Time
	for _, p := range parts {
		t, err := latestInPartition(ctx, brokers, topic, p, sites, perPartition)
		if err != nil {
			return time.Time{}, err
		}
		if t.After(latest) {
			latest = t
		}
	}
	return latest, nil
}

func latestInPartition(ctx context.Context, brokers []string, topic string, partition int, sites []string, n int) (time.Time, error) {
	var d kafka.Dialer
	conn, err := d.DialLeader(ctx, "tcp", brokers[0], topic, partition)
	if err != nil {
		return time.Time{}, fmt.Errorf("dial %s[%d]: %w", topic, partition, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	first, last, err := conn.ReadOffsets()
	if err != nil {
		return time.Time{}, fmt.Errorf("offsets of %s[%d]: %w", topic, partition, err)
	}
	start := max(first, last-int64(n))
	if start >= last {
		return time.Time{}, nil
	}
	if _, err := conn.Seek(start, kafka.SeekAbsolute); err != nil {
		return time.Time{}, fmt.Errorf("seek %s[%d]: %w", topic, partition, err)
	}
	batch := conn.ReadBatch(1, 16<<20)
	defer batch.Close()
	var latest time.Time
	for off := start; off < last; off++ {
		m, err := batch.ReadMessage()
		if err != nil {
			break // the batch ended (a fetch returns what the broker had at hand)
		}
		var r message.Reading
		if json.Unmarshal(m.Value, &r) != nil || !slices.Contains(sites, r.Site) {
			continue
		}
		if r.ObservedAt.After(latest) {
			latest = r.ObservedAt
		}
	}
	return latest, nil
}

// Overlap says whether a scenario about to start at simStart would replay times the
// pipeline already holds for its stations (latest), so that its story could not be told;
// drills alone do not depend on readings and never overlap.
func (sc *Scenario) Overlap(simStart, latest time.Time) bool {
	if latest.IsZero() || !latest.After(simStart) {
		return false
	}
	for _, h := range sc.Timeline {
		if h.Kind != KindDrill {
			return true
		}
	}
	return false
}
