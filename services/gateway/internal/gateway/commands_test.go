package gateway

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/hj212"
)

// doneCh collects the final states of commands.
func doneCh() (chan hj212.Command, CommandDone) {
	ch := make(chan hj212.Command, 4)
	return ch, func(c hj212.Command) {
		if c.State.Final() {
			ch <- c
		}
	}
}

func waitDone(t *testing.T, ch chan hj212.Command) hj212.Command {
	t.Helper()
	select {
	case c := <-ch:
		return c
	case <-time.After(5 * time.Second):
		t.Fatal("no final state reported")
		return hj212.Command{}
	}
}

// connect dials as a station and authenticates it with a heartbeat (answered), then waits
// until the gateway registered the session for commands.
func connect(t *testing.T, h *harness, mn, pw string) *hj212.Client {
	t.Helper()
	c := h.dial(t)
	hb := hj212.Packet{QN: "20240601100000090", ST: hj212.STWaterPollution, CN: hj212.CNHeartbeat, PW: pw, MN: mn, Flag: hj212.NewFlag(hj212.V2025, true, false)}
	if err := c.Send(ctxT(t, 5*time.Second), hb); err != nil {
		t.Fatal(err)
	}
	if a := receive(t, c, 5*time.Second); a.CN != hj212.CNDataResponse {
		t.Fatalf("heartbeat answered %s", a.CN)
	}
	waitFor(t, "the session to be registered", func() bool {
		h.gw.cmdMu.Lock()
		defer h.gw.cmdMu.Unlock()
		return h.gw.st.byMN[mn] != nil
	})
	return c
}

func retain(t hj212.Target, now time.Time) (hj212.Packet, error) {
	return hj212.RetainSample(t, now, shanghai), nil
}

func answerTo(cmd hj212.Packet, cn, cp string, ack bool) hj212.Packet {
	return hj212.Packet{QN: cmd.QN, ST: cmd.ST, CN: cn, PW: cmd.PW, MN: cmd.MN, Flag: hj212.NewFlag(hj212.V2025, ack, false), CP: cp}
}

func TestARetainSampleCommandIsSentAndFollowedTo9012(t *testing.T) {
	h := newHarness(t, nil)
	c := connect(t, h, outfallMN, "654321")
	ch, done := doneCh()
	if err := h.gw.SendCommand(outfallMN, retain, time.Hour, done); err != nil {
		t.Fatal(err)
	}
	cmd := receive(t, c, 5*time.Second)
	if cmd.CN != hj212.CNRetainSample || cmd.ST != hj212.STWaterPollution || cmd.PW != "654321" || cmd.MN != outfallMN ||
		cmd.Flag != hj212.NewFlag(hj212.V2025, true, false) {
		t.Fatalf("command %+v: want a 3015 to the outfall in its ST, PW and edition, asking for an answer", cmd)
	}
	ctx := ctxT(t, 5*time.Second)
	if err := c.Send(ctx, answerTo(cmd, hj212.CNRequestResponse, "QnRtn=1", false)); err != nil {
		t.Fatal(err)
	}
	// The field machine reports the retained sample (bottle 2) with the command's QN, asking
	// for an answer, then the execution result.
	if err := c.Send(ctx, answerTo(cmd, hj212.CNRetainSample, "DataTime=20240601100005;VaseNo=2", true)); err != nil {
		t.Fatal(err)
	}
	if a := receive(t, c, 5*time.Second); a.CN != hj212.CNDataResponse || a.QN != cmd.QN {
		t.Fatalf("the sample report was answered %s QN=%s, want its 9014", a.CN, a.QN)
	}
	if err := c.Send(ctx, answerTo(cmd, hj212.CNExecutionResult, "ExeRtn=1", false)); err != nil {
		t.Fatal(err)
	}
	got := waitDone(t, ch)
	if got.State != hj212.CommandDone || got.QnRtn != "1" || got.ExeRtn != "1" || len(got.Replies) != 1 || got.Replies[0].CP != "DataTime=20240601100005;VaseNo=2" {
		t.Fatalf("command ended %v (QnRtn %s ExeRtn %s, %d replies)", got.State, got.QnRtn, got.ExeRtn, len(got.Replies))
	}
	if rj := h.rejected.rejections(t); len(rj) != 0 {
		t.Fatalf("rejections %v: the answers to a command are not refused", reasons(rj))
	}
	if v := metricSettles(h.gw.m.commands.WithLabelValues(hj212.CNRetainSample, "done"), 1); v != 1 {
		t.Errorf("commands metric %v, want 1", v)
	}
}

func TestACommandForADisconnectedStationWaitsForItOrExpires(t *testing.T) {
	h := newHarness(t, nil)
	setRtd := func(t hj212.Target, now time.Time) (hj212.Packet, error) {
		return hj212.SetRtdInterval(t, 30, now, shanghai)
	}
	ch, done := doneCh()
	if err := h.gw.SendCommand(outfallMN, setRtd, time.Hour, done); err != nil {
		t.Fatal(err)
	}
	c := connect(t, h, outfallMN, "654321")
	cmd := receive(t, c, 5*time.Second)
	if cmd.CN != hj212.CNSetRtdInterval || cmd.CP != "RtdInterval=30" {
		t.Fatalf("on connection the station got %s %q, want the waiting 1062", cmd.CN, cmd.CP)
	}
	if err := c.Send(ctxT(t, 5*time.Second), answerTo(cmd, hj212.CNRequestResponse, "QnRtn=2", false)); err != nil {
		t.Fatal(err)
	}
	if got := waitDone(t, ch); got.State != hj212.CommandRejected || !strings.Contains(got.Detail, "request rejected") {
		t.Fatalf("ended %v %q, want rejected", got.State, got.Detail)
	}

	// A command whose station does not connect within its TTL expires, and says so.
	ch2, done2 := doneCh()
	if err := h.gw.SendCommand(sectionMN, setRtd, time.Minute, done2); err != nil {
		t.Fatal(err)
	}
	h.gw.commandsDue(testNow.Add(30 * time.Second))
	select {
	case c := <-ch2:
		t.Fatalf("ended %v before its TTL", c.State)
	default:
	}
	h.gw.commandsDue(testNow.Add(2 * time.Minute))
	if got := waitDone(t, ch2); got.State != hj212.CommandExpired {
		t.Fatalf("ended %v, want expired", got.State)
	}
	if err := h.gw.SendCommand("NOSUCHMN", setRtd, time.Minute, nil); !errors.Is(err, ErrUnknownStation) {
		t.Fatalf("unknown MN: %v", err)
	}
}

func TestAnUnansweredCommandIsResentThenTimesOut(t *testing.T) {
	h := newHarness(t, nil)
	c := connect(t, h, outfallMN, "654321")
	ch, done := doneCh()
	if err := h.gw.SendCommand(outfallMN, retain, time.Hour, done); err != nil {
		t.Fatal(err)
	}
	first := receive(t, c, 5*time.Second)
	for i := 1; i <= 3; i++ {
		h.gw.commandsDue(testNow.Add(time.Duration(i) * 5 * time.Second))
		if again := receive(t, c, 5*time.Second); again.QN != first.QN || again.CN != first.CN {
			t.Fatalf("resend %d: %s QN=%s, want the same command again", i, again.CN, again.QN)
		}
	}
	h.gw.commandsDue(testNow.Add(20 * time.Second))
	got := waitDone(t, ch)
	if got.State != hj212.CommandTimedOut || got.Attempts != 4 || !strings.Contains(got.Detail, "no request response (9011)") {
		t.Fatalf("ended %v after %d attempts (%q)", got.State, got.Attempts, got.Detail)
	}
}

func TestACommandInProgressEndsWhenTheConnectionCloses(t *testing.T) {
	h := newHarness(t, nil)
	c := connect(t, h, outfallMN, "654321")
	ch, done := doneCh()
	if err := h.gw.SendCommand(outfallMN, retain, time.Hour, done); err != nil {
		t.Fatal(err)
	}
	receive(t, c, 5*time.Second)
	c.Close()
	if got := waitDone(t, ch); got.State != hj212.CommandTimedOut || !strings.Contains(got.Detail, "connection closed") {
		t.Fatalf("ended %v %q, want timed out: connection closed", got.State, got.Detail)
	}
	waitFor(t, "the session to be forgotten", func() bool {
		h.gw.cmdMu.Lock()
		defer h.gw.cmdMu.Unlock()
		return h.gw.st.byMN[outfallMN] == nil
	})
}
