package stream

import (
	"context"
	"fmt"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/segmentio/kafka-go"
)

// Handler processes a batch of messages. It returns nil only once the batch's effects are
// durable; the batch is then committed. It must tolerate seeing a message again. An error
// is retried with backoff, the same batch again, unless it is marked permanent with
// backoff.Permanent: then the Consumer stops and Run returns it, nothing committed.
type Handler func(ctx context.Context, batch []kafka.Message) error

// Run consumes the topic with h until ctx is done (nil) or h fails permanently (its
// error): the simple form of Consume, where the handler is the whole "durable" stage and
// each batch is committed as soon as it returns nil.
func (c *Consumer) Run(ctx context.Context, h Handler) error {
	return c.Consume(ctx, func(_ context.Context, g *Generation) (Session, error) {
		return c.HandlerSession(g, h, nil), nil
	})
}

// HandlerSession is the Session Run gives each generation, for an OpenFunc that has work of
// its own to do around it (the responder restores the generation's state first): every
// batch is retried with h until it succeeds, then committed; onClose, when not nil, runs
// when the session ends.
func (c *Consumer) HandlerSession(g *Generation, h Handler, onClose func()) Session {
	return &handlerSession{h: h, g: g, c: c, backoff: c.backoff, onClose: onClose}
}

// backoff is the retry schedule of a failing handler: jittered, exponential from 100 ms,
// at most RetryMax apart, forever.
func (c *Consumer) backoff() backoff.BackOff {
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = 100 * time.Millisecond
	b.Multiplier = 2
	b.MaxInterval = c.cfg.RetryMax
	return b
}

// handlerSession is the Session of Run: retry the handler until it succeeds, then commit.
type handlerSession struct {
	h       Handler
	g       *Generation
	c       *Consumer
	backoff func() backoff.BackOff
	onClose func()
}

func (s *handlerSession) Handle(ctx context.Context, b Batch) error {
	_, err := backoff.Retry(ctx, func() (struct{}, error) {
		return struct{}{}, s.h(ctx, b.Messages)
	},
		backoff.WithBackOff(s.backoff()),
		backoff.WithMaxElapsedTime(0), // forever: a batch is never skipped
		backoff.WithNotify(func(err error, next time.Duration) {
			s.c.log.Warn("batch failed, retrying", "rows", len(b.Messages), "backoff", next.Round(time.Millisecond), "err", err)
		}),
	)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err() // stopping: the batch is re-delivered to whoever consumes next
		}
		return fmt.Errorf("batch of %d from offset %d of partition %d failed permanently: %w",
			len(b.Messages), b.Messages[0].Offset, b.Messages[0].Partition, err)
	}
	// A failed commit is not fatal: the batch was durable; a replay is absorbed by ids.
	_ = s.g.Commit(b.Offsets())
	return nil
}

func (s *handlerSession) Close() {
	if s.onClose != nil {
		s.onClose()
	}
}
