package hj212

import (
	"strings"
	"testing"
	"time"
)

var cmdTarget = Target{ST: STWaterPollution, MN: "65230100000101", PW: "654321", Version: V2025}

func TestCommandBuildersWriteTheStandardsFields(t *testing.T) {
	now := time.Date(2024, 6, 1, 2, 0, 0, 123e6, time.UTC)
	rtd, err := SetRtdInterval(cmdTarget, 30, now, shanghai)
	if err != nil {
		t.Fatal(err)
	}
	minute, err := SetMinInterval(cmdTarget, 5, now, shanghai)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		p    Packet
		want string
	}{
		{rtd, "QN=20240601100000123;ST=32;CN=1062;PW=654321;MN=65230100000101;Flag=9;CP=&&RtdInterval=30&&"},
		{minute, "QN=20240601100000123;ST=32;CN=1064;PW=654321;MN=65230100000101;Flag=9;CP=&&MinInterval=5&&"},
		{RetainSample(cmdTarget, now, shanghai), "QN=20240601100000123;ST=32;CN=3015;PW=654321;MN=65230100000101;Flag=9;CP=&&&&"},
		{GetTime(cmdTarget, now, shanghai), "QN=20240601100000123;ST=32;CN=1011;PW=654321;MN=65230100000101;Flag=9;CP=&&&&"},
	} {
		if got := string(tc.p.AppendSegment(nil)); got != tc.want {
			t.Errorf("segment\n%s\nwant\n%s", got, tc.want)
		}
		if err := tc.p.Validate(); err != nil {
			t.Errorf("%s: %v", tc.p.CN, err)
		}
	}
	if _, err := SetRtdInterval(cmdTarget, 0, now, shanghai); ReasonOf(err) != ReasonBadValue {
		t.Errorf("RtdInterval 0: %v", err)
	}
	if _, err := SetMinInterval(cmdTarget, 61, now, shanghai); ReasonOf(err) != ReasonBadValue {
		t.Errorf("MinInterval 61: %v", err)
	}
}

func TestTrackerFollowsACommandThrough9011And9012(t *testing.T) {
	t0 := time.Date(2024, 6, 1, 2, 0, 0, 0, time.UTC)
	cmd := RetainSample(cmdTarget, t0, shanghai)
	answer := func(cn, cp string) Packet {
		return Packet{QN: cmd.QN, ST: cmd.ST, CN: cn, PW: cmd.PW, MN: cmd.MN, Flag: NewFlag(V2025, false, false), CP: cp}
	}
	upload := answer(CNRetainSample, "DataTime=20240601100005;VaseNo=2")
	for _, tc := range []struct {
		name    string
		replies []Packet
		state   CommandState
		detail  string
		extra   int // replies kept
	}{
		{"accepted and executed", []Packet{answer(CNRequestResponse, "QnRtn=1"), upload, answer(CNExecutionResult, "ExeRtn=1")}, CommandDone, "ExeRtn=1 (executed)", 1},
		{"rejected", []Packet{answer(CNRequestResponse, "QnRtn=2")}, CommandRejected, "QnRtn=2 (request rejected)", 0},
		{"password refused", []Packet{answer(CNRequestResponse, "QnRtn=3")}, CommandRejected, "QnRtn=3 (PW error)", 0},
		{"accepted, then failed busy", []Packet{answer(CNRequestResponse, "QnRtn=1"), answer(CNExecutionResult, "ExeRtn=5")}, CommandFailed, "ExeRtn=5 (system busy)", 0},
		{"9012 without a 9011 still ends it", []Packet{answer(CNExecutionResult, "ExeRtn=1")}, CommandDone, "executed", 0},
		{"accepted, no result yet", []Packet{answer(CNRequestResponse, "QnRtn=1")}, CommandAccepted, "ready to execute", 0},
		{"a code outside the standard", []Packet{answer(CNRequestResponse, "QnRtn=42")}, CommandRejected, "not a code of the standard", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var tr Tracker
			if _, err := tr.Sent(cmd, t0); err != nil {
				t.Fatal(err)
			}
			var c *Command
			for i, r := range tc.replies {
				got, ok := tr.Handle(r, t0.Add(time.Duration(i+1)*time.Second))
				if !ok {
					t.Fatalf("reply %d (%s) not matched", i+1, r.CN)
				}
				c = got
			}
			if c.State != tc.state || !strings.Contains(c.Detail, tc.detail) || len(c.Replies) != tc.extra {
				t.Fatalf("state %v detail %q replies %d; want %v, %q, %d", c.State, c.Detail, len(c.Replies), tc.state, tc.detail, tc.extra)
			}
			if want := 0; c.State.Final() && tr.Pending() != want {
				t.Errorf("a final command is still pending")
			}
		})
	}
}

func TestTrackerIgnoresPacketsOfOtherCommandsOrStations(t *testing.T) {
	t0 := time.Date(2024, 6, 1, 2, 0, 0, 0, time.UTC)
	var tr Tracker
	cmd := RetainSample(cmdTarget, t0, shanghai)
	if _, err := tr.Sent(cmd, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Sent(cmd, t0); err == nil {
		t.Error("the same QN tracked twice")
	}
	noAck := cmd
	noAck.QN, noAck.Flag = "20240601100000999", NewFlag(V2025, false, false)
	if _, err := tr.Sent(noAck, t0); err == nil {
		t.Error("a command without A tracked: no answer would ever come")
	}
	other := Packet{QN: "20240601100000001", ST: "91", CN: CNRequestResponse, PW: cmd.PW, MN: cmd.MN, CP: "QnRtn=1"}
	wrongMN := Packet{QN: cmd.QN, ST: "91", CN: CNRequestResponse, PW: cmd.PW, MN: "65230100000002", CP: "QnRtn=1"}
	for _, p := range []Packet{other, wrongMN} {
		if _, ok := tr.Handle(p, t0); ok {
			t.Errorf("packet QN=%s MN=%s matched the command", p.QN, p.MN)
		}
	}
}

func TestTrackerResendsAfterOverTimeThenTimesOut(t *testing.T) {
	t0 := time.Date(2024, 6, 1, 2, 0, 0, 0, time.UTC)
	tr := Tracker{OverTime: 5 * time.Second, ReCount: 3, ExecTimeout: time.Minute}
	cmd := RetainSample(cmdTarget, t0, shanghai)
	if _, err := tr.Sent(cmd, t0); err != nil {
		t.Fatal(err)
	}
	if r, to := tr.Due(t0.Add(4 * time.Second)); len(r) != 0 || len(to) != 0 {
		t.Fatalf("before OverTime: %d resends, %d timeouts", len(r), len(to))
	}
	at := t0
	for i := range 3 {
		at = at.Add(5 * time.Second)
		r, to := tr.Due(at)
		if len(r) != 1 || len(to) != 0 || r[0].Packet.QN != cmd.QN || r[0].Attempts != i+2 {
			t.Fatalf("resend %d: %d resends, %d timeouts", i+1, len(r), len(to))
		}
	}
	r, to := tr.Due(at.Add(5 * time.Second))
	if len(r) != 0 || len(to) != 1 || to[0].State != CommandTimedOut || to[0].Attempts != 4 || !strings.Contains(to[0].Detail, "no request response (9011) after 4 attempts") {
		t.Fatalf("after 3 resends: %d resends, timeouts %+v", len(r), to)
	}
	if tr.Pending() != 0 {
		t.Error("a timed-out command is still pending")
	}

	// An accepted command is not resent; it times out without a 9012 within ExecTimeout.
	cmd2 := RetainSample(cmdTarget, t0.Add(time.Millisecond), shanghai)
	if _, err := tr.Sent(cmd2, t0); err != nil {
		t.Fatal(err)
	}
	tr.Handle(Packet{QN: cmd2.QN, ST: "91", CN: CNRequestResponse, PW: cmd2.PW, MN: cmd2.MN, CP: "QnRtn=1"}, t0.Add(time.Second))
	if r, to := tr.Due(t0.Add(30 * time.Second)); len(r) != 0 || len(to) != 0 {
		t.Fatalf("accepted command: %d resends, %d timeouts before ExecTimeout", len(r), len(to))
	}
	if _, to := tr.Due(t0.Add(62 * time.Second)); len(to) != 1 || !strings.Contains(to[0].Detail, "no execution result (9012)") {
		t.Fatalf("accepted command after ExecTimeout: %+v", to)
	}
}

func TestTrackerWithoutResendsTimesOutAfterTheFirstOverTime(t *testing.T) {
	t0 := time.Date(2024, 6, 1, 2, 0, 0, 0, time.UTC)
	tr := Tracker{ReCount: -1}
	if _, err := tr.Sent(GetTime(cmdTarget, t0, shanghai), t0); err != nil {
		t.Fatal(err)
	}
	if r, to := tr.Due(t0.Add(5 * time.Second)); len(r) != 0 || len(to) != 1 {
		t.Fatalf("%d resends, %d timeouts; want 0, 1 (default OverTime 5s, no resend)", len(r), len(to))
	}
}
