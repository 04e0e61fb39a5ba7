package hj212

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestClockInfoAndKeyCommandsWriteTheirFields(t *testing.T) {
	now := time.Date(2026, 3, 10, 4, 0, 0, 7e6, time.UTC)
	next := mustKey(t, "8f3ae1c9027b44d5a6e0193c7d2b5f18")
	info, err := QueryInfo(cmdTarget, "w01018", "i12001", now, shanghai)
	if err != nil {
		t.Fatal(err)
	}
	logger, err := QueryInfo(cmdTarget, "", "i11001", now, shanghai)
	if err != nil {
		t.Fatal(err)
	}
	key, err := SetKey(cmdTarget, next, now, shanghai)
	if err != nil {
		t.Fatal(err)
	}
	const head = "QN=20260310120000007;ST=32;CN="
	for _, tc := range []struct {
		name string
		p    Packet
		want string
	}{
		{"1012 sets the clock to the host's local time", SetClock(cmdTarget, now, shanghai),
			head + "1012;PW=654321;MN=65230100000101;Flag=9;CP=&&SystemTime=20260310120000&&"},
		{"1011 reads the clock", GetTime(cmdTarget, now, shanghai), head + "1011;PW=654321;MN=65230100000101;Flag=9;CP=&&&&"},
		{"3020 of an instrument names PolId and InfoId", info, head + "3020;PW=654321;MN=65230100000101;Flag=9;CP=&&PolId=w01018;InfoId=i12001&&"},
		{"3020 of the logger names only InfoId", logger, head + "3020;PW=654321;MN=65230100000101;Flag=9;CP=&&InfoId=i11001&&"},
		{"1014 carries the next key and the time", key,
			head + "1014;PW=654321;MN=65230100000101;Flag=9;CP=&&NewKey=8F3AE1C9027B44D5A6E0193C7D2B5F18;DataTime=20260310120000&&"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(tc.p.AppendSegment(nil)); got != tc.want {
				t.Errorf("segment\n%s\nwant\n%s", got, tc.want)
			}
			if err := tc.p.Validate(); err != nil {
				t.Error(err)
			}
			if !tc.p.WantsAck() {
				t.Error("a host command must ask for 9011/9012")
			}
		})
	}
}

func TestQueryInfoRefusesCodesThatAreNotCodes(t *testing.T) {
	now := time.Date(2026, 3, 10, 4, 0, 0, 0, time.UTC)
	for _, tc := range []struct{ name, pol, info string }{
		{"no InfoId", "w01018", ""},
		{"InfoId without the i", "w01018", "12001"},
		{"InfoId too short", "w01018", "i1200"},
		{"InfoId with letters", "w01018", "i12a01"},
		{"PolId with a separator", "w01;018", "i12001"},
		{"PolId too long", "w010181234", "i12001"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := QueryInfo(cmdTarget, tc.pol, tc.info, now, shanghai); ReasonOf(err) != ReasonBadValue {
				t.Errorf("QueryInfo(%q, %q) = %v, want a bad_value refusal", tc.pol, tc.info, err)
			}
		})
	}
}

func TestParseInfoReadsTheInformationOfA3020Upload(t *testing.T) {
	at := time.Date(2026, 3, 10, 4, 0, 5, 0, time.UTC)
	for _, tc := range []struct {
		name, cp string
		want     Info
		reason   string
	}{
		{"one instrument, several values (groups)", "DataTime=20260310120005;PolId=w01018;i12001-Info=1;i13004-Info=5.2",
			Info{DataTime: at, Items: []InfoItem{{"w01018", "i12001", "1"}, {"w01018", "i13004", "5.2"}}}, ""},
		{"fields of one group", "DataTime=20260310120005;PolId=w21003,i12001-Info=0", Info{DataTime: at, Items: []InfoItem{{"w21003", "i12001", "0"}}}, ""},
		{"the logger's own information, no PolId", "i11001-Info=restart", Info{Items: []InfoItem{{"", "i11001", "restart"}}}, ""},
		{"no value", "DataTime=20260310120005;PolId=w01018", Info{}, ReasonBadCP},
		{"a key of another command", "DataTime=20260310120005;VaseNo=2;i12001-Info=1", Info{}, ReasonBadCP},
		{"a bad DataTime", "DataTime=20261310120005;i12001-Info=1", Info{}, ReasonBadValue},
		{"PolId that is no code", "PolId=w-1;i12001-Info=1", Info{}, ReasonBadValue},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseInfo(tc.cp, shanghai)
			if tc.reason != "" {
				if ReasonOf(err) != tc.reason {
					t.Fatalf("err %v, want %s", err, tc.reason)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !got.DataTime.Equal(tc.want.DataTime) || len(got.Items) != len(tc.want.Items) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			for i := range got.Items {
				if got.Items[i] != tc.want.Items[i] {
					t.Errorf("item %d %+v, want %+v", i, got.Items[i], tc.want.Items[i])
				}
			}
			if back, err := ParseInfo(InfoCP(got, shanghai), shanghai); err != nil || len(back.Items) != len(got.Items) {
				t.Errorf("InfoCP does not read back: %+v %v", back, err)
			}
		})
	}
}

// The 1014 goes out encrypted with the current key: no digit of the new key is on the
// wire in plaintext, the station decrypts it with its current key and reads the new one,
// and a station holding only the new key cannot read it.
func TestSetKeyTravelsEncryptedWithTheCurrentKeyAndNeverInPlaintext(t *testing.T) {
	now := time.Date(2026, 3, 10, 4, 0, 0, 0, time.UTC)
	cur := mustKey(t, "30313233343536373839414243444546")
	next := mustKey(t, "8f3ae1c9027b44d5a6e0193c7d2b5f18")
	p, err := SetKey(cmdTarget, next, now, shanghai)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		dev  Deviation
		keys []SM4Key
		ok   bool
	}{
		{"standard CRC, the station's current key", 0, []SM4Key{cur}, true},
		{"MODBUS-CRC logger, the station's current key", DevModbusCRC, []SM4Key{cur}, true},
		{"a station that only has the new key", 0, []SM4Key{next}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			frame, err := EncodeEncryptedFor(p, cur, tc.dev)
			if err != nil {
				t.Fatal(err)
			}
			hexKey := "8F3AE1C9027B44D5A6E0193C7D2B5F18"
			for i := 0; i+6 <= len(hexKey); i++ {
				if bytes.Contains(frame, []byte(hexKey[i:i+6])) {
					t.Fatalf("the frame shows %q of the new key in plaintext: %s", hexKey[i:i+6], frame)
				}
			}
			dec := NewDecoder(bytes.NewReader(frame), MaxDataLen)
			dec.Profile = func(string) Profile { return Profile{Keys: tc.keys, Allow: DevModbusCRC} }
			f, err := dec.Next()
			if !tc.ok {
				if ReasonOf(err) != ReasonSM4 {
					t.Fatalf("decoded with the wrong key: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParsePacket(f.Data)
			if err != nil {
				t.Fatal(err)
			}
			k, err := ParseSetKey(got.CP)
			if err != nil {
				t.Fatal(err)
			}
			if !k.Equal(next) || k.Equal(cur) {
				t.Error("the station did not read the new key")
			}
			if !f.Key.Equal(cur) {
				t.Error("Frame.Key does not name the key that decrypted it")
			}
		})
	}
	if _, err := EncodeEncryptedFor(p, SM4Key{}, 0); ReasonOf(err) != ReasonSM4 {
		t.Errorf("encrypting without a key: %v", err)
	}
	if _, err := SetKey(cmdTarget, SM4Key{}, now, shanghai); ReasonOf(err) != ReasonSM4 {
		t.Errorf("SetKey without a key: %v", err)
	}
}

func TestMaskPasswordAlsoHidesANewSM4Key(t *testing.T) {
	for _, tc := range []struct{ name, raw, want string }{
		{"a 1014 in plaintext", "QN=1;ST=32;CN=1014;PW=654321;MN=1;Flag=9;CP=&&NewKey=8F3AE1C9027B44D5A6E0193C7D2B5F18;DataTime=20260310120000&&",
			"QN=1;ST=32;CN=1014;PW=***;MN=1;Flag=9;CP=&&NewKey=***;DataTime=20260310120000&&"},
		{"the key first in CP, then the end", "CP=&&NewKey=ABC&&", "CP=&&NewKey=***&&"},
		{"a key that only ends in NewKey is kept", "CP=&&XNewKey=1&&", "CP=&&XNewKey=1&&"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := MaskPassword(tc.raw); got != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

func TestAClientWithAKeyEncryptsWhatTheStandardEncrypts(t *testing.T) {
	cur := mustKey(t, "30313233343536373839414243444546")
	c := NewClient(nil)
	c.SetKeys(cur)
	info := Packet{QN: "20260310120000007", ST: "32", CN: CNGetInfo, PW: "654321", MN: "65230100000101", Flag: NewFlag(V2025, false, false),
		CP: "DataTime=20260310120005;PolId=w01018;i12001-Info=1"}
	ack := Response9011(info, QnRtnReady)
	if err := c.encode([]Packet{info, ack}); err != nil {
		t.Fatal(err)
	}
	frames := strings.SplitAfter(string(c.wbuf), "\r\n")
	if !strings.Contains(frames[0], "CP=&&{0x") || strings.Contains(frames[0], "i12001") {
		t.Errorf("3020 upload not encrypted: %s", frames[0])
	}
	if !strings.Contains(frames[1], "CP=&&QnRtn=1&&") {
		t.Errorf("9011 encrypted: %s", frames[1])
	}
}
