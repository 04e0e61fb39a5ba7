package hj212

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// nextFrame decodes one frame string with a Decoder, as the gateway does.
func nextFrame(t *testing.T, s string) (Frame, error) {
	t.Helper()
	return NewDecoder(strings.NewReader(s), MaxDataLen).Next()
}

func encodeString(t *testing.T, p Packet) string {
	t.Helper()
	b, err := Encode(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestReceiverDecodeStagesOfRefusal(t *testing.T) {
	now := time.Date(2024, 6, 1, 2, 0, 0, 0, time.UTC)
	auth := func(p *Packet) error {
		if p.PW != "123456" {
			return &Error{Reason: "auth_pw", Detail: "PW does not match"}
		}
		return nil
	}
	airHour := strings.Replace(dataOf(exampleHour), "ST=21", "ST=22", 1)
	airFrame, _ := AppendFrame(nil, []byte(airHour))
	badCP := strings.Replace(dataOf(exampleHour), "w01010-Avg=12.3,w01010-Flag=N;w01001", "w01010-Avg=12.3,w01001", 1)
	badCPFrame, _ := AppendFrame(nil, []byte(badCP))
	badFieldFrame, _ := AppendFrame(nil, []byte(strings.Replace(dataOf(exampleHour), "ST=21", "ST=2X", 1)))
	guess := strings.Replace(dataOf(exampleHour), "PW=123456", "PW=000000", 1)
	guessFrame, _ := AppendFrame(nil, []byte(guess))
	for _, tc := range []struct {
		name   string
		frame  string
		stage  Stage
		reason string
		final  bool
	}{
		{"bad CRC", strings.Replace(exampleHour, "D801", "0000", 1), StageFrame, ReasonCRC, false},
		{"bad header field", string(badFieldFrame), StagePacket, ReasonBadField, false},
		{"wrong password", string(guessFrame), StageAuth, "auth_pw", false},
		{"non-water system code", string(airFrame), StageData, ReasonSystemCode, true},
		{"malformed data", string(badCPFrame), StageData, ReasonBadCP, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rx := Receiver{Location: shanghai, Authenticate: auth}
			f, ferr := nextFrame(t, tc.frame)
			_, err := rx.Decode(f, ferr, now)
			var re *RefusalError
			if !errors.As(err, &re) || re.Stage != tc.stage || re.Reason != tc.reason || re.Final != tc.final || re.Detail == "" {
				t.Fatalf("Decode = %#v, want a %s refusal at stage %d (final %v)", err, tc.reason, tc.stage, tc.final)
			}
			if re.Authenticated() != (tc.stage > StageAuth) || (tc.stage >= StageAuth) != (re.Packet != nil) {
				t.Errorf("authenticated %v, packet %v at stage %d", re.Authenticated(), re.Packet, tc.stage)
			}
		})
	}
}

func TestReceiverDecodeGivesItemsWithTheirPollutants(t *testing.T) {
	rx := Receiver{Location: shanghai}
	f, ferr := nextFrame(t, exampleHour)
	up, err := rx.Decode(f, ferr, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if up.Data == nil || len(up.Pollutants) != len(up.Data.Items) || up.Raw != exampleHour {
		t.Fatalf("upload %+v", up)
	}
	for i, it := range up.Data.Items {
		if want, _ := LookupPollutant(V2017, it.Code); up.Pollutants[i] != want {
			t.Errorf("item %s: pollutant %+v, want %+v", it.Code, up.Pollutants[i], want)
		}
	}
}

func TestReceiverDecodeHoldsSplitPacketsThenJoinsThem(t *testing.T) {
	rx := Receiver{Location: shanghai}
	f, _ := nextFrame(t, exampleHour)
	p, err := ParsePacket(f.Data)
	if err != nil {
		t.Fatal(err)
	}
	parts, err := Split(p, 200)
	if err != nil || len(parts) < 2 {
		t.Fatalf("split: %d parts, %v", len(parts), err)
	}
	for i, part := range parts {
		f, ferr := nextFrame(t, encodeString(t, part))
		up, err := rx.Decode(f, ferr, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if last := i == len(parts)-1; up.Pending == last || (last && len(up.Data.Items) != 9) {
			t.Fatalf("part %d: pending %v, data %+v", i+1, up.Pending, up.Data)
		}
	}
}

func TestAnswerByCommand(t *testing.T) {
	req := func(cn string, ack bool) Packet {
		return Packet{QN: "20240601100000000", ST: "21", CN: cn, PW: "123456", MN: "M1", Flag: NewFlag(V2017, ack, false)}
	}
	for _, tc := range []struct {
		name   string
		p      Packet
		wantCN string // "" for no answer
	}{
		{"data upload asking", req(CNHour, true), CNDataResponse},
		{"data upload not asking", req(CNHour, false), ""},
		{"heartbeat", req(CNHeartbeat, true), CNDataResponse},
		{"host-only request", req("1012", true), CNRequestResponse},
		{"an answer is not answered", req(CNDataResponse, true), ""},
		{"unknown command", req("7777", true), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, ok := Answer(tc.p)
			if ok != (tc.wantCN != "") || a.CN != tc.wantCN {
				t.Fatalf("Answer = %s, %v; want %q", a.CN, ok, tc.wantCN)
			}
			if ok && (a.QN != tc.p.QN || a.MN != tc.p.MN || a.WantsAck()) {
				t.Fatalf("answer %+v", a)
			}
		})
	}
	if a, _ := Answer(req("1012", true)); a.CP != "QnRtn="+QnRtnRejected {
		t.Errorf("9011 CP %q", a.CP)
	}
}

func TestMaskPasswordHidesEveryPassword(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"frame", exampleResponse, strings.Replace(exampleResponse, "PW=123456", "PW=***", 1)},
		{"data segment starting with PW", "PW=abc;MN=1", "PW=***;MN=1"},
		{"new password in CP", "QN=1;PW=111111;CP=&&NewPW=222222&&", "QN=1;PW=***;CP=&&NewPW=***&&"},
		{"a value that merely contains PW= stays", "QN=1;CP=&&Note=xPW=1&&", "QN=1;CP=&&Note=xPW=1&&"},
		{"PW at the end", "MN=1;PW=99", "MN=1;PW=***"},
		{"no password", "QN=1;MN=2", "QN=1;MN=2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := MaskPassword(tc.in); got != tc.want {
				t.Fatalf("MaskPassword(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestSplitBudgetBoundsReassemblyAcrossReassemblers(t *testing.T) {
	now := time.Date(2024, 6, 1, 2, 0, 0, 0, time.UTC)
	f, _ := nextFrame(t, exampleHour)
	p, err := ParsePacket(f.Data)
	if err != nil {
		t.Fatal(err)
	}
	parts, err := Split(p, 160)
	if err != nil || len(parts) < 3 {
		t.Fatalf("split: %d parts, %v", len(parts), err)
	}
	first := int64(len(parts[0].CP))
	budget := NewSplitBudget(first + 1) // room for one first packet only
	a := Reassembler{Budget: budget}
	b := Reassembler{Budget: budget}
	if _, _, err := a.Add(parts[0], now); err != nil {
		t.Fatal(err)
	}
	if budget.Used() != first {
		t.Fatalf("used %d, want %d", budget.Used(), first)
	}
	other := parts[0]
	other.QN = "20240601100000001"
	if _, _, err := b.Add(other, now); ReasonOf(err) != ReasonSplit || !strings.Contains(err.Error(), "all connections") {
		t.Fatalf("second connection's packet beyond the budget: %v, want a split refusal naming the shared bound", err)
	}
	if b.Pending() != 0 || budget.Used() != first {
		t.Fatalf("refused set kept: pending %d, used %d", b.Pending(), budget.Used())
	}
	if _, _, err := a.Add(parts[1], now); ReasonOf(err) != ReasonSplit {
		t.Fatalf("own second packet beyond the budget: %v", err)
	}
	if budget.Used() != 0 {
		t.Fatalf("dropped set still holds %d bytes of the budget", budget.Used())
	}
	// With room, a whole message passes and gives its bytes back; so do Drain and Reset.
	budget = NewSplitBudget(1 << 20)
	c := Reassembler{Budget: budget}
	for i, part := range parts {
		if _, done, err := c.Add(part, now); err != nil || done != (i == len(parts)-1) {
			t.Fatalf("part %d: done %v, %v", i+1, done, err)
		}
	}
	c.Add(parts[0], now)
	c.Add(other, now)
	c.Drain()
	c.Add(parts[0], now)
	c.Reset()
	if budget.Used() != 0 {
		t.Fatalf("budget holds %d bytes after complete, drained and reset sets", budget.Used())
	}
}
