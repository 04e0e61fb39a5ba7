package ops

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder notes the order in which components start and stop.
type recorder struct {
	mu     sync.Mutex
	events []string
}

func (r *recorder) note(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, s)
}

func (r *recorder) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

// component starts (noted once running), waits to be cancelled and notes that it stopped.
func (r *recorder) component(name string, started chan<- struct{}) func(context.Context) error {
	return func(ctx context.Context) error {
		r.note("start " + name)
		started <- struct{}{}
		<-ctx.Done()
		r.note("stop " + name)
		return nil
	}
}

func TestGroupStopsComponentsInReverseOrder(t *testing.T) {
	for _, fail := range []bool{false, true} {
		name := map[bool]string{false: "on cancellation", true: "when a component fails"}[fail]
		t.Run(name, func(t *testing.T) {
			var rec recorder
			var g Group
			g.OnStop = func() { rec.note("shutdown") }
			started := make(chan struct{}, 3)
			for _, n := range []string{"ops", "writer", "consumer"} {
				g.Add(n, rec.component(n, started))
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			allStarted := func() {
				for range 3 {
					<-started
				}
			}
			if fail {
				g.Add("failing", func(context.Context) error { allStarted(); return errBoom })
			} else {
				go func() { allStarted(); cancel() }()
			}
			err := g.Run(ctx)
			if fail != errors.Is(err, errBoom) || (!fail && err != nil) {
				t.Fatalf("Run = %v", err)
			}
			got := rec.got()
			want := []string{"shutdown", "stop consumer", "stop writer", "stop ops"}
			if len(got) < 4 || !slices.Equal(got[len(got)-4:], want) {
				t.Errorf("events = %q, want them to end %q", got, want)
			}
		})
	}
}

var errBoom = errors.New("boom")

func TestGroupReturnsTheFailingComponentsErrorFirst(t *testing.T) {
	var g Group
	late := errors.New("late")
	g.Add("a", func(ctx context.Context) error { <-ctx.Done(); return late })
	g.Add("b", func(context.Context) error { return errBoom })
	err := g.Run(context.Background())
	if !errors.Is(err, errBoom) || !errors.Is(err, late) {
		t.Fatalf("Run = %v, want both errors", err)
	}
	if !strings.HasPrefix(err.Error(), "b: boom") {
		t.Errorf("Run = %q, want the failing component's error first", err)
	}
}

func TestGroupGivesUpAfterTheShutdownTimeout(t *testing.T) {
	g := Group{Timeout: 50 * time.Millisecond}
	release := make(chan struct{})
	defer close(release)
	g.Add("stuck", func(context.Context) error { <-release; return nil })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	err := g.Run(ctx)
	if err == nil || !strings.Contains(err.Error(), "stuck still running") {
		t.Fatalf("Run = %v, want a timeout naming the component", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Run took %v", d)
	}
}

func TestReadyzAnswers503StoppingFromTheMomentShutdownBegins(t *testing.T) {
	srv := NewServer(ServerConfig{Addr: "127.0.0.1:0", Limits: DefaultLimits()}, NewRegistry(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	addr := make(chan string, 1)
	srv.onListen = func(a string) { addr <- a }
	srv.SetReady(true)

	var g Group
	g.OnStop = srv.Stopping
	g.Add("ops", srv.Run)
	inShutdown := make(chan struct{})
	proceed := make(chan struct{})
	g.Add("service", func(ctx context.Context) error {
		<-ctx.Done()
		close(inShutdown) // the service is stopping; the ops server still runs
		<-proceed
		return nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	base := "http://" + <-addr
	get := func() (int, string) {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, strings.TrimSpace(string(b))
	}
	if code, _ := get(); code != http.StatusOK {
		t.Fatalf("/readyz before shutdown = %d", code)
	}
	cancel()
	<-inShutdown
	srv.SetReady(true) // a component saying ready late does not undo shutdown
	if code, body := get(); code != http.StatusServiceUnavailable || body != "stopping" {
		t.Errorf("/readyz during shutdown = %d %q, want 503 \"stopping\"", code, body)
	}
	close(proceed)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
