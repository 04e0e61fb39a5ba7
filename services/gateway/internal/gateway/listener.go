package gateway

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/cenkalti/backoff/v5"

	"github.com/riverwatch/riverwatch/pkg/hj212"
	"github.com/riverwatch/riverwatch/pkg/message"
)

// Listen binds the HJ 212 TCP address (gateway.hj212_listen). RunTCP calls it when it was
// not called before; tests call it first to learn the address.
func (g *Gateway) Listen() error {
	g.lnMu.Lock()
	defer g.lnMu.Unlock()
	if g.ln != nil {
		return nil
	}
	ln, err := net.Listen("tcp", g.cfg.HJ212Listen)
	if err != nil {
		return fmt.Errorf("hj212 listen %s: %w", g.cfg.HJ212Listen, err)
	}
	g.ln = ln
	close(g.ready)
	g.log.Info("hj212 listening", "addr", ln.Addr().String())
	return nil
}

// TCPAddr returns the bound HJ 212 address, or nil before Listen.
func (g *Gateway) TCPAddr() net.Addr {
	g.lnMu.Lock()
	defer g.lnMu.Unlock()
	if g.ln == nil {
		return nil
	}
	return g.ln.Addr()
}

// Ready is closed once the HJ 212 listener is bound.
func (g *Gateway) Ready() <-chan struct{} { return g.ready }

// RunTCP accepts station connections until ctx is done, then stops accepting, lets every
// connection finish the batch it is publishing (answering it if Kafka acknowledges), closes
// them and returns.
func (g *Gateway) RunTCP(ctx context.Context) error {
	if err := g.Listen(); err != nil {
		return err
	}
	g.lnMu.Lock()
	ln := g.ln
	g.lnMu.Unlock()
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	timers := make(chan struct{})
	go func() { defer close(timers); g.runCommandTimers(ctx) }()
	defer func() { <-timers }()
	// Out of file descriptors and the like: wait and retry, as net/http does (5 ms doubling
	// to 1 s), with jitter.
	retry := &backoff.ExponentialBackOff{InitialInterval: 5 * time.Millisecond, RandomizationFactor: 0.5, Multiplier: 2, MaxInterval: time.Second}
	retry.Reset()
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				break
			}
			wait := retry.NextBackOff()
			g.log.Warn("hj212 accept failed", "err", err, "retry_in", wait)
			select {
			case <-time.After(wait):
			case <-ctx.Done():
			}
			continue
		}
		retry.Reset()
		key := addrKey(conn.RemoteAddr())
		if reason, detail := g.admit(key); reason != "" {
			g.refuseConn(conn, reason, detail)
			continue
		}
		g.m.connsOpen.Inc()
		g.m.connsTotal.Inc()
		g.conns.Go(func() {
			defer func() {
				g.addrs.Release(key)
				g.open.Add(-1)
				g.m.connsOpen.Dec()
			}()
			g.serve(ctx, conn, key)
		})
	}
	g.conns.Wait()
	g.waitRecords()
	return nil
}

// admit takes a connection slot for an address (gateway.max_connections, and
// gateway.max_connections_per_address) or says why not: a reason and a detail.
func (g *Gateway) admit(key string) (string, string) {
	if locked, until := g.guard.Refused(key, g.clock()); locked {
		return ReasonAuthLocked, "address " + key + " is locked out after repeated authentication failures until " + until.UTC().Format(time.RFC3339)
	}
	if n := g.open.Add(1); n > int64(g.cfg.MaxConnections) {
		g.open.Add(-1)
		return ReasonTooManyConnections, fmt.Sprintf("%d connections open (gateway.max_connections)", g.cfg.MaxConnections)
	}
	if !g.addrs.Acquire(key) {
		g.open.Add(-1)
		return ReasonAddressConnections, fmt.Sprintf("%d connections open from %s (gateway.max_connections_per_address)", g.cfg.MaxConnectionsPerAddress, key)
	}
	return "", ""
}

// refuseConn closes a connection at once, counts it, and records it within the rate limit
// for unauthenticated input, without waiting for Kafka (review finding H3).
func (g *Gateway) refuseConn(conn net.Conn, reason, detail string) {
	remote := conn.RemoteAddr().String()
	g.m.connsRefused.WithLabelValues(reason).Inc() // before the peer can see the close
	conn.Close()
	g.recordUnauth(&message.Rejection{
		Reason: reason, Detail: detail, Source: message.SourceHJ212, Remote: remote, ReceivedAt: g.clock(),
	})
}

// deadlineReader sets the connection's read deadline before each read: the idle timeout
// between frames, the frame timeout inside one, never past the authentication deadline
// while the connection has not authenticated, and "now" once the gateway is stopping.
type deadlineReader struct {
	ctx    context.Context
	conn   net.Conn
	dec    *hj212.Decoder
	idle   time.Duration
	frame  time.Duration
	authBy time.Time // zero once a frame authenticated
}

// Read reads from the connection under the deadline that fits the decoder's state.
func (r *deadlineReader) Read(p []byte) (int, error) {
	t := r.idle
	if r.dec != nil && r.dec.Buffered() {
		t = r.frame
	}
	deadline := time.Now().Add(t)
	if !r.authBy.IsZero() && r.authBy.Before(deadline) {
		deadline = r.authBy
	}
	if err := r.conn.SetReadDeadline(deadline); err != nil {
		return 0, err
	}
	// Checked after setting the deadline: a stop that came before is seen here, one that
	// comes after resets the deadline to the past (see serve).
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.conn.Read(p)
}
