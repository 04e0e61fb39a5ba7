package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/config"
	"github.com/riverwatch/riverwatch/pkg/hj212"
	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/network"
)

// dataTime is an hour of data within the skew and age limits of testNow.
var dataTime = testNow.Add(-time.Hour)

func TestStationGetsItsDataResponseAfterReadingsArePublished(t *testing.T) {
	h := newHarness(t, nil)
	c := h.dial(t)
	p := hourPacket(t, "20240601100000001", dataTime,
		hj212.Period("w21003", 0.8, 1.25, 2.5, "N"),                                         // ammonia, mg/L
		hj212.Period("w20111", 0.05, 0.08, 0.1, "T"),                                        // mercury, µg/L → mg/L
		hj212.Period("w01001", 7.1, 7.5, 7.9, ""),                                           // pH, no flag: normal
		hj212.Item{Code: "w00000", Avg: hj212.Value(200), Cou: hj212.Value(720), Flag: "N"}, // L/s → m3/s
	)
	if err := c.Upload(ctxT(t, 5*time.Second), p); err != nil {
		t.Fatalf("Upload: %v", err)
	}
	rs := h.readings.readings(t)
	if len(rs) != 4 {
		t.Fatalf("%d readings published, want 4", len(rs))
	}
	byParam := map[string]message.Reading{}
	for _, r := range rs {
		byParam[r.Parameter] = r
		if r.Site != "STH-S2" || r.Station != sectionMN || r.Interval != message.IntervalHour || r.Source != message.SourceHJ212 {
			t.Errorf("reading %+v", r)
		}
		if !r.ObservedAt.Equal(dataTime) || r.ObservedAt.Location() != time.UTC || !r.ReceivedAt.Equal(testNow) {
			t.Errorf("times of %s: observed %v, received %v", r.Parameter, r.ObservedAt, r.ReceivedAt)
		}
		if r.ID != message.ReadingID("STH-S2", r.Parameter, message.IntervalHour, dataTime) {
			t.Errorf("reading %s has id %s, not the deterministic one", r.Parameter, r.ID)
		}
	}
	for _, tc := range []struct {
		param         string
		value, lo, hi float64
		unit, flag    string
	}{
		{"nh3n", 1.25, 0.8, 2.5, "mg/L", "N"},
		{"hg", 0.00008, 0.00005, 0.0001, "mg/L", "T"},
		{"ph", 7.5, 7.1, 7.9, "1", "N"},
	} {
		r := byParam[tc.param]
		if !near(r.Value, tc.value) || r.Min == nil || !near(*r.Min, tc.lo) || r.Max == nil || !near(*r.Max, tc.hi) || r.Unit != tc.unit || r.Flag != tc.flag {
			t.Errorf("%s: %+v (min %v max %v), want %v [%v, %v] %s flag %s", tc.param, r, r.Min, r.Max, tc.value, tc.lo, tc.hi, tc.unit, tc.flag)
		}
	}
	if f := byParam["flow"]; !near(f.Value, 0.2) || f.Unit != "m3/s" || f.Min != nil {
		t.Errorf("flow %+v", f)
	}
	if n := len(h.rejected.rejections(t)); n != 0 {
		t.Errorf("%d rejections for a clean frame", n)
	}
	if got := metricValue(h.gw.m.readingsAccepted.WithLabelValues("hj212")); got != 4 {
		t.Errorf("readings accepted metric = %v", got)
	}
	if got := metricSettles(h.gw.m.answers.WithLabelValues("9014"), 1); got != 1 {
		t.Errorf("answers metric = %v", got)
	}
}

func near(a, b float64) bool { d := a - b; return d < 1e-12 && d > -1e-12 }

func TestStationGetsNoAnswerWhenKafkaFailsAndNothingIsLostOnResend(t *testing.T) {
	h := newHarness(t, nil)
	c := h.dial(t)
	h.readings.setFail(errKafkaDown)
	p := hourPacket(t, "20240601100000002", dataTime, hj212.Period("w21003", 1, 1, 1, "N"))
	err := c.Upload(ctxT(t, 500*time.Millisecond), p)
	if err == nil {
		t.Fatal("station got a 9014 although Kafka refused the readings")
	}
	expectNoAnswerBefore(t, c, "20240601100000003")
	if got := metricValue(h.gw.m.framesUnacked); got != 1 {
		t.Errorf("unacknowledged frames metric = %v", got)
	}
	// Kafka is back: the resend is published once and answered.
	h.readings.setFail(nil)
	if err := c.Upload(ctxT(t, 5*time.Second), p); err != nil {
		t.Fatalf("resend: %v", err)
	}
	if rs := h.readings.readings(t); len(rs) != 1 {
		t.Fatalf("%d readings after the resend, want 1", len(rs))
	}
}

func TestRejectionsMustBeStoredBeforeTheAnswer(t *testing.T) {
	h := newHarness(t, nil)
	c := h.dial(t)
	h.rejected.setFail(errKafkaDown)
	p := hourPacket(t, "20240601100000004", dataTime, hj212.Period("w21003", 1, 1, 1, "N"), hj212.Period("e01001", 1, 1, 1, "N"))
	if err := c.Upload(ctxT(t, 500*time.Millisecond), p); err == nil {
		t.Fatal("answered although the rejection of the bad item was not stored")
	}
	h.rejected.setFail(nil)
	if err := c.Upload(ctxT(t, 5*time.Second), p); err != nil {
		t.Fatalf("resend: %v", err)
	}
	if rj := h.rejected.rejections(t); len(rj) != 1 || rj[0].Reason != ReasonUnknownParameter {
		t.Fatalf("rejections %+v", rj)
	}
}

func TestBadItemsAreRejectedOneByOneAndTheFrameIsStillAnswered(t *testing.T) {
	h := newHarness(t, nil)
	c := h.dial(t)
	cp := "DataTime=" + hj212.FormatTime(dataTime, shanghai) +
		";w21003-Avg=1.2,w21003-Flag=N" + // good
		";w01001-Avg=15,w01001-Flag=N" + // pH 15: impossible
		";w01018-Avg=-3,w01018-Flag=N" + // negative COD
		";e01002-Avg=1,e01002-Flag=N" + // not a water code
		";w21011-Avg=abc" + // not a number
		";w01009-Avg=8,w01009-Flag=Q" + // unknown flag
		";w01019-Rtd=3" + // real-time value in hour data: no Avg
		";w01014-Min=500,w01014-Avg=400,w01014-Max=600" + // min > avg
		";w20122-Avg=0.5;w20138-Avg=0.6" + // copper twice
		";w01010-Zz=1" // unknown suffix
	p := hj212.Packet{QN: "20240601100000005", ST: "21", CN: hj212.CNHour, PW: "123456", MN: sectionMN, Flag: hj212.NewFlag(hj212.V2017, true, false), CP: cp}
	if err := c.Upload(ctxT(t, 5*time.Second), p); err != nil {
		t.Fatalf("Upload: %v", err)
	}
	rs := h.readings.readings(t)
	if len(rs) != 2 || rs[0].Parameter != "nh3n" || rs[1].Parameter != "cu" {
		t.Fatalf("readings %+v, want nh3n and the first cu", rs)
	}
	rj := h.rejected.rejections(t)
	want := []string{ReasonRange, ReasonRange, ReasonUnknownParameter, hj212.ReasonBadValue, hj212.ReasonBadFlag,
		ReasonMissingValue, ReasonInconsistent, ReasonDuplicate, hj212.ReasonBadItem}
	if !slices.Equal(reasons(rj), want) {
		t.Fatalf("rejection reasons %v, want %v", reasons(rj), want)
	}
	for _, r := range rj {
		if r.Station != sectionMN || r.Site != "STH-S2" || r.Source != message.SourceHJ212 || r.Remote == "" ||
			!strings.HasPrefix(r.Raw, "##") || r.Parameter == "" || r.Detail == "" || r.ID == "" {
			t.Errorf("rejection %+v", r)
		}
	}
	ids := map[string]bool{}
	for _, r := range rj {
		ids[r.ID] = true
	}
	if len(ids) != len(rj) {
		t.Errorf("rejections of one frame share ids: %d ids for %d rejections", len(ids), len(rj))
	}
	if got := metricValue(h.gw.m.readingsRefused.WithLabelValues("hj212", ReasonRange)); got != 2 {
		t.Errorf("refused-by-range metric = %v", got)
	}
}

func TestFramesRefusedByTheCodecOrAuthenticationAreRecordedAndNotAnswered(t *testing.T) {
	good := hourPacket(t, "20240601100000010", dataTime, hj212.Period("w21003", 1, 1, 1, "N"))
	wrongPW := good
	wrongPW.PW = "000000"
	unknownMN := good
	unknownMN.MN = "99999999999999"
	badCRC := mustEncode(t, good)
	copy(badCRC[len(badCRC)-6:], "0000")
	badField := []byte(strings.Replace(string(mustEncode(t, good)), "ST=21", "ST=2X", 1))
	badField, _ = hj212.AppendFrame(nil, badField[6:len(badField)-6])
	badCP := good
	badCP.CP = "DataTime=20240601090000;w21003-Avg=1,w01001-Avg=7" // two items in one group
	for _, tc := range []struct {
		name   string
		raw    []byte
		reason string
	}{
		{"crc", badCRC, hj212.ReasonCRC},
		{"bad field", badField, hj212.ReasonBadField},
		{"junk", []byte("GET / HTTP/1.1\r\n\r\n"), hj212.ReasonFrameSync},
		{"unknown MN", mustEncode(t, unknownMN), ReasonAuthMN},
		{"wrong PW", mustEncode(t, wrongPW), ReasonAuthPW},
		{"malformed CP", mustEncode(t, badCP), hj212.ReasonBadCP},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, nil)
			c := h.dial(t)
			if err := c.SendRaw(ctxT(t, 5*time.Second), tc.raw); err != nil {
				t.Fatal(err)
			}
			expectNoAnswerBefore(t, c, "20240601100000099")
			if n := len(h.readings.readings(t)); n != 0 {
				t.Fatalf("%d readings published", n)
			}
			rj := h.rejected.rejections(t)
			if len(rj) != 1 || rj[0].Reason != tc.reason || rj[0].Raw == "" || rj[0].Remote == "" {
				t.Fatalf("rejections %+v, want one %s", rj, tc.reason)
			}
			if got := metricValue(h.gw.m.framesRefused.WithLabelValues(tc.reason)); got != 1 {
				t.Errorf("frames refused metric = %v", got)
			}
		})
	}
}

func TestRepeatedFrameIsAnsweredButNotPublishedTwice(t *testing.T) {
	h := newHarness(t, nil)
	c := h.dial(t)
	p := hourPacket(t, "20240601100000020", dataTime, hj212.Period("w21003", 1, 1, 1, "N"))
	for i := range 2 {
		if err := c.Upload(ctxT(t, 5*time.Second), p); err != nil {
			t.Fatalf("upload %d: %v", i+1, err)
		}
	}
	// The same frame twice in one write: one batch, one reading.
	q := hourPacket(t, "20240601100000021", dataTime.Add(-time.Hour), hj212.Period("w21003", 1, 1, 1, "N"))
	if err := c.Send(ctxT(t, 5*time.Second), q, q); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if a := receive(t, c, 5*time.Second); a.CN != hj212.CNDataResponse || a.QN != q.QN {
			t.Fatalf("answer %+v", a)
		}
	}
	if rs := h.readings.readings(t); len(rs) != 2 {
		t.Fatalf("%d readings published, want 2 (one per distinct frame)", len(rs))
	}
	if rj := h.rejected.rejections(t); !slices.Equal(reasons(rj), []string{ReasonDuplicate, ReasonDuplicate}) {
		t.Fatalf("rejections %v", reasons(rj))
	}
}

func TestFramesThatArriveTogetherArePublishedTogetherAndAnsweredInOrder(t *testing.T) {
	h := newHarness(t, nil)
	c := h.dial(t)
	var pkts []hj212.Packet
	for i := range 5 {
		pkts = append(pkts, hourPacket(t, "2024060110000010"+string(rune('0'+i)), dataTime.Add(-time.Duration(i)*time.Hour), hj212.Period("w21003", 1, 1, 1, "N")))
	}
	if err := c.Send(ctxT(t, 5*time.Second), pkts...); err != nil {
		t.Fatal(err)
	}
	for i := range pkts {
		if a := receive(t, c, 5*time.Second); a.QN != pkts[i].QN {
			t.Fatalf("answer %d is for QN %s, want %s", i, a.QN, pkts[i].QN)
		}
	}
	if rs := h.readings.readings(t); len(rs) != 5 {
		t.Fatalf("%d readings", len(rs))
	}
	h.readings.mu.Lock()
	calls := h.readings.calls
	h.readings.mu.Unlock()
	if calls != 1 {
		t.Errorf("%d publish calls for 5 frames in one write, want 1", calls)
	}
}

func TestSplitMessageIsReassembledAndAnsweredOnce(t *testing.T) {
	h := newHarness(t, nil)
	c := h.dial(t)
	var items []hj212.Item
	for _, code := range []string{"w21003", "w21011", "w01018", "w01019", "w01009", "w01010", "w01014", "w01003", "w21001", "w20122"} {
		items = append(items, hj212.Period(code, 1, 2, 3, "N"))
	}
	p := hourPacket(t, "20240601100000030", dataTime, items...)
	parts, err := hj212.Split(p, 200)
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) < 3 {
		t.Fatalf("%d parts", len(parts))
	}
	// The packets go in separate writes, the last one first.
	ctx := ctxT(t, 5*time.Second)
	order := append([]hj212.Packet{parts[len(parts)-1]}, parts[:len(parts)-1]...)
	for i, q := range order {
		if err := c.Send(ctx, q); err != nil {
			t.Fatal(err)
		}
		if i < len(order)-1 {
			time.Sleep(10 * time.Millisecond)
		}
	}
	a := receive(t, c, 5*time.Second)
	if a.CN != hj212.CNDataResponse || a.QN != p.QN {
		t.Fatalf("answer %+v", a)
	}
	expectNoAnswerBefore(t, c, "20240601100000031") // one answer for the whole message
	if rs := h.readings.readings(t); len(rs) != len(items) {
		t.Fatalf("%d readings, want %d", len(rs), len(items))
	}
}

func TestIncompleteSplitMessageIsRecordedWhenTheStationLeaves(t *testing.T) {
	h := newHarness(t, nil)
	c := h.dial(t)
	p := hourPacket(t, "20240601100000032", dataTime, hj212.Period("w21003", 1, 2, 3, "N"), hj212.Period("w21011", 1, 2, 3, "N"),
		hj212.Period("w01018", 1, 2, 3, "N"))
	parts, err := hj212.Split(p, 200)
	if err != nil || len(parts) < 2 {
		t.Fatalf("split: %v %d", err, len(parts))
	}
	if err := c.Send(ctxT(t, 5*time.Second), parts[0]); err != nil {
		t.Fatal(err)
	}
	expectNoAnswerBefore(t, c, "20240601100000033")
	c.Close()
	waitFor(t, "split_incomplete rejection", func() bool {
		return slices.Contains(reasons(h.rejected.rejections(t)), hj212.ReasonSplitIncomplete)
	})
	if rs := h.readings.readings(t); len(rs) != 0 {
		t.Fatalf("%d readings from an incomplete message", len(rs))
	}
}

// closedByPeer reports whether a Receive failed because the gateway closed the connection
// (not because the test's own deadline passed).
func closedByPeer(err error) bool {
	return err != nil && !errors.Is(err, context.DeadlineExceeded) && !hj212IsRefusal(err)
}

func hj212IsRefusal(err error) bool { return hj212.ReasonOf(err) != "" && !errors.Is(err, io.EOF) }

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestContentRefusalsAreRecordedAndAnswered(t *testing.T) {
	air := hourPacket(t, "20240601100000040", dataTime, hj212.Period("w21003", 1, 1, 1, "N"))
	air.ST = "31"
	future := hourPacket(t, "20240601100000041", testNow.Add(time.Hour), hj212.Period("w21003", 1, 1, 1, "N"))
	old := hourPacket(t, "20240601100000042", testNow.AddDate(-2, 0, 0), hj212.Period("w21003", 1, 1, 1, "N"))
	week := hourPacket(t, "20240601100000044", testNow.Add(-8*24*time.Hour).Truncate(time.Hour), hj212.Period("w21003", 1, 1, 1, "N"))
	status := hourPacket(t, "20240601100000043", dataTime)
	status.CN, status.CP = "2021", "DataTime=20240601090000;i12001-Info=1"
	for _, tc := range []struct {
		name   string
		p      hj212.Packet
		reason string
	}{
		{"air system code", air, ReasonSystemCode},
		{"DataTime in the future", future, ReasonFuture},
		{"DataTime two years old", old, ReasonTooOld},
		{"DataTime eight days old, beyond the default max_age of 7 days", week, ReasonTooOld},
		{"status upload", status, ReasonUnsupportedCN},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, nil)
			c := h.dial(t)
			if err := c.Upload(ctxT(t, 5*time.Second), tc.p); err != nil {
				t.Fatalf("Upload: %v", err)
			}
			if n := len(h.readings.readings(t)); n != 0 {
				t.Fatalf("%d readings", n)
			}
			if rj := h.rejected.rejections(t); !slices.Equal(reasons(rj), []string{tc.reason}) {
				t.Fatalf("rejections %v, want %s", reasons(rj), tc.reason)
			}
		})
	}
}

func TestLoggerBufferResentAfterAnOutageWithinMaxAgeIsAccepted(t *testing.T) {
	h := newHarness(t, nil)
	c := h.dial(t)
	// Three days of an outage: the logger resends its hourly buffer when the link is back.
	for i, age := range []time.Duration{72 * time.Hour, 48 * time.Hour, time.Hour} {
		p := hourPacket(t, fmt.Sprintf("2024060110000006%d", i), testNow.Add(-age).Truncate(time.Hour), hj212.Period("w21003", 1, 1, 1, "N"))
		if err := c.Upload(ctxT(t, 5*time.Second), p); err != nil {
			t.Fatalf("Upload of a reading %v old: %v", age, err)
		}
	}
	if n := len(h.readings.readings(t)); n != 3 {
		t.Fatalf("%d readings published, want the 3 of the resent buffer", n)
	}
	if rj := h.rejected.rejections(t); len(rj) != 0 {
		t.Fatalf("rejections %v, want none", reasons(rj))
	}
}

func TestCommandsOtherThanData(t *testing.T) {
	h := newHarness(t, nil)
	c := h.dial(t)
	ctx := ctxT(t, 5*time.Second)

	// The standard's own example (set real-time interval) is a host-to-field request: the
	// gateway declines it with 9011 QnRtn=2.
	req := hj212.Packet{QN: "20240601100000050", ST: "32", CN: "1062", PW: "123456", MN: sectionMN, Flag: 5, CP: "RtdInterval=30"}
	if err := c.Send(ctx, req); err != nil {
		t.Fatal(err)
	}
	if a := receive(t, c, 5*time.Second); a.CN != hj212.CNRequestResponse || a.QN != req.QN || a.CP != "QnRtn=2" {
		t.Fatalf("answer to 1062: %+v", a)
	}

	// A time-calibration request gets its 9014, then a 1012 with the gateway's time.
	tc := hj212.Packet{QN: "20240601100000051", ST: "21", CN: hj212.CNTimeCalibration, PW: "123456", MN: sectionMN, Flag: 5}
	if err := c.Send(ctx, tc); err != nil {
		t.Fatal(err)
	}
	if a := receive(t, c, 5*time.Second); a.CN != hj212.CNDataResponse || a.QN != tc.QN {
		t.Fatalf("first answer to 1013: %+v", a)
	}
	set := receive(t, c, 5*time.Second)
	if set.CN != hj212.CNSetTime || set.CP != "SystemTime=20240601100000" || !set.WantsAck() {
		t.Fatalf("second answer to 1013: %+v", set)
	}
	// The station's answers to the 1012 are taken without a reply.
	if err := c.Send(ctx, hj212.Response9011(set, hj212.QnRtnReady)); err != nil {
		t.Fatal(err)
	}
	expectNoAnswerBefore(t, c, "20240601100000052")

	// A heartbeat without A gets nothing; an unknown command is recorded.
	hb := heartbeat("20240601100000053")
	hb.Flag = hj212.NewFlag(hj212.V2025, false, false)
	unknown := hj212.Packet{QN: "20240601100000054", ST: "21", CN: "4444", PW: "123456", MN: sectionMN, Flag: 5}
	if err := c.Send(ctx, hb, unknown); err != nil {
		t.Fatal(err)
	}
	expectNoAnswerBefore(t, c, "20240601100000055")
	if rj := h.rejected.rejections(t); !slices.Equal(reasons(rj), []string{ReasonUnsupportedCN, ReasonUnknownCN}) {
		t.Fatalf("rejections %v", reasons(rj))
	}
	if got := metricSettles(h.gw.m.answers.WithLabelValues("1012"), 1); got != 1 {
		t.Errorf("1012 answers metric = %v", got)
	}
}

func TestHJT2005PacketWithoutFlagIsPublishedWithItsCodesAndNotAnswered(t *testing.T) {
	h := newHarness(t, nil)
	c := h.dial(t)
	cp := "DataTime=" + hj212.FormatTime(dataTime, shanghai) + ";060-Rtd=0.52,060-Flag=N;020-Rtd=0.2,020-Flag=P;w21003-Rtd=1"
	p := hj212.Packet{ST: "32", CN: hj212.CNRealtime, PW: "654321", MN: outfallMN, OmitFlag: true, CP: cp}
	if err := c.Send(ctxT(t, 5*time.Second), p, p); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "2005 readings", func() bool { return len(h.rejected.rejections(t)) >= 2 })
	rs := h.readings.readings(t)
	if len(rs) != 2 || rs[0].Parameter != "nh3n" || rs[1].Parameter != "hg" || !near(rs[1].Value, 0.0002) || rs[1].Flag != "P" ||
		rs[0].Interval != message.IntervalRealtime || rs[0].Site != "STH-O1" {
		t.Fatalf("readings %+v", rs)
	}
	// The 2017 code is unknown in a 2005 packet; the repeat (no QN) is a duplicate by DataTime.
	if rj := h.rejected.rejections(t); !slices.Equal(reasons(rj), []string{ReasonUnknownParameter, ReasonDuplicate}) {
		t.Fatalf("rejections %v", reasons(rj))
	}
}

func TestConnectionClosedAfterRepeatedRefusedFrames(t *testing.T) {
	h := newHarness(t, func(c *config.Gateway) { c.MaxFrameErrors = 3 })
	c := h.dial(t)
	bad := hourPacket(t, "20240601100000060", dataTime)
	bad.PW = "000000"
	if err := c.Send(ctxT(t, 5*time.Second), bad, bad, bad); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Receive(ctxT(t, 5*time.Second)); !closedByPeer(err) {
		t.Fatalf("connection still open after 3 refused frames: %v", err)
	}
	if got := reasons(h.rejected.rejections(t)); len(got) != 3 {
		t.Fatalf("rejections %v", got)
	}
}

func TestIdleAndUnfinishedConnectionsAreClosed(t *testing.T) {
	h := newHarness(t, func(c *config.Gateway) { c.IdleTimeout, c.FrameTimeout = 300*time.Millisecond, 200*time.Millisecond })
	idle := h.dial(t)
	if _, err := idle.Receive(ctxT(t, 5*time.Second)); !closedByPeer(err) {
		t.Fatalf("idle connection not closed by the gateway: %v", err)
	}
	half := h.dial(t)
	frame := mustEncode(t, hourPacket(t, "20240601100000070", dataTime, hj212.Period("w21003", 1, 1, 1, "N")))
	if err := half.SendRaw(ctxT(t, time.Second), frame[:40]); err != nil {
		t.Fatal(err)
	}
	if _, err := half.Receive(ctxT(t, 5*time.Second)); !closedByPeer(err) {
		t.Fatalf("connection with a half-sent frame not closed: %v", err)
	}
	waitFor(t, "frame_incomplete", func() bool {
		return slices.Equal(reasons(h.rejected.rejections(t)), []string{hj212.ReasonFrameIncomplete})
	})
}

func TestConnectionsBeyondTheLimitAreRefused(t *testing.T) {
	h := newHarness(t, func(c *config.Gateway) { c.MaxConnections = 1 })
	first := h.dial(t)
	expectNoAnswerBefore(t, first, "20240601100000080") // the first connection is being served
	second := h.dial(t)
	if _, err := second.Receive(ctxT(t, 5*time.Second)); !closedByPeer(err) {
		t.Fatalf("second connection not closed beyond max_connections: %v", err)
	}
	waitFor(t, "too_many_connections", func() bool {
		return slices.Contains(reasons(h.rejected.rejections(t)), ReasonTooManyConnections)
	})
	if got := metricValue(h.gw.m.connsRefused.WithLabelValues(ReasonTooManyConnections)); got != 1 {
		t.Errorf("connections refused metric = %v", got)
	}
	if got := metricValue(h.gw.m.connsOpen); got != 1 {
		t.Errorf("connections open metric = %v", got)
	}
}

func TestStopAnswersTheBatchInFlightThenCloses(t *testing.T) {
	h := newHarness(t, nil)
	c := h.dial(t)
	expectNoAnswerBefore(t, c, "20240601100000089") // the session is up
	gate, entered := h.readings.hold()
	p := hourPacket(t, "20240601100000090", dataTime, hj212.Period("w21003", 1, 1, 1, "N"))
	if err := c.Send(ctxT(t, 5*time.Second), p); err != nil {
		t.Fatal(err)
	}
	<-entered
	stopped := h.stop()
	select {
	case <-stopped:
		t.Fatal("RunTCP returned while a publish was in flight")
	case <-time.After(100 * time.Millisecond):
	}
	close(gate)
	if a := receive(t, c, 5*time.Second); a.CN != hj212.CNDataResponse || a.QN != p.QN {
		t.Fatalf("answer %+v", a)
	}
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("RunTCP did not return after the publish completed")
	}
	if _, err := c.Receive(ctxT(t, 5*time.Second)); !closedByPeer(err) {
		t.Fatalf("connection still open after stop: %v", err)
	}
}

func TestNewGatewayRefusesAnOutOfRangeValueInsteadOfDefaultingIt(t *testing.T) {
	nw, err := network.Parse([]byte(testSites))
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default().Gateway
	cfg.MaxConnections = -1
	_, err = NewGateway(Parts{Network: nw, Tokens: testTokens, Readings: &fakePublisher{}, Rejected: &fakePublisher{}}, cfg)
	if err == nil || !strings.Contains(err.Error(), "gateway.max_connections") {
		t.Fatalf("NewGateway = %v, want it to refuse gateway.max_connections", err)
	}
}
