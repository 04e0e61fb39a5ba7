package simulate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/stream"
)

// Topics the narrator follows.
type Topics struct {
	Readings  string
	Events    string
	Incidents string
}

// Follow feeds the narrator every record published on the topics since the given time,
// until ctx is done. It reads each partition directly from the offset of that time — no
// consumer group, nothing committed — so several narrators can watch one pipeline and none
// misses what was published between its start and its first fetch.
func Follow(ctx context.Context, cl stream.Cluster, topics Topics, since time.Time, n *Narrator, log *slog.Logger) error {
	type rec struct {
		topic string
		value []byte
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := make(chan rec, 1024)
	errc := make(chan error, 1)
	readers := 0
	for _, topic := range []string{topics.Readings, topics.Events, topics.Incidents} {
		if topic == "" {
			continue
		}
		parts, err := stream.Partitions(ctx, cl, topic)
		if err != nil {
			return err
		}
		for _, p := range parts {
			off, err := stream.OffsetAt(ctx, cl, topic, p, since)
			if err != nil {
				return fmt.Errorf("seek %s[%d] to %s: %w", topic, p, since.Format(time.RFC3339), err)
			}
			readers++
			go func() {
				cfg := stream.ReaderConfig{Cluster: cl, MaxWait: 200 * time.Millisecond}
				err := stream.ReadPartition(ctx, cfg, topic, p, off, -1, func(m kafka.Message) error {
					select {
					case ch <- rec{topic: topic, value: m.Value}:
						return nil
					case <-ctx.Done():
						return ctx.Err()
					}
				})
				if err != nil && ctx.Err() == nil {
					select {
					case errc <- fmt.Errorf("read %s[%d]: %w", topic, p, err):
					default:
					}
				}
			}()
		}
	}
	if readers == 0 {
		return errors.New("follow: no topic to read")
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-errc:
			return err
		case r := <-ch:
			if err := feed(n, topics, r.topic, r.value); err != nil {
				log.Warn("undecodable record", "topic", r.topic, "err", err)
			}
		}
	}
}

func feed(n *Narrator, topics Topics, topic string, value []byte) error {
	switch topic {
	case topics.Readings:
		var r message.Reading
		if err := json.Unmarshal(value, &r); err != nil {
			return err
		}
		n.Reading(r)
	case topics.Events:
		var e message.Event
		if err := json.Unmarshal(value, &e); err != nil {
			return err
		}
		n.Event(e)
	case topics.Incidents:
		var u message.IncidentUpdate
		if err := json.Unmarshal(value, &u); err != nil {
			return err
		}
		n.Update(u)
	}
	return nil
}
