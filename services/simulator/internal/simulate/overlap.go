package simulate

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/stream"
)

// LatestObserved returns the newest observed time among the last readings of each
// partition of the readings topic (up to perPartition of them) that belong to the given
// sites; zero when there are none.
//
// It exists because simulated time starts in the past: a second run within a scenario's
// span of the first replays times the pipeline has already seen, and the assessor ignores a
// reading more than assessor.grace older than its series' newest. `simulator run` checks
// this before it starts instead of telling a story nobody will hear.
func LatestObserved(ctx context.Context, cl stream.Cluster, topic string, sites []string, perPartition int) (time.Time, error) {
	parts, err := stream.Partitions(ctx, cl, topic)
	if err != nil {
		return time.Time{}, err
	}
	var latest time.Time
	for _, p := range parts {
		t, err := latestInPartition(ctx, cl, topic, p, sites, perPartition)
		if err != nil {
			return time.Time{}, err
		}
		if t.After(latest) {
			latest = t
		}
	}
	return latest, nil
}

func latestInPartition(ctx context.Context, cl stream.Cluster, topic string, partition int, sites []string, n int) (time.Time, error) {
	first, last, err := stream.Bounds(ctx, cl, topic, partition)
	if err != nil {
		return time.Time{}, err
	}
	start := max(first, last-int64(n))
	var latest time.Time
	// Idle: a range that ends in a gap of the log must not keep the simulator waiting.
	cfg := stream.ReaderConfig{Cluster: cl, Idle: 5 * time.Second}
	err = stream.ReadPartition(ctx, cfg, topic, partition, start, last, func(m kafka.Message) error {
		var r message.Reading
		if json.Unmarshal(m.Value, &r) == nil && slices.Contains(sites, r.Site) && r.ObservedAt.After(latest) {
			latest = r.ObservedAt
		}
		return nil
	})
	if err != nil && !errors.Is(err, stream.ErrIdle) {
		return time.Time{}, err
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
