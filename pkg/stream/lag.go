package stream

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"
)

// DefaultLagInterval is how often a Consumer measures its lag against the brokers when
// ConsumerConfig.LagInterval is zero.
const DefaultLagInterval = 15 * time.Second

// partitionEnds are the first and last offsets of partitions (last: the offset the next
// record will get, the high watermark).
type partitionEnds map[int]struct{ first, last int64 }

// listEnds asks the brokers for the ends of topic's partitions.
func listEnds(ctx context.Context, cl Cluster, topic string, partitions []int) (partitionEnds, error) {
	if len(cl.Brokers) == 0 {
		return nil, fmt.Errorf("list offsets of %s: no kafka brokers", topic)
	}
	// A transport of its own, also on a plaintext cluster: kafka-go's shared default caches
	// metadata, and a writer on it would not see a topic created after that for seconds.
	t := cl.transport()
	if t == nil {
		t = &kafka.Transport{}
	}
	defer t.CloseIdleConnections()
	client := &kafka.Client{Addr: kafka.TCP(cl.Brokers...), Timeout: 10 * time.Second, Transport: t}
	req := &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: nil}}
	for _, p := range partitions {
		req.Topics[topic] = append(req.Topics[topic], kafka.FirstOffsetOf(p), kafka.LastOffsetOf(p))
	}
	res, err := client.ListOffsets(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("list offsets of %s: %w", topic, err)
	}
	ends := partitionEnds{}
	for _, po := range res.Topics[topic] {
		if po.Error != nil {
			return nil, fmt.Errorf("list offsets of %s/%d: %w", topic, po.Partition, po.Error)
		}
		ends[po.Partition] = struct{ first, last int64 }{po.FirstOffset, po.LastOffset}
	}
	return ends, nil
}

// watchLag measures the generation's lag every interval until ctx is done: for each
// assigned partition, the records between the brokers' last offset and the generation's
// last commit (before it, the offset the partition was assigned at). Unlike the lag set at
// a commit, it keeps rising while the handler is stuck and nothing is committed, which is
// when it matters. A failed measurement is logged at debug level and leaves the gauges.
func (c *Consumer) watchLag(ctx context.Context, g *Generation, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		c.measureLag(ctx, g)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (c *Consumer) measureLag(ctx context.Context, g *Generation) {
	parts := make([]int, 0, len(g.Partitions))
	for _, p := range g.Partitions {
		parts = append(parts, p.Partition)
	}
	ends, err := c.listEnds(ctx, g.Topic, parts)
	if err != nil {
		if ctx.Err() == nil {
			c.log.Debug("lag: list offsets", "err", err)
		}
		return
	}
	for p, next := range g.positions() {
		e, ok := ends[p]
		if !ok {
			continue
		}
		switch next {
		case kafka.FirstOffset: // nothing committed: the group starts at the beginning
			next = e.first
		case kafka.LastOffset: // nothing committed: the group starts at the end
			next = e.last
		}
		c.m.measuredLag(g.Topic, p, max(e.last-max(next, e.first), 0))
	}
}

// measuredLag sets a partition's lag measured against the brokers.
func (m *Metrics) measuredLag(topic string, partition int, lag int64) {
	if m != nil {
		m.lag.WithLabelValues(topic, strconv.Itoa(partition)).Set(float64(lag))
	}
}

// CommittedOffsets returns the offsets a consumer group has committed on the partitions of
// a topic (the next offset to read); a partition without a commit is absent.
func CommittedOffsets(ctx context.Context, cl Cluster, group, topic string, partitions []int) (map[int]int64, error) {
	t := cl.transport()
	if t == nil {
		t = &kafka.Transport{}
	}
	defer t.CloseIdleConnections()
	client := &kafka.Client{Addr: kafka.TCP(cl.Brokers...), Timeout: 10 * time.Second, Transport: t}
	resp, err := client.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: partitions}})
	if err == nil {
		err = resp.Error
	}
	if err != nil {
		return nil, fmt.Errorf("committed offsets of group %s on %s: %w", group, topic, err)
	}
	out := map[int]int64{}
	for _, p := range resp.Topics[topic] {
		if p.Error == nil && p.CommittedOffset >= 0 {
			out[p.Partition] = p.CommittedOffset
		}
	}
	return out, nil
}
