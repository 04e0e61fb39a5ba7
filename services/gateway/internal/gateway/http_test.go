package gateway

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/config"
	"github.com/riverwatch/riverwatch/pkg/message"
)

// post sends an upload and returns the status and the decoded answer.
func post(t *testing.T, h *harness, path, token, body string) (int, UploadResult, errorBody) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	req.RemoteAddr = "10.0.0.7:50000"
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.gw.Handler().ServeHTTP(rec, req)
	var res UploadResult
	var eb errorBody
	data, _ := io.ReadAll(rec.Body)
	if rec.Code == http.StatusOK {
		if err := json.Unmarshal(data, &res); err != nil {
			t.Fatalf("answer %s: %v", data, err)
		}
	} else if err := json.Unmarshal(data, &eb); err != nil {
		t.Fatalf("error answer %s: %v", data, err)
	}
	return rec.Code, res, eb
}

func TestJSONUploadAcceptsGoodRowsAndRefusesBadOnesOneByOne(t *testing.T) {
	h := newHarness(t, nil)
	body := `[
	 {"site":"STH-S2","parameter":"cd","value":3.2,"unit":"µg/L","observed_at":"2024-06-01T09:00:00+08:00"},
	 {"site":"STH-LAB","parameter":"nh3n","value":0.52,"unit":"mg/L","observed_at":"2024-06-01T00:30:00Z","flag":"M","interval":"hour","min":0.4,"max":0.6},
	 {"site":"STH-O1","parameter":"cod","value":10,"unit":"mg/L","observed_at":"2024-06-01T00:00:00Z"},
	 {"site":"NOPE","parameter":"cod","value":10,"unit":"mg/L","observed_at":"2024-06-01T00:00:00Z"},
	 {"site":"STH-S2","parameter":"colour","value":10,"unit":"mg/L","observed_at":"2024-06-01T00:00:00Z"},
	 {"site":"STH-S2","parameter":"cod","value":10,"unit":"NTU","observed_at":"2024-06-01T00:00:00Z"},
	 {"site":"STH-S2","parameter":"ph","value":15,"unit":"","observed_at":"2024-06-01T00:00:00Z"},
	 {"site":"STH-S2","parameter":"cod","value":10,"unit":"mg/L","observed_at":"2024-06-02T00:00:00Z"},
	 {"site":"STH-S2","parameter":"cod","value":10,"unit":"mg/L","observed_at":"yesterday"},
	 {"site":"STH-S2","parameter":"cod","value":"10","unit":"mg/L","observed_at":"2024-06-01T00:00:00Z"},
	 {"site":"STH-S2","parameter":"cod","unit":"mg/L","observed_at":"2024-06-01T00:00:00Z"},
	 {"site":"STH-S2","parameter":"cod","value":10,"unit":"mg/L","observed_at":"2024-06-01T00:00:00Z","extra":1},
	 {"site":"STH-S2","parameter":"cd","value":3.2,"unit":"ug/L","observed_at":"2024-06-01T01:00:00Z"},
	 {"site":"STH-S2","parameter":"cod","value":10,"unit":"mg/L","observed_at":"2024-06-01T00:00:00Z","flag":"X"},
	 {"site":"STH-S2","parameter":"cod","value":10,"unit":"mg/L","observed_at":"2024-06-01T00:00:00Z","min":11},
	 7
	]`
	code, res, _ := post(t, h, "/api/v1/readings", "changji", body)
	if code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	wantStatus := []string{"accepted", "accepted", ReasonForbidden, ReasonUnknownSite, ReasonUnknownParameter, ReasonUnit, ReasonRange,
		ReasonFuture, ReasonBadValue, ReasonBadRow, ReasonBadRow, ReasonBadRow, ReasonDuplicate, ReasonBadFlag, ReasonInconsistent, ReasonBadRow}
	var got []string
	for i, r := range res.Results {
		if r.Row != i+1 {
			t.Errorf("result %d numbered %d", i, r.Row)
		}
		if r.Status == "accepted" {
			got = append(got, "accepted")
			if r.ID == "" {
				t.Errorf("row %d accepted without id", r.Row)
			}
		} else {
			got = append(got, r.Reason)
		}
	}
	if !slices.Equal(got, wantStatus) {
		t.Fatalf("results %v\nwant    %v", got, wantStatus)
	}
	if res.Accepted != 2 || res.Refused != len(wantStatus)-2 {
		t.Fatalf("accepted %d refused %d", res.Accepted, res.Refused)
	}
	rs := h.readings.readings(t)
	if len(rs) != 2 {
		t.Fatalf("%d readings", len(rs))
	}
	if r := rs[0]; r.Site != "STH-S2" || r.Parameter != "cd" || !near(r.Value, 0.0032) || r.Unit != "mg/L" || r.Interval != message.IntervalSample ||
		r.Flag != "N" || r.Source != message.SourceHTTP || r.Station != "昌吉" || r.ID != res.Results[0].ID || r.ObservedAt.Location().String() != "UTC" {
		t.Errorf("reading %+v", r)
	}
	if r := rs[1]; r.Interval != message.IntervalHour || r.Flag != "M" || r.Min == nil || *r.Min != 0.4 {
		t.Errorf("reading %+v", r)
	}
	rj := h.rejected.rejections(t)
	if len(rj) != res.Refused {
		t.Fatalf("%d rejections for %d refused rows", len(rj), res.Refused)
	}
	for _, r := range rj {
		if r.Source != message.SourceHTTP || r.Station != "昌吉" || r.Remote != "10.0.0.7:50000" || r.Raw == "" || !strings.HasPrefix(r.Detail, "row ") {
			t.Errorf("rejection %+v", r)
		}
	}
}

func TestCSVUpload(t *testing.T) {
	h := newHarness(t, nil)
	body := "\xEF\xBB\xBFobserved_at,site,parameter,value,unit,flag\n" +
		"2024-06-01T09:00:00+08:00,STH-S2,hg,0.05,µg/L,N\n" +
		"2024-06-01T09:00:00+08:00,STH-S2,as,1.2E-03,mg/L,\n" +
		"2024-06-01T09:00:00+08:00,STH-S2,pb\n" +
		"2024-06-01T09:00:00+08:00,STH-S2,cu,NaN,mg/L,N\n" +
		"\"2024-06-01T09:00:00+08:00\",STH-S2,zn,0.02,mg/L,N\n"
	code, res, _ := post(t, h, "/api/v1/readings.csv", "admin", body)
	if code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	var got []string
	for _, r := range res.Results {
		got = append(got, r.Status+":"+r.Reason)
	}
	if want := []string{"accepted:", "accepted:", "refused:" + ReasonBadRow, "refused:" + ReasonBadValue, "accepted:"}; !slices.Equal(got, want) {
		t.Fatalf("results %v, want %v", got, want)
	}
	rs := h.readings.readings(t)
	if len(rs) != 3 || !near(rs[0].Value, 0.00005) || rs[1].Value != 0.0012 || rs[0].Source != message.SourceCSV {
		t.Fatalf("readings %+v", rs)
	}
	if rj := h.rejected.rejections(t); len(rj) != 2 || rj[0].Raw != "2024-06-01T09:00:00+08:00,STH-S2,pb" {
		t.Fatalf("rejections %+v", rj)
	}
}

func TestUploadRefusedAsAWhole(t *testing.T) {
	goodJSON := `[{"site":"STH-S2","parameter":"cod","value":10,"unit":"mg/L","observed_at":"2024-06-01T00:00:00Z"}]`
	for _, tc := range []struct {
		name, path, token, body string
		code                    int
		reason                  string
	}{
		{"no token", "/api/v1/readings", "", goodJSON, http.StatusUnauthorized, ReasonAuthToken},
		{"unknown token", "/api/v1/readings", "nope", goodJSON, http.StatusUnauthorized, ReasonAuthToken},
		{"viewer token", "/api/v1/readings", "viewer", goodJSON, http.StatusForbidden, ReasonForbidden},
		{"not JSON", "/api/v1/readings", "admin", `{"site":`, http.StatusBadRequest, ReasonBadBody},
		{"an object, not an array", "/api/v1/readings", "admin", `{"site":"STH-S2"}`, http.StatusBadRequest, ReasonBadBody},
		{"null", "/api/v1/readings", "admin", `null`, http.StatusBadRequest, ReasonBadBody},
		{"data after the array", "/api/v1/readings", "admin", goodJSON + `[]`, http.StatusBadRequest, ReasonBadBody},
		{"too large", "/api/v1/readings", "admin", "[" + strings.Repeat(" ", 2048) + "]", http.StatusRequestEntityTooLarge, ReasonTooLarge},
		{"empty CSV", "/api/v1/readings.csv", "admin", "", http.StatusBadRequest, ReasonBadBody},
		{"CSV without a required column", "/api/v1/readings.csv", "admin", "site,parameter,value,observed_at\n", http.StatusBadRequest, ReasonBadBody},
		{"CSV with an unknown column", "/api/v1/readings.csv", "admin", "site,parameter,value,unit,observed_at,colour\n", http.StatusBadRequest, ReasonBadBody},
		{"CSV with a bad quote", "/api/v1/readings.csv", "admin", "site,parameter,value,unit,observed_at\n\"STH-S2,cod,1,mg/L,2024-06-01T00:00:00Z\n", http.StatusBadRequest, ReasonBadBody},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, func(c *config.Gateway) { c.MaxBodyBytes = 1024 })
			code, _, eb := post(t, h, tc.path, tc.token, tc.body)
			if code != tc.code || eb.Reason != tc.reason {
				t.Fatalf("status %d reason %q (%s), want %d %s", code, eb.Reason, eb.Error, tc.code, tc.reason)
			}
			if n := len(h.readings.readings(t)); n != 0 {
				t.Fatalf("%d readings", n)
			}
			h.gw.waitRecords() // a request without a valid token is recorded in the background
			if rj := h.rejected.rejections(t); len(rj) != 1 || rj[0].Reason != tc.reason || rj[0].Remote == "" {
				t.Fatalf("rejections %+v", rj)
			}
			if got := metricValue(h.gw.m.framesRefused.WithLabelValues(tc.reason)); got != 1 {
				t.Errorf("refused metric %v", got)
			}
		})
	}
}

func TestUploadAnswers503WhenKafkaFails(t *testing.T) {
	h := newHarness(t, nil)
	h.readings.setFail(errKafkaDown)
	code, _, eb := post(t, h, "/api/v1/readings", "admin",
		`[{"site":"STH-S2","parameter":"cod","value":10,"unit":"mg/L","observed_at":"2024-06-01T00:00:00Z"}]`)
	if code != http.StatusServiceUnavailable || eb.Error == "" {
		t.Fatalf("status %d %+v", code, eb)
	}
	if got := metricValue(h.gw.m.readingsAccepted.WithLabelValues("http")); got != 0 {
		t.Errorf("accepted metric %v although nothing was stored", got)
	}
	if got := metricValue(h.gw.m.httpRequests.WithLabelValues("json", "503")); got != 1 {
		t.Errorf("requests metric %v", got)
	}
}

func TestUploadMethodAndPath(t *testing.T) {
	h := newHarness(t, nil)
	req := httptest.NewRequest(http.MethodGet, "/api/v1/readings", nil)
	rec := httptest.NewRecorder()
	h.gw.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusMethodNotAllowed {
		t.Fatalf("GET: %d", rec.Code)
	}
}

func TestUploadTooLargeWithoutContentLength(t *testing.T) {
	h := newHarness(t, func(c *config.Gateway) { c.MaxBodyBytes = 1024 })
	req := httptest.NewRequest(http.MethodPost, "/api/v1/readings", strings.NewReader("["+strings.Repeat(" ", 4096)+"]"))
	req.ContentLength = -1 // chunked: only reading finds out
	req.Header.Set("Authorization", "Bearer admin")
	rec := httptest.NewRecorder()
	h.gw.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d", rec.Code)
	}
	if rj := h.rejected.rejections(t); len(rj) != 1 || rj[0].Reason != ReasonTooLarge || len(rj[0].Raw) == 0 {
		t.Fatalf("rejections %+v", rj)
	}
}

func TestUploadWithMoreRowsThanTheLimitIsRefusedAsAWhole(t *testing.T) {
	jsonRow := `{"site":"STH-S2","parameter":"cod","value":10,"unit":"mg/L","observed_at":"2024-06-01T00:00:00Z"}`
	csvHead := "site,parameter,value,unit,observed_at\n"
	csvRow := "STH-S2,cod,10,mg/L,2024-06-01T00:00:00Z\n"
	for _, tc := range []struct {
		name, path, body string
		code             int
	}{
		{"JSON at the limit", "/api/v1/readings", "[" + strings.TrimSuffix(strings.Repeat(jsonRow+",", 5), ",") + "]", http.StatusOK},
		{"JSON over the limit", "/api/v1/readings", "[" + strings.TrimSuffix(strings.Repeat(jsonRow+",", 6), ",") + "]", http.StatusRequestEntityTooLarge},
		{"JSON bomb of empty objects", "/api/v1/readings", "[" + strings.TrimSuffix(strings.Repeat("{},", 100000), ",") + "]", http.StatusRequestEntityTooLarge},
		{"CSV at the limit", "/api/v1/readings.csv", csvHead + strings.Repeat(csvRow, 5), http.StatusOK},
		{"CSV over the limit", "/api/v1/readings.csv", csvHead + strings.Repeat(",,,,\n", 6), http.StatusRequestEntityTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, func(c *config.Gateway) { c.MaxRows = 5 })
			code, _, eb := post(t, h, tc.path, "admin", tc.body)
			if code != tc.code {
				t.Fatalf("status %d (%+v), want %d", code, eb, tc.code)
			}
			if code == http.StatusOK {
				return
			}
			if eb.Reason != ReasonTooManyRows || !strings.Contains(eb.Error, "gateway.max_rows") {
				t.Fatalf("error %+v", eb)
			}
			if n := len(h.readings.readings(t)); n != 0 {
				t.Fatalf("%d readings published from a refused upload", n)
			}
			if rj := h.rejected.rejections(t); len(rj) != 1 || rj[0].Reason != ReasonTooManyRows {
				t.Fatalf("rejections %+v, want one too_many_rows for the request", rj)
			}
		})
	}
}

func TestUploadAnswerListsTheFirstRowsAndSummarisesTheRest(t *testing.T) {
	h := newHarness(t, func(c *config.Gateway) { c.MaxRowResults = 2 })
	good := `{"site":"STH-S2","parameter":"cod","value":10,"unit":"mg/L","observed_at":"2024-06-01T00:00:00Z"}`
	body := "[" + good + `,{},{"site":"nowhere","parameter":"cod","value":1,"unit":"mg/L","observed_at":"2024-06-01T00:00:00Z"},{},{}]`
	code, res, _ := post(t, h, "/api/v1/readings", "admin", body)
	if code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	if len(res.Results) != 2 || res.Omitted != 3 || res.Accepted != 1 || res.Refused != 4 {
		t.Fatalf("answer %+v, want 2 results listed, 3 omitted, 1 accepted, 4 refused", res)
	}
	if res.RefusedByReason[ReasonBadRow] != 3 || res.RefusedByReason[ReasonUnknownSite] != 1 {
		t.Fatalf("refused by reason %v", res.RefusedByReason)
	}
	if rj := h.rejected.rejections(t); len(rj) != 4 {
		t.Fatalf("%d rejections, want one per refused row, listed or not", len(rj))
	}
}

func TestJSONWhitespaceIsDroppedOutsideStringsOnly(t *testing.T) {
	body := " [ \n\t{ \"site\" : \"STH S2\\\" x\\\\\" , \"parameter\":\"cod\",\"value\": 1 ,\"unit\":\"mg / L\",\"observed_at\":\"t\" } ]\r\n"
	rows, err := parseJSON(strings.NewReader(body), 10)
	if err != nil || len(rows) != 1 {
		t.Fatalf("parseJSON: %d rows, %v", len(rows), err)
	}
	if r := rows[0]; r.site != `STH S2" x\` || *r.unit != "mg / L" || *r.value != 1 {
		t.Fatalf("row %+v: whitespace inside strings changed", r)
	}
	if _, err := parseJSON(strings.NewReader("["+strings.Repeat(" ", 1<<20)+"]"), 10); err != nil {
		t.Fatalf("a body of spaces: %v", err)
	}
}

func TestUploadBeyondTheConcurrentLimitIsAnswered503WithRetryAfter(t *testing.T) {
	h := newHarness(t, func(c *config.Gateway) { c.MaxConcurrentUploads = 1 })
	h.gw.uploadWait = 50 * time.Millisecond
	gate, entered := h.readings.hold() // the first upload holds its slot while Kafka stalls
	good := `[{"site":"STH-S2","parameter":"cod","value":10,"unit":"mg/L","observed_at":"2024-06-01T00:00:00Z"}]`
	first := make(chan int)
	go func() {
		code, _, _ := post(t, h, "/api/v1/readings", "admin", good)
		first <- code
	}()
	<-entered
	req := httptest.NewRequest(http.MethodPost, "/api/v1/readings", strings.NewReader(good))
	req.Header.Set("Authorization", "Bearer admin")
	rec := httptest.NewRecorder()
	h.gw.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" || !strings.Contains(rec.Body.String(), ReasonBusy) {
		t.Fatalf("second upload: %d %q Retry-After %q, want 503 busy", rec.Code, rec.Body.String(), rec.Header().Get("Retry-After"))
	}
	close(gate)
	if code := <-first; code != http.StatusOK {
		t.Fatalf("first upload: %d", code)
	}
	code, _, _ := post(t, h, "/api/v1/readings", "admin", strings.Replace(good, "T00:", "T01:", 1))
	if code != http.StatusOK {
		t.Fatalf("upload after the slot was freed: %d", code)
	}
}
