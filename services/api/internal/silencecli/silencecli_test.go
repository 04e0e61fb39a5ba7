package silencecli

import (
	"bytes"
	"context"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/auth"
	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/network"
	"github.com/riverwatch/riverwatch/pkg/silence"
	"github.com/riverwatch/riverwatch/services/api/internal/api"
	"github.com/riverwatch/riverwatch/services/api/internal/api/apitest"
)

const admin = "dev-admin-token"

// server is the real api over a MemStore whose Applier plays the responder.
func server(t *testing.T) (*httptest.Server, *apitest.Applier, apitest.Fixture) {
	t.Helper()
	root := filepath.Join("..", "..", "..", "..", "configs")
	net, err := network.Load(filepath.Join(root, "sites.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := auth.Load(filepath.Join(root, "tokens.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	store := apitest.NewMemStore()
	fix := apitest.Seed(store, net, time.Now())
	applier := &apitest.Applier{Store: store}
	s, err := api.NewServer(api.Options{Network: net, Tokens: tokens, Store: store, Commander: applier, Corrector: applier,
		CommandTimeout: time.Second, CommandPoll: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return srv, applier, fix
}

func run(t *testing.T, srv *httptest.Server, token string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Run(context.Background(), append([]string{"-url", srv.URL, "-token", token}, args...), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestCreateListExpire(t *testing.T) {
	srv, applier, fix := server(t)
	code, out, errOut := run(t, srv, admin, "create", "-m", "site=STH-S2", "-m", "parameter=~nh3n|tp", "-for", "2h",
		"-comment", "分析仪校准", "-end-on-resolve", "-weekly", "tue,fri@09:00+2h")
	if code != 0 {
		t.Fatalf("create: exit %d: %s", code, errOut)
	}
	id, _, _ := strings.Cut(out, "\t")
	sent := applier.Sent()
	if len(sent) != 1 || sent[0].Type != message.CommandSilenceCreate || sent[0].Silence == nil {
		t.Fatalf("sent %+v", sent)
	}
	s := sent[0].Silence
	if s.ID != id || len(s.Matchers) != 2 || !s.Matchers[1].IsRegex || s.Matchers[1].Value != "nh3n|tp" || !s.EndOnResolve ||
		s.Recurrence == nil || s.Recurrence.Start != "09:00" || s.EndsAt.Sub(s.StartsAt).Round(time.Minute) != 2*time.Hour {
		t.Errorf("silence sent %+v (id printed %q)", s, id)
	}

	code, out, errOut = run(t, srv, "dev-viewer-changji", "list")
	if code != 0 || !strings.Contains(out, id) || !strings.Contains(out, fix.OwnSilence) || strings.Contains(out, fix.OutsideSilence) ||
		!strings.Contains(out, "parameter=~nh3n|tp") {
		t.Errorf("list: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, _ = run(t, srv, "dev-viewer-changji", "list", "-state", "expired"); code != 0 || !strings.Contains(out, fix.ExpiredSilence) || strings.Contains(out, id) {
		t.Errorf("list -state expired:\n%s", out)
	}

	code, out, errOut = run(t, srv, admin, "expire", id)
	if code != 0 || !strings.Contains(out, silence.StateExpired) {
		t.Errorf("expire: exit %d %s%s", code, out, errOut)
	}
	if code, _, errOut = run(t, srv, admin, "expire", id); code != 1 || !strings.Contains(errOut, "409") {
		t.Errorf("expire again: exit %d %s", code, errOut)
	}
}

func TestRefusalsAndUsageErrors(t *testing.T) {
	srv, _, _ := server(t)
	cases := []struct {
		name  string
		token string
		args  []string
		code  int
		why   string
	}{
		{"a viewer may not create", "dev-viewer-changji", []string{"create", "-m", "site=STH-S2", "-for", "1h", "-comment", "c"}, 1, "403"},
		{"the api's validation comes back", admin, []string{"create", "-m", "severity=x", "-for", "1h", "-comment", "c"}, 1, "unknown name"},
		{"no end", admin, []string{"create", "-m", "site=STH-S2", "-comment", "c"}, 2, "-until"},
		{"a malformed matcher", admin, []string{"create", "-m", "site", "-for", "1h", "-comment", "c"}, 2, "NAME=VALUE"},
		{"a malformed weekly window", admin, []string{"create", "-m", "site=STH-S2", "-for", "1h", "-comment", "c", "-weekly", "tue"}, 2, "DAYS@HH:MM"},
		{"an unknown command", admin, []string{"mute"}, 2, "unknown command"},
		{"expire without an id", admin, []string{"expire"}, 2, "one silence id"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, errOut := run(t, srv, c.token, c.args...)
			if code != c.code || !strings.Contains(errOut, c.why) {
				t.Errorf("exit %d, want %d; stderr %q lacks %q", code, c.code, errOut, c.why)
			}
		})
	}
}
