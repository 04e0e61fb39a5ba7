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
func Follow(ctx context.Context, brokers []string, topics Topics, since time.Time, n *Narrator, log *slog.Logger) error {
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
		parts, err := partitions(ctx, brokers, topic)
		if err != nil {
			return err
		}
		for _, p := range parts {
			r := kafka.NewReader(kafka.ReaderConfig{
				Brokers: brokers, Topic: topic, Partition: p,
				MinBytes: 1, MaxBytes: 16 << 20, MaxWait: 200 * time.Millisecond,
			})
			off, err := offsetAt(ctx, brokers, topic, p, since)
			if err == nil {
				err = r.SetOffset(off)
			}
			if err != nil {
				r.Close()
				return fmt.Errorf("seek %s[%d] to %s: %w", topic, p, since.Format(time.RFC3339), err)
			}
			readers++
			go func() {
				defer r.Close()
				for {
					m, err := r.ReadMessage(ctx)
					if err != nil {
						if ctx.Err() == nil {
							select {
							case errc <- fmt.Errorf("read %s[%d]: %w", topic, p, err):
							default:
							}
						}
						return
					}
					select {
					case ch <- rec{topic: topic, value: m.Value}:
					case <-ctx.Done():
						return
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

// partitions lists a topic's partition ids.
func partitions(ctx context.Context, brokers []string, topic string) ([]int, error) {
	var d kafka.Dialer
	conn, err := d.DialContext(ctx, "tcp", brokers[0])
	if err != nil {
		return nil, fmt.Errorf("dial kafka %s: %w", brokers[0], err)
	}
	defer conn.Close()
	ps, err := conn.ReadPartitions(topic)
	if err != nil {
		return nil, fmt.Errorf("partitions of %s: %w", topic, err)
	}
	out := make([]int, 0, len(ps))
	for _, p := range ps {
		out = append(out, p.ID)
	}
	return out, nil
}

// offsetAt returns the offset of the first record of a partition at or after t, or the end
// of the partition when there is none — resolved now, as a number, so that a record
// published before the reader's first fetch is not skipped (kafka-go's LastOffset would be
// resolved only at that fetch).
func offsetAt(ctx context.Context, brokers []string, topic string, partition int, t time.Time) (int64, error) {
	var d kafka.Dialer
	conn, err := d.DialLeader(ctx, "tcp", brokers[0], topic, partition)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	off, err := conn.ReadOffset(t)
	if err != nil {
		return 0, err
	}
	if off < 0 {
		return conn.ReadLastOffset()
	}
	return off, nil
}
