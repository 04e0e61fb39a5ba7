package ops

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// start runs srv until the test ends and returns the addresses it bound, in the order of
// ServerConfig (Addr, then MetricsAddr).
func start(t *testing.T, srv *Server, listeners int) []string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, listeners)
	srv.onListen = func(a string) { addr <- a }
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("shutdown: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("server did not stop")
		}
	})
	var out []string
	for range listeners {
		out = append(out, "http://"+<-addr)
	}
	return out
}

func status(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestServerServesHealthReadinessAndMetrics(t *testing.T) {
	srv := NewServer(ServerConfig{Addr: "127.0.0.1:0", Limits: DefaultLimits()}, NewRegistry(), discard())
	base := start(t, srv, 1)[0]
	if got := status(t, base+"/healthz"); got != 200 {
		t.Errorf("/healthz = %d", got)
	}
	if got := status(t, base+"/readyz"); got != http.StatusServiceUnavailable {
		t.Errorf("/readyz before ready = %d, want 503", got)
	}
	srv.SetReady(true)
	if got := status(t, base+"/readyz"); got != 200 {
		t.Errorf("/readyz when ready = %d", got)
	}
	if got := status(t, base+"/metrics"); got != 200 {
		t.Errorf("/metrics = %d", got)
	}
}

// An ops port serves /metrics, /healthz and /readyz and nothing else: no data, no pprof
// (review finding H1: the responder's port served every incident without a token).
func TestOpsPortAnswers404ForAnythingButMetricsHealthAndReadiness(t *testing.T) {
	srv := NewServer(ServerConfig{Addr: "127.0.0.1:0", Limits: DefaultLimits()}, NewRegistry(), discard())
	srv.SetReady(true)
	base := start(t, srv, 1)[0]
	for _, path := range []string{"/metrics", "/healthz", "/readyz"} {
		if got := status(t, base+path); got != 200 {
			t.Errorf("GET %s = %d, want 200", path, got)
		}
	}
	for _, path := range []string{"/", "/incidents", "/incidents/inc-1", "/api/v1/incidents", "/debug/pprof/", "/debug/pprof/heap", "/metrics/x"} {
		if got := status(t, base+path); got != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", path, got)
		}
	}
}

// With MetricsAddr, /metrics leaves the public port for a private one; the probes stay
// where the contract has them.
func TestMetricsAddrMovesMetricsOffThePublicPort(t *testing.T) {
	srv := NewServer(ServerConfig{Addr: "127.0.0.1:0", MetricsAddr: "127.0.0.1:0", Limits: DefaultLimits()}, NewRegistry(), discard())
	srv.SetReady(true)
	addrs := start(t, srv, 2)
	public, private := addrs[0], addrs[1]
	tests := []struct {
		name, url string
		want      int
	}{
		{"public /metrics is gone", public + "/metrics", 404},
		{"public /healthz stays", public + "/healthz", 200},
		{"public /readyz stays", public + "/readyz", 200},
		{"private /metrics", private + "/metrics", 200},
		{"private /healthz", private + "/healthz", 200},
		{"private port serves nothing else", private + "/api/v1/sites", 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := status(t, tt.url); got != tt.want {
				t.Errorf("GET %s = %d, want %d", tt.url, got, tt.want)
			}
		})
	}
}

func TestServerLimitsCutSlowAndIdleClients(t *testing.T) {
	limits := Limits{
		ReadHeaderTimeout: 300 * time.Millisecond, ReadTimeout: 300 * time.Millisecond,
		WriteTimeout: time.Second, IdleTimeout: 300 * time.Millisecond, MaxHeaderBytes: 4 << 10,
	}
	srv := NewServer(ServerConfig{Addr: "127.0.0.1:0", Limits: limits}, NewRegistry(), discard())
	srv.Mux.HandleFunc("POST /upload", func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			http.Error(w, err.Error(), http.StatusRequestTimeout)
			return
		}
		w.Write([]byte("stored\n"))
	})
	host := strings.TrimPrefix(start(t, srv, 1)[0], "http://")
	// closedWithin sends what, then waits for the server to close the connection.
	closedWithin := func(t *testing.T, what string, within time.Duration) {
		t.Helper()
		c, err := net.Dial("tcp", host)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := io.WriteString(c, what); err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(within))
		began := time.Now()
		if _, err := io.Copy(io.Discard, c); err != nil {
			t.Fatalf("connection still open after %v: %v", time.Since(began), err)
		}
	}
	t.Run("a header that never ends is cut", func(t *testing.T) {
		closedWithin(t, "GET /healthz HTTP/1.1\r\nHost: x\r\n", 3*time.Second)
	})
	t.Run("a body that stalls is cut (slowloris, M4)", func(t *testing.T) {
		closedWithin(t, "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 4096\r\n\r\nA", 3*time.Second)
	})
	t.Run("an idle keep-alive connection is closed", func(t *testing.T) {
		closedWithin(t, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 3*time.Second)
	})
	t.Run("an oversized header is refused with 431", func(t *testing.T) {
		c, err := net.Dial("tcp", host)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\n\r\n", strings.Repeat("a", 16<<10))
		c.SetReadDeadline(time.Now().Add(3 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Fatalf("status %d, want 431", resp.StatusCode)
		}
	})
}

// The event stream outlives the read and write timeouts once it lifts them with Unbounded.
func TestUnboundedLetsAStreamOutliveTheTimeouts(t *testing.T) {
	limits := DefaultLimits()
	limits.ReadTimeout, limits.WriteTimeout = 200*time.Millisecond, 200*time.Millisecond
	srv := NewServer(ServerConfig{Addr: "127.0.0.1:0", Limits: limits}, NewRegistry(), discard())
	stream := func(lift bool) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if lift {
				if err := Unbounded(w); err != nil {
					t.Errorf("Unbounded: %v", err)
				}
			}
			rc := http.NewResponseController(w)
			for i := range 8 { // 8 × 100 ms: four times the timeouts
				if _, err := fmt.Fprintf(w, "data: %d\n\n", i); err != nil {
					return
				}
				if rc.Flush() != nil {
					return
				}
				select {
				case <-r.Context().Done():
					return
				case <-time.After(100 * time.Millisecond):
				}
			}
			fmt.Fprint(w, "data: end\n\n")
		}
	}
	srv.Mux.HandleFunc("GET /stream", stream(true))
	srv.Mux.HandleFunc("GET /bounded", stream(false))
	base := start(t, srv, 1)[0]
	read := func(path string) (string, error) {
		resp, err := http.Get(base + path)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return string(b), err
	}
	if body, err := read("/stream"); err != nil || !strings.Contains(body, "data: end") {
		t.Errorf("lifted stream: %q, %v; want it to reach the end", body, err)
	}
	if body, err := read("/bounded"); err == nil && strings.Contains(body, "data: end") {
		t.Errorf("a stream that does not lift the deadlines reached its end; the timeouts are not applied")
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
