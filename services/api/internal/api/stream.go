package api

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/riverwatch/riverwatch/pkg/ops"
)

// Notice tells dashboards that something changed and what to reload.
type Notice struct {
	Kind string    `json:"kind"` // events, incidents
	At   time.Time `json:"at"`
}

// Hub fans notices out to the connected event streams. A slow client misses notices rather
// than slowing the others: each notice only says "reload", so the next one makes up for it.
type Hub struct {
	mu      sync.Mutex
	subs    map[chan Notice]struct{}
	clients prometheus.Gauge
}

// NewHub returns a Hub; clients, when not nil, tracks the number of subscribers.
func NewHub(clients prometheus.Gauge) *Hub {
	return &Hub{subs: map[chan Notice]struct{}{}, clients: clients}
}

// Subscribe returns a channel of notices and a function that ends the subscription.
func (h *Hub) Subscribe() (<-chan Notice, func()) {
	ch := make(chan Notice, 8)
	h.mu.Lock()
	h.subs[ch] = struct{}{}
	h.mu.Unlock()
	if h.clients != nil {
		h.clients.Inc()
	}
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			h.mu.Lock()
			delete(h.subs, ch)
			h.mu.Unlock()
			if h.clients != nil {
				h.clients.Dec()
			}
		})
	}
}

// Publish sends a notice to every subscriber without blocking.
func (h *Hub) Publish(n Notice) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs {
		select {
		case ch <- n:
		default:
		}
	}
}

// heartbeat keeps proxies from closing an idle stream.
const heartbeat = 15 * time.Second

func (s *Server) handleStream(w http.ResponseWriter, r *http.Request) {
	// The one long-lived response: lift the server's read and write deadlines (ops.Limits),
	// which would otherwise cut the stream. A heartbeat every 15 s finds a dead client.
	if err := ops.Unbounded(w); err != nil {
		s.log.Debug("stream: deadlines stay", "err", err) // the dashboard reconnects when cut
	}
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	notices, done := s.hub.Subscribe()
	defer done()
	// retry: how long EventSource waits before reconnecting.
	fmt.Fprintf(w, "retry: 3000\nevent: hello\ndata: {\"at\":%q}\n\n", s.now().UTC().Format(time.RFC3339Nano))
	if err := rc.Flush(); err != nil {
		return
	}
	beat := time.NewTicker(heartbeat)
	defer beat.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case n := <-notices:
			data, err := json.Marshal(n)
			if err != nil {
				s.log.Error("stream: encode notice", "err", err) // end the stream: the dashboard reconnects
				return
			}
			fmt.Fprintf(w, "event: change\ndata: %s\n\n", data)
		case <-beat.C:
			fmt.Fprint(w, ": heartbeat\n\n")
		}
		if err := rc.Flush(); err != nil {
			return
		}
	}
}

// Watcher polls the Store's Watermark and publishes a notice when events or incidents
// change, so dashboards refresh as the pipeline writes. Polling ClickHouse keeps the API a
// reader of one source of truth, and a watermark query is two small aggregates.
type Watcher struct {
	Store    Store
	Hub      *Hub
	Interval time.Duration
	Log      *slog.Logger
	notices  prometheus.Counter
}

// NewWatcher returns the Watcher of a Server.
func (s *Server) NewWatcher() *Watcher {
	return &Watcher{Store: s.store, Hub: s.hub, Interval: s.opt.RefreshInterval, Log: s.log, notices: s.metrics.refreshes}
}

// Run polls until ctx is done. Store errors are logged and retried at the next tick: a
// dashboard that misses a refresh is better than an API that stops.
func (w *Watcher) Run(ctx context.Context) error {
	t := time.NewTicker(w.Interval)
	defer t.Stop()
	var last Watermark
	first := true
	for {
		wm, err := w.Store.Watermark(ctx)
		if err != nil && ctx.Err() == nil {
			w.Log.Warn("watermark poll failed", "err", err)
		} else if err == nil {
			if !first {
				now := time.Now().UTC()
				if wm.Events != last.Events || !wm.EventsAt.Equal(last.EventsAt) {
					w.publish(Notice{Kind: "events", At: now})
				}
				if wm.Incidents != last.Incidents || wm.Log != last.Log {
					w.publish(Notice{Kind: "incidents", At: now})
				}
			}
			last, first = wm, false
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (w *Watcher) publish(n Notice) {
	if w.notices != nil {
		w.notices.Inc()
	}
	w.Hub.Publish(n)
}
