package api_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/services/api/internal/api"
	"github.com/riverwatch/riverwatch/services/api/internal/dashboard"
)

// M10: every answer, the dashboard's and the API's, carries the browser security headers.
func TestEveryAnswerCarriesTheBrowserSecurityHeaders(t *testing.T) {
	e := newEnv(t, func(o *api.Options) { o.Assets = dashboard.Assets() })
	cases := []struct{ name, path, token string }{
		{"dashboard page", "/", ""},
		{"dashboard script", "/static/app.js", ""},
		{"API answer", "/api/v1/sites", viewerChangji},
		{"API refusal", "/api/v1/sites", ""},
		{"unknown API path", "/api/v1/nothing", admin},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := e.do(t, "GET", c.path, c.token, nil)
			h := res.header
			csp := h.Get("Content-Security-Policy")
			if !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
				t.Errorf("Content-Security-Policy %q", csp)
			}
			for k, want := range map[string]string{"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"} {
				if got := h.Get(k); got != want {
					t.Errorf("%s: %q, want %q", k, got, want)
				}
			}
			if h.Get("X-Request-Id") == "" {
				t.Error("no X-Request-Id")
			}
		})
	}
}

// M7: a token that exceeds its rate gets 429 with Retry-After; another token does not.
func TestATokenOverItsRateGets429WithRetryAfter(t *testing.T) {
	e := newEnv(t, func(o *api.Options) { o.RateLimit, o.RateBurst = 0.01, 3 })
	for i := range 3 {
		if res := e.do(t, "GET", "/api/v1/me", viewerChangji, nil); res.status != 200 {
			t.Fatalf("request %d within the burst: %d", i+1, res.status)
		}
	}
	res := e.do(t, "GET", "/api/v1/me", viewerChangji, nil)
	ra, err := strconv.Atoi(res.header.Get("Retry-After"))
	if res.status != http.StatusTooManyRequests || err != nil || ra < 1 || !strings.Contains(string(res.body), "rate_limited") {
		t.Fatalf("over the rate: %d Retry-After %q %s", res.status, res.header.Get("Retry-After"), res.body)
	}
	if res := e.do(t, "GET", "/api/v1/me", viewerXPCC6, nil); res.status != 200 {
		t.Errorf("another token: %d", res.status)
	}
	if v := metricValue(t, e.reg, "riverwatch_api_errors_total", map[string]string{"reason": "rate_limited"}); v != 1 {
		t.Errorf("rate_limited counted %v", v)
	}
}

// blockingEvents holds every Events query until release is closed.
type blockingEvents struct {
	api.Store
	entered chan struct{}
	release chan struct{}
}

func (b *blockingEvents) Events(ctx context.Context, q api.EventQuery) ([]message.Event, error) {
	b.entered <- struct{}{}
	select {
	case <-b.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return b.Store.Events(ctx, q)
}

// M7: one token cannot hold more than its share of ClickHouse connections.
func TestATokenCannotHoldMoreRequestsThanItsInflightCap(t *testing.T) {
	var bs *blockingEvents
	e := newEnv(t, func(o *api.Options) {
		bs = &blockingEvents{Store: o.Store, entered: make(chan struct{}, 8), release: make(chan struct{})}
		o.Store, o.MaxInflightPerToken, o.InflightWait = bs, 2, 50*time.Millisecond
	})
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			if res := e.do(t, "GET", "/api/v1/events", viewerChangji, nil); res.status != 200 {
				t.Errorf("held request: %d %s", res.status, res.body)
			}
		})
	}
	<-bs.entered
	<-bs.entered
	res := e.do(t, "GET", "/api/v1/events", viewerChangji, nil)
	if res.status != http.StatusTooManyRequests || res.header.Get("Retry-After") == "" || !strings.Contains(string(res.body), "too_many_inflight") {
		t.Errorf("third request of the token: %d %s", res.status, res.body)
	}
	if res := e.do(t, "GET", "/api/v1/incidents", viewerXPCC6, nil); res.status != 200 {
		t.Errorf("another token while the first holds its slots: %d", res.status)
	}
	close(bs.release)
	wg.Wait()
	if res := e.do(t, "GET", "/api/v1/incidents", viewerChangji, nil); res.status != 200 {
		t.Errorf("the token once its requests finished: %d", res.status)
	}
}

// addRawReadings stores n readings of STH-S2 fluoride (a parameter the seed does not
// have) without a flag, one a minute before now.
func addRawReadings(e *env, n int) {
	for i := range n {
		at := e.now.Add(-time.Duration(i+1) * time.Minute)
		e.store.AddReadings(message.Reading{
			ID: "raw-" + strconv.Itoa(i), Site: "STH-S2", Parameter: "fluoride", Value: 0.5, Unit: "mg/L",
			ObservedAt: at, ReceivedAt: at, Source: message.SourceHTTP,
		})
	}
}

// #13: a reading stored without a flag is served with the normal flag, in JSON and CSV.
func TestReadingsWithoutAFlagAreServedWithTheNormalFlag(t *testing.T) {
	e := newEnv(t)
	e.store.Fail = nil
	addRawReadings(e, 3)
	from := e.now.Add(-10 * time.Minute).Format(time.RFC3339)
	var body api.ReadingsResponse
	res := e.do(t, "GET", "/api/v1/sites/STH-S2/readings?parameter=fluoride&resolution=raw&from="+from, viewerChangji, nil)
	res.decode(t, &body)
	if len(body.Series) != 1 || len(body.Series[0].Points) != 3 {
		t.Fatalf("%d %s", res.status, truncate(res.body))
	}
	for _, p := range body.Series[0].Points {
		if p.Flag != message.FlagNormal {
			t.Errorf("JSON point at %s: flag %q", p.T, p.Flag)
		}
	}
	res = e.do(t, "GET", "/api/v1/sites/STH-S2/readings?format=csv&parameter=fluoride&resolution=raw&from="+from, viewerChangji, nil)
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(res.body), "\uFEFF"))).ReadAll()
	if err != nil || len(rows) != 4 {
		t.Fatalf("csv: %v %s", err, truncate(res.body))
	}
	for _, r := range rows[1:] {
		if r[10] != message.FlagNormal { // the flag column (below_dl follows it)
			t.Errorf("CSV row %v: flag %q", r, r[10])
		}
	}
}

// M7: an export is streamed; one larger than api.export_max_rows fails as a download
// instead of arriving silently short.
func TestCSVExportIsStreamedAndCutOffAtItsRowCap(t *testing.T) {
	cases := []struct {
		name    string
		maxRows int
		wantErr bool
	}{
		{"an export within the cap arrives whole", 100, false},
		{"an export over the cap fails as a download", 20, true},
		{"a large export over the cap fails after streaming its first rows", 2000, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, func(o *api.Options) { o.ExportMaxRows = c.maxRows })
			addRawReadings(e, 50)
			if c.maxRows > 50 && c.wantErr {
				addRawReadings(e, 2*c.maxRows) // several buffers' worth: the rows are sent as read
			}
			srv := httptest.NewServer(e.handler)
			defer srv.Close()
			from := e.now.Add(-time.Duration(3*c.maxRows+60) * time.Minute).Format(time.RFC3339)
			req, _ := http.NewRequest("GET", srv.URL+"/api/v1/sites/STH-S2/readings?format=csv&parameter=fluoride&resolution=raw&from="+from, nil)
			req.Header.Set("Authorization", "Bearer "+viewerChangji)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				// Cut off before the first bytes left the server's buffer: no answer at all.
				if !c.wantErr || c.maxRows >= 1000 {
					t.Fatal(err)
				}
				return
			}
			defer resp.Body.Close()
			data, rerr := io.ReadAll(resp.Body)
			lines := bytes.Count(data, []byte("\n"))
			if c.wantErr {
				if rerr == nil {
					t.Errorf("over the cap: the download completed (%d lines)", lines)
				}
				if lines > c.maxRows+1 {
					t.Errorf("over the cap: %d lines sent, cap %d", lines, c.maxRows)
				}
				return
			}
			if rerr != nil || resp.StatusCode != 200 || lines != 51 || resp.Header.Get("Content-Length") != "" {
				t.Errorf("within the cap: %d, %d lines, %v", resp.StatusCode, lines, rerr)
			}
		})
	}
	e := newEnv(t)
	if res := e.do(t, "GET", "/api/v1/sites/STH-S2/readings?format=csv&offset=10", viewerChangji, nil); res.status != 400 {
		t.Errorf("export with offset and no limit: %d", res.status)
	}
}

// L7: what ClickHouse says goes to the log under the request id, never to the client.
func TestStoreErrorTextIsLoggedNotAnswered(t *testing.T) {
	var logs bytes.Buffer
	e := newEnv(t, func(o *api.Options) { o.Logger = slog.New(slog.NewJSONHandler(&logs, nil)) })
	secret := "code: 516, message: default: Authentication failed: password is incorrect (clickhouse-3.internal:9000)"
	e.store.Fail = errors.New(secret)
	for _, p := range []string{"/api/v1/sites", "/api/v1/sites/STH-S2", "/api/v1/sites/STH-S2/readings", "/api/v1/events", "/api/v1/incidents", "/api/v1/incidents/" + e.fix.OpenIncident, "/api/v1/reports/compliance", "/api/v1/drills", "/api/v1/reports/drills"} {
		res := e.do(t, "GET", p, admin, nil)
		id := res.header.Get("X-Request-Id")
		if res.status != 500 || strings.Contains(string(res.body), "clickhouse") || strings.Contains(string(res.body), "password") || !strings.Contains(string(res.body), id) {
			t.Errorf("%s: %d %s", p, res.status, res.body)
		}
		if !strings.Contains(logs.String(), id) || !strings.Contains(logs.String(), "password is incorrect") {
			t.Errorf("%s: the log has no line with request id %s and the error", p, id)
		}
	}
}

// L3: an open dashboard stream does not hold up the server's shutdown.
func TestShutdownDoesNotWaitForAnOpenEventStream(t *testing.T) {
	e := newEnv(t)
	srv := httptest.NewServer(e.handler)
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL+"/api/v1/stream", nil)
	req.Header.Set("Authorization", "Bearer "+viewerChangji)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if _, err := bufio.NewReader(resp.Body).ReadString('\n'); err != nil || resp.StatusCode != 200 {
		t.Fatalf("stream: %d %v", resp.StatusCode, err)
	}
	start := time.Now()
	e.server.Close() // what the service does when it begins to stop
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Config.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v after %s", err, time.Since(start))
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("shutdown took %s with a dashboard connected", d)
	}
	res := e.do(t, "GET", "/api/v1/stream", viewerChangji, nil)
	if res.status != http.StatusServiceUnavailable {
		t.Errorf("a new stream after Close: %d", res.status)
	}
}
