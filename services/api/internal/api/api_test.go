package api_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverwatch/riverwatch/pkg/auth"
	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/network"
	"github.com/riverwatch/riverwatch/pkg/testinfra"
	"github.com/riverwatch/riverwatch/services/api/internal/api"
	"github.com/riverwatch/riverwatch/services/api/internal/api/apitest"
)

// Tokens of configs/tokens.yaml.
const (
	admin            = "dev-admin-token"
	responderChangji = "dev-responder-changji"
	responderUrumqi  = "dev-responder-urumqi"
	viewerChangji    = "dev-viewer-changji"
	viewerXPCC6      = "dev-viewer-xpcc6"
)

var (
	docOnce sync.Once
	doc     *openAPI
)

type env struct {
	server  *api.Server
	handler http.Handler
	store   *apitest.MemStore
	applier *apitest.Applier
	fix     apitest.Fixture
	net     *network.Network
	reg     *prometheus.Registry
	now     time.Time
}

func repoFile(t testing.TB, parts ...string) string {
	return filepath.Join(append([]string{testinfra.ModuleRoot(t)}, parts...)...)
}

// newEnv builds the API over the configured network and tokens, a seeded MemStore and an
// Applier that applies commands at once.
func newEnv(t testing.TB, opts ...func(*api.Options)) *env {
	t.Helper()
	net, err := network.Load(repoFile(t, "configs", "sites.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := auth.Load(repoFile(t, "configs", "tokens.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 6, 15, 10, 30, 0, 0, time.UTC)
	store := apitest.NewMemStore()
	fix := apitest.Seed(store, net, now)
	applier := &apitest.Applier{Store: store, Now: func() time.Time { return now }}
	reg := prometheus.NewRegistry()
	o := api.Options{
		Network: net, Tokens: tokens, Store: store, Commander: applier, Corrector: applier, StationCommander: applier, Registry: reg,
		CommandTimeout: 300 * time.Millisecond, CommandPoll: 5 * time.Millisecond,
		Now:      func() time.Time { return now },
		Evidence: testEvidence(t, now),
	}
	for _, f := range opts {
		f(&o)
	}
	s, err := api.NewServer(o)
	if err != nil {
		t.Fatal(err)
	}
	docOnce.Do(func() { doc = loadOpenAPI(t) })
	return &env{server: s, handler: s.Handler(), store: store, applier: applier, fix: fix, net: net, reg: reg, now: now}
}

type result struct {
	status int
	header http.Header
	body   []byte
}

func (r result) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// do sends a request and checks the response against the OpenAPI document.
func (e *env) do(t testing.TB, method, path, token string, body any, headers ...string) result {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req := httptest.NewRequest(method, path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	e.handler.ServeHTTP(rec, req)
	res := result{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
	// Every answer of a documented path must match the document; an undocumented path may
	// only be refused.
	if documented, _ := doc.operationFor(method, req.URL.Path); strings.HasPrefix(req.URL.Path, "/api/") && (documented != "" || res.status < 400) {
		if err := doc.checkResponse(method, req.URL.Path, res.status, res.header.Get("Content-Type"), res.body); err != nil {
			t.Errorf("response does not match openapi.json: %v\n%s", err, truncate(res.body))
		}
	}
	return res
}

func truncate(b []byte) string {
	if len(b) > 600 {
		return string(b[:600]) + "…"
	}
	return string(b)
}

// TestAccessRules: every endpoint, every role, the jurisdiction rules.
func TestAccessRules(t *testing.T) {
	e := newEnv(t)
	open, acked, resolved := e.fix.OpenIncident, e.fix.AckedIncident, e.fix.ResolvedIncident
	cases := []struct {
		name, method, path, token string
		body                      any
		want                      int
	}{
		{"openapi needs no token", "GET", "/api/v1/openapi.json", "", nil, 200},
		{"no token", "GET", "/api/v1/sites", "", nil, 401},
		{"unknown token", "GET", "/api/v1/sites", "nope", nil, 401},
		{"me without token", "GET", "/api/v1/me", "", nil, 401},
		{"me", "GET", "/api/v1/me", viewerChangji, nil, 200},
		{"rivers", "GET", "/api/v1/rivers", viewerChangji, nil, 200},
		{"viewer lists sites", "GET", "/api/v1/sites", viewerChangji, nil, 200},
		{"viewer reads own site", "GET", "/api/v1/sites/STH-S2", viewerChangji, nil, 200},
		{"viewer reads other jurisdiction's site: as unknown", "GET", "/api/v1/sites/TTH-S2", viewerChangji, nil, 404},
		{"unknown site", "GET", "/api/v1/sites/NOPE", admin, nil, 404},
		{"readings of own site", "GET", "/api/v1/sites/STH-S2/readings", viewerChangji, nil, 200},
		{"readings of other jurisdiction's site: as unknown", "GET", "/api/v1/sites/STH-S3/readings", viewerChangji, nil, 404},
		{"readings without token", "GET", "/api/v1/sites/STH-S2/readings", "", nil, 401},
		{"events", "GET", "/api/v1/events", viewerChangji, nil, 200},
		{"events of other jurisdiction's site: as unknown", "GET", "/api/v1/events?site=TTH-S2", viewerChangji, nil, 404},
		{"events of unknown site", "GET", "/api/v1/events?site=NOPE", viewerChangji, nil, 404},
		{"incidents", "GET", "/api/v1/incidents", viewerXPCC6, nil, 200},
		{"incident concerning a downstream jurisdiction", "GET", "/api/v1/incidents/" + open, viewerXPCC6, nil, 200},
		{"incident concerning only others: as unknown", "GET", "/api/v1/incidents/" + acked, viewerXPCC6, nil, 404},
		{"incident of upstream origin concerning us", "GET", "/api/v1/incidents/" + acked, viewerChangji, nil, 200},
		{"unknown incident", "GET", "/api/v1/incidents/nope", admin, nil, 404},
		{"viewer may not acknowledge", "POST", "/api/v1/incidents/" + open + "/ack", viewerChangji, nil, 403},
		{"viewer may not resolve", "POST", "/api/v1/incidents/" + open + "/resolve", viewerChangji, nil, 403},
		{"viewer may not confirm receipt", "POST", "/api/v1/incidents/" + open + "/receipt", viewerChangji, nil, 403},
		{"viewer may not mark a step done", "POST", "/api/v1/incidents/" + open + "/steps/s1/done", viewerChangji, nil, 403},
		{"responder of an unconcerned jurisdiction may not acknowledge: as unknown", "POST", "/api/v1/incidents/" + open + "/ack", responderUrumqi, nil, 404},
		{"downstream responder may not resolve an upstream incident", "POST", "/api/v1/incidents/" + acked + "/resolve", responderChangji, nil, 403},
		{"downstream responder may not acknowledge an upstream incident", "POST", "/api/v1/incidents/" + acked + "/ack", responderChangji, nil, 403},
		{"responder may not start a drill", "POST", "/api/v1/drills", responderChangji, map[string]string{"site": "STH-S2"}, 403},
		{"viewer may not start a drill", "POST", "/api/v1/drills", viewerChangji, map[string]string{"site": "STH-S2"}, 403},
		{"responder marks a step of another jurisdiction", "POST", "/api/v1/incidents/" + open + "/steps/s3/done", responderChangji, nil, 403},
		{"responder confirms receipt of another jurisdiction's step", "POST", "/api/v1/incidents/" + open + "/receipt", responderChangji, map[string]string{"step": "s3"}, 403},
		{"unknown step", "POST", "/api/v1/incidents/" + open + "/steps/s9/done", responderChangji, nil, 404},
		{"acknowledge an acknowledged incident", "POST", "/api/v1/incidents/" + acked + "/ack", responderUrumqi, nil, 409},
		{"resolve a resolved incident", "POST", "/api/v1/incidents/" + resolved + "/resolve", admin, nil, 409},
		{"responder marks own step done", "POST", "/api/v1/incidents/" + acked + "/steps/s2/done", responderChangji, nil, 200},
		{"responder confirms receipt of own step", "POST", "/api/v1/incidents/" + open + "/receipt", responderChangji, nil, 200},
		{"responder acknowledges", "POST", "/api/v1/incidents/" + open + "/ack", responderChangji, map[string]string{"note": "值班人员已到岗"}, 200},
		{"responder resolves", "POST", "/api/v1/incidents/" + open + "/resolve", responderChangji, nil, 200},
		{"admin starts a drill", "POST", "/api/v1/drills", admin, map[string]string{"site": "STH-S2", "parameter": "nh3n"}, 200},
		{"drill at an unknown site", "POST", "/api/v1/drills", admin, map[string]string{"site": "NOPE"}, 404},
		{"drill without a site", "POST", "/api/v1/drills", admin, map[string]string{}, 400},
		{"drill of an unknown parameter", "POST", "/api/v1/drills", admin, map[string]string{"site": "STH-S2", "parameter": "xyz"}, 400},
		{"report", "GET", "/api/v1/reports/compliance", viewerXPCC6, nil, 200},
		{"report without token", "GET", "/api/v1/reports/compliance", "", nil, 401},
		{"stream without token", "GET", "/api/v1/stream", "", nil, 401},
		{"unknown endpoint", "GET", "/api/v1/nothing", admin, nil, 404},
		{"sites of an unknown kind", "GET", "/api/v1/sites?kind=river", admin, nil, 400},
		{"sites of a kind", "GET", "/api/v1/sites?kind=outfall", admin, nil, 200},
		{"empty filter is no filter", "GET", "/api/v1/sites?kind=&river=", admin, nil, 200},
		{"active twice is active", "GET", "/api/v1/incidents?status=active,open,active", admin, nil, 200},
		{"a null step is no step: none of ours awaits a receipt any more", "POST", "/api/v1/incidents/" + open + "/receipt", responderChangji, map[string]any{"step": nil, "note": nil}, 409},
		{"offset past the largest", "GET", "/api/v1/incidents?offset=36893488147419103232", admin, nil, 400},
		{"offset at the largest", "GET", "/api/v1/incidents?offset=100000", admin, nil, 200},
		{"offset beyond the largest", "GET", "/api/v1/incidents?offset=100001", admin, nil, 400},
		{"offset that overflows an int", "GET", "/api/v1/events?offset=9223372036854775807", admin, nil, 400},
		{"readings offset beyond the largest", "GET", "/api/v1/sites/STH-S2/readings?offset=500001", admin, nil, 400},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := e.do(t, c.method, c.path, c.token, c.body)
			if res.status != c.want {
				t.Fatalf("%s %s as %q: status %d, want %d: %s", c.method, c.path, c.token, res.status, c.want, res.body)
			}
			if c.want >= 400 {
				var er struct{ Error, Code string }
				res.decode(t, &er)
				if er.Error == "" || er.Code == "" {
					t.Errorf("error without a message: %s", res.body)
				}
			}
			if c.want == 401 && res.header.Get("WWW-Authenticate") == "" && c.path != "/api/v1/openapi.json" {
				t.Errorf("401 without WWW-Authenticate")
			}
		})
	}
}

func TestAccessTokenQueryParameterIsNoTokenOutsideTheEventStream(t *testing.T) {
	e := newEnv(t)
	if res := e.do(t, "GET", "/api/v1/me?access_token="+viewerXPCC6, "", nil); res.status != 401 {
		t.Fatalf("GET /api/v1/me?access_token=…: status %d, want 401 (L2: the query token is honoured on the event stream only)", res.status)
	}
	if res := e.do(t, "POST", "/api/v1/incidents/x/ack?access_token="+admin, "", nil); res.status != 401 {
		t.Fatalf("POST …/ack?access_token=…: status %d, want 401", res.status)
	}
}

func TestSitesAreScopedToTheTokensJurisdictions(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		token     string
		want      []string
		incidents int
	}{
		{admin, []string{"TTH-S1", "TTH-O1", "TTH-S2", "TTH-S3", "STH-D1", "STH-S1", "STH-O1", "STH-S2", "STH-D2", "STH-S3"}, 2},
		{viewerChangji, []string{"TTH-S3", "STH-D1", "STH-S1", "STH-O1", "STH-S2", "STH-D2"}, 2},
		{viewerXPCC6, []string{"STH-S3"}, 1},
		{responderUrumqi, []string{"TTH-O1", "TTH-S2"}, 1},
	}
	for _, c := range cases {
		t.Run(c.token, func(t *testing.T) {
			var resp api.SitesResponse
			e.do(t, "GET", "/api/v1/sites", c.token, nil).decode(t, &resp)
			var got []string
			for _, s := range resp.Items {
				got = append(got, s.ID)
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("sites %v, want %v", got, c.want)
			}
			if resp.Summary.Sites != len(c.want) || resp.Summary.OpenIncidents != c.incidents {
				t.Errorf("summary %+v, want %d sites and %d open incidents", resp.Summary, len(c.want), c.incidents)
			}
		})
	}
}

func TestSiteShowsCurrentClassStatusAndLatestValues(t *testing.T) {
	e := newEnv(t)
	var all api.SitesResponse
	e.do(t, "GET", "/api/v1/sites", admin, nil).decode(t, &all)
	for _, v := range all.Items {
		want, section := e.fix.Classes[v.ID]
		if !section {
			if v.Class != "" {
				t.Errorf("outfall %s has a class %q", v.ID, v.Class)
			}
			continue
		}
		if v.Class != want.String() || v.Color != want.Color() || v.Descriptor != want.Descriptor() {
			t.Errorf("%s: class %q colour %s %s, want %s %s %s", v.ID, v.Class, v.Color, v.Descriptor, want, want.Color(), want.Descriptor())
		}
	}
	var s api.SiteView
	e.do(t, "GET", "/api/v1/sites/STH-S2", viewerChangji, nil).decode(t, &s)
	if s.Class != "劣V" || s.ClassRoman != "劣Ⅴ" || s.Status != api.StatusExceeding || s.MeetsTarget == nil || *s.MeetsTarget {
		t.Errorf("STH-S2: %+v", s)
	}
	if len(s.Exceedances) != 1 || s.Exceedances[0].Parameter != "nh3n" || s.Exceedances[0].Type != message.EventExceedanceUpdated {
		t.Errorf("open exceedances %+v, want the latest nh3n event", s.Exceedances)
	}
	if len(s.MainPollutants) == 0 || !strings.HasPrefix(s.MainPollutants[0], "氨氮(") {
		t.Errorf("main pollutants %v, want 氨氮 first (劣Ⅴ)", s.MainPollutants)
	}
	byParam := map[string]api.LatestValue{}
	for _, l := range s.Latest {
		byParam[l.Parameter] = l
	}
	nh3n := byParam["nh3n"]
	if nh3n.Value != 2.6 || nh3n.Class != "劣V" || nh3n.Meets == nil || *nh3n.Meets || nh3n.Limit != 1.0 || nh3n.Name != "氨氮" {
		t.Errorf("latest nh3n %+v", nh3n)
	}
	if temp := byParam["temp"]; temp.Meets != nil || temp.Evaluated {
		t.Errorf("water temperature has no limit and is not evaluated: %+v", temp)
	}
	var s1 api.SiteView
	e.do(t, "GET", "/api/v1/sites/STH-S1", admin, nil).decode(t, &s1)
	if s1.Status != api.StatusNormal || len(s1.Exceedances) != 0 {
		t.Errorf("STH-S1: an exceedance that was cleared is not open: %+v", s1)
	}
}

func TestReadingsWithoutAFlagAreJudgedAsNormal(t *testing.T) {
	store := apitest.NewMemStore()
	e := newEnv(t, func(o *api.Options) { o.Store = store })
	at := e.now.Add(-time.Hour)
	for flag, v := range map[string]float64{"": 2.6, "M": 0.1} {
		param := map[string]string{"": "nh3n", "M": "cod"}[flag]
		store.AddReadings(message.Reading{ID: param, Site: "STH-S1", Parameter: param, Value: v, Unit: "mg/L", Flag: flag, ObservedAt: at})
	}
	var s api.SiteView
	e.do(t, "GET", "/api/v1/sites/STH-S1", admin, nil).decode(t, &s)
	if s.Class != "劣V" {
		t.Errorf("class %q, want 劣V from the unflagged nh3n 2.6 mg/L", s.Class)
	}
	for _, l := range s.Latest {
		if want := map[string]string{"nh3n": message.FlagNormal, "cod": "M"}[l.Parameter]; l.Flag != want {
			t.Errorf("latest %s flag %q, want %q", l.Parameter, l.Flag, want)
		}
	}
}

func TestSiteStatusOfflineAndNoData(t *testing.T) {
	e := newEnv(t)
	later := e.now.Add(5 * time.Hour) // > 3 × the hourly interval since the last reading
	e2 := newEnv(t, func(o *api.Options) { o.Now = func() time.Time { return later } })
	var s api.SiteView
	e2.do(t, "GET", "/api/v1/sites/STH-S1", admin, nil).decode(t, &s)
	if s.Status != api.StatusOffline || s.Class == "" {
		t.Errorf("silent for 5 h: status %q class %q, want offline with its last class", s.Status, s.Class)
	}
	e3 := newEnv(t, func(o *api.Options) { o.Now = func() time.Time { return e.now.Add(60 * 24 * time.Hour) } })
	s = api.SiteView{}
	e3.do(t, "GET", "/api/v1/sites/STH-S1", admin, nil).decode(t, &s)
	if s.Status != api.StatusNoData || s.Class != "" || s.LastSeen != nil {
		t.Errorf("nothing in the lookback: %+v", s)
	}
}

func TestReadingsChooseTheResolutionByRange(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		span time.Duration
		res  string
		want string
	}{
		{24 * time.Hour, "", api.ResolutionRaw},
		{30 * 24 * time.Hour, "", api.ResolutionHour},
		{365 * 24 * time.Hour, "", api.ResolutionDay},
		{365 * 24 * time.Hour, "hour", api.ResolutionHour},
	}
	for _, c := range cases {
		t.Run(fmt.Sprint(c.span, c.res), func(t *testing.T) {
			q := url.Values{"from": {e.now.Add(-c.span).Format(time.RFC3339)}, "to": {e.now.Add(time.Second).Format(time.RFC3339)}, "parameter": {"nh3n,do"}}
			if c.res != "" {
				q.Set("resolution", c.res)
			}
			var r api.ReadingsResponse
			e.do(t, "GET", "/api/v1/sites/STH-S2/readings?"+q.Encode(), admin, nil).decode(t, &r)
			if r.Resolution != c.want || len(r.Series) != 2 {
				t.Fatalf("resolution %q with %d series, want %q with 2", r.Resolution, len(r.Series), c.want)
			}
			for _, s := range r.Series {
				if len(s.Points) == 0 {
					t.Errorf("%s: no points", s.Parameter)
				}
				if s.Parameter == "nh3n" && (len(s.ClassLimits) != 5 || s.LimitKind != "upper" || s.Target == nil || *s.Target != 1.0) {
					t.Errorf("nh3n bands %v %q target %v", s.ClassLimits, s.LimitKind, s.Target)
				}
				if s.Parameter == "do" && (s.LimitKind != "lower" || *s.Target != 5) {
					t.Errorf("do is a lower limit: %q %v", s.LimitKind, s.Target)
				}
			}
		})
	}
}

func TestReadingsPaginateAndExportCSV(t *testing.T) {
	e := newEnv(t)
	base := "/api/v1/sites/STH-S2/readings?parameter=nh3n&from=" + url.QueryEscape(e.now.Add(-24*time.Hour).Format(time.RFC3339))
	var page1 api.ReadingsResponse
	e.do(t, "GET", base+"&limit=10", viewerChangji, nil).decode(t, &page1)
	s := page1.Series[0]
	if len(s.Points) != 10 || s.NextOffset == nil || *s.NextOffset != 10 {
		t.Fatalf("first page: %d points next %v", len(s.Points), s.NextOffset)
	}
	var page2 api.ReadingsResponse
	e.do(t, "GET", base+"&limit=10&offset=10", viewerChangji, nil).decode(t, &page2)
	if !page2.Series[0].Points[0].T.After(s.Points[9].T) {
		t.Errorf("second page does not follow the first")
	}
	res := e.do(t, "GET", base+"&format=csv", viewerChangji, nil)
	if res.status != 200 || !strings.HasPrefix(res.header.Get("Content-Type"), "text/csv") ||
		!strings.Contains(res.header.Get("Content-Disposition"), "STH-S2_") {
		t.Fatalf("csv: %d %v", res.status, res.header)
	}
	rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(res.body, []byte("\uFEFF")))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if rows[0][0] != "site" || len(rows) != 1+24 || rows[1][1] != "nh3n" || rows[1][2] != "氨氮" {
		t.Errorf("csv has %d rows, header %v, first %v", len(rows), rows[0], rows[1])
	}
}

func TestReadingsRefuseBadQueries(t *testing.T) {
	e := newEnv(t)
	for _, q := range []string{
		"from=yesterday", "to=2026-13-01", "from=2026-06-15&to=2026-06-01", "parameter=xyz", "resolution=minute",
		"limit=0", "limit=999999", "offset=-1", "format=xml",
	} {
		t.Run(q, func(t *testing.T) {
			res := e.do(t, "GET", "/api/v1/sites/STH-S2/readings?"+q, admin, nil)
			var er struct{ Error string }
			res.decode(t, &er)
			if res.status != 400 || er.Error == "" {
				t.Errorf("status %d %s", res.status, res.body)
			}
		})
	}
}

func TestEventsFilterAndPaginate(t *testing.T) {
	e := newEnv(t)
	var all api.Page[message.Event]
	e.do(t, "GET", "/api/v1/events", admin, nil).decode(t, &all)
	if len(all.Items) != 7 {
		t.Fatalf("%d events, want the 7 seeded", len(all.Items))
	}
	for i := 1; i < len(all.Items); i++ {
		if all.Items[i].ObservedAt.After(all.Items[i-1].ObservedAt) {
			t.Errorf("not newest first")
		}
	}
	var scoped api.Page[message.Event]
	e.do(t, "GET", "/api/v1/events", viewerXPCC6, nil).decode(t, &scoped)
	if len(scoped.Items) != 1 || scoped.Items[0].Site != "STH-S3" {
		t.Errorf("xpcc6 sees %+v, want only STH-S3's event", scoped.Items)
	}
	var typed api.Page[message.Event]
	e.do(t, "GET", "/api/v1/events?site=STH-S2&type=exceedance.opened,exceedance.updated", viewerChangji, nil).decode(t, &typed)
	if len(typed.Items) != 2 {
		t.Errorf("%d STH-S2 exceedance events, want 2", len(typed.Items))
	}
	var p1, p2 api.Page[message.Event]
	e.do(t, "GET", "/api/v1/events?limit=4", admin, nil).decode(t, &p1)
	e.do(t, "GET", "/api/v1/events?limit=4&offset=4", admin, nil).decode(t, &p2)
	if len(p1.Items) != 4 || p1.NextOffset == nil || *p1.NextOffset != 4 || len(p2.Items) != 3 || p2.NextOffset != nil {
		t.Errorf("pages: %d next %v, %d next %v", len(p1.Items), p1.NextOffset, len(p2.Items), p2.NextOffset)
	}
	if res := e.do(t, "GET", "/api/v1/events?type=nonsense", admin, nil); res.status != 400 {
		t.Errorf("unknown type: %d", res.status)
	}
	var old api.Page[message.Event]
	e.do(t, "GET", "/api/v1/events?from=2020-01-01&to=2020-02-01", admin, nil).decode(t, &old)
	if len(old.Items) != 0 {
		t.Errorf("time range ignored: %d events", len(old.Items))
	}
}

func TestIncidentsFilterByStatusAndScope(t *testing.T) {
	e := newEnv(t)
	ids := func(token, q string) []string {
		var p api.Page[message.Incident]
		e.do(t, "GET", "/api/v1/incidents"+q, token, nil).decode(t, &p)
		var out []string
		for _, i := range p.Items {
			out = append(out, i.ID)
		}
		return out
	}
	f := e.fix
	for _, c := range []struct {
		token, q string
		want     []string
	}{
		{admin, "", []string{f.OpenIncident, f.AckedIncident, f.ResolvedIncident}},
		{admin, "?status=active", []string{f.OpenIncident, f.AckedIncident}},
		{admin, "?status=resolved", []string{f.ResolvedIncident}},
		{viewerChangji, "", []string{f.OpenIncident, f.AckedIncident}},
		{viewerXPCC6, "", []string{f.OpenIncident}},
		{responderUrumqi, "?status=open,acknowledged", []string{f.AckedIncident}},
	} {
		if got := ids(c.token, c.q); !slices.Equal(got, c.want) {
			t.Errorf("%s %s: %v, want %v", c.token, c.q, got, c.want)
		}
	}
	if res := e.do(t, "GET", "/api/v1/incidents?status=lost", admin, nil); res.status != 400 {
		t.Errorf("unknown status: %d", res.status)
	}
	var d api.IncidentDetail
	e.do(t, "GET", "/api/v1/incidents/"+f.OpenIncident, viewerChangji, nil).decode(t, &d)
	if len(d.Log) != 3 || len(d.Notifications) != 2 || len(d.Incident.Steps) != 3 {
		t.Errorf("detail: %d log, %d notifications, %d steps", len(d.Log), len(d.Notifications), len(d.Incident.Steps))
	}
}

func TestCommandIsSentAndAnsweredOnceApplied(t *testing.T) {
	e := newEnv(t)
	res := e.do(t, "POST", "/api/v1/incidents/"+e.fix.OpenIncident+"/ack", responderChangji, map[string]string{"note": "收到"})
	var cr api.CommandResponse
	res.decode(t, &cr)
	if res.status != 200 || cr.Status != "applied" || cr.Incident == nil || cr.Incident.Status != message.IncidentAcknowledged {
		t.Fatalf("%d %s", res.status, res.body)
	}
	sent := e.applier.Sent()
	if len(sent) != 1 {
		t.Fatalf("%d commands sent", len(sent))
	}
	c := sent[0]
	if c.ID != cr.CommandID || c.Type != message.CommandAcknowledge || c.IncidentID != e.fix.OpenIncident || c.Actor != "昌吉市应急值班" || c.Note != "收到" || !c.At.Equal(e.now) {
		t.Errorf("command %+v", c)
	}
	if v := metricValue(t, e.reg, "riverwatch_api_commands_total", map[string]string{"type": "acknowledge", "outcome": "applied"}); v != 1 {
		t.Errorf("applied commands counted %v", v)
	}
}

// metricValue returns the value of a counter or gauge with the given labels.
func metricValue(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if want, ok := labels[lp.GetName()]; ok && want != lp.GetValue() {
					continue metrics
				}
			}
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	return 0
}

func TestCommandPendingWhenTheResponderIsSlow(t *testing.T) {
	e := newEnv(t)
	e.applier.Drop = true
	res := e.do(t, "POST", "/api/v1/incidents/"+e.fix.OpenIncident+"/ack", responderChangji, nil)
	var cr api.CommandResponse
	res.decode(t, &cr)
	if res.status != 202 || cr.Status != "pending" || cr.CommandID == "" || cr.Incident != nil {
		t.Fatalf("%d %s", res.status, res.body)
	}
}

func TestCommandAppliedAfterSomeDelayIsWaitedFor(t *testing.T) {
	e := newEnv(t, func(o *api.Options) { o.CommandTimeout = 3 * time.Second })
	e.applier.Delay = 100 * time.Millisecond
	res := e.do(t, "POST", "/api/v1/incidents/"+e.fix.OpenIncident+"/steps/s1/done", responderChangji, nil)
	var cr api.CommandResponse
	res.decode(t, &cr)
	e.applier.Wait()
	if res.status != 200 || cr.Incident == nil || cr.Incident.Steps[0].DoneAt == nil {
		t.Fatalf("%d %s", res.status, res.body)
	}
}

func TestIdempotencyKeyMakesARetryTheSameCommand(t *testing.T) {
	e := newEnv(t)
	key := []string{"Idempotency-Key", "click-42"}
	r1 := e.do(t, "POST", "/api/v1/incidents/"+e.fix.OpenIncident+"/ack", responderChangji, nil, key...)
	r2 := e.do(t, "POST", "/api/v1/incidents/"+e.fix.OpenIncident+"/ack", responderChangji, nil, key...)
	var c1, c2 api.CommandResponse
	r1.decode(t, &c1)
	r2.decode(t, &c2)
	if r1.status != 200 || r2.status != 200 || c1.CommandID != c2.CommandID {
		t.Fatalf("retry: %d %s / %d %s", r1.status, r1.body, r2.status, r2.body)
	}
	if n := len(e.applier.Sent()); n != 1 {
		t.Errorf("a retried command already applied was sent %d times", n)
	}
	r3 := e.do(t, "POST", "/api/v1/incidents/"+e.fix.OpenIncident+"/resolve", responderChangji, nil)
	r4 := e.do(t, "POST", "/api/v1/incidents/"+e.fix.AckedIncident+"/resolve", responderChangji, nil)
	var c3, c4 api.CommandResponse
	r3.decode(t, &c3)
	r4.decode(t, &c4)
	if c3.CommandID == c4.CommandID || c3.CommandID == c1.CommandID {
		t.Errorf("commands without a key must get distinct ids")
	}
}

func TestCommandRefusedByTheResponderIsAConflict(t *testing.T) {
	e := newEnv(t)
	// The API sees the incident open, but by the time the responder applies the command
	// someone has resolved it: the responder refuses, and the API says so.
	e.applier.BeforeApply = func(cmd message.Command) {
		inc, _ := e.store.Incident(context.Background(), cmd.IncidentID)
		inc.Status, inc.Version = message.IncidentResolved, inc.Version+1
		e.store.PutIncident(inc)
	}
	res := e.do(t, "POST", "/api/v1/incidents/"+e.fix.OpenIncident+"/ack", responderChangji, nil)
	var er struct {
		Error     string `json:"error"`
		Code      string `json:"code"`
		CommandID string `json:"command_id"`
	}
	res.decode(t, &er)
	if res.status != 409 || er.Code != "refused" || !strings.Contains(er.Error, "resolved") || er.CommandID == "" {
		t.Fatalf("%d %s", res.status, res.body)
	}
	if v := metricValue(t, e.reg, "riverwatch_api_commands_total", map[string]string{"type": "acknowledge", "outcome": "refused"}); v != 1 {
		t.Errorf("refused commands counted %v", v)
	}
}

func TestCommandSendFailureIsServiceUnavailable(t *testing.T) {
	e := newEnv(t)
	e.applier.SendErr = errors.New("kafka: no brokers")
	res := e.do(t, "POST", "/api/v1/incidents/"+e.fix.OpenIncident+"/ack", responderChangji, nil)
	// L7: the Kafka error is logged, never answered.
	if res.status != 503 || strings.Contains(string(res.body), "no brokers") || !strings.Contains(string(res.body), res.header.Get("X-Request-Id")) {
		t.Fatalf("%d %s", res.status, res.body)
	}
}

func TestCommandBodyMustBeValidJSON(t *testing.T) {
	e := newEnv(t)
	req := httptest.NewRequest("POST", "/api/v1/incidents/"+e.fix.OpenIncident+"/ack", strings.NewReader(`{"note":`))
	req.Header.Set("Authorization", "Bearer "+responderChangji)
	rec := httptest.NewRecorder()
	e.handler.ServeHTTP(rec, req)
	if rec.Code != 400 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	res := e.do(t, "POST", "/api/v1/incidents/"+e.fix.OpenIncident+"/ack", responderChangji, map[string]string{"unknown": "x"})
	if res.status != 400 {
		t.Errorf("unknown field: %d", res.status)
	}
}

func TestReceiptPicksTheCallersPendingStep(t *testing.T) {
	e := newEnv(t)
	res := e.do(t, "POST", "/api/v1/incidents/"+e.fix.OpenIncident+"/receipt", responderChangji, nil)
	var cr api.CommandResponse
	res.decode(t, &cr)
	if res.status != 200 || e.applier.Sent()[0].StepID != "s1" || cr.Incident.Steps[0].ReceiptAt == nil {
		t.Fatalf("%d %s", res.status, res.body)
	}
	// s2 already has its receipt; s3 is xpcc6's: nothing left for changji.
	if res := e.do(t, "POST", "/api/v1/incidents/"+e.fix.OpenIncident+"/receipt", responderChangji, nil); res.status != 409 {
		t.Errorf("second receipt: %d %s", res.status, res.body)
	}
	if res := e.do(t, "POST", "/api/v1/incidents/"+e.fix.OpenIncident+"/receipt", responderChangji, map[string]string{"step": "s2"}); res.status != 409 {
		t.Errorf("receipt of a step already confirmed: %d", res.status)
	}
}

func TestDrillStartsASyntheticIncident(t *testing.T) {
	e := newEnv(t)
	res := e.do(t, "POST", "/api/v1/drills", admin, map[string]string{"site": "STH-O1", "parameter": "cod", "note": "季度演练"})
	var cr api.CommandResponse
	res.decode(t, &cr)
	if res.status != 200 || cr.Incident == nil || !cr.Incident.Drill {
		t.Fatalf("%d %s", res.status, res.body)
	}
	c := e.applier.Sent()[0]
	if c.Type != message.CommandDrill || c.Site != "STH-O1" || c.Parameter != "cod" || c.IncidentID != "" {
		t.Errorf("drill command %+v", c)
	}
}

func TestComplianceReport(t *testing.T) {
	e := newEnv(t)
	var rep api.ComplianceReport
	e.do(t, "GET", "/api/v1/reports/compliance?from=2026-01-01&to=2026-07-01", admin, nil).decode(t, &rep)
	if len(rep.Months) != 6 || rep.Months[0].Label != "2026-01" || rep.Period.Label != "2026-01/2026-06" {
		t.Fatalf("months %d, first %q, period %q", len(rep.Months), rep.Months[0].Label, rep.Period.Label)
	}
	bySite := map[string]api.SiteCompliance{}
	for _, s := range rep.Period.Sites {
		bySite[s.Site] = s
	}
	if _, ok := bySite["TTH-O1"]; ok {
		t.Errorf("outfalls are not rated by GB 3838")
	}
	for site, want := range e.fix.Classes {
		got := bySite[site]
		if got.Class != want.String() {
			t.Errorf("%s: period class %q, want %q", site, got.Class, want)
		}
		meets := got.MeetsTarget != nil && *got.MeetsTarget
		tgt := map[string]bool{"TTH-S2": false, "STH-S2": false, "STH-S3": false}
		if w, listed := tgt[site]; listed && meets != w || !listed && !meets {
			t.Errorf("%s: meets target %v", site, got.MeetsTarget)
		}
	}
	ind := map[string]api.PlanIndicator{}
	for _, i := range rep.Period.Indicators {
		ind[i.ID] = i
	}
	if i := ind["river_iii_or_better"]; i.Count != 3 || i.Of != 6 || i.Meets == nil || *i.Meets {
		t.Errorf("river sections Ⅲ or better: %+v (TTH-S1, TTH-S3, STH-S1 of 6)", i)
	}
	if i := ind["river_worse_v"]; i.Count != 1 || *i.Meets {
		t.Errorf("劣Ⅴ river sections: %+v", i)
	}
	if i := ind["sources_good"]; i.Count != 2 || i.Of != 2 || !*i.Meets {
		t.Errorf("drinking-water sources good: %+v", i)
	}
	if i := ind["lakes_iii_or_better"]; i.Of != 0 || i.Meets != nil {
		t.Errorf("no lake sections: %+v", i)
	}
	if len(rep.Period.Rivers) != 2 || rep.Period.Rivers[0].Method != "mean_concentration" || rep.Period.Rivers[0].Sections != 3 {
		t.Errorf("river ratings %+v", rep.Period.Rivers)
	}

	scoped := api.ComplianceReport{}
	e.do(t, "GET", "/api/v1/reports/compliance?from=2026-01-01&to=2026-07-01", viewerXPCC6, nil).decode(t, &scoped)
	if len(scoped.Period.Sites) != 1 || scoped.Period.Sites[0].Site != "STH-S3" {
		t.Errorf("xpcc6 report covers %+v", scoped.Period.Sites)
	}

	res := e.do(t, "GET", "/api/v1/reports/compliance?from=2026-01-01&to=2026-07-01&format=csv", admin, nil)
	rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(res.body, []byte("\uFEFF")))).ReadAll()
	if err != nil || res.status != 200 {
		t.Fatalf("csv %d %v", res.status, err)
	}
	// 7 periods × (8 sites + 2 rivers + 5 indicators) + header.
	if len(rows) != 1+7*15 || rows[0][1] != "scope" {
		t.Errorf("csv: %d rows, header %v", len(rows), rows[0])
	}
	if res := e.do(t, "GET", "/api/v1/reports/compliance?from=2026-07-01&to=2026-01-01", admin, nil); res.status != 400 {
		t.Errorf("reversed range: %d", res.status)
	}
}

func TestComplianceMonthsWeighPeriodMeansByReadings(t *testing.T) {
	e := newEnv(t)
	e.store = apitest.NewMemStore()
	e2 := newEnv(t, func(o *api.Options) { o.Store = e.store })
	loc := e.net.Location
	add := func(day time.Time, v float64, n int) {
		for i := range n {
			at := day.Add(time.Duration(i) * time.Hour)
			e.store.AddReadings(message.Reading{ID: at.String(), Site: "STH-S1", Parameter: "nh3n", Value: v, Unit: "mg/L", Flag: "N", ObservedAt: at})
		}
	}
	add(time.Date(2026, 1, 10, 0, 0, 0, 0, loc), 0.4, 30) // January: Ⅱ
	add(time.Date(2026, 2, 10, 0, 0, 0, 0, loc), 1.2, 10) // February: Ⅳ
	// A reading at local midnight of 1 March belongs to March (local months).
	add(time.Date(2026, 3, 1, 0, 0, 0, 0, loc), 2.5, 1)
	var rep api.ComplianceReport
	e2.do(t, "GET", "/api/v1/reports/compliance?from=2026-01-01&to=2026-04-01", admin, nil).decode(t, &rep)
	classOf := func(p api.PeriodReport) string {
		for _, s := range p.Sites {
			if s.Site == "STH-S1" {
				return s.Class
			}
		}
		return "?"
	}
	if got := []string{classOf(rep.Months[0]), classOf(rep.Months[1]), classOf(rep.Months[2])}; !slices.Equal(got, []string{"II", "IV", "劣V"}) {
		t.Errorf("monthly classes %v", got)
	}
	// Period mean (30×0.4 + 10×1.2 + 2.5)/41 = 0.646 → Ⅲ; the mean of the monthly means
	// (1.37, Ⅳ) would be wrong.
	if got := classOf(rep.Period); got != "III" {
		t.Errorf("period class %q, want III from the reading-weighted mean", got)
	}
}

func TestStoreFailureIsAJSONServerError(t *testing.T) {
	e := newEnv(t)
	e.store.Fail = errors.New("clickhouse: connection refused")
	for _, p := range []string{"/api/v1/sites", "/api/v1/sites/STH-S2", "/api/v1/events", "/api/v1/incidents", "/api/v1/reports/compliance", "/api/v1/drills", "/api/v1/reports/drills"} {
		res := e.do(t, "GET", p, admin, nil)
		var er struct{ Error, Code string }
		res.decode(t, &er)
		if res.status != 500 || er.Code != "store" {
			t.Errorf("%s: %d %s", p, res.status, res.body)
		}
	}
}

func TestValueJSONCannotHoldIsAServerErrorNotATruncatedAnswer(t *testing.T) {
	e := newEnv(t)
	e.store.AddEvents(message.Event{ID: "nan", Type: message.EventQualitySuspect, Site: "STH-S2", Value: math.NaN(), ObservedAt: e.now.Add(-time.Hour), EmittedAt: e.now})
	res := e.do(t, "GET", "/api/v1/events", admin, nil)
	var er struct{ Error, Code string }
	res.decode(t, &er)
	if res.status != 500 || er.Code != "encode" {
		t.Fatalf("%d %s", res.status, res.body)
	}
}

func TestStreamTellsDashboardsWhenDataChanges(t *testing.T) {
	e := newEnv(t, func(o *api.Options) { o.RefreshInterval = 10 * time.Millisecond })
	srv := httptest.NewServer(e.handler)
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = e.server.NewWatcher().Run(ctx) }()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/api/v1/stream?access_token="+viewerXPCC6, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("%d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	lines := make(chan string, 64)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := resp.Body.Read(buf)
			for _, l := range strings.Split(string(buf[:n]), "\n") {
				if l != "" {
					lines <- l
				}
			}
			if err != nil {
				close(lines)
				return
			}
		}
	}()
	waitFor := func(want string) {
		t.Helper()
		deadline := time.After(5 * time.Second)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("stream closed waiting for %q", want)
				}
				if strings.Contains(l, want) {
					return
				}
			case <-deadline:
				t.Fatalf("no %q on the stream", want)
			}
		}
	}
	waitFor("event: hello")
	time.Sleep(50 * time.Millisecond) // the watcher has its first watermark
	e.store.AddEvents(message.Event{ID: "new", Type: message.EventExceedanceOpened, Site: "STH-S3", Parameter: "do", ObservedAt: e.now, EmittedAt: e.now.Add(time.Hour)})
	waitFor(`"kind":"events"`)
	if v := metricValue(t, e.reg, "riverwatch_api_sse_clients", nil); v != 1 {
		t.Errorf("connected dashboards gauge %v, want 1", v)
	}
}

func TestDashboardIsServedWhenAssetsAreGiven(t *testing.T) {
	e := newEnv(t, func(o *api.Options) {
		o.Assets = fstest.MapFS{
			"index.html": {Data: []byte("<!doctype html><title>rw</title>")},
			"app.js":     {Data: []byte("console.log(1)")},
		}
	})
	for path, want := range map[string]string{"/": "<title>rw</title>", "/static/app.js": "console.log"} {
		req := httptest.NewRequest("GET", path, nil)
		rec := httptest.NewRecorder()
		e.handler.ServeHTTP(rec, req)
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), want) {
			t.Errorf("%s: %d %q", path, rec.Code, rec.Body.String())
		}
	}
}

func TestAMethodAPathDoesNotServeIs405NamingTheMethodsItDoes(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name, method, path string
		want               int
		allow              string
	}{
		{"TRACE of a read", "TRACE", "/api/v1/me", 405, "GET, HEAD"},
		{"DELETE of a site", "DELETE", "/api/v1/sites/STH-S2", 405, "GET, HEAD"},
		{"GET of a command", "GET", "/api/v1/incidents/x/ack", 405, "POST"},
		{"PUT of the stream", "PUT", "/api/v1/stream", 405, "GET, HEAD"},
		{"TRACE of no endpoint stays 404", "TRACE", "/api/v1/nothing", 404, ""},
		{"HEAD of a read is served", "HEAD", "/api/v1/openapi.json", 200, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(c.method, c.path, nil)
			req.Header.Set("Authorization", "Bearer "+admin)
			e.handler.ServeHTTP(rec, req)
			if rec.Code != c.want || rec.Header().Get("Allow") != c.allow {
				t.Fatalf("%s %s: %d Allow %q, want %d Allow %q", c.method, c.path, rec.Code, rec.Header().Get("Allow"), c.want, c.allow)
			}
			if c.want >= 400 && !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
				t.Errorf("error body is %q, want JSON", rec.Header().Get("Content-Type"))
			}
		})
	}
}

// cutByDeadline is a Store whose queries, when their context has a deadline of at most
// cutWithin, fail at that deadline the way clickhouse-go's do: the deadline becomes the
// connection's, and the error is a network timeout that does not wrap
// context.DeadlineExceeded (it can even come before ctx.Err() is set).
type cutByDeadline struct {
	api.Store
	cutWithin time.Duration
}

var errNetTimeout = errors.New("read tcp 127.0.0.1:1->127.0.0.1:9000: i/o timeout")

func (s cutByDeadline) cut(ctx context.Context) bool {
	dl, ok := ctx.Deadline()
	if !ok || time.Until(dl) > s.cutWithin {
		return false
	}
	time.Sleep(time.Until(dl))
	return true
}

func (s cutByDeadline) CommandLog(ctx context.Context, id string) (message.LogEntry, error) {
	if s.cut(ctx) {
		return message.LogEntry{}, errNetTimeout
	}
	return s.Store.CommandLog(ctx, id)
}

func (s cutByDeadline) Incidents(ctx context.Context, q api.IncidentQuery) ([]message.Incident, error) {
	if s.cut(ctx) {
		return nil, errNetTimeout
	}
	return s.Store.Incidents(ctx, q)
}

type sendOnly struct{}

func (sendOnly) Send(context.Context, message.Command) error { return nil }

func TestAQueryCutByTheDeadlineIsATimeoutNotAServerError(t *testing.T) {
	t.Run("a command whose wait runs out is pending", func(t *testing.T) {
		e := newEnv(t, func(o *api.Options) {
			o.Store = cutByDeadline{Store: o.Store, cutWithin: time.Second}
			o.Commander = sendOnly{}
		})
		res := e.do(t, "POST", "/api/v1/incidents/"+e.fix.OpenIncident+"/ack", responderChangji, nil)
		if res.status != http.StatusAccepted || !strings.Contains(string(res.body), `"pending"`) {
			t.Fatalf("status %d %s, want 202 pending", res.status, res.body)
		}
	})
	t.Run("a read past the request's deadline is 504", func(t *testing.T) {
		e := newEnv(t, func(o *api.Options) {
			o.Store = cutByDeadline{Store: o.Store, cutWithin: time.Second}
			o.QueryTimeout = 50 * time.Millisecond
		})
		res := e.do(t, "GET", "/api/v1/incidents", admin, nil)
		if res.status != http.StatusGatewayTimeout {
			t.Fatalf("status %d %s, want 504", res.status, res.body)
		}
	})
}

func TestAStationWhoseOldReadingsArriveNowIsNotOffline(t *testing.T) {
	tests := []struct {
		name     string
		received time.Duration // before now
		want     string
	}{
		{"observed 5 h ago, arrived just now (a back-fill, the demo's replay)", time.Minute, api.StatusNormal},
		{"observed 5 h ago, arrived 5 h ago", 5 * time.Hour, api.StatusOffline},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := apitest.NewMemStore()
			e := newEnv(t, func(o *api.Options) { o.Store = store })
			store.AddReadings(message.Reading{ID: "r1", Site: "STH-S1", Parameter: "codmn", Value: 3, Unit: "mg/L",
				ObservedAt: e.now.Add(-5 * time.Hour), ReceivedAt: e.now.Add(-tt.received)})
			var s api.SiteView
			e.do(t, "GET", "/api/v1/sites/STH-S1", admin, nil).decode(t, &s)
			if s.Status != tt.want {
				t.Errorf("status %q, want %q", s.Status, tt.want)
			}
		})
	}
}
