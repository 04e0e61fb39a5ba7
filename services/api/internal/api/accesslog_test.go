package api_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/riverwatch/riverwatch/services/api/internal/api"
)

// accessLines returns the access log's lines (msg "request") of a JSON log.
func accessLines(t *testing.T, logs *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(logs.Bytes()))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		if m["msg"] == "request" {
			out = append(out, m)
		}
	}
	return out
}

// Every answered request is one access-log line: who asked (the token's name, never the
// token), what (method, route, path without the query), the status, bytes and duration, and
// the request id of the answer's X-Request-Id.
func TestEveryRequestIsOneAccessLogLineNamingTheToken(t *testing.T) {
	cases := []struct {
		name, method, path, token string
		status                    int
		tokenName, route          string
	}{
		{"answered", "GET", "/api/v1/sites?x=1", viewerChangji, 200, "昌吉市河长办", "sites"},
		{"refused without a token", "GET", "/api/v1/sites", "", 401, "", "sites"},
		{"forbidden to the role", "POST", "/api/v1/drills", viewerChangji, 403, "昌吉市河长办", "drill"},
		{"unknown path", "GET", "/api/v1/nothing?access_token=" + admin, "", 404, "", "unknown"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var logs bytes.Buffer
			e := newEnv(t, func(o *api.Options) { o.Logger = slog.New(slog.NewJSONHandler(&logs, nil)) })
			res := e.do(t, c.method, c.path, c.token, nil)
			if res.status != c.status {
				t.Fatalf("status %d, want %d", res.status, c.status)
			}
			lines := accessLines(t, &logs)
			if len(lines) != 1 {
				t.Fatalf("%d access-log lines, want 1:\n%s", len(lines), logs.String())
			}
			l := lines[0]
			want := map[string]any{
				"method": c.method, "route": c.route, "status": float64(c.status), "token": c.tokenName,
				"request_id": res.header.Get("X-Request-Id"), "level": "INFO",
			}
			for k, v := range want {
				if l[k] != v {
					t.Errorf("%s = %v, want %v", k, l[k], v)
				}
			}
			if p, _ := l["path"].(string); p == "" || bytes.ContainsAny([]byte(p), "?") {
				t.Errorf("path %q: want the path without the query", l["path"])
			}
			if b, _ := l["bytes"].(float64); int(b) != len(res.body) {
				t.Errorf("bytes %v, want %d", l["bytes"], len(res.body))
			}
			if _, ok := l["duration_ms"].(float64); !ok {
				t.Errorf("no duration_ms: %v", l)
			}
			for _, secret := range []string{viewerChangji, admin} {
				if bytes.Contains(logs.Bytes(), []byte(secret)) {
					t.Errorf("the log holds the token %s:\n%s", secret, logs.String())
				}
			}
		})
	}
}
