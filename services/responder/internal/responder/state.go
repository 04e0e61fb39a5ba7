package responder

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/cenkalti/backoff/v5"

	"github.com/riverwatch/riverwatch/pkg/stream"
)

// stateReadPatience is how long start-up keeps retrying the state topic. A topic created a
// moment ago (a fresh broker, the first make up) answers "Not Leader For Partition" until its
// partitions have leaders; that is a wait, not a failure.
const stateReadPatience = time.Minute

// stateReadTimeout bounds one reading of the state topic to its end.
const stateReadTimeout = 2 * time.Minute

// readState reads the compacted state topic to its end (stream.ReadCompacted: the newest
// value of each key, tombstones removing keys), retried with backoff for
// stateReadPatience.
func readState(ctx context.Context, cl stream.Cluster, topic string, log *slog.Logger) (map[string][]byte, error) {
	if len(cl.Brokers) == 0 {
		return nil, errNoBrokers
	}
	b := backoff.NewExponentialBackOff()
	b.InitialInterval, b.Multiplier, b.MaxInterval = 200*time.Millisecond, 2, 5*time.Second
	return backoff.Retry(ctx, func() (map[string][]byte, error) {
		rctx, cancel := context.WithTimeout(ctx, stateReadTimeout)
		defer cancel()
		c, err := stream.ReadCompacted(rctx, stream.ReaderConfig{Cluster: cl}, topic)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", topic, err)
		}
		return c.Values, nil
	}, backoff.WithBackOff(b), backoff.WithMaxElapsedTime(stateReadPatience), backoff.WithNotify(func(err error, next time.Duration) {
		log.Warn("state topic not readable yet, retrying", "topic", topic, "backoff", next.Round(time.Millisecond), "err", err)
	}))
}
