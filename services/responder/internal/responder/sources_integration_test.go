package responder_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/store/storetest"
	"github.com/riverwatch/riverwatch/pkg/testinfra"
)

// TestSearchStepNamesTheOutfallThatRoseAtTheLag runs the responder binary on the real
// broker and ClickHouse: TTH-S2 (urumqi) exceeds in NH₃-N and TP; 5 km up, outfall TTH-O1
// rose in both 85 minutes before (the plume needs 83 min 20 s at 1.0 m/s), and section
// TTH-S1, 25 km up, rose in both too but only 2 h before, far short of its 6.9 h. The
// upstream search step, sent to xpcc12, names TTH-O1 first with its reasons, and the
// ranking is counted as ok.
func TestSearchStepNamesTheOutfallThatRoseAtTheLag(t *testing.T) {
	text, metrics := searchStepOfASpill(t, "20s")
	o1, s1 := strings.Index(text, "TTH-O1"), strings.Index(text, "TTH-S1")
	if !strings.Contains(text, "溯源排序（按证据，先查前者）：1. 头屯河工业园区污水排放口 TTH-O1 ") || (s1 >= 0 && s1 < o1) {
		t.Fatalf("search step does not name TTH-O1 first:\n%s", text)
	}

	for _, w := range []string{"氨氮在本断面上升前约1.4小时上升，预计传播约1.4小时", "同步上升", "超过自身限值"} {
		if !strings.Contains(text, w) {
			t.Errorf("search step does not say %q:\n%s", w, text)
		}
	}
	if !strings.Contains(metrics, `riverwatch_responder_source_rankings_total{outcome="ok"} 1`) {
		t.Errorf("the ranking is not counted as ok:\n%s", grepLines(metrics, "source_rankings"))
	}
}

// TestSearchStepSaysTheRankingIsUnavailablePastItsTimeout: the same spill with a 1 ms
// bound, which no archive meets: the step goes out all the same, pointing to the api.
func TestSearchStepSaysTheRankingIsUnavailablePastItsTimeout(t *testing.T) {
	text, metrics := searchStepOfASpill(t, "1ms")
	if !strings.Contains(text, "溯源排序（按证据，先查前者）：暂不可用（数据库查询超时），请查看GET /api/v1/incidents/inc-") || strings.Contains(text, "TTH-O1") {
		t.Errorf("search step does not say the ranking timed out:\n%s", text)
	}
	if !strings.Contains(metrics, `riverwatch_responder_source_rankings_total{outcome="timeout"} 1`) {
		t.Errorf("the ranking is not counted as timed out:\n%s", grepLines(metrics, "source_rankings"))
	}
}

// searchStepOfASpill archives the readings of the spill, runs the responder with
// responder.sources_timeout timeout, publishes TTH-S2's exceedance and returns the text
// of the search step xpcc12's bureau received and the responder's metrics then.
func searchStepOfASpill(t *testing.T, timeout string) (text, metrics string) {
	t.Helper()
	a := storetest.NewArchive(t) // its configuration names the migrated test database
	cfg := a.Config
	bin := testinfra.BuildService(t, "responder")
	rcv := serveReceiver(t, cfg, -1)
	listen := testinfra.FreeAddr(t)
	env := append(testinfra.Env(cfg), "RIVERWATCH_RESPONDER_LISTEN="+listen, "RIVERWATCH_RESPONDER_WEBHOOK_SECRET="+webhookSecret,
		"RIVERWATCH_RESPONDER_TICK_INTERVAL=50ms", "RIVERWATCH_RESPONDER_SOURCES_TIMEOUT="+timeout)

	opened := time.Now().UTC().Truncate(5 * time.Minute)
	rise := opened.Add(-5 * time.Minute)
	var rs []message.Reading
	series := func(site, param string, base, high float64, from time.Time) {
		for at := opened.Add(-40 * time.Hour); !at.After(opened); at = at.Add(5 * time.Minute) {
			v := base
			if !at.Before(from) {
				v = high
			}
			rs = append(rs, message.Reading{
				ID: message.ReadingID(site, param, message.IntervalRealtime, at), Site: site, Parameter: param, Value: v, Unit: "mg/L",
				Interval: message.IntervalRealtime, Flag: message.FlagNormal, ObservedAt: at, ReceivedAt: at.Add(time.Minute), Source: message.SourceHJ212,
			})
		}
	}
	never := opened.Add(time.Hour)
	series("TTH-S2", "nh3n", 0.3, 2.1, rise)
	series("TTH-S2", "tp", 0.1, 0.2, rise)
	series("TTH-O1", "nh3n", 1.0, 18, rise.Add(-85*time.Minute))
	series("TTH-O1", "tp", 0.3, 1.4, rise.Add(-85*time.Minute))
	series("TTH-O1", "flow", 0.3, 0.3, never)
	series("TTH-S1", "nh3n", 0.4, 1.5, rise.Add(-2*time.Hour))
	series("TTH-S1", "tp", 0.1, 0.3, rise.Add(-2*time.Hour))
	a.Readings(t, rs...)

	_, _, events, logPath := follow(t, cfg)
	start(t, bin, env, listen, logPath)
	ev := message.Event{
		ID: message.EventID(message.EventExceedanceOpened, "TTH-S2", "nh3n", opened, ""), Type: message.EventExceedanceOpened,
		Site: "TTH-S2", River: "toutun", Parameter: "nh3n", Value: 2.1, Limit: 1.0, TargetClass: "III", Class: "劣V",
		Multiple: 1.1, Severity: "severe", ObservedAt: opened, EmittedAt: time.Now().UTC(),
	}
	publish(t, events, ev.Site, ev)

	var search []received
	testinfra.Eventually(t, 60*time.Second, "the upstream search step delivered to xpcc12", func() bool {
		search = rcv.find(func(r received) bool {
			return strings.Contains(r.StepID, ".search_upstream.") && r.Jurisdiction == "xpcc12" && r.Role == "eeb" && r.Format == "webhook"
		})
		return len(search) > 0
	})
	text = search[0].Text
	t.Logf("search step:\n%s", text)
	resp, err := http.Get("http://" + listen + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return text, string(b)
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
