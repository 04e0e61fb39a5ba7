package hj212

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// hour2025 is the synthetic hour packet of facts.md §3.11 as an HJ 212-2025 upload.
func hour2025(t *testing.T, rf bool) Packet {
	t.Helper()
	f, err := nextFrame(t, exampleHour)
	if err != nil {
		t.Fatal(err)
	}
	p, err := ParsePacket(f.Data)
	if err != nil {
		t.Fatal(err)
	}
	p.Flag, p.RF = NewFlag(V2025, true, false), rf
	return p
}

func TestBackfillFieldRF(t *testing.T) {
	seg := func(p Packet) string { return string(p.AppendSegment(nil)) }
	live := seg(hour2025(t, false))
	withRF := seg(hour2025(t, true))
	if !strings.Contains(withRF, ";Flag=9;RF=1;CP=&&") {
		t.Fatalf("RF is not written after Flag and before CP: %s", withRF)
	}
	for _, tc := range []struct {
		name   string
		seg    string
		rf     bool
		reason string // "" accepted
	}{
		{"live 2025 packet has no RF", live, false, ""},
		{"RF=1 marks a back-fill", withRF, true, ""},
		{"RF before the other fields is accepted", "RF=1;" + strings.Replace(withRF, "RF=1;", "", 1), true, ""},
		{"RF=0 does not exist", strings.Replace(withRF, "RF=1", "RF=0", 1), false, ReasonBadField},
		{"RF empty", strings.Replace(withRF, "RF=1", "RF=", 1), false, ReasonBadField},
		{"RF repeated", strings.Replace(withRF, "RF=1;", "RF=1;RF=1;", 1), false, ReasonBadField},
		{"RF in an HJ 212-2017 packet", strings.Replace(withRF, "Flag=9", "Flag=5", 1), false, ReasonBadField},
		{"RF in an HJ/T 212-2005 packet", strings.Replace(withRF, "Flag=9", "Flag=1", 1), false, ReasonBadField},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rx := Receiver{Location: shanghai}
			f, ferr := nextFrame(t, string(frameOf(t, tc.seg)))
			up, err := rx.Decode(f, ferr, time.Now())
			if tc.reason != "" {
				var re *RefusalError
				if !errors.As(err, &re) || re.Reason != tc.reason || re.Stage != StagePacket {
					t.Fatalf("Decode = %v, want a %s refusal of the packet", err, tc.reason)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if up.Packet.RF != tc.rf || up.Data == nil || len(up.Data.Items) != 9 {
				t.Fatalf("RF %v, data %+v; want RF %v and 9 items", up.Packet.RF, up.Data, tc.rf)
			}
			if a, ok := Answer(up.Packet); !ok || a.CN != CNDataResponse || a.Flag != NewFlag(V2025, false, false) {
				t.Errorf("answer %+v %v, want a 2025 data response", a, ok)
			}
		})
	}
}

func TestEncodeRefusesRFBefore2025(t *testing.T) {
	p := hour2025(t, true)
	if _, err := Encode(p); err != nil {
		t.Fatalf("2025 back-fill: %v", err)
	}
	p.Flag = NewFlag(V2017, true, false)
	if _, err := Encode(p); ReasonOf(err) != ReasonBadField {
		t.Fatalf("2017 packet with RF encoded: %v", err)
	}
}

func TestSplitBackfillKeepsRFOnEveryPacketAndTheJoinedOne(t *testing.T) {
	parts, err := Split(hour2025(t, true), 200)
	if err != nil || len(parts) < 2 {
		t.Fatalf("split: %d parts, %v", len(parts), err)
	}
	rx := Receiver{Location: shanghai}
	for i, part := range parts {
		if !part.RF {
			t.Fatalf("part %d lost RF", i+1)
		}
		f, ferr := nextFrame(t, encodeString(t, part))
		up, err := rx.Decode(f, ferr, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if i == len(parts)-1 && (!up.Packet.RF || up.Pending) {
			t.Fatalf("joined packet: RF %v pending %v", up.Packet.RF, up.Pending)
		}
	}
	// A set whose packets disagree on RF is refused.
	var r Reassembler
	if _, _, err := r.Add(parts[0], time.Now()); err != nil {
		t.Fatal(err)
	}
	second := parts[1]
	second.RF = false
	if _, _, err := r.Add(second, time.Now()); ReasonOf(err) != ReasonSplit {
		t.Fatalf("mixed RF in one split message: %v", err)
	}
}

// long2025 is an HJ 212-2025 hour upload of n items (valid codes, most without a canonical
// parameter), asking for an answer.
func long2025(t *testing.T, n int) Packet {
	t.Helper()
	var b strings.Builder
	b.WriteString("DataTime=20240601090000")
	for i := range n {
		fmt.Fprintf(&b, ";w9%04d-Avg=%d.5,w9%04d-Flag=N", i, i, i)
	}
	return Packet{QN: "20240601100000000", ST: STSurfaceWater, CN: CNHour, PW: "123456", MN: "CJTTH0000000000000000001",
		Flag: NewFlag(V2025, true, false), CP: b.String()}
}

func TestSplitCutsHJ2025PacketsAt1024Characters(t *testing.T) {
	p := long2025(t, 80)
	if n := len(p.AppendSegment(nil)); n <= 2*MaxSegment2025 {
		t.Fatalf("segment of %d characters; the test needs more than two packets' worth", n)
	}
	parts, err := Split(p, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) < 3 {
		t.Fatalf("%d parts, want at least 3", len(parts))
	}
	rx := Receiver{Location: shanghai}
	for i, part := range parts {
		frame := encodeString(t, part)
		if n := len(frame) - 12; n > MaxSegment2025 {
			t.Errorf("part %d: data segment of %d characters", i+1, n)
		}
		if part.Flag != 11 || part.PNUM != len(parts) || part.PNO != i+1 {
			t.Errorf("part %d: Flag %d PNUM %d PNO %d, want Flag 11 (2025, split, ack)", i+1, part.Flag, part.PNUM, part.PNO)
		}
		f, ferr := nextFrame(t, frame)
		up, err := rx.Decode(f, ferr, time.Now())
		if err != nil {
			t.Fatalf("part %d: %v", i+1, err)
		}
		if last := i == len(parts)-1; up.Pending == last {
			t.Fatalf("part %d: pending %v", i+1, up.Pending)
		}
		if i == len(parts)-1 && (up.Data == nil || len(up.Data.Items) != 80 || up.Packet.CP != p.CP) {
			t.Fatalf("joined message: %d items, CP equal %v", len(up.Data.Items), up.Packet.CP == p.CP)
		}
	}
	// A 2017 packet of the same size fits in one packet (up to 9,999).
	p.Flag = NewFlag(V2017, true, false)
	if parts, err := Split(p, 0); err != nil || len(parts) != 1 {
		t.Errorf("2017 packet: %d parts, %v; want 1", len(parts), err)
	}
}

func TestUnsplitHJ2025PacketOver1024IsADeviation(t *testing.T) {
	p := long2025(t, 40)
	frame := encodeString(t, p)
	if len(frame)-12 <= MaxSegment2025 {
		t.Fatal("packet fits; the test is void")
	}
	for _, tc := range []struct {
		name    string
		edition Edition
		flag    Flag
		allow   Deviation
		ok      bool
	}{
		{"2025 packet from a strict station is refused", EditionDetect, 9, 0, false},
		{"2025 packet from a station allowed long_segment", EditionDetect, 9, DevLongSegment, true},
		{"2017 packet of the same length is standard", EditionDetect, 5, 0, true},
		{"Flag 9 from a station configured 2017 is standard", Edition2017, 9, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := p
			q.Flag = tc.flag
			rx := Receiver{Location: shanghai, Profile: func(string) Profile { return Profile{Edition: tc.edition, Allow: tc.allow} }}
			f, ferr := nextFrame(t, encodeString(t, q))
			up, err := rx.Decode(f, ferr, time.Now())
			if !tc.ok {
				var re *RefusalError
				if !errors.As(err, &re) || re.Reason != ReasonSplit || !strings.Contains(re.Detail, "long_segment") {
					t.Fatalf("Decode = %v, want a split refusal naming long_segment", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if want := tc.allow & DevLongSegment; up.Deviations != want {
				t.Errorf("deviations %v, want %v", up.Deviations, want)
			}
		})
	}
}

func TestHJ2025CodesAreNamedAndClassified(t *testing.T) {
	for _, tc := range []struct {
		cn   string
		v    Version
		dir  Direction
		want string
	}{
		{"2052", V2025, DirUpload, "CN 2052 (噪声单值 (noise single value), new in HJ 212-2025)"},
		{"1001", V2017, DirUpload, "CN 1001 (上传数采仪硬件序列号 (hardware serial for MN assignment), new in HJ 212-2025, in a packet read as HJ 212-2017)"},
		{"1002", V2025, DirRequest, "CN 1002 (设置数采仪入网编码 (set the MN), new in HJ 212-2025)"},
		{"2061", V2025, DirUpload, "CN 2061"},
		{"4444", V2025, DirUnknown, "CN 4444"},
	} {
		if got := DescribeCN(tc.cn, tc.v); got != tc.want {
			t.Errorf("DescribeCN(%s) = %q, want %q", tc.cn, got, tc.want)
		}
		if got := CommandDirection(tc.cn); got != tc.dir {
			t.Errorf("CommandDirection(%s) = %v, want %v", tc.cn, got, tc.dir)
		}
	}
	for st, want := range map[string]string{"44": "ST 44 (用电监控 (HJ 212-2025))", "45": "ST 45 (关键生产工况 (HJ 212-2025))", "99": "ST 99 (not a system code of HJ 212)"} {
		if got := DescribeST(st); got != want {
			t.Errorf("DescribeST(%s) = %q, want %q", st, got, want)
		}
		if WaterST(st) {
			t.Errorf("ST %s is water", st)
		}
	}
}
