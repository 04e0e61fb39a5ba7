package responder

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/riverwatch/riverwatch/pkg/chstore"
	"github.com/riverwatch/riverwatch/pkg/config"
	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/network"
	"github.com/riverwatch/riverwatch/pkg/store"
	"github.com/riverwatch/riverwatch/services/responder/internal/incident"
)

// ranker ranks the upstream sources of a section's exceedance for its search step
// ({sources}): store.RankSources over the archive, as the api's sources route does. It
// opens ClickHouse at its first ranking (and again after a failed opening), so a responder
// starts and runs without the archive; its steps then say the ranking is unavailable.
type ranker struct {
	cfg *config.Config
	net *network.Network
	log *slog.Logger

	mu   sync.Mutex
	src  store.SeriesReader // nil until opened (or Deps.Archive)
	conn driver.Conn        // the connection src reads through, when opened here
}

// reader returns the archive, opening it within ctx when it is not yet.
func (k *ranker) reader(ctx context.Context) (store.SeriesReader, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.src != nil {
		return k.src, nil
	}
	cc, err := chstore.ConfigFrom(k.cfg.ClickHouse)
	if err != nil {
		return nil, err
	}
	if u := k.cfg.Responder.ClickHouseUsername; u != "" {
		pw, err := config.ReadSecret(k.cfg.Responder.ClickHousePasswordFile)
		if err != nil {
			return nil, fmt.Errorf("config key responder.clickhouse_password_file: %w", err)
		}
		cc.Username, cc.Password = u, pw
	}
	conn, err := chstore.Open(ctx, cc)
	if err != nil {
		return nil, err
	}
	k.conn, k.src = conn, store.NewReader(conn, k.cfg.ClickHouse.Database)
	return k.src, nil
}

// close closes the connection opened here.
func (k *ranker) close() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.conn != nil {
		k.conn.Close()
		k.conn, k.src = nil, nil
	}
}

// rank ranks the upstream sources of one exceedance within ctx, the batch's bound.
func (k *ranker) rank(ctx context.Context, ev message.Event) incident.Sources {
	src, err := k.reader(ctx)
	if err == nil {
		at := ev.ObservedAt
		if at.IsZero() {
			at = ev.EmittedAt
		}
		q := store.SourcesQuery{Site: ev.Site, At: at.UTC(), Parameters: []string{ev.Parameter}}
		ranking, rerr := store.RankSources(ctx, src, k.net, q)
		if rerr == nil {
			if text, ok := incident.DescribeSources(k.net, ranking); ok {
				return incident.Sources{Outcome: incident.SourcesOK, Text: text}
			}
			return incident.Sources{Outcome: incident.SourcesNone}
		}
		err = rerr
	}
	outcome := incident.SourcesError
	if errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil || pastDeadline(ctx) {
		outcome = incident.SourcesTimeout
	}
	k.log.Warn("upstream source ranking unavailable; the search step points to the api", "event", ev.ID, "site", ev.Site, "outcome", outcome, "err", err)
	return incident.Sources{Outcome: outcome}
}

// pastDeadline reports whether ctx's deadline has come. The ClickHouse driver turns the
// deadline into the connection's read deadline, whose "i/o timeout" can come back a moment
// before ctx itself says it is done.
func pastDeadline(ctx context.Context) bool {
	dl, ok := ctx.Deadline()
	return ok && !time.Now().Before(dl)
}

// rankSources ranks the events of a batch that want it (incident.Engine.WantsSources),
// concurrently and all within one responder.sources_timeout: the batch, and with it the
// first page of every incident it opens, waits for the slowest ranking at most that long.
// An event past the bound is not ranked: its step says so and names the api route.
func (r *Responder) rankSources(ctx context.Context, evs []message.Event, want []bool) map[int]*incident.Sources {
	out := map[int]*incident.Sources{}
	if r.rc.SourcesTimeout <= 0 {
		return out
	}
	rctx, cancel := context.WithTimeout(ctx, r.rc.SourcesTimeout)
	defer cancel()
	start := time.Now()
	ranked := make([]*incident.Sources, len(evs))
	var wg sync.WaitGroup
	for i, ev := range evs {
		if want[i] {
			wg.Go(func() {
				s := r.ranker.rank(rctx, ev)
				ranked[i] = &s
			})
		}
	}
	wg.Wait()
	for i, s := range ranked {
		if s != nil {
			r.m.sourceRankings.WithLabelValues(s.Outcome).Inc()
			out[i] = s
		}
	}
	if len(out) > 0 {
		r.log.Debug("upstream sources ranked", "events", len(out), "took", time.Since(start))
	}
	return out
}
