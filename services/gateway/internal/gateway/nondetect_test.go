package gateway

import (
	"net/http"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/hj212"
	"github.com/riverwatch/riverwatch/pkg/message"
)

// The non-detects of an upload: the limit as value with below_dl (JSON), the limit with
// HJ/T 91's L or a below_dl column (CSV); stored as the limit, in canonical units, with
// BelowDL; a limit that is not positive, or an L that below_dl contradicts, is refused.
func TestUploadsCarryNonDetectsAsTheirDetectionLimit(t *testing.T) {
	cases := []struct {
		name, path, body string
		want             string // "accepted" or the refusal reason
		value            float64
		belowDL          bool
	}{
		{"JSON below_dl true is a non-detect at the limit", "/api/v1/readings",
			`[{"site":"STH-S2","parameter":"phenol","value":0.0003,"unit":"mg/L","observed_at":"2024-06-01T09:00:00+08:00","below_dl":true}]`,
			"accepted", 0.0003, true},
		{"JSON without below_dl is detected", "/api/v1/readings",
			`[{"site":"STH-S2","parameter":"phenol","value":0.004,"unit":"mg/L","observed_at":"2024-06-01T09:00:00+08:00"}]`,
			"accepted", 0.004, false},
		{"JSON limit in µg/L converts to mg/L", "/api/v1/readings",
			`[{"site":"STH-S2","parameter":"cd","value":0.5,"unit":"µg/L","observed_at":"2024-06-01T09:00:00+08:00","below_dl":true}]`,
			"accepted", 0.0005, true},
		{"JSON non-detect with a zero limit is refused", "/api/v1/readings",
			`[{"site":"STH-S2","parameter":"phenol","value":0,"unit":"mg/L","observed_at":"2024-06-01T09:00:00+08:00","below_dl":true}]`,
			ReasonBadValue, 0, false},
		{"CSV 0.01L is a non-detect at 0.01", "/api/v1/readings.csv",
			"site,parameter,value,unit,observed_at\nSTH-S2,petroleum,0.01L,mg/L,2024-06-01T09:00:00+08:00\n",
			"accepted", 0.01, true},
		{"CSV below_dl column true", "/api/v1/readings.csv",
			"site,parameter,value,unit,observed_at,below_dl\nSTH-S2,petroleum,0.01,mg/L,2024-06-01T09:00:00+08:00,true\n",
			"accepted", 0.01, true},
		{"CSV below_dl column empty is detected", "/api/v1/readings.csv",
			"site,parameter,value,unit,observed_at,below_dl\nSTH-S2,petroleum,0.03,mg/L,2024-06-01T09:00:00+08:00,\n",
			"accepted", 0.03, false},
		{"CSV L contradicted by below_dl false is refused", "/api/v1/readings.csv",
			"site,parameter,value,unit,observed_at,below_dl\nSTH-S2,petroleum,0.01L,mg/L,2024-06-01T09:00:00+08:00,false\n",
			ReasonBadRow, 0, false},
		{"CSV below_dl that is not a boolean is refused", "/api/v1/readings.csv",
			"site,parameter,value,unit,observed_at,below_dl\nSTH-S2,petroleum,0.01,mg/L,2024-06-01T09:00:00+08:00,ND\n",
			ReasonBadValue, 0, false},
		{"CSV ND without a limit is not a number", "/api/v1/readings.csv",
			"site,parameter,value,unit,observed_at\nSTH-S2,petroleum,ND,mg/L,2024-06-01T09:00:00+08:00\n",
			ReasonBadValue, 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, nil)
			code, res, _ := post(t, h, c.path, "admin", c.body)
			if code != http.StatusOK || len(res.Results) != 1 {
				t.Fatalf("status %d, results %+v", code, res.Results)
			}
			got := res.Results[0].Status
			if got != "accepted" {
				got = res.Results[0].Reason
			}
			if got != c.want {
				t.Fatalf("row %s (%s), want %s", got, res.Results[0].Detail, c.want)
			}
			if c.want != "accepted" {
				return
			}
			rs := h.readings.readings(t)
			if len(rs) != 1 || !near(rs[0].Value, c.value) || rs[0].BelowDL != c.belowDL {
				t.Fatalf("readings %+v, want value %v below_dl %v", rs, c.value, c.belowDL)
			}
		})
	}
}

// An HJ 212 item whose value is written "0.003L" is published as a non-detect at 0.003;
// the items beside it are detected values.
func TestHJ212ItemWithAnLIsPublishedAsANonDetect(t *testing.T) {
	h := newHarness(t, nil)
	c := h.dial(t)
	cp := "DataTime=" + hj212.FormatTime(dataTime, shanghai) +
		";w21003-Avg=0.4,w21003-Flag=N" + // detected
		";w23002-Avg=0.0003L,w23002-Flag=N" // 挥发酚 below 0.0003
	p := hj212.Packet{QN: "20240601100000009", ST: "21", CN: hj212.CNHour, PW: "123456", MN: sectionMN, Flag: hj212.NewFlag(hj212.V2017, true, false), CP: cp}
	if err := c.Upload(ctxT(t, 5*time.Second), p); err != nil {
		t.Fatalf("Upload: %v", err)
	}
	rs := h.readings.readings(t)
	byParam := map[string]message.Reading{}
	for _, r := range rs {
		byParam[r.Parameter] = r
	}
	if r := byParam["nh3n"]; r.BelowDL || r.Value != 0.4 {
		t.Errorf("nh3n %+v, want a detected 0.4", r)
	}
	if r := byParam["phenol"]; !r.BelowDL || !near(r.Value, 0.0003) || r.Source != message.SourceHJ212 {
		t.Errorf("phenol %+v, want a non-detect at 0.0003", r)
	}
	if rj := h.rejected.rejections(t); len(rj) != 0 {
		t.Errorf("rejections %v, want none", reasons(rj))
	}
}
