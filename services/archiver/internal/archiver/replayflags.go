package archiver

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/riverwatch/riverwatch/pkg/config"
	"github.com/riverwatch/riverwatch/pkg/store"
)

// Validate refuses a request that selects no range: an offset range needs a partition, a
// start is an offset or a time (not both), and batches need limits.
func (r ReplayRequest) Validate() error {
	var errs []error
	switch {
	case r.FromOffset >= 0 && !r.From.IsZero():
		errs = append(errs, errors.New("give -from-offset or -from, not both"))
	case r.FromOffset >= 0 && r.Partition < 0:
		errs = append(errs, errors.New("-from-offset needs -partition"))
	case r.FromOffset < 0 && r.From.IsZero():
		errs = append(errs, errors.New("give -partition with -from-offset, or -from"))
	}
	if !r.To.IsZero() && !r.From.IsZero() && !r.To.After(r.From) {
		errs = append(errs, errors.New("-to must be after -from"))
	}
	if r.ToOffset >= 0 && r.FromOffset >= 0 && r.ToOffset <= r.FromOffset {
		errs = append(errs, errors.New("-to-offset must be after -from-offset"))
	}
	if r.MaxRows <= 0 || r.MaxBytes <= 0 {
		errs = append(errs, fmt.Errorf("batch limits must be > 0 (archiver.max_rows %d, archiver.max_bytes %d)", r.MaxRows, r.MaxBytes))
	}
	return errors.Join(errs...)
}

// ParseReplay reads the flags of `archiver replay` into a request, batches cut as the
// archiver's (archiver.max_rows, archiver.max_bytes), and validates it.
func ParseReplay(cfg *config.Config, args []string, stderr io.Writer) (ReplayRequest, error) {
	fs := flag.NewFlagSet("archiver replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	topic := fs.String("topic", "", "topic to replay: readings, rejected, events, incidents, or a topic name")
	partition := fs.Int("partition", -1, "partition (required with -from-offset; default every partition)")
	fromOffset := fs.Int64("from-offset", -1, "first offset to replay")
	toOffset := fs.Int64("to-offset", -1, "offset to stop before (default: the end of the partition)")
	from := fs.String("from", "", "replay messages with a Kafka timestamp at or after this RFC 3339 time")
	to := fs.String("to", "", "… and before this RFC 3339 time (default: up to the end)")
	if err := fs.Parse(args); err != nil {
		return ReplayRequest{}, err
	}
	kind, name, err := store.ParseKind(cfg.Kafka.Topics, *topic)
	if err != nil {
		return ReplayRequest{}, err
	}
	req := ReplayRequest{
		Kind: kind, Topic: name, Partition: *partition, FromOffset: *fromOffset, ToOffset: *toOffset,
		MaxRows: cfg.Archiver.MaxRows, MaxBytes: cfg.Archiver.MaxBytes,
	}
	parse := func(flagName, s string) (time.Time, error) {
		if s == "" {
			return time.Time{}, nil
		}
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return time.Time{}, fmt.Errorf("-%s: %w", flagName, err)
		}
		return t, nil
	}
	if req.From, err = parse("from", *from); err != nil {
		return req, err
	}
	if req.To, err = parse("to", *to); err != nil {
		return req, err
	}
	return req, req.Validate()
}
