package hj212

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm4"
)

func mustKey(t *testing.T, hexKey string) SM4Key {
	t.Helper()
	k, err := ParseSM4Key(hexKey)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSM4KeyMatchesTheGBT32907Vectors(t *testing.T) {
	const vec = "0123456789abcdeffedcba9876543210"
	k := mustKey(t, vec)
	pt, _ := hex.DecodeString(vec)
	ct := make([]byte, 16)
	k.b.Encrypt(ct, pt)
	if got := hex.EncodeToString(ct); got != "681edf34d206965e86b3e94f536e4246" {
		t.Fatalf("SM4(0123…3210) = %s, want 681edf34d206965e86b3e94f536e4246 (GB/T 32907 A.1)", got)
	}
	back := make([]byte, 16)
	k.b.Decrypt(back, ct)
	if !bytes.Equal(back, pt) {
		t.Fatalf("decrypt = %x, want %x", back, pt)
	}
	// GB/T 32907 A.2: the same plaintext encrypted 1,000,000 times.
	buf := bytes.Clone(pt)
	for range 1000000 {
		k.b.Encrypt(buf, buf)
	}
	if got := hex.EncodeToString(buf); got != "595298c7c6fd271f0402f804c33d3f66" {
		t.Fatalf("SM4^1000000 = %s, want 595298c7c6fd271f0402f804c33d3f66 (GB/T 32907 A.2)", got)
	}
}

// encryptForTest encrypts a CP region as HJ 212-2025 App. A.2 describes, with the SM4
// library directly (not the code under test): whole 16-character groups in ECB, written
// {0xNN,…}, the shorter tail in plaintext.
func encryptForTest(t *testing.T, key []byte, cp string) string {
	t.Helper()
	b, err := sm4.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	full := len(cp) / 16 * 16
	var items []string
	blk := make([]byte, 16)
	for i := 0; i < full; i += 16 {
		b.Encrypt(blk, []byte(cp[i:i+16]))
		for _, c := range blk {
			items = append(items, fmt.Sprintf("0x%02X", c))
		}
	}
	return "{" + strings.Join(items, ",") + "}" + cp[full:]
}

// encryptedFrame frames a data segment whose CP is encrypted with key: the CRC over the
// plaintext segment, the length of the segment sent.
func encryptedFrame(t *testing.T, key []byte, plainSeg string) string {
	t.Helper()
	i := strings.Index(plainSeg, "CP=&&") + 5
	cp := plainSeg[i : len(plainSeg)-2]
	sent := plainSeg[:i] + encryptForTest(t, key, cp) + "&&"
	return fmt.Sprintf("##%04d%s%04X\r\n", len(sent), sent, CRC16([]byte(plainSeg)))
}

var (
	appendixKey = bytes.Repeat([]byte{0x30}, 16) // HJ 212-2025 App. A.2: "密钥使用16个0x30"
	otherKey, _ = hex.DecodeString("8f3ae1c9027b44d5a6e0193c7d2b5f18")
)

// short2025 is the hour packet of facts.md §3.11 as a 2025 upload with its first three
// items: encrypted, it stays under 1,024 characters.
func short2025(t *testing.T) string {
	t.Helper()
	seg := strings.Replace(dataOf(exampleHour), "Flag=5", "Flag=9", 1)
	i := strings.Index(seg, ";w01014")
	return seg[:i] + "&&"
}

func TestEncryptedCPIsDecryptedBeforeTheCRCIsChecked(t *testing.T) {
	plain := short2025(t)
	frame := encryptedFrame(t, appendixKey, plain)
	if strings.Contains(frame, "w01018") || !strings.Contains(frame, "CP=&&{0x") {
		t.Fatalf("the test frame is not encrypted: %s", frame)
	}
	cases := []struct {
		name string
		keys [][]byte
	}{
		{"the App. A.2 key", [][]byte{appendixKey}},
		{"the old key still listed after a rotation", [][]byte{otherKey, appendixKey}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var keys []SM4Key
			for _, k := range tc.keys {
				key, err := NewSM4Key(k)
				if err != nil {
					t.Fatal(err)
				}
				keys = append(keys, key)
			}
			prof := func(string) Profile { return Profile{Keys: keys} }
			d := NewDecoder(strings.NewReader(frame), 0)
			d.Profile = prof
			f, err := d.Next()
			if err != nil {
				t.Fatal(err)
			}
			if !f.Encrypted || string(f.Data) != plain || string(f.Raw) != frame {
				t.Fatalf("encrypted %v, data %q", f.Encrypted, f.Data)
			}
			rx := Receiver{Location: shanghai, Profile: prof}
			up, err := rx.Decode(f, nil, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if !up.Encrypted || up.Data == nil || len(up.Data.Items) != 3 || up.Raw != frame {
				t.Fatalf("upload: encrypted %v, data %+v", up.Encrypted, up.Data)
			}
		})
	}
}

func TestEncryptedSplitMessageIsDecryptedPacketByPacketAndJoined(t *testing.T) {
	f, err := nextFrame(t, exampleHour)
	if err != nil {
		t.Fatal(err)
	}
	p, err := ParsePacket(f.Data)
	if err != nil {
		t.Fatal(err)
	}
	p.Flag = NewFlag(V2025, true, false)
	parts, err := Split(p, 200) // plaintext of 200: about 900 characters encrypted
	if err != nil || len(parts) < 2 {
		t.Fatalf("split: %d parts, %v", len(parts), err)
	}
	k, _ := NewSM4Key(otherKey)
	prof := func(string) Profile { return Profile{Keys: []SM4Key{k}} }
	rx := Receiver{Location: shanghai, Profile: prof}
	for i, part := range parts {
		frame := encryptedFrame(t, otherKey, string(part.AppendSegment(nil)))
		if len(frame)-12 > MaxSegment2025 {
			t.Fatalf("part %d: %d characters encrypted", i+1, len(frame)-12)
		}
		d := NewDecoder(strings.NewReader(frame), 0)
		d.Profile = prof
		fr, ferr := d.Next()
		up, err := rx.Decode(fr, ferr, time.Now())
		if err != nil {
			t.Fatalf("part %d: %v", i+1, err)
		}
		if i == len(parts)-1 && (up.Pending || up.Data == nil || len(up.Data.Items) != 9 || up.Packet.CP != p.CP) {
			t.Fatalf("joined: pending %v, CP %q", up.Pending, up.Packet.CP)
		}
	}
}

func TestEncodeEncryptedWritesWhatTheStandardDescribes(t *testing.T) {
	f, err := nextFrame(t, exampleHour)
	if err != nil {
		t.Fatal(err)
	}
	p, err := ParsePacket(f.Data)
	if err != nil {
		t.Fatal(err)
	}
	p.Flag = NewFlag(V2025, true, false)
	k, _ := NewSM4Key(appendixKey)
	got, err := EncodeEncrypted(p, k)
	if err != nil {
		t.Fatal(err)
	}
	if want := encryptedFrame(t, appendixKey, string(p.AppendSegment(nil))); string(got) != want {
		t.Fatalf("EncodeEncrypted =\n%s\nwant\n%s", got, want)
	}
	for _, tc := range []struct{ cp, want string }{
		{"", "{}"},
		{"QnRtn=1", "{}QnRtn=1"},
	} {
		if got := k.EncryptCP(tc.cp); got != tc.want {
			t.Errorf("EncryptCP(%q) = %q, want %q (shorter than a group: plaintext)", tc.cp, got, tc.want)
		}
	}
}

func TestMalformedOrUndecryptableCiphertextIsRefused(t *testing.T) {
	plain := short2025(t)
	good := encryptedFrame(t, appendixKey, plain)
	head, rest, _ := strings.Cut(good, "CP=&&")
	region := rest[:len(rest)-8] // without "&&", the CRC and CR LF
	crc := rest[len(rest)-6 : len(rest)-2]
	reframe := func(region string) string {
		seg := head[6:] + "CP=&&" + region + "&&"
		return fmt.Sprintf("##%04d%s%s\r\n", len(seg), seg, crc)
	}
	inner, tail, _ := strings.Cut(region[1:], "}")
	items := strings.Split(inner, ",")
	for _, tc := range []struct {
		name   string
		frame  string
		keys   [][]byte
		detail string
	}{
		{"station without a key", good, nil, "has no key"},
		{"wrong key", good, [][]byte{otherKey}, "no SM4 key"},
		{"no closing brace", reframe("{" + inner + tail), [][]byte{appendixKey}, "no closing '}'"},
		{"an item that is not 0xNN", reframe("{0xZZ," + strings.Join(items[1:], ",") + "}" + tail), [][]byte{appendixKey}, "not 0xNN"},
		{"items not separated by commas", reframe("{" + strings.Join(items, ";") + "}" + tail), [][]byte{appendixKey}, "not separated"},
		{"bytes not a whole number of groups", reframe("{" + strings.Join(items[1:], ",") + "}" + tail), [][]byte{appendixKey}, "not whole 16-byte"},
		{"a plaintext tail of a whole group", reframe("{" + inner + "}" + tail + "w01010-Avg=12.3,"), [][]byte{appendixKey}, "plaintext tail"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var keys []SM4Key
			for _, k := range tc.keys {
				key, _ := NewSM4Key(k)
				keys = append(keys, key)
			}
			d := NewDecoder(strings.NewReader(tc.frame), 0)
			d.Profile = func(string) Profile { return Profile{Keys: keys} }
			_, err := d.Next()
			var fe *FrameError
			if !errors.As(err, &fe) || fe.Err.Reason != ReasonSM4 || !strings.Contains(fe.Err.Detail, tc.detail) {
				t.Fatalf("Next = %v, want an sm4 refusal saying %q", err, tc.detail)
			}
		})
	}
}

func TestAStationWithAKeyMustEncryptWhatTheStandardEncrypts(t *testing.T) {
	k, _ := NewSM4Key(appendixKey)
	prof := func(string) Profile { return Profile{Keys: []SM4Key{k}} }
	for _, tc := range []struct {
		name string
		seg  string
		ok   bool
	}{
		{"plaintext hour data", strings.Replace(dataOf(exampleHour), "Flag=5", "Flag=9", 1), false},
		{"plaintext heartbeat (not encrypted by the standard)", "QN=20240601100000000;ST=21;CN=9015;PW=123456;MN=CJTTH0000000000000000001;Flag=9;CP=&&&&", true},
		{"a data CP shorter than one group stays plaintext", "QN=20240601100000000;ST=21;CN=2021;PW=123456;MN=CJTTH0000000000000000001;Flag=9;CP=&&i12001=1&&", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := NewDecoder(strings.NewReader(string(frameOf(t, tc.seg))), 0)
			d.Profile = prof
			f, ferr := d.Next()
			rx := Receiver{Location: shanghai, Profile: prof}
			_, err := rx.Decode(f, ferr, time.Now())
			if tc.ok {
				if err != nil && ReasonOf(err) == ReasonSM4 {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var re *RefusalError
			if !errors.As(err, &re) || re.Reason != ReasonSM4 || !strings.Contains(re.Detail, "plaintext") {
				t.Fatalf("Decode = %v, want an sm4 refusal of the plaintext", err)
			}
		})
	}
}

func TestSM4KeyNeverShowsItself(t *testing.T) {
	const secret = "8f3ae1c9027b44d5a6e0193c7d2b5f18"
	k := mustKey(t, secret)
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("profile", "key", k, "profile", Profile{Keys: []SM4Key{k}})
	for _, s := range []string{fmt.Sprintf("%v %+v %#v %s", k, k, k, k), fmt.Sprintf("%+v %#v", Profile{Keys: []SM4Key{k}}, Profile{Keys: []SM4Key{k}}), logged.String()} {
		if strings.Contains(s, secret[:8]) || strings.Contains(s, "enc") || !strings.Contains(s, "***") {
			t.Errorf("key shown: %s", s)
		}
	}
	for _, bad := range []string{"", "8f3a", strings.Repeat("z", 32), secret + "00"} {
		_, err := ParseSM4Key(bad)
		if err == nil || len(bad) > 4 && strings.Contains(err.Error(), bad[:4]) {
			t.Errorf("ParseSM4Key(%q) = %v", bad, err)
		}
	}
}
