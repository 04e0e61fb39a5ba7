package hj212

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// The verified packets of facts.md §3.11.
const (
	exampleStandard = "##0101QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;CP=&&RtdInterval=30&&1C80\r\n"
	exampleRealtime = "##0354QN=20230803171130538;ST=31;CN=2011;PW=123456;MN=88888880000001234567;Flag=5;CP=&&DataTime=20230803165500;w01001-Rtd=0.000,w01001-Flag=N;w21003-Rtd=0.000,w21003-Flag=N;w01018-Rtd=0.000,w01018-Flag=N;e01002-Rtd=0.000,e01002-Flag=N;w01010-Rtd=0.000,w01010-Flag=N;e01001-Rtd=0.000,e01001-Flag=N;w01003-Rtd=0.000,w01003-Flag=N;w21011-Rtd=0.000,w21011-Flag=N&&A141\r\n"
	exampleHour     = "##0379QN=20240601100000000;ST=21;CN=2061;PW=123456;MN=CJTTH0000000000000000001;Flag=5;CP=&&DataTime=20240601090000;w01010-Avg=12.3,w01010-Flag=N;w01001-Avg=8.12,w01001-Flag=N;w01009-Avg=9.1,w01009-Flag=N;w01014-Avg=452.0,w01014-Flag=N;w01003-Avg=15.2,w01003-Flag=N;w01019-Avg=2.1,w01019-Flag=N;w21003-Avg=0.21,w21003-Flag=N;w21011-Avg=0.03,w21011-Flag=N;w21001-Avg=1.52,w21001-Flag=N&&D801\r\n"
	exampleResponse = "##0087QN=20240601100000000;ST=91;CN=9014;PW=123456;MN=CJTTH0000000000000000001;Flag=4;CP=&&&&4540\r\n"
)

var shanghai = mustLoc("Asia/Shanghai")

func mustLoc(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// dataOf returns the data segment of a frame string.
func dataOf(frame string) string { return frame[6 : len(frame)-6] }

func TestCRC16MatchesTheVerifiedExamples(t *testing.T) {
	for _, tc := range []struct {
		name, frame string
		want        uint16
	}{
		{"standard's own example", exampleStandard, 0x1C80},
		{"public real-time packet", exampleRealtime, 0xA141},
		{"synthetic hour packet", exampleHour, 0xD801},
		{"synthetic 9014 response", exampleResponse, 0x4540},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := CRC16([]byte(dataOf(tc.frame))); got != tc.want {
				t.Errorf("CRC16 = %04X, want %04X", got, tc.want)
			}
			if got := crcString(dataOf(tc.frame)); got != tc.want {
				t.Errorf("crcString = %04X, want %04X", got, tc.want)
			}
		})
	}
}

// modbus is CRC-16/MODBUS, which some public code uses by mistake.
func modbus(b []byte) uint16 {
	crc := uint16(0xFFFF)
	for _, c := range b {
		crc ^= uint16(c)
		for range 8 {
			if crc&1 != 0 {
				crc = crc>>1 ^ 0xA001
			} else {
				crc >>= 1
			}
		}
	}
	return crc
}

func TestCRC16IsNotModbus(t *testing.T) {
	data := []byte(dataOf(exampleStandard))
	if m := modbus(data); m == CRC16(data) {
		t.Fatalf("MODBUS and HJ 212 CRCs agree (%04X) on the standard's example; the test is void", m)
	}
	// A frame carrying the MODBUS checksum is refused.
	frame, _ := AppendFrame(nil, data)
	copy(frame[len(frame)-6:], appendHex4(nil, modbus(data)))
	_, err := NewDecoder(bytes.NewReader(frame), 0).Next()
	if ReasonOf(err) != ReasonCRC {
		t.Fatalf("MODBUS-checksummed frame: err = %v, want reason crc", err)
	}
}

func TestCRC16TakesOnly256Values(t *testing.T) {
	seen := map[uint16]bool{}
	buf := make([]byte, 8)
	for i := range 20000 {
		for j := range buf {
			buf[j] = byte(i*31 + j*7 + i>>3)
		}
		seen[CRC16(buf)] = true
	}
	if len(seen) > 256 {
		t.Fatalf("CRC16 produced %d distinct values; the standard's algorithm has at most 256", len(seen))
	}
}

func TestDecodeAndParseTheVerifiedExamples(t *testing.T) {
	for _, tc := range []struct {
		name, frame      string
		qn, st, cn, mn   string
		flag             Flag
		cp               string
		wantAck, wantLen int
	}{
		{"standard's own example", exampleStandard, "20160801085857223", "32", "1062", "010000A8900016F000169DC0", 5, "RtdInterval=30", 1, 101},
		{"public real-time packet", exampleRealtime, "20230803171130538", "31", "2011", "88888880000001234567", 5, "", 1, 354},
		{"synthetic hour packet", exampleHour, "20240601100000000", "21", "2061", "CJTTH0000000000000000001", 5, "", 1, 379},
		{"synthetic 9014 response", exampleResponse, "20240601100000000", "91", "9014", "CJTTH0000000000000000001", 4, "", 0, 87},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := NewDecoder(strings.NewReader(tc.frame), 0).Next()
			if err != nil {
				t.Fatalf("Next: %v", err)
			}
			if len(f.Data) != tc.wantLen || string(f.Raw) != tc.frame {
				t.Fatalf("frame: data %d bytes (want %d), raw %q", len(f.Data), tc.wantLen, f.Raw)
			}
			p, err := ParsePacket(f.Data)
			if err != nil {
				t.Fatalf("ParsePacket: %v", err)
			}
			if p.QN != tc.qn || p.ST != tc.st || p.CN != tc.cn || p.MN != tc.mn || p.Flag != tc.flag {
				t.Errorf("packet = %+v", p)
			}
			if p.Version() != V2017 || p.WantsAck() != (tc.wantAck == 1) {
				t.Errorf("version %v, ack %v", p.Version(), p.WantsAck())
			}
			if tc.cp != "" && p.CP != tc.cp {
				t.Errorf("CP = %q, want %q", p.CP, tc.cp)
			}
			// Encoding the parsed packet gives back the exact frame.
			enc, err := Encode(p)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if string(enc) != tc.frame {
				t.Errorf("Encode =\n%q\nwant\n%q", enc, tc.frame)
			}
		})
	}
}

func TestResponse9014OfTheHourExampleIsTheVerifiedResponse(t *testing.T) {
	f, err := NewDecoder(strings.NewReader(exampleHour), 0).Next()
	if err != nil {
		t.Fatal(err)
	}
	req, err := ParsePacket(f.Data)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := Encode(Response9014(req))
	if err != nil {
		t.Fatal(err)
	}
	if string(enc) != exampleResponse {
		t.Fatalf("Response9014 =\n%q\nwant\n%q", enc, exampleResponse)
	}
}

func TestParseDataOfTheExamples(t *testing.T) {
	p, err := ParsePacket([]byte(dataOf(exampleHour)))
	if err != nil {
		t.Fatal(err)
	}
	d, err := ParseData(p.CP, p.Version(), shanghai)
	if err != nil {
		t.Fatalf("ParseData: %v", err)
	}
	if want := time.Date(2024, 6, 1, 9, 0, 0, 0, shanghai); !d.DataTime.Equal(want) {
		t.Errorf("DataTime = %v, want %v", d.DataTime, want)
	}
	if want := time.Date(2024, 6, 1, 1, 0, 0, 0, time.UTC); !d.DataTime.Equal(want) {
		t.Errorf("DataTime in UTC = %v, want %v (Shanghai is UTC+8)", d.DataTime.UTC(), want)
	}
	if len(d.Items) != 9 {
		t.Fatalf("%d items, want 9", len(d.Items))
	}
	want := map[string]float64{"w01010": 12.3, "w01001": 8.12, "w01009": 9.1, "w01014": 452, "w01003": 15.2,
		"w01019": 2.1, "w21003": 0.21, "w21011": 0.03, "w21001": 1.52}
	for _, it := range d.Items {
		if it.Err != nil || !it.Avg.Set || it.Avg.V != want[it.Code] || it.Flag != "N" || it.Rtd.Set {
			t.Errorf("item %+v", it)
		}
	}

	p, err = ParsePacket([]byte(dataOf(exampleRealtime)))
	if err != nil {
		t.Fatal(err)
	}
	d, err = ParseData(p.CP, p.Version(), shanghai)
	if err != nil {
		t.Fatalf("ParseData: %v", err)
	}
	if len(d.Items) != 8 || d.Items[3].Code != "e01002" || !d.Items[3].Rtd.Set || d.Items[3].Raw != "e01002-Rtd=0.000,e01002-Flag=N" {
		t.Fatalf("items = %+v", d.Items)
	}
}

func frameOf(t testing.TB, data string) []byte {
	t.Helper()
	b, err := AppendFrame(nil, []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// collect decodes everything from r and returns the frames' data and the refusals' reasons.
func collect(t *testing.T, d *Decoder) (frames []string, reasons []string, final error) {
	t.Helper()
	for range 1000 {
		f, err := d.Next()
		var fe *FrameError
		switch {
		case err == nil:
			frames = append(frames, string(f.Data))
		case errors.As(err, &fe):
			reasons = append(reasons, fe.Err.Reason)
		default:
			return frames, reasons, err
		}
	}
	t.Fatal("decoder did not end")
	return
}

func TestDecoderFraming(t *testing.T) {
	a := dataOf(exampleStandard)
	b := dataOf(exampleHour)
	fa, fb := string(frameOf(t, a)), string(frameOf(t, b))
	badCRC := fa[:len(fa)-6] + "0000\r\n"
	lower := strings.Replace(fa, "1C80", "1c80", 1)
	for _, tc := range []struct {
		name        string
		input       string
		reader      func(io.Reader) io.Reader
		max         int
		wantFrames  []string
		wantReasons []string
	}{
		{name: "two frames in one read", input: fa + fb, wantFrames: []string{a, b}},
		{name: "one byte per read", input: fa + fb, reader: iotest.OneByteReader, wantFrames: []string{a, b}},
		{name: "half frames per read", input: fa + fb, reader: iotest.HalfReader, wantFrames: []string{a, b}},
		{name: "lower-case CRC refused from a station not configured for it", input: lower + fb, wantFrames: []string{b}, wantReasons: []string{ReasonCRC}},
		{name: "junk before and between frames", input: "hello" + fa + "\r\n" + fb, wantFrames: []string{a, b},
			wantReasons: []string{ReasonFrameSync, ReasonFrameSync}},
		{name: "bad CRC skips the frame only", input: badCRC + fb, wantFrames: []string{b}, wantReasons: []string{ReasonCRC}},
		{name: "non-hex CRC", input: fa[:len(fa)-6] + "12G4\r\n" + fb, wantFrames: []string{b}, wantReasons: []string{ReasonCRC}},
		{name: "length header not digits", input: "##01a1" + a + "1C80\r\n" + fb, wantFrames: []string{b},
			wantReasons: []string{ReasonFrameLength}},
		{name: "length too short: no CRLF where it ends", input: "##0050" + a + "1C80\r\n" + fb, wantFrames: []string{b},
			wantReasons: []string{ReasonFrameLength}},
		{name: "length too long swallows into the next frame, which resyncs", input: "##0102" + a + "1C80\r\n" + fb,
			wantFrames: []string{b}, wantReasons: []string{ReasonFrameLength}},
		{name: "frame longer than the maximum is skipped whole", input: fb + fa, max: 200, wantFrames: []string{a},
			wantReasons: []string{ReasonFrameLength}},
		{name: "stream ends inside a frame", input: fa + fb[:50], wantFrames: []string{a},
			wantReasons: []string{ReasonFrameIncomplete}},
		{name: "stream of junk only", input: strings.Repeat("x", 30000), wantReasons: []string{ReasonFrameSync, ReasonFrameSync, ReasonFrameSync}},
		{name: "lone hash at the end", input: fa + "#", wantFrames: []string{a}, wantReasons: []string{ReasonFrameSync}},
		{name: "empty data segment", input: "##0000FFFF\r\n", wantFrames: []string{""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r io.Reader = strings.NewReader(tc.input)
			if tc.reader != nil {
				r = tc.reader(r)
			}
			frames, reasons, final := collect(t, NewDecoder(r, tc.max))
			if final != io.EOF {
				t.Errorf("final error %v, want EOF", final)
			}
			if strings.Join(frames, "|") != strings.Join(tc.wantFrames, "|") {
				t.Errorf("frames = %q, want %q", frames, tc.wantFrames)
			}
			if strings.Join(reasons, ",") != strings.Join(tc.wantReasons, ",") {
				t.Errorf("refusals = %v, want %v", reasons, tc.wantReasons)
			}
		})
	}
}

func TestDecoderMoreBatchesBufferedFrames(t *testing.T) {
	fa := frameOf(t, dataOf(exampleStandard))
	d := NewDecoder(bytes.NewReader(append(append([]byte{}, fa...), fa...)), 0)
	if d.More() {
		t.Fatal("More before any read: true")
	}
	if _, err := d.Next(); err != nil {
		t.Fatal(err)
	}
	if !d.More() {
		t.Fatal("More with a second complete frame buffered: false")
	}
	if _, err := d.Next(); err != nil {
		t.Fatal(err)
	}
	if d.More() {
		t.Fatal("More with nothing buffered: true")
	}
}

func TestDecoderRefusalKeepsRawBounded(t *testing.T) {
	_, err := NewDecoder(strings.NewReader(strings.Repeat("z", 50000)), 0).Next()
	var fe *FrameError
	if !errors.As(err, &fe) || len(fe.Raw) > 2048 || len(fe.Raw) == 0 {
		t.Fatalf("err = %v, raw %d bytes", err, len(fe.Raw))
	}
}

// header is a valid 2017 data segment up to CP.
const header = "QN=20240601100000000;ST=21;CN=2061;PW=123456;MN=65230100000002;Flag=5;"

func TestParsePacketRefusals(t *testing.T) {
	for _, tc := range []struct {
		name, data, reason string
	}{
		{"no CP", "QN=20240601100000000;ST=21;CN=2061;PW=123456;MN=6523;Flag=5", ReasonBadField},
		{"CP not last", "QN=20240601100000000;CP=&&&&;ST=21", ReasonBadField},
		{"CP without closing &&", header + "CP=&&DataTime=20240601090000", ReasonBadField},
		{"ampersand inside CP", header + "CP=&&a=1&b=2&&", ReasonBadField},
		{"control byte inside CP", header + "CP=&&a=1\x00&&", ReasonBadField},
		{"missing MN", "QN=20240601100000000;ST=21;CN=2061;PW=123456;Flag=5;CP=&&&&", ReasonBadField},
		{"missing PW", "QN=20240601100000000;ST=21;CN=2061;MN=1;Flag=5;CP=&&&&", ReasonBadField},
		{"missing ST", "QN=20240601100000000;CN=2061;PW=1;MN=1;Flag=5;CP=&&&&", ReasonBadField},
		{"missing CN", "QN=20240601100000000;ST=21;PW=1;MN=1;Flag=5;CP=&&&&", ReasonBadField},
		{"missing QN in 2017", "ST=21;CN=2061;PW=1;MN=1;Flag=5;CP=&&&&", ReasonBadField},
		{"repeated field", "QN=20240601100000000;ST=21;ST=21;CN=2061;PW=1;MN=1;Flag=5;CP=&&&&", ReasonBadField},
		{"unknown field", "QN=20240601100000000;XX=1;ST=21;CN=2061;PW=1;MN=1;Flag=5;CP=&&&&", ReasonBadField},
		{"lower-case key", "qn=20240601100000000;ST=21;CN=2061;PW=1;MN=1;Flag=5;CP=&&&&", ReasonBadField},
		{"QN too short", "QN=2024060110000000;ST=21;CN=2061;PW=1;MN=1;Flag=5;CP=&&&&", ReasonBadField},
		{"QN not a date", "QN=20241301100000000;ST=21;CN=2061;PW=1;MN=1;Flag=5;CP=&&&&", ReasonBadField},
		{"QN 31 April", "QN=20240431100000000;ST=21;CN=2061;PW=1;MN=1;Flag=5;CP=&&&&", ReasonBadField},
		{"ST one digit", "QN=20240601100000000;ST=2;CN=2061;PW=1;MN=1;Flag=5;CP=&&&&", ReasonBadField},
		{"CN letters", "QN=20240601100000000;ST=21;CN=20a1;PW=1;MN=1;Flag=5;CP=&&&&", ReasonBadField},
		{"PW too long", "QN=20240601100000000;ST=21;CN=2061;PW=1234567;MN=1;Flag=5;CP=&&&&", ReasonBadField},
		{"PW empty", "QN=20240601100000000;ST=21;CN=2061;PW=;MN=1;Flag=5;CP=&&&&", ReasonBadField},
		{"MN too long", "QN=20240601100000000;ST=21;CN=2061;PW=1;MN=1234567890123456789012345;Flag=5;CP=&&&&", ReasonBadField},
		{"MN with a dash", "QN=20240601100000000;ST=21;CN=2061;PW=1;MN=65-23;Flag=5;CP=&&&&", ReasonBadField},
		{"Flag over 255", "QN=20240601100000000;ST=21;CN=2061;PW=1;MN=1;Flag=256;CP=&&&&", ReasonBadField},
		{"Flag negative", "QN=20240601100000000;ST=21;CN=2061;PW=1;MN=1;Flag=-1;CP=&&&&", ReasonBadField},
		{"unknown version bits", "QN=20240601100000000;ST=21;CN=2061;PW=1;MN=1;Flag=13;CP=&&&&", ReasonVersion},
		{"PNUM without split flag", "QN=20240601100000000;PNUM=2;PNO=1;ST=21;CN=2061;PW=1;MN=1;Flag=5;CP=&&&&", ReasonBadField},
		{"split flag without PNUM", "QN=20240601100000000;ST=21;CN=2061;PW=1;MN=1;Flag=7;CP=&&&&", ReasonBadField},
		{"PNO over PNUM", "QN=20240601100000000;PNUM=2;PNO=3;ST=21;CN=2061;PW=1;MN=1;Flag=7;CP=&&&&", ReasonBadField},
		{"PNO zero", "QN=20240601100000000;PNUM=2;PNO=0;ST=21;CN=2061;PW=1;MN=1;Flag=7;CP=&&&&", ReasonBadField},
		{"field without value separator", "QN=20240601100000000;ST21;CN=2061;PW=1;MN=1;Flag=5;CP=&&&&", ReasonBadField},
		{"empty segment", "", ReasonBadField},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParsePacket([]byte(tc.data))
			if got := ReasonOf(err); got != tc.reason {
				t.Fatalf("ParsePacket(%q): err = %v, want reason %s", tc.data, err, tc.reason)
			}
		})
	}
}

func TestParsePacketVersions(t *testing.T) {
	for _, tc := range []struct {
		name, data string
		version    Version
		ack, split bool
	}{
		{"2005 without Flag and QN", "ST=32;CN=2011;PW=123456;MN=88888880000001;CP=&&DataTime=20040516020111;011-Rtd=1.0,011-Flag=N&&", V2005, false, false},
		{"2005 with Flag 1", "QN=20240601100000000;ST=32;CN=2011;PW=123456;MN=1;Flag=1;CP=&&&&", V2005, true, false},
		{"2017 split and ack", "QN=20240601100000000;PNUM=2;PNO=1;ST=21;CN=2061;PW=1;MN=1;Flag=7;CP=&&&&", V2017, true, true},
		{"2025", "QN=20240601100000000;ST=21;CN=9015;PW=1;MN=1;Flag=9;CP=&&&&", V2025, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ParsePacket([]byte(tc.data))
			if err != nil {
				t.Fatal(err)
			}
			if p.Version() != tc.version || p.WantsAck() != tc.ack || (!p.OmitFlag && p.Flag.Split()) != tc.split {
				t.Fatalf("packet %+v: version %v ack %v", p, p.Version(), p.WantsAck())
			}
			enc, err := Encode(p)
			if err != nil {
				t.Fatal(err)
			}
			if string(enc[6:len(enc)-6]) != tc.data {
				t.Fatalf("re-encoded %q", enc)
			}
		})
	}
}

func TestParseCP(t *testing.T) {
	fs, err := ParseCP("DataTime=20240601090000;w01018-Avg=1.5,w01018-Flag=N;a=")
	if err != nil {
		t.Fatal(err)
	}
	want := []Field{{"DataTime", "20240601090000", 0}, {"w01018-Avg", "1.5", 1}, {"w01018-Flag", "N", 1}, {"a", "", 2}}
	if len(fs) != len(want) {
		t.Fatalf("fields %v", fs)
	}
	for i := range want {
		if fs[i] != want[i] {
			t.Errorf("field %d = %+v, want %+v", i, fs[i], want[i])
		}
	}
	if v, ok := Lookup(fs, "w01018-Flag"); !ok || v != "N" {
		t.Errorf("Lookup = %q %v", v, ok)
	}
	if fs, err := ParseCP(""); err != nil || len(fs) != 0 {
		t.Errorf("empty CP: %v %v", fs, err)
	}
	many := strings.Repeat("k1=1;", 60) + "k1=2"
	for _, bad := range []string{
		";", "a=1;", ";a=1", "a=1;;b=2", "a=1,,b=2", "a", "=1", "a=1=2", "a b=1", "a=1,a=2", "a=1;a=2", "a=\x7f", many,
	} {
		if _, err := ParseCP(bad); ReasonOf(err) != ReasonBadCP {
			t.Errorf("ParseCP(%q): err = %v, want bad_cp", bad, err)
		}
	}
}

func TestParseDataRefusals(t *testing.T) {
	for _, tc := range []struct{ name, cp string }{
		{"no DataTime", "w01018-Rtd=1"},
		{"DataTime not first", "w01018-Rtd=1;DataTime=20240601090000"},
		{"DataTime not alone", "DataTime=20240601090000,w01018-Rtd=1"},
		{"DataTime invalid", "DataTime=20240631090000;w01018-Rtd=1"},
		{"DataTime short", "DataTime=202406010900;w01018-Rtd=1"},
		{"key without suffix", "DataTime=20240601090000;RtdInterval=30"},
		{"group mixes items", "DataTime=20240601090000;w01018-Rtd=1,w01019-Rtd=2"},
		{"item in two groups", "DataTime=20240601090000;w01018-Rtd=1;w01018-Flag=N"},
		{"bare code beside its fields (found by FuzzParseCP)", "DataTime=20000101000000;w01001-=,w01001=;w21003-Rtd=00000,w21003="},
		{"empty CP", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ParseData(tc.cp, V2017, shanghai); ReasonOf(err) != ReasonBadCP {
				t.Fatalf("err = %v, want bad_cp", err)
			}
		})
	}
}

func TestParseDataMarksBadItemsAndKeepsTheOthers(t *testing.T) {
	cp := "DataTime=20240601090000;w01018-Rtd=1.5,w01018-Flag=N;w01019-Rtd=abc;w21003-Rtd=1e3;w21011-Rtd=+1;" +
		"w01001-Rtd=7,w01001-Flag=X;w01009-Foo=1;w0_01-Rtd=1;w01010-Rtd=NaN;w01014-Rtd=-3.5,w01014-Flag=T;" +
		"w01003-Rtd=1,w01003-SampleTime=20240631000000;w01012-Rtd=.5,w01012-Flag=P"
	d, err := ParseData(cp, V2017, shanghai)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"w01018": "", "w01019": ReasonBadValue, "w21003": ReasonBadValue, "w21011": ReasonBadValue,
		"w01001": ReasonBadFlag, "w01009": ReasonBadItem, "w0_01": ReasonBadItem, "w01010": ReasonBadValue,
		"w01014": "", "w01003": ReasonBadValue, "w01012": ReasonBadFlag, // P is a 2005 flag only
	}
	if len(d.Items) != len(want) {
		t.Fatalf("%d items, want %d", len(d.Items), len(want))
	}
	for _, it := range d.Items {
		got := ""
		if it.Err != nil {
			got = it.Err.Reason
		}
		if got != want[it.Code] {
			t.Errorf("item %s: reason %q (%v), want %q", it.Code, got, it.Err, want[it.Code])
		}
	}
	if it := d.Items[0]; it.Rtd.V != 1.5 || it.Flag != "N" {
		t.Errorf("first item %+v", it)
	}
	if it := d.Items[8]; it.Rtd.V != -3.5 || it.Flag != "T" {
		t.Errorf("T-flagged item %+v", it)
	}
	// P is accepted in a 2005 upload.
	d, err = ParseData("DataTime=20240601090000;011-Rtd=1,011-Flag=P", V2005, shanghai)
	if err != nil || d.Items[0].Err != nil {
		t.Fatalf("2005 P flag: %v %v", err, d.Items)
	}
}

func TestParseDataReadsAnLSuffixAsANonDetect(t *testing.T) {
	cases := []struct {
		name, cp string
		reason   string // "" when the item parses
		value    float64
		belowDL  bool
		whichNum func(Item) Num
	}{
		{"a real-time 0.01L is the limit 0.01, below it", "w23002-Rtd=0.01L,w23002-Flag=N", "", 0.01, true, func(it Item) Num { return it.Rtd }},
		{"a period mean 0.05L is the limit 0.05, below it", "w21003-Avg=0.05L,w21003-Flag=N", "", 0.05, true, func(it Item) Num { return it.Avg }},
		{"a plain value is detected", "w21003-Rtd=0.05,w21003-Flag=N", "", 0.05, false, func(it Item) Num { return it.Rtd }},
		{"L alone is no limit", "w23002-Rtd=L", ReasonBadValue, 0, false, nil},
		{"a negative limit is refused", "w23002-Rtd=-0.01L", ReasonBadValue, 0, false, nil},
		{"L on a minimum is not a non-detect mark", "w23002-Min=0.01L,w23002-Avg=0.02", ReasonBadValue, 0, false, nil},
		{"a lower-case l is not the mark", "w23002-Rtd=0.01l", ReasonBadValue, 0, false, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, err := ParseData("DataTime=20240601090000;"+c.cp, V2017, shanghai)
			if err != nil {
				t.Fatal(err)
			}
			it := d.Items[0]
			got := ""
			if it.Err != nil {
				got = it.Err.Reason
			}
			if got != c.reason {
				t.Fatalf("reason %q (%v), want %q", got, it.Err, c.reason)
			}
			if c.reason != "" {
				return
			}
			if n := c.whichNum(it); !n.Set || n.V != c.value || it.BelowDL != c.belowDL {
				t.Errorf("item %+v: want value %v below_dl %v", it, c.value, c.belowDL)
			}
		})
	}
}

func TestDataCPRoundTrip(t *testing.T) {
	at := time.Date(2024, 6, 1, 1, 0, 0, 0, time.UTC) // 09:00 in Shanghai
	items := []Item{
		Period("w01018", 10, 12.5, 15, "N"),
		Rtd("w21003", 0.000125, "T"),
		{Code: "w00000", Cou: Value(360), Avg: Value(0.1), Flag: "N", EFlag: "A1", SampleTime: "20240601085000"},
		Rtd("w01001", 0, ""),
		Rtd("w01010", -0.5, "N"),
		{Code: "w23002", Rtd: Value(0.0003), Flag: "N", BelowDL: true}, // 挥发酚 0.0003L
		{Code: "w21016", Min: Value(0.004), Avg: Value(0.004), Max: Value(0.004), Flag: "N", BelowDL: true},
	}
	cp, err := DataCP(at, shanghai, V2017, items)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(cp, "DataTime=20240601090000;w01018-Min=10,w01018-Avg=12.5,w01018-Max=15,w01018-Flag=N;") {
		t.Fatalf("cp = %q", cp)
	}
	d, err := ParseData(cp, V2017, shanghai)
	if err != nil {
		t.Fatal(err)
	}
	if !d.DataTime.Equal(at) || len(d.Items) != len(items) {
		t.Fatalf("data %+v", d)
	}
	for i, it := range d.Items {
		it.Raw = ""
		if it != items[i] {
			t.Errorf("item %d = %+v, want %+v", i, it, items[i])
		}
	}
	for _, bad := range [][]Item{
		{Rtd("w-1", 1, "N")}, {Rtd("w01018", 1, "Q")}, {{Code: "w01018"}}, {Rtd("w01018", nan(), "N")},
		{{Code: "w23002", Rtd: Value(-0.01), BelowDL: true}},
	} {
		if _, err := DataCP(at, shanghai, V2017, bad); err == nil {
			t.Errorf("DataCP(%+v) accepted", bad)
		}
	}
}

func nan() float64 { var z float64; return z / z }

func TestEncodeRefusesWhatParseRefuses(t *testing.T) {
	ok := Packet{QN: "20240601100000000", ST: "21", CN: "2011", PW: "123456", MN: "65230100000002", Flag: NewFlag(V2017, true, false)}
	if _, err := Encode(ok); err != nil {
		t.Fatalf("Encode(valid): %v", err)
	}
	for name, mut := range map[string]func(*Packet){
		"no QN in 2017":      func(p *Packet) { p.QN = "" },
		"bad QN":             func(p *Packet) { p.QN = "2024" },
		"ST":                 func(p *Packet) { p.ST = "2" },
		"CN":                 func(p *Packet) { p.CN = "x" },
		"PW":                 func(p *Packet) { p.PW = "1234567" },
		"MN":                 func(p *Packet) { p.MN = "a;b" },
		"version":            func(p *Packet) { p.Flag = 3 << 2 },
		"CP with &":          func(p *Packet) { p.CP = "a=1&&" },
		"split without PNUM": func(p *Packet) { p.Flag |= FlagSplit },
		"PNUM without split": func(p *Packet) { p.PNUM, p.PNO = 2, 1 },
		"too long":           func(p *Packet) { p.CP = "a=" + strings.Repeat("1", 10000) },
	} {
		p := ok
		mut(&p)
		if _, err := Encode(p); err == nil {
			t.Errorf("%s: Encode accepted %+v", name, p)
		}
	}
}

func TestSplitAndReassemble(t *testing.T) {
	at := time.Date(2024, 6, 1, 1, 0, 0, 0, time.UTC)
	var items []Item
	for i := range 60 {
		items = append(items, Period("w"+string(rune('0'+i/10))+"000"+string(rune('0'+i%10)), 1, 2, 3, "N"))
	}
	cp, err := DataCP(at, shanghai, V2017, items)
	if err != nil {
		t.Fatal(err)
	}
	p := Packet{QN: "20240601100000123", ST: "21", CN: "2061", PW: "123456", MN: "65230100000002", Flag: NewFlag(V2017, true, false), CP: cp}
	parts, err := Split(p, 600)
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) < 4 {
		t.Fatalf("%d parts, want several", len(parts))
	}
	var r Reassembler
	now := time.Now()
	// Arrive out of order, one resent; each part is a valid frame within the limit.
	order := []int{len(parts) - 1, 0, 0}
	for i := 1; i < len(parts)-1; i++ {
		order = append(order, i)
	}
	var joined Packet
	for k, i := range order {
		enc, err := Encode(parts[i])
		if err != nil {
			t.Fatal(err)
		}
		if len(enc)-12 > 600 {
			t.Fatalf("part %d has %d bytes of data", i, len(enc)-12)
		}
		q, err := ParsePacket(enc[6 : len(enc)-6])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ParseData(q.CP, V2017, shanghai); err != nil {
			t.Fatalf("part %d is not a data upload of its own: %v", i, err)
		}
		got, done, err := r.Add(q, now)
		if err != nil {
			t.Fatal(err)
		}
		if done != (k == len(order)-1) {
			t.Fatalf("after %d packets done = %v", k+1, done)
		}
		joined = got
	}
	if joined.CP != p.CP || joined.Flag != p.Flag || joined.PNUM != 0 || joined.QN != p.QN {
		t.Fatalf("joined = %+v\nwant CP %q", joined, p.CP)
	}
	if r.Pending() != 0 {
		t.Fatalf("%d sets pending", r.Pending())
	}
	// A packet that fits is not split.
	if one, err := Split(parts[0], 0); err != nil || len(one) != 1 {
		t.Fatalf("Split of a small packet: %v %v", one, err)
	}
}

func TestReassemblerRefusesInconsistentSetsAndExpires(t *testing.T) {
	base := Packet{QN: "20240601100000123", ST: "21", CN: "2061", PW: "123456", MN: "1", Flag: NewFlag(V2017, true, true), PNUM: 3, PNO: 1,
		CP: "DataTime=20240601090000;w01018-Avg=1"}
	now := time.Now()
	t.Run("PNUM changes", func(t *testing.T) {
		var r Reassembler
		r.Add(base, now)
		q := base
		q.PNUM, q.PNO = 4, 2
		if _, _, err := r.Add(q, now); ReasonOf(err) != ReasonSplit {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("DataTime differs", func(t *testing.T) {
		var r Reassembler
		r.Add(base, now)
		q := base
		q.PNUM, q.PNO, q.CP = 2, 2, "DataTime=20240601100000;w01019-Avg=1"
		base2 := base
		base2.PNUM = 2
		r = Reassembler{}
		r.Add(base2, now)
		if _, _, err := r.Add(q, now); ReasonOf(err) != ReasonSplit {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("too large", func(t *testing.T) {
		r := Reassembler{MaxBytes: 40}
		if _, _, err := r.Add(base, now); err != nil {
			t.Fatal(err)
		}
		q := base
		q.PNO = 2
		if _, _, err := r.Add(q, now); ReasonOf(err) != ReasonSplit {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("too many sets", func(t *testing.T) {
		r := Reassembler{MaxSets: 2}
		for i := range 3 {
			q := base
			q.QN = "2024060110000012" + string(rune('0'+i))
			_, _, err := r.Add(q, now)
			if (i == 2) != (ReasonOf(err) == ReasonSplit) {
				t.Fatalf("set %d: err = %v", i, err)
			}
		}
	})
	t.Run("expire and drain", func(t *testing.T) {
		r := Reassembler{Timeout: time.Minute}
		r.Add(base, now)
		q := base
		q.QN = "20240601100000999"
		r.Add(q, now.Add(50*time.Second))
		if got := r.Expire(now.Add(30 * time.Second)); len(got) != 0 {
			t.Fatalf("expired early: %v", got)
		}
		got := r.Expire(now.Add(61 * time.Second))
		if len(got) != 1 || got[0].Have != 1 || got[0].Want != 3 || got[0].First.QN != base.QN {
			t.Fatalf("Expire = %+v", got)
		}
		if got := r.Drain(); len(got) != 1 || r.Pending() != 0 {
			t.Fatalf("Drain = %+v", got)
		}
	})
}

func TestLookupPollutantByVersion(t *testing.T) {
	for _, tc := range []struct {
		v                 Version
		code, param, unit string
		ok                bool
	}{
		{V2017, "w21003", "nh3n", "mg/L", true},
		{V2017, "w20111", "hg", "µg/L", true},
		{V2017, "w00000", "flow", "L/s", true},
		{V2025, "w01001", "ph", "", true},
		{V2005, "060", "nh3n", "mg/L", true},
		{V2005, "w21003", "", "", false}, // 2017 code in a 2005 packet
		{V2017, "060", "", "", false},    // 2005 code in a 2017 packet
		{V2017, "W21003", "", "", false}, // case-sensitive
		{V2017, "e01002", "", "", false},
	} {
		p, ok := LookupPollutant(tc.v, tc.code)
		if ok != tc.ok || p.Param != tc.param || p.Unit != tc.unit {
			t.Errorf("LookupPollutant(%v, %s) = %+v %v", tc.v, tc.code, p, ok)
		}
	}
	if p, ok := CodeFor(V2017, "hg"); !ok || p.Code != "w20111" {
		t.Errorf("CodeFor(hg) = %+v", p)
	}
	for _, table := range []map[string]Pollutant{pollutants2017, pollutants2005} {
		for code, p := range table {
			if p.Code != code {
				t.Errorf("table entry %s has code %s", code, p.Code)
			}
		}
	}
}

func TestCommandDirection(t *testing.T) {
	for cn, want := range map[string]Direction{
		"2011": DirUpload, "2061": DirUpload, "1013": DirUpload, "1062": DirRequest, "3015": DirRequest,
		"9014": DirResponse, "9011": DirResponse, "9015": DirHeartbeat, "4444": DirUnknown, "3025": DirUnknown,
	} {
		if got := CommandDirection(cn); got != want {
			t.Errorf("CommandDirection(%s) = %v, want %v", cn, got, want)
		}
	}
}

func TestTimeHelpers(t *testing.T) {
	at := time.Date(2024, 6, 1, 1, 2, 3, 45e6, time.UTC)
	if got := NewQN(at, shanghai); got != "20240601090203045" {
		t.Errorf("NewQN = %s", got)
	}
	if got := FormatTime(at, shanghai); got != "20240601090203" {
		t.Errorf("FormatTime = %s", got)
	}
	for _, bad := range []string{"20240229240000", "2024022912000", "20230229120000", "19691231235959", "2024022912000x"} {
		if _, err := ParseTime(bad, shanghai); ReasonOf(err) != ReasonBadValue {
			t.Errorf("ParseTime(%s) err = %v", bad, err)
		}
	}
	if _, err := ParseTime("20240229120000", shanghai); err != nil {
		t.Errorf("leap day: %v", err)
	}
	for s, want := range map[string]bool{"1": true, "-1.5": true, "0.000": true, ".5": true, "5.": true,
		"": false, "-": false, ".": false, "1e3": false, "+1": false, "1.2.3": false, "0x10": false, "Inf": false, " 1": false} {
		if _, ok := parseNumber(s); ok != want {
			t.Errorf("parseNumber(%q) = %v", s, ok)
		}
	}
}

// TestDecoderJunkTricklingInIsLinear guards against re-searching the whole buffer for "##"
// on every one-byte read: a slow-loris of junk would cost O(n²).
func TestDecoderJunkTricklingInIsLinear(t *testing.T) {
	junk := strings.Repeat("x", 1<<20)
	d := NewDecoder(iotest.OneByteReader(strings.NewReader(junk+exampleStandard)), 0)
	frames, reasons, _ := collect(t, d)
	if len(frames) != 1 || len(reasons) == 0 {
		t.Fatalf("frames %d, refusals %v", len(frames), reasons)
	}
	if limit := 3 * (len(junk) + len(exampleStandard)); d.searched > limit {
		t.Fatalf("searched %d bytes for headers in a %d-byte stream (limit %d)", d.searched, len(junk)+len(exampleStandard), limit)
	}
}
