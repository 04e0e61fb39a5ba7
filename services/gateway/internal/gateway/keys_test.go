package gateway

import (
	"strings"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/hj212"
	"github.com/riverwatch/riverwatch/pkg/message"
)

// rotSite is a station with an SM4 key and the key it is to rotate to.
const rotSite = `
  - id: STH-K
    name: 换钥断面
    kind: section
    river: santun
    km: 48
    jurisdiction: changji
    target_class: III
    station: {mn: "65230100000006", password: "123456", sm4_keys: ["8f3ae1c9027b44d5a6e0193c7d2b5f18"], sm4_next_key: "5a1c7e93b2d04f68a9e3c1b7d5f20846"}
`

const rotMN = "65230100000006"

func mustSM4(t *testing.T, h string) hj212.SM4Key {
	t.Helper()
	k, err := hj212.ParseSM4Key(h)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func build(t *testing.T, h *harness, c message.StationCommand) CommandBuilder {
	t.Helper()
	b, err := commandBuilder(c, h.gw)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A rotate_key goes to the logger encrypted with its current key and carries the next key
// of sites.yaml; the gateway keeps encrypting with the current key until the logger's
// 9012 ExeRtn=1, then encrypts with the next one and decrypts the old one only for the
// grace period.
func TestARotateKeyIsSentEncryptedAndTheGatewaySwitchesAtThe9012(t *testing.T) {
	h := newHarnessSites(t, testSites+rotSite, nil)
	cur, next := mustSM4(t, "8f3ae1c9027b44d5a6e0193c7d2b5f18"), mustSM4(t, "5a1c7e93b2d04f68a9e3c1b7d5f20846")
	c := connect(t, h, rotMN, "123456")
	c.SetKeys(cur)
	ch, done := doneCh()
	if err := h.gw.SendCommand(rotMN, build(t, h, message.StationCommand{Command: message.StationRotateKey, MN: rotMN}), time.Hour, done); err != nil {
		t.Fatal(err)
	}
	cmd := receive(t, c, 5*time.Second) // decrypted with the current key
	if cmd.CN != hj212.CNSetKey {
		t.Fatalf("got CN %s, want 1014", cmd.CN)
	}
	got, err := hj212.ParseSetKey(cmd.CP)
	if err != nil || !got.Equal(next) {
		t.Fatalf("the 1014 does not carry sites.yaml's next key: %v", err)
	}
	if k, _ := h.gw.keysOf(rotMN, testNow); !k.Equal(cur) {
		t.Fatal("switched before the logger executed the 1014")
	}
	ctx := ctxT(t, 5*time.Second)
	if err := c.Send(ctx, answerTo(cmd, hj212.CNRequestResponse, "QnRtn=1", false), answerTo(cmd, hj212.CNExecutionResult, "ExeRtn=1", false)); err != nil {
		t.Fatal(err)
	}
	end := waitDone(t, ch)
	if end.State != hj212.CommandDone {
		t.Fatalf("1014 ended %s: %s", end.State, end.Detail)
	}
	if r := reportOf(end, shanghai); r != nil {
		t.Errorf("a key rotation's record has a report %+v", r)
	}
	for _, tc := range []struct {
		name    string
		at      time.Time
		decrypt []hj212.SM4Key
	}{
		{"within the grace period: the new key, then the old", testNow.Add(time.Hour), []hj212.SM4Key{next, cur}},
		{"after the grace period: the new key only", testNow.Add(25 * time.Hour), []hj212.SM4Key{next}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			enc, dec := h.gw.keysOf(rotMN, tc.at)
			if !enc.Equal(next) || len(dec) != len(tc.decrypt) {
				t.Fatalf("encrypt with next %v, decrypt with %d keys, want %d", enc.Equal(next), len(dec), len(tc.decrypt))
			}
			for i := range dec {
				if !dec[i].Equal(tc.decrypt[i]) {
					t.Errorf("decrypt key %d is not the expected one", i)
				}
			}
		})
	}
	if v := metricValue(h.gw.m.keyRotations.WithLabelValues("STH-K", "executed")); v != 1 {
		t.Errorf("rotations metric %v, want 1", v)
	}
	// The next 3020 goes encrypted with the new key: a logger holding only it reads it.
	c.SetKeys(next)
	if err := h.gw.SendCommand(rotMN, build(t, h, message.StationCommand{Command: message.StationQueryInfo, MN: rotMN, InfoID: "i11001"}), time.Hour, nil); err != nil {
		t.Fatal(err)
	}
	if q := receive(t, c, 5*time.Second); q.CN != hj212.CNGetInfo || q.CP != "InfoId=i11001" {
		t.Fatalf("after the rotation got %s %q", q.CN, q.CP)
	}
	// A second rotation to the same key is refused: sites.yaml must name a new one first.
	ch2, done2 := doneCh()
	if err := h.gw.SendCommand(rotMN, build(t, h, message.StationCommand{Command: message.StationRotateKey, MN: rotMN}), time.Hour, done2); err != nil {
		t.Fatal(err)
	}
	if again := waitDone(t, ch2); again.State != hj212.CommandFailed || !strings.Contains(again.Detail, "already") {
		t.Errorf("second rotation ended %s: %s", again.State, again.Detail)
	}
}

// A logger that switched without the gateway seeing its 9012 (lost, or the gateway
// restarted) is recognised by its first frame encrypted with the next key.
func TestAFrameEncryptedWithTheNextKeyTellsTheGatewayTheStationSwitched(t *testing.T) {
	h := newHarnessSites(t, testSites+rotSite, nil)
	next := mustSM4(t, "5a1c7e93b2d04f68a9e3c1b7d5f20846")
	c := h.dial(t)
	p := hourPacket(t, "20240601100000081", dataTime, hj212.Period("w21003", 1, 1, 1, "N"))
	p.MN, p.Flag = rotMN, hj212.NewFlag(hj212.V2025, true, false)
	frame, err := hj212.EncodeEncrypted(p, next)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SendRaw(ctxT(t, 5*time.Second), frame); err != nil {
		t.Fatal(err)
	}
	if a := receive(t, c, 5*time.Second); a.CN != hj212.CNDataResponse {
		t.Fatalf("answer %+v", a)
	}
	if k, _ := h.gw.keysOf(rotMN, testNow); !k.Equal(next) {
		t.Error("the gateway still encrypts with the old key")
	}
	if v := metricValue(h.gw.m.keyRotations.WithLabelValues("STH-K", "seen")); v != 1 {
		t.Errorf("rotations seen %v, want 1", v)
	}
}

func TestRotateKeyIsRefusedWithoutANextKeyInSitesYAML(t *testing.T) {
	h := newHarnessSites(t, testSites+sm4Site, nil)
	for _, mn := range []string{"65230100000005", sectionMN} {
		if _, err := commandBuilder(message.StationCommand{Command: message.StationRotateKey, MN: mn}, h.gw); err == nil || !strings.Contains(err.Error(), "sm4_next_key") {
			t.Errorf("MN %s: %v, want a refusal naming sm4_next_key", mn, err)
		}
	}
}

// sync_clock sets the logger's clock to the gateway's time (1012, local time); read_clock
// asks it (1011); query_info asks 3020 with PolId and InfoId.
func TestClockAndInfoCommandsCarryTheirFields(t *testing.T) {
	h := newHarness(t, nil)
	c := connect(t, h, sectionMN, "123456")
	for _, tc := range []struct {
		name   string
		cmd    message.StationCommand
		cn, cp string
	}{
		{"sync_clock sets the time", message.StationCommand{Command: message.StationSyncClock, MN: sectionMN}, hj212.CNSetTime, "SystemTime=20240601100000"},
		{"read_clock reads it", message.StationCommand{Command: message.StationReadClock, MN: sectionMN}, hj212.CNGetTime, ""},
		{"query_info asks an instrument", message.StationCommand{Command: message.StationQueryInfo, MN: sectionMN, PolID: "w01018", InfoID: "i12001"},
			hj212.CNGetInfo, "PolId=w01018;InfoId=i12001"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ch, done := doneCh()
			if err := h.gw.SendCommand(sectionMN, build(t, h, tc.cmd), time.Hour, done); err != nil {
				t.Fatal(err)
			}
			got := receive(t, c, 5*time.Second)
			if got.CN != tc.cn || got.CP != tc.cp || !got.WantsAck() {
				t.Fatalf("got %s %q, want %s %q asking for answers", got.CN, got.CP, tc.cn, tc.cp)
			}
			// Answered, so that the next command (same fixed clock, same QN) may go.
			if err := c.Send(ctxT(t, 5*time.Second), answerTo(got, hj212.CNRequestResponse, "QnRtn=1", false), answerTo(got, hj212.CNExecutionResult, "ExeRtn=1", false)); err != nil {
				t.Fatal(err)
			}
			if end := waitDone(t, ch); end.State != hj212.CommandDone {
				t.Fatalf("ended %s", end.State)
			}
		})
	}
	if _, err := commandBuilder(message.StationCommand{Command: message.StationQueryInfo, MN: sectionMN, InfoID: "x"}, h.gw); err == nil {
		t.Error("a query_info with a bad InfoId was built")
	}
}

func TestReportOfReadsWhatTheStationSentUnderTheCommandsQN(t *testing.T) {
	at := time.Date(2026, 3, 10, 4, 0, 0, 0, time.UTC)
	tgt := hj212.Target{ST: "21", MN: sectionMN, PW: "123456", Version: hj212.V2025}
	reply := func(cmd hj212.Packet, cp string) hj212.Packet { return answerTo(cmd, cmd.CN, cp, true) }
	readClock := hj212.GetTime(tgt, at, shanghai)
	retainCmd := hj212.RetainSample(tgt, at, shanghai)
	info, _ := hj212.QueryInfo(tgt, "w01018", "i12001", at, shanghai)
	key, _ := hj212.SetKey(tgt, mustSM4(t, "5a1c7e93b2d04f68a9e3c1b7d5f20846"), at, shanghai)
	for _, tc := range []struct {
		name  string
		cmd   hj212.Packet
		cp    string
		check func(*message.StationReport) bool
	}{
		{"the logger's clock 90 s behind", readClock, "SystemTime=20260310115830", func(r *message.StationReport) bool {
			return r != nil && r.SystemTime != nil && r.ClockOffsetS != nil && *r.ClockOffsetS == -90
		}},
		{"a retained sample's bottle", retainCmd, "DataTime=20260310120005;VaseNo=2", func(r *message.StationReport) bool {
			return r != nil && r.VaseNo == "2" && r.DataTime != nil && r.DataTime.Equal(at.Add(5*time.Second))
		}},
		{"field-machine information", info, "DataTime=20260310120005;PolId=w01018;i12001-Info=1;i13004-Info=5.2", func(r *message.StationReport) bool {
			return r != nil && len(r.Info) == 2 && r.Info[1] == message.StationInfo{PolID: "w01018", InfoID: "i13004", Value: "5.2"}
		}},
		{"an unreadable answer says so", info, "PolId=w01018", func(r *message.StationReport) bool {
			return r != nil && strings.Contains(r.Unread, "3020") && r.Info == nil
		}},
		{"nothing of a key rotation", key, "NewKey=5A1C7E93B2D04F68A9E3C1B7D5F20846", func(r *message.StationReport) bool { return r == nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := hj212.Command{Packet: tc.cmd, State: hj212.CommandDone, Replies: []hj212.Packet{reply(tc.cmd, tc.cp)}, RepliedAt: []time.Time{at}}
			if r := reportOf(c, shanghai); !tc.check(r) {
				t.Errorf("report %+v", r)
			}
		})
	}
}
