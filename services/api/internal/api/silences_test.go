package api_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/silence"
	"github.com/riverwatch/riverwatch/services/api/internal/api"
)

func silenceIDs(vs []api.SilenceView) []string {
	var out []string
	for _, v := range vs {
		out = append(out, v.ID)
	}
	slices.Sort(out)
	return out
}

func TestSilenceListShowsWhatTheTokenSeesInTheStatesAsked(t *testing.T) {
	e := newEnv(t)
	f := e.fix
	cases := []struct {
		name, token, query string
		want               []string
	}{
		{"changji sees its own and the river's, not xpcc12's", viewerChangji, "", []string{f.OwnSilence, f.RiverSilence}},
		{"an admin of everything sees the three live ones", admin, "", []string{f.OwnSilence, f.RiverSilence, f.OutsideSilence}},
		{"expired ones on request", viewerChangji, "?state=expired", []string{f.ExpiredSilence}},
		{"every state", viewerChangji, "?state=pending,active,expired", []string{f.ExpiredSilence, f.OwnSilence, f.RiverSilence}},
		{"xpcc6 sees none", viewerXPCC6, "", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := e.do(t, "GET", "/api/v1/silences"+c.query, c.token, nil)
			if res.status != http.StatusOK {
				t.Fatalf("%d %s", res.status, res.body)
			}
			var got api.SilencesResponse
			res.decode(t, &got)
			want := slices.Clone(c.want)
			slices.Sort(want)
			if ids := silenceIDs(got.Silences); !slices.Equal(ids, want) {
				t.Errorf("silences %v, want %v", ids, want)
			}
		})
	}
	t.Run("each says its state and the jurisdictions it reaches", func(t *testing.T) {
		var got api.SilencesResponse
		e.do(t, "GET", "/api/v1/silences", admin, nil).decode(t, &got)
		for _, v := range got.Silences {
			if v.ID == f.RiverSilence && (v.State != silence.StateActive || !slices.Equal(v.Jurisdictions, []string{"changji", "urumqi", "xpcc12"})) {
				t.Errorf("river silence: state %s jurisdictions %v", v.State, v.Jurisdictions)
			}
		}
	})
	if res := e.do(t, "GET", "/api/v1/silences?state=muted", viewerChangji, nil); res.status != http.StatusBadRequest {
		t.Errorf("an unknown state: %d", res.status)
	}
}

func TestCreatingASilenceSendsItToTheResponderAndAnswersIt(t *testing.T) {
	e := newEnv(t)
	ends := e.now.Add(2 * time.Hour)
	body := map[string]any{
		"matchers": []map[string]any{{"name": "site", "value": "STH-O1"}, {"name": "parameter", "value": "cod|nh3n", "is_regex": true}},
		"ends_at":  ends.Format(time.RFC3339), "comment": "排污口在线监测仪维护", "end_on_resolve": true,
		"recurrence": map[string]any{"weekdays": []string{"mon", "thu"}, "start": "09:00", "duration": "2h"},
	}
	res := e.do(t, "POST", "/api/v1/silences", admin, body, "Idempotency-Key", "k-1")
	if res.status != http.StatusOK {
		t.Fatalf("%d %s", res.status, res.body)
	}
	var sr api.SilenceResponse
	res.decode(t, &sr)
	if sr.Status != api.OutcomeApplied || sr.Silence == nil || sr.Silence.ID != sr.SilenceID {
		t.Fatalf("answer %+v", sr)
	}
	s := sr.Silence
	if s.CreatedBy != "市生态环境局管理员" || !s.StartsAt.Equal(e.now) || !s.EndsAt.Equal(ends) || !s.EndOnResolve ||
		s.Recurrence == nil || !slices.Equal(s.Jurisdictions, []string{"changji"}) {
		t.Errorf("silence %+v", s)
	}
	sent := e.applier.Sent()
	if len(sent) != 1 || sent[0].Type != message.CommandSilenceCreate || sent[0].SilenceID != s.ID || sent[0].Silence == nil ||
		sent[0].Silence.ID != s.ID || sent[0].ActorRole != "admin" {
		t.Fatalf("sent %+v", sent)
	}
	// The same request again (same Idempotency-Key) is the same command, not a second silence.
	again := e.do(t, "POST", "/api/v1/silences", admin, body, "Idempotency-Key", "k-1")
	var sr2 api.SilenceResponse
	again.decode(t, &sr2)
	if again.status != http.StatusOK || sr2.SilenceID != s.ID || len(e.applier.Sent()) != 1 {
		t.Errorf("retry: %d %s, %d commands sent", again.status, again.body, len(e.applier.Sent()))
	}
	if got := e.do(t, "GET", "/api/v1/silences/"+s.ID, viewerChangji, nil); got.status != http.StatusOK || !strings.Contains(string(got.body), "排污口在线监测仪维护") {
		t.Errorf("GET the new silence: %d %s", got.status, got.body)
	}
}

func TestASilenceThatCannotBeIsRefusedBeforeItIsSent(t *testing.T) {
	future := time.Date(2026, 6, 15, 14, 0, 0, 0, time.UTC).Format(time.RFC3339) // the env's now is 10:30
	site := []map[string]any{{"name": "site", "value": "STH-S2"}}
	cases := []struct {
		name   string
		token  string
		body   map[string]any
		status int
		why    string
	}{
		{"a regex that does not compile", admin, map[string]any{"matchers": []map[string]any{{"name": "site", "value": "STH-(", "is_regex": true}}, "ends_at": future, "comment": "c"}, 400, "regex"},
		{"an unknown matcher name", admin, map[string]any{"matchers": []map[string]any{{"name": "severity", "value": "x"}}, "ends_at": future, "comment": "c"}, 400, "unknown name"},
		{"a matcher that matches everything", admin, map[string]any{"matchers": []map[string]any{{"name": "site", "value": ".*", "is_regex": true}}, "ends_at": future, "comment": "c"}, 400, "empty value"},
		{"ends before it starts", admin, map[string]any{"matchers": site, "starts_at": future, "ends_at": "2026-06-15T13:00:00Z", "comment": "c"}, 400, "not after"},
		{"ends in the past", admin, map[string]any{"matchers": site, "starts_at": "2026-06-15T08:00:00Z", "ends_at": "2026-06-15T09:00:00Z", "comment": "c"}, 400, "in the past"},
		{"no comment", admin, map[string]any{"matchers": site, "ends_at": future}, 400, "comment"},
		{"created_by is the token's, not the body's", admin, map[string]any{"matchers": site, "ends_at": future, "comment": "c", "created_by": "someone"}, 400, "created_by"},
		{"a bad recurrence", admin, map[string]any{"matchers": site, "ends_at": future, "comment": "c", "recurrence": map[string]any{"weekdays": []string{"someday"}, "start": "9", "duration": "2h"}}, 400, "recurrence"},
		{"a silence of no site", admin, map[string]any{"matchers": []map[string]any{{"name": "site", "value": "NOPE"}}, "ends_at": future, "comment": "c"}, 404, "not found"},
		{"a responder may not silence", responderChangji, map[string]any{"matchers": site, "ends_at": future, "comment": "c"}, 403, "admin"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			res := e.do(t, "POST", "/api/v1/silences", c.token, c.body)
			if res.status != c.status || !strings.Contains(string(res.body), c.why) {
				t.Errorf("%d %s, want %d mentioning %q", res.status, res.body, c.status, c.why)
			}
			if n := len(e.applier.Sent()); n != 0 {
				t.Errorf("%d commands sent", n)
			}
		})
	}
}

func TestExpiringASilenceEndsItOnce(t *testing.T) {
	e := newEnv(t)
	path := "/api/v1/silences/" + e.fix.OwnSilence
	res := e.do(t, "DELETE", path, admin, nil)
	if res.status != http.StatusOK {
		t.Fatalf("%d %s", res.status, res.body)
	}
	var sr api.SilenceResponse
	res.decode(t, &sr)
	if sr.Silence == nil || sr.Silence.State != silence.StateExpired || sr.Silence.ExpiredBy != "市生态环境局管理员" {
		t.Fatalf("expired silence %+v", sr.Silence)
	}
	if c := e.applier.Sent(); len(c) != 1 || c[0].Type != message.CommandSilenceExpire || c[0].SilenceID != e.fix.OwnSilence {
		t.Errorf("sent %+v", c)
	}
	if again := e.do(t, "DELETE", path, admin, nil); again.status != http.StatusConflict {
		t.Errorf("expiring it again: %d %s", again.status, again.body)
	}
	if gone := e.do(t, "DELETE", "/api/v1/silences/sil-nope", admin, nil); gone.status != http.StatusNotFound {
		t.Errorf("an unknown silence: %d", gone.status)
	}
}

func TestASilenceCommandTheResponderHasNotAppliedIsPending(t *testing.T) {
	e := newEnv(t)
	e.applier.Drop = true
	res := e.do(t, "DELETE", "/api/v1/silences/"+e.fix.OwnSilence, admin, nil)
	var sr api.SilenceResponse
	res.decode(t, &sr)
	if res.status != http.StatusAccepted || sr.Status != api.OutcomePending || sr.SilenceID != e.fix.OwnSilence {
		t.Errorf("%d %s", res.status, res.body)
	}
}
