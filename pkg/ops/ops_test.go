package ops

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"
)

func TestServerServesHealthReadinessAndMetrics(t *testing.T) {
	srv := NewServer("127.0.0.1:0", NewRegistry(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr := make(chan string, 1)
	srv.onListen = func(a string) { addr <- a }
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	base := "http://" + <-addr
	status := func(path string) int {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := status("/healthz"); got != 200 {
		t.Errorf("/healthz = %d", got)
	}
	if got := status("/readyz"); got != http.StatusServiceUnavailable {
		t.Errorf("/readyz before ready = %d, want 503", got)
	}
	srv.SetReady(true)
	if got := status("/readyz"); got != 200 {
		t.Errorf("/readyz when ready = %d", got)
	}
	if got := status("/metrics"); got != 200 {
		t.Errorf("/metrics = %d", got)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("shutdown: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("server did not stop")
	}
}

func TestGroupStopsEveryComponentWhenOneFails(t *testing.T) {
	var g Group
	boom := errors.New("boom")
	stopped := make(chan struct{})
	g.Go(func(ctx context.Context) error { <-ctx.Done(); close(stopped); return nil })
	g.Go(func(context.Context) error { return boom })
	if err := g.Run(context.Background()); !errors.Is(err, boom) {
		t.Fatalf("Run = %v, want the failing component's error", err)
	}
	select {
	case <-stopped:
	default:
		t.Fatal("the other component was not stopped")
	}
}
