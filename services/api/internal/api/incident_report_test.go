package api_test

import (
	"net/http"
	"strings"
	"testing"
)

func TestIncidentReportDownloadsByKindAndRefusesAFinalReportWhileOpen(t *testing.T) {
	e := newEnv(t)
	inc, _ := seedEvidenceIncident(e) // resolved
	for _, tc := range []struct {
		name, path string
		status     int
		has        []string
	}{
		{"follow-up of an open incident", "/api/v1/incidents/" + e.fix.OpenIncident + "/report?kind=follow_up&format=text", http.StatusOK,
			[]string{"突发水污染事件续报", "报送：生态环境局", "一、监测情况", "三、任务落实情况"}},
		{"final of an open incident", "/api/v1/incidents/" + e.fix.OpenIncident + "/report?kind=final", http.StatusConflict, []string{"not_finished"}},
		{"final of a resolved incident", "/api/v1/incidents/" + inc.ID + "/report?kind=final&format=text", http.StatusOK,
			[]string{"突发水污染事件处理结果报告", "三屯河城区下游断面 氨氮：峰值 2.7", "六、处理结果", "昌吉市应急值班"}},
		{"no kind", "/api/v1/incidents/" + inc.ID + "/report", http.StatusBadRequest, []string{"follow_up or final"}},
		{"another format", "/api/v1/incidents/" + inc.ID + "/report?kind=final&format=pdf", http.StatusBadRequest, []string{"only text"}},
		{"an incident outside the caller's jurisdictions", "/api/v1/incidents/" + e.fix.ResolvedIncident + "/report?kind=final", http.StatusNotFound, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := e.do(t, "GET", tc.path, viewerChangji, nil)
			if res.status != tc.status {
				t.Fatalf("status %d, want %d: %s", res.status, tc.status, res.body)
			}
			for _, s := range tc.has {
				if !strings.Contains(string(res.body), s) {
					t.Errorf("answer lacks %q:\n%s", s, res.body)
				}
			}
			if tc.status == http.StatusOK {
				if ct := res.header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
					t.Errorf("Content-Type %q", ct)
				}
				if cd := res.header.Get("Content-Disposition"); !strings.HasPrefix(cd, `attachment; filename="report-`) {
					t.Errorf("Content-Disposition %q", cd)
				}
			}
		})
	}
}
