package hj212

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestEditionPerStationWinsOverTheFlag(t *testing.T) {
	// The hour packet with Flag 8 (2025 version bits, no ack) as legacy 2017 loggers sent it
	// before 2025 (anchors.md §2.2), and with Flag 9 (2025, ack).
	flag8 := strings.Replace(dataOf(exampleHour), "Flag=5", "Flag=8", 1)
	flag9 := strings.Replace(dataOf(exampleHour), "Flag=5", "Flag=9", 1)
	noQN := strings.Replace(strings.Replace(dataOf(exampleHour), "Flag=5;", "", 1), "QN=20240601100000000;", "", 1)
	for _, tc := range []struct {
		name      string
		seg       string
		edition   Edition
		want      Version
		disagrees bool
		answer    Flag // the Flag of the 9014; 0 when no answer is asked
		reason    string
	}{
		{"Flag 8 without a configured edition reads as 2025", flag8, EditionDetect, V2025, false, 0, ""},
		{"Flag 8 from a station configured 2017 reads as 2017", flag8, Edition2017, V2017, true, 0, ""},
		{"Flag 9 without a configured edition is a 2025 upload asking for an answer", flag9, EditionDetect, V2025, false, NewFlag(V2025, false, false), ""},
		{"Flag 9 from a station configured 2025 agrees", flag9, Edition2025, V2025, false, NewFlag(V2025, false, false), ""},
		{"Flag 9 from a station configured 2017 is answered in 2017", flag9, Edition2017, V2017, true, NewFlag(V2017, false, false), ""},
		{"Flag 5 from a station configured 2025 is read as 2025", dataOf(exampleHour), Edition2025, V2025, true, NewFlag(V2025, false, false), ""},
		{"no Flag and no QN from a station configured 2017 is refused", noQN, Edition2017, 0, false, 0, ReasonBadField},
		{"no Flag and no QN without a configured edition is 2005", noQN, EditionDetect, V2005, false, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			asked := ""
			rx := Receiver{Location: shanghai, Profile: func(mn string) Profile {
				asked = mn
				return Profile{Edition: tc.edition}
			}}
			f, ferr := nextFrame(t, string(frameOf(t, tc.seg)))
			up, err := rx.Decode(f, ferr, time.Now())
			if asked != "CJTTH0000000000000000001" {
				t.Errorf("Profile asked for MN %q", asked)
			}
			if tc.reason != "" {
				var re *RefusalError
				if !errors.As(err, &re) || re.Reason != tc.reason {
					t.Fatalf("Decode = %v, want a %s refusal", err, tc.reason)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			p := up.Packet
			if p.Version() != tc.want || p.FlagDisagrees() != tc.disagrees {
				t.Errorf("version %v, disagrees %v; want %v, %v", p.Version(), p.FlagDisagrees(), tc.want, tc.disagrees)
			}
			if up.Data == nil || len(up.Data.Items) != 9 {
				t.Fatalf("data %+v, want 9 items", up.Data)
			}
			a, ok := Answer(p)
			if ok != (tc.answer != 0) || ok && a.Flag != tc.answer {
				t.Errorf("answer %v (Flag %d), want Flag %d", ok, a.Flag, tc.answer)
			}
		})
	}
}

func TestParseEditionNamesTheSitesYAMLValues(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Edition
		ok   bool
	}{
		{"", EditionDetect, true}, {"detect", EditionDetect, true}, {"hj212-2005", Edition2005, true},
		{"HJ212-2017", Edition2017, true}, {"hj212-2025", Edition2025, true},
		{"2017", EditionDetect, false}, {"hj212-2020", EditionDetect, false},
	} {
		got, ok := ParseEdition(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("ParseEdition(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
		if ok && tc.in != "" && !strings.EqualFold(got.String(), tc.in) {
			t.Errorf("%v.String() = %q, want %q", got, got.String(), tc.in)
		}
	}
}
