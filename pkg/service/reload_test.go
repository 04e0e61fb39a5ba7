package service

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/riverwatch/riverwatch/pkg/auth"
	"github.com/riverwatch/riverwatch/pkg/config"
)

func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		panic(err)
	}
	return m.GetCounter().GetValue()
}

func writeTokens(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

// ReloadTokens swaps a new tokens file in only when it loads and production would take it:
// a broken file, or one with a development token in production mode, keeps the tokens in
// use, and the log and the counter say so.
func TestReloadTokensKeepsTheFileInUseWhenTheNewOneIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens.yaml")
	writeTokens(t, path, `- {token: old-token-of-the-duty-desk, name: 值班, role: responder, jurisdictions: [changji]}`)
	tokens, err := auth.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	cfg := &config.Config{Mode: config.ModeProduction}
	cfg.Auth.TokensFile = path
	rt := &Runtime{Config: cfg, Log: slog.New(slog.NewJSONHandler(&logs, nil)), Registry: prometheus.NewRegistry(), name: "x"}
	rt.OnReload("tokens", ReloadTokens(cfg, tokens))
	works := func(token string) bool { _, ok := tokens.Lookup(token); return ok }

	steps := []struct {
		name, file      string
		wantErr         string
		oldOK, newOK    bool
		refused, reload float64
	}{
		{"not YAML", "- {token: [", "auth.tokens_file", true, false, 1, 0},
		{"an entry without jurisdictions", `- {token: new-token-of-the-new-rota, name: 新值班, role: responder}`, "jurisdictions", true, false, 2, 0},
		{"a development token in production", `- {token: dev-admin-token, name: 管理员, role: admin, jurisdictions: ["*"]}`, "public tokens", true, false, 3, 0},
		{"the new rota", `- {token: new-token-of-the-new-rota, name: 新值班, role: responder, jurisdictions: [changji]}`, "", false, true, 3, 1},
	}
	for _, s := range steps {
		writeTokens(t, path, s.file)
		err := rt.Reload()
		if s.wantErr == "" && err != nil || s.wantErr != "" && (err == nil || !strings.Contains(err.Error(), s.wantErr)) {
			t.Errorf("%s: reload error %v, want %q", s.name, err, s.wantErr)
		}
		if works("old-token-of-the-duty-desk") != s.oldOK || works("new-token-of-the-new-rota") != s.newOK {
			t.Errorf("%s: old token works %v, new %v; want %v, %v", s.name, works("old-token-of-the-duty-desk"), works("new-token-of-the-new-rota"), s.oldOK, s.newOK)
		}
		if got := counterValue(rt.reloadMetrics.results.WithLabelValues("tokens", "refused")); got != s.refused {
			t.Errorf("%s: refused reloads %v, want %v", s.name, got, s.refused)
		}
		if got := counterValue(rt.reloadMetrics.results.WithLabelValues("tokens", "ok")); got != s.reload {
			t.Errorf("%s: ok reloads %v, want %v", s.name, got, s.reload)
		}
	}
	if !strings.Contains(logs.String(), "reload refused; keeping the tokens in use") || !strings.Contains(logs.String(), `"msg":"reloaded"`) {
		t.Errorf("the log does not say what happened:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), "new-token-of-the-new-rota") || strings.Contains(logs.String(), "old-token-of-the-duty-desk") {
		t.Errorf("the log holds a token:\n%s", logs.String())
	}
}

// A real SIGHUP to a running Main runs the reloaders (and does not stop the service).
func TestSIGHUPRunsTheReloadersOfARunningService(t *testing.T) {
	var reloads atomic.Int32
	registered := make(chan struct{})
	p := Program{Name: "x", Start: func(_ context.Context, rt *Runtime) error {
		rt.OnReload("contacts", func() error { reloads.Add(1); return nil })
		rt.OnReload("broken", func() error { return errors.New("line 3: role x is not declared") })
		rt.Add("work", func(ctx context.Context) error {
			close(registered)
			select {
			case <-ctx.Done():
			case <-time.After(10 * time.Second):
			}
			return nil
		})
		return nil
	}}
	done := make(chan int, 1)
	go func() { done <- Main(p, []string{"-config", writeConfig(t)}, &bytes.Buffer{}, &bytes.Buffer{}) }()
	<-registered
	// SIGHUP is asked for before the components start: "work" running means it is caught.
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for reloads.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if reloads.Load() == 0 {
		t.Fatal("SIGHUP ran no reloader")
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-done:
		if code != ExitOK {
			t.Errorf("exit %d after SIGHUPs and SIGTERM, want 0", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the service did not stop on SIGTERM")
	}
}
