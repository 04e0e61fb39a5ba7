package hj212

import (
	"errors"
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
