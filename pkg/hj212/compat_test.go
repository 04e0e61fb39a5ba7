package hj212

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// frameWithCRC frames a data segment with a CRC computed by the caller, in hex of the
// given format (%04X or %04x).
func frameWithCRC(data string, crc uint16, format string) string {
	return fmt.Sprintf("##%04d%s"+format+"\r\n", len(data), data, crc)
}

func TestCRC16ModbusIsTheCatalogueAlgorithm(t *testing.T) {
	// The CRC catalogue's check value of CRC-16/MODBUS over "123456789".
	if got := CRC16Modbus([]byte("123456789")); got != 0x4B37 {
		t.Errorf("CRC16Modbus(123456789) = %04X, want 4B37", got)
	}
	data := []byte(dataOf(exampleStandard))
	if got, want := CRC16Modbus(data), modbus(data); got != want {
		t.Errorf("CRC16Modbus = %04X, the bitwise MODBUS of the test %04X", got, want)
	}
}

func TestDecoderAcceptsFramingDeviationsOnlyFromStationsAllowedThem(t *testing.T) {
	data := dataOf(exampleHour) // MN CJTTH0000000000000000001
	const mn = "CJTTH0000000000000000001"
	modbusFrame := frameWithCRC(data, modbus([]byte(data)), "%04X") // computed by the test's own MODBUS
	lowerFrame := frameWithCRC(data, 0xD801, "%04x")                // the standard CRC (facts.md), lower-case
	modbusLower := frameWithCRC(data, modbus([]byte(data)), "%04x")
	if strings.HasSuffix(modbusFrame, "D801\r\n") {
		t.Fatal("MODBUS and HJ 212 CRCs agree on the frame; the test is void")
	}
	for _, tc := range []struct {
		name   string
		frame  string
		allow  map[string]Deviation
		want   Deviation
		detail string // "" accepted
	}{
		{"standard frame from a strict station", exampleHour, nil, 0, ""},
		{"MODBUS CRC from a strict station is refused", modbusFrame, nil, 0, "CRC-16/MODBUS"},
		{"MODBUS CRC from a station allowed it", modbusFrame, map[string]Deviation{mn: DevModbusCRC}, DevModbusCRC, ""},
		{"MODBUS CRC allowed for another MN only", modbusFrame, map[string]Deviation{"OTHER": DevModbusCRC}, 0, "station.compat: modbus_crc"},
		{"lower-case CRC from a strict station is refused", lowerFrame, nil, 0, "lower-case"},
		{"lower-case CRC from a station allowed it", lowerFrame, map[string]Deviation{mn: DevLowerHex}, DevLowerHex, ""},
		{"lower-case MODBUS CRC needs both", modbusLower, map[string]Deviation{mn: DevModbusCRC}, 0, "station.compat: lowercase_hex"},
		{"lower-case MODBUS CRC allowed both", modbusLower, map[string]Deviation{mn: DevModbusCRC | DevLowerHex}, DevModbusCRC | DevLowerHex, ""},
		{"a CRC that is neither is refused even when MODBUS is allowed", frameWithCRC(data, 0x1234, "%04X"), map[string]Deviation{mn: DevModbusCRC}, 0, "does not match"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := NewDecoder(strings.NewReader(tc.frame), 0)
			if tc.allow != nil {
				d.Profile = func(mn string) Profile { return Profile{Allow: tc.allow[mn]} }
			}
			f, err := d.Next()
			if tc.detail != "" {
				var fe *FrameError
				if !errors.As(err, &fe) || fe.Err.Reason != ReasonCRC || !strings.Contains(fe.Err.Detail, tc.detail) {
					t.Fatalf("Next = %v, want a crc refusal saying %q", err, tc.detail)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(f.Data) != data || f.Deviations != tc.want {
				t.Errorf("frame deviations %v, want %v", f.Deviations, tc.want)
			}
		})
	}
}

func TestReceiverAcceptsAMissingClosingAmpersandsOnlyWhenAllowed(t *testing.T) {
	seg := strings.TrimSuffix(dataOf(exampleHour), "&&")
	for _, tc := range []struct {
		name  string
		allow Deviation
		ok    bool
	}{
		{"strict station", 0, false},
		{"other deviations allowed", DevModbusCRC | DevLowerHex, false},
		{"no_cp_end allowed", DevNoCPEnd, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rx := Receiver{Location: shanghai, Profile: func(string) Profile { return Profile{Allow: tc.allow} }}
			f, ferr := nextFrame(t, string(frameOf(t, seg)))
			up, err := rx.Decode(f, ferr, time.Now())
			if !tc.ok {
				var re *RefusalError
				if !errors.As(err, &re) || re.Reason != ReasonBadField || !strings.Contains(re.Detail, "no_cp_end") {
					t.Fatalf("Decode = %v, want a bad_field refusal naming no_cp_end", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if up.Deviations != DevNoCPEnd || up.Data == nil || len(up.Data.Items) != 9 {
				t.Errorf("deviations %v, data %+v; want no_cp_end and 9 items", up.Deviations, up.Data)
			}
		})
	}
	// Even when allowed, a complete CP is read as the standard has it.
	rx := Receiver{Location: shanghai, Profile: func(string) Profile { return Profile{Allow: DevNoCPEnd} }}
	f, ferr := nextFrame(t, exampleHour)
	if up, err := rx.Decode(f, ferr, time.Now()); err != nil || up.Deviations != 0 {
		t.Errorf("standard frame from a no_cp_end station: %v, deviations %v", err, up.Deviations)
	}
}

func TestEncodeForAnswersAModbusLoggerWithAModbusCRC(t *testing.T) {
	f, err := nextFrame(t, exampleHour)
	if err != nil {
		t.Fatal(err)
	}
	p, err := ParsePacket(f.Data)
	if err != nil {
		t.Fatal(err)
	}
	a := Response9014(p)
	for _, tc := range []struct {
		dev Deviation
		crc func([]byte) uint16
	}{
		{0, CRC16}, {DevLowerHex | DevNoCPEnd, CRC16}, {DevModbusCRC, modbus},
	} {
		b, err := EncodeFor(a, tc.dev)
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		data := s[6 : len(s)-6]
		if want := fmt.Sprintf("%04X", tc.crc([]byte(data))); s[len(s)-6:len(s)-2] != want {
			t.Errorf("%v: answer CRC %s, want %s", tc.dev, s[len(s)-6:len(s)-2], want)
		}
	}
}

func TestParseDeviationNamesTheSitesYAMLValues(t *testing.T) {
	for _, name := range []string{"modbus_crc", "lowercase_hex", "no_cp_end"} {
		d, ok := ParseDeviation(name)
		if !ok || d.String() != name {
			t.Errorf("ParseDeviation(%q) = %v, %v", name, d, ok)
		}
	}
	if _, ok := ParseDeviation("MODBUS"); ok {
		t.Error("ParseDeviation accepted MODBUS")
	}
	if got := (DevModbusCRC | DevNoCPEnd).String(); got != "modbus_crc+no_cp_end" {
		t.Errorf("String = %q", got)
	}
}

func TestMNOfReadsTheHeaderOnly(t *testing.T) {
	for in, want := range map[string]string{
		dataOf(exampleHour):                  "CJTTH0000000000000000001",
		"QN=1;ST=21;CP=&&MN=X&&":             "",
		"MN=A1;CP=&&&&":                      "A1",
		"QN=1;MN":                            "",
		"ST=21;CN=2011;MN=B2;Flag=5;CP=&&&&": "B2",
	} {
		if got := MNOf([]byte(in)); got != want {
			t.Errorf("MNOf(%q) = %q, want %q", in, got, want)
		}
	}
}
