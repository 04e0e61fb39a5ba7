package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/auth"
	"github.com/riverwatch/riverwatch/services/api/internal/api"
	"github.com/riverwatch/riverwatch/services/api/internal/api/apitest"
)

// The authorisation matrix: every route the Server registers (its own route table, so a
// route added tomorrow is in it without this file changing) × no token, an unknown token,
// each role × the caller's own objects, objects it sees but does not own (an incident
// that started upstream and concerns it downstream) and objects outside its
// jurisdictions, each with the status the rules of docs/security.md give. Every answer is
// also held to openapi.json, and no successful answer may mention an object outside the
// caller's jurisdictions.

// matrixTokens are changji's desks, one per role; the admin too is scoped to changji, so
// that "outside" exists for every role.
var matrixTokens = []auth.Principal{
	{Token: "m-viewer", Name: "matrix viewer", Role: auth.RoleViewer, Jurisdictions: []string{"changji"}},
	{Token: "m-responder", Name: "matrix responder", Role: auth.RoleResponder, Jurisdictions: []string{"changji"}},
	{Token: "m-admin", Name: "matrix admin", Role: auth.RoleAdmin, Jurisdictions: []string{"changji"}},
}

type caller struct {
	name, token, role string
	header            bool // send an Authorization header
}

func matrixCallers() []caller {
	out := []caller{{name: "no token"}, {name: "unknown token", token: "not-a-token", header: true}}
	for _, p := range matrixTokens {
		out = append(out, caller{name: p.Role, token: p.Token, role: p.Role, header: true})
	}
	return out
}

// Scopes of the objects a request names.
const (
	scopeOwn        = "own"        // the caller's jurisdiction is the object's (the incident's origin)
	scopeDownstream = "downstream" // the caller sees the object but does not own it
	scopeOutside    = "outside"    // none of the caller's jurisdictions
)

// objects are what each scope's requests name (the seed of apitest: OpenIncident starts at
// STH-S2 in changji, AckedIncident at TTH-S2 in urumqi and concerns changji downstream,
// ResolvedIncident concerns xpcc12 only; TTH-S1 is xpcc12's).
type objects struct {
	site, incident, step string
	// silence is a seeded silence of the scope; silenceMatcher what a new one of the scope
	// matches.
	silence        string
	silenceMatcher map[string]string
}

func matrixObjects(e *env) map[string]objects {
	return map[string]objects{
		scopeOwn: {site: "STH-S2", incident: e.fix.OpenIncident, step: "s1",
			silence: e.fix.OwnSilence, silenceMatcher: map[string]string{"name": "site", "value": "STH-S2"}},
		// A silence of the Toutun river reaches urumqi and xpcc12 too: changji sees it,
		// but only an admin of all three creates or expires it.
		scopeDownstream: {site: "STH-S2", incident: e.fix.AckedIncident, step: "s2",
			silence: e.fix.RiverSilence, silenceMatcher: map[string]string{"name": "river", "value": "toutun"}},
		scopeOutside: {site: "TTH-S1", incident: e.fix.ResolvedIncident, step: "s1",
			silence: e.fix.OutsideSilence, silenceMatcher: map[string]string{"name": "site", "value": "TTH-S1"}},
	}
}

// Invisible to changji: must not appear in a successful answer to a changji token (the
// drill is apitest.SeedDrills' Outside).
var outsideMarks = []string{"inc-tth-s1-old", "TTH-S1", "drill-xpcc12"}

var placeholder = regexp.MustCompile(`\{[a-z]+\}`)

// request builds a route's request for a scope; object says what kind of object it names
// ("" for none). A route whose path parameters or body the matrix cannot fill fails the
// test, so that its author adds it here rather than leaving it uncovered.
func request(t *testing.T, rt api.Route, o objects) (path string, body any, object string) {
	t.Helper()
	path = rt.Pattern
	switch {
	case strings.HasPrefix(path, "/api/v1/sites/{id}"):
		path, object = strings.Replace(path, "{id}", o.site, 1), "site"
	case strings.HasPrefix(path, "/api/v1/incidents/{id}"):
		path, object = strings.Replace(path, "{id}", o.incident, 1), "incident"
	case strings.HasPrefix(path, "/api/v1/silences/{id}"):
		path, object = strings.Replace(path, "{id}", o.silence, 1), "silence"
	}
	path = strings.Replace(path, "{step}", o.step, 1)
	// The stored backtest holds TTH-S1 (outside changji) beside STH-S2: the answer must
	// leave it out (outsideMarks).
	path = strings.Replace(path, "{name}", "confirm2", 1)
	if p := placeholder.FindString(path); p != "" {
		t.Fatalf("%s %s: the matrix does not know what to put in %s: add it to request()", rt.Method, rt.Pattern, p)
	}
	switch rt.Method + " " + rt.Pattern {
	case "POST /api/v1/drills":
		body, object = map[string]string{"site": o.site}, "site"
	case "POST /api/v1/incidents/{id}/receipt":
		body = map[string]string{"step": o.step}
	case "POST /api/v1/sites/{id}/readings/corrections":
		body = map[string]any{"parameter": "nh3n", "observed_at": "2026-06-15T09:00:00Z", "value": 0.5, "reason": "matrix"}
	case "POST /api/v1/silences":
		body, object = map[string]any{
			"matchers": []map[string]string{o.silenceMatcher},
			"ends_at":  "2030-01-01T00:00:00Z", "comment": "matrix",
		}, "silence"
	case "POST /api/v1/sites/{id}/commands":
		body = map[string]any{"command": "retain_sample", "reason": "matrix"}
	case "GET /api/v1/incidents/{id}/report":
		path += "?kind=follow_up&format=text"
	}
	return path, body, object
}

func rank(role string) int {
	return map[string]int{auth.RoleViewer: 1, auth.RoleResponder: 2, auth.RoleAdmin: 3}[role]
}

// expected is the rule book (docs/security.md), written out independently of the code.
func expected(rt api.Route, c caller, scope, object string) int {
	switch {
	case rt.Role == "":
		return http.StatusOK
	case c.role == "":
		return http.StatusUnauthorized
	case rank(c.role) < rank(rt.Role):
		return http.StatusForbidden // a role failure reveals nothing: no object is looked up
	case object != "" && scope == scopeOutside:
		return http.StatusNotFound // exactly as an object that does not exist
	case object == "incident" && scope == scopeDownstream &&
		(strings.HasSuffix(rt.Pattern, "/ack") || strings.HasSuffix(rt.Pattern, "/resolve")):
		return http.StatusForbidden // only the origin jurisdiction acknowledges and resolves
	case object == "silence" && scope == scopeDownstream && rt.Method != http.MethodGet:
		return http.StatusForbidden // a silence is created and expired by an admin of every jurisdiction it reaches
	}
	return http.StatusOK
}

func TestAuthorisationMatrixOfEveryRoute(t *testing.T) {
	routes := newEnv(t).server.RouteTable()
	if len(routes) < 16 {
		t.Fatalf("route table has %d routes", len(routes))
	}
	for _, rt := range routes {
		t.Run(rt.Method+" "+rt.Pattern, func(t *testing.T) {
			t.Parallel()
			withTokens := func(o *api.Options) { o.Tokens = auth.New(matrixTokens); o.BacktestDir = backtestFixtures }
			// The drills of apitest.SeedDrills too, one of them xpcc12's alone: the drill
			// routes must leave it out, and no other route may show it. Prediction verdicts
			// too, one reach of them (TTH-S1 → TTH-S2) outside changji: the skill report
			// must not name it.
			matrixEnv := func() *env {
				e := newEnv(t, withTokens)
				apitest.SeedDrills(e.store, e.now, e.net.Location)
				seedVerdicts(e)
				return e
			}
			shared := matrixEnv()
			for _, c := range matrixCallers() {
				for _, scope := range []string{scopeOwn, scopeDownstream, scopeOutside} {
					// A fresh API for each command: one applied must not change another cell.
					e := shared
					if rt.Method != http.MethodGet {
						e = matrixEnv()
					}
					path, body, object := request(t, rt, matrixObjects(e)[scope])
					want := expected(rt, c, scope, object)
					// The event stream answers until its request ends: GETs get a short deadline.
					deadline := 5 * time.Second
					if rt.Method == http.MethodGet {
						deadline = 300 * time.Millisecond
					}
					res := e.doCtx(t, deadline, rt.Method, path, c, body)
					if res.status == http.StatusAccepted && rt.Method == http.MethodPost {
						res.status = http.StatusOK // authorised and sent; the responder was slow to answer
					}
					if res.status != want {
						t.Errorf("%s, %s object: %s %s → %d, want %d: %s", c.name, scope, rt.Method, path, res.status, want, truncate(res.body))
					}
					if res.status == http.StatusOK && c.role != "" {
						for _, m := range outsideMarks {
							if bytes.Contains(res.body, []byte(m)) {
								t.Errorf("%s, %s object: %s %s answers %q, which is outside changji", c.name, scope, rt.Method, path, m)
							}
						}
					}
				}
			}
		})
	}
}

// doCtx is do for a caller, under a deadline (the event stream answers until its request
// ends).
func (e *env) doCtx(t *testing.T, d time.Duration, method, path string, c caller, body any) result {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	req := httptest.NewRequestWithContext(ctx, method, path, rd)
	if c.header {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	rec := httptest.NewRecorder()
	e.handler.ServeHTTP(rec, req)
	res := result{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
	if !strings.Contains(res.header.Get("Content-Type"), "event-stream") {
		if err := doc.checkResponse(method, req.URL.Path, res.status, res.header.Get("Content-Type"), res.body); err != nil {
			t.Errorf("%s: response does not match openapi.json: %v\n%s", c.name, err, truncate(res.body))
		}
	}
	return res
}
