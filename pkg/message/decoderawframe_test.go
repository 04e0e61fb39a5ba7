package message

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
	"unsafe"
)

var rawFrameJSONCases = []string{
	`{"id":"f1","site":"STH-S2","mn":"65230100000002","qn":"20250601080000123","cn":"2051","data_time":"2025-06-01T08:00:00Z","received_at":"2025-06-01T08:00:02.123456789+08:00","remote":"10.0.0.7:40112","raw":"##0101QN=20250601080000123;ST=21;CN=2051;PW=******;MN=65230100000002;Flag=5;CP=\u0026\u0026DataTime=20250601080000;w01018-Avg=21.5,w01018-Flag=N\u0026\u00261C80\r\n","reading_ids":["a","b"]}`,
	` { "site" : "S1" , "mn":"M", "raw": "x" , "reading_ids" : [ "a" , "b" ] } `,
	`{}`,
	`{"site":"S1","reading_ids":[]}`,   // empty, non-nil
	`{"site":"S1","reading_ids":null}`, // nil
	`{"site":"S1","reading_ids":["a","b"],"reading_ids":["c"]}`,  // repeated key
	`{"site":"S1","reading_ids":["a","b"],"reading_ids":[null]}`, // null element keeps the earlier "a"
	`{"site":"S1","reading_ids":["a",null]}`,
	`{"site":"S1","reading_ids":["a","b\n","c"]}`, // an escape after plain elements
	`{"site":"S1","reading_ids":["a\u0026","b"]}`,
	`{"site":"S1","reading_ids":["a\n",null]}`,
	`{"site":"S1","reading_ids":[ "a" , "b" ]}`,
	`{"site":"S1","reading_ids":["a",]}`,
	`{"site":"S1","reading_ids":["a" "b"]}`,
	`{"site":"S1","reading_ids":[1]}`,
	`{"site":"S1","reading_ids":"a"}`,
	`{"site":"S1","reading_ids":{}}`,
	`{"site":null,"qn":null,"data_time":null,"raw":null}`,
	`{"site":"S1","site":null}`,
	`{"raw":"a\"b\\c\/d\b\f\n\r\t"}`,
	`{"raw":"\u0026\u003c\u003e\u2028\u2029\u00e9\u4E09"}`,
	`{"raw":"\ud83d\ude00 smile"}`, // surrogate pair
	`{"raw":"\ud83d lone"}`,        // lone high surrogate: encoding/json writes U+FFFD
	`{"raw":"\ude00"}`,             // lone low surrogate
	`{"raw":"\ud83d\u0041"}`,       // high surrogate then no low one
	`{"raw":"\ud83d\ud83d\ude00"}`, // two highs then a low
	`{"raw":"\u12"}`,               // short \u
	`{"raw":"\u12g4"}`,             // bad hex
	`{"raw":"\x"}`,                 // unknown escape
	`{"raw":"ends with \`,          // truncated escape
	`{"raw":"三屯河 µg/L"}`,           // UTF-8
	"{\"raw\":\"bad\xff\"}",        // invalid UTF-8
	"{\"raw\":\"bad\xff\\n\"}",     // invalid UTF-8 and an escape
	"{\"raw\":\"\xe4\\u00b8\"}",    // a lead byte cut by an escape
	"{\"raw\":\"tab\there\"}",      // control character
	"{\"raw\":\"nl\\n\nhere\"}",    // control character after an escape
	`{"Raw":"x"}`,                  // case-insensitive match in encoding/json
	`{"site":"S1","extra":1}`,      // unknown key
	`{"site":"S1","data_time":"yesterday"}`,
	`{"site":"S1","data_time":"2025-06-01T08:00:00\u005a"}`, // an escape in a time
	`{"site":"S1"} trailing`,
	`{"site":"S1",}`,
	`{"site":"S1"`,
	`{"site":1}`,
	`null`,
	`[1,2]`,
	``,
}

// decodeSameFrame checks that DecodeRawFrame gives exactly what json.Unmarshal gives.
func decodeSameFrame(t *testing.T, in []byte) {
	t.Helper()
	var want, got RawFrame
	wantErr := json.Unmarshal(in, &want)
	gotErr := DecodeRawFrameInterned(in, Interner{}, &got)
	if (wantErr == nil) != (gotErr == nil) {
		t.Fatalf("%q: error %v, encoding/json says %v", in, gotErr, wantErr)
	}
	if wantErr != nil {
		if gotErr.Error() != wantErr.Error() {
			t.Fatalf("%q: error %q, encoding/json says %q", in, gotErr, wantErr)
		}
		return
	}
	if !sameRawFrame(got, want) {
		t.Fatalf("%q:\n got %#v\nwant %#v", in, got, want)
	}
}

// sameRawFrame compares times as instants and zones by offset (their *Location pointers
// differ between decodes) and everything else with reflect.DeepEqual, so nil and empty
// ReadingIDs differ.
func sameRawFrame(a, b RawFrame) bool {
	for _, tt := range [][2]time.Time{{a.DataTime, b.DataTime}, {a.ReceivedAt, b.ReceivedAt}} {
		_, oa := tt[0].Zone()
		_, ob := tt[1].Zone()
		if !tt[0].Equal(tt[1]) || oa != ob {
			return false
		}
	}
	a.DataTime, b.DataTime, a.ReceivedAt, b.ReceivedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	return reflect.DeepEqual(a, b)
}

func TestDecodeRawFrameMatchesEncodingJSON(t *testing.T) {
	for _, c := range rawFrameJSONCases {
		decodeSameFrame(t, []byte(c))
	}
	// More reading ids than stringArray keeps on its stack.
	ids := make([]string, 40)
	for i := range ids {
		ids[i] = ReadingID("S1", "cod", IntervalMinute, time.Unix(int64(i)*60, 0))
	}
	b, _ := json.Marshal(RawFrame{Site: "S1", ReadingIDs: ids})
	decodeSameFrame(t, b)
}

// TestDecodeRawFrameMatchesEncodingJSONOnRandomFrames marshals random frames the way the
// gateway does (json.Marshal), with quotes, backslashes, &, CR LF, control characters,
// U+2028 and other non-ASCII in their strings and nil, empty or full reading ids, and checks
// the fast decoder gives what encoding/json gives, on the fast path.
func TestDecodeRawFrameMatchesEncodingJSONOnRandomFrames(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 212))
	pieces := []string{"##0101QN=", "CP=&&", "&&", "\r\n", `"`, `\`, "<>", "三屯河", "µg/L", "\u2028", "\t", "\x01", "😀", "w01018-Avg=21.5", ";", "/", "é"}
	str := func(n int) string {
		var b strings.Builder
		for range rng.IntN(n + 1) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		return b.String()
	}
	base := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	zones := []*time.Location{time.UTC, time.FixedZone("CST", 8*3600), time.FixedZone("", -90*60)}
	var fast int
	for i := range 1000 {
		f := RawFrame{
			ID: str(2), Site: str(3), MN: str(2), QN: str(2), CN: str(1),
			DataTime:   base.Add(time.Duration(rng.Int64N(int64(365 * 24 * time.Hour)))).In(zones[rng.IntN(len(zones))]),
			ReceivedAt: base.Add(time.Duration(rng.Int64N(int64(time.Hour)))),
			Remote:     str(1), Raw: str(30),
		}
		switch i % 3 {
		case 0: // nil: null
		case 1:
			f.ReadingIDs = []string{}
		default:
			for range 1 + rng.IntN(5) {
				f.ReadingIDs = append(f.ReadingIDs, str(2))
			}
		}
		b, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		decodeSameFrame(t, b)
		var got RawFrame
		if fastRawFrame(b, nil, &got) {
			fast++
		} else {
			t.Errorf("json.Marshal output took the slow path: %s", b)
		}
	}
	if fast != 1000 {
		t.Errorf("%d of 1000 frames on the fast path", fast)
	}
}

func TestDecodeRawFrameInternsTheSitesOfABatch(t *testing.T) {
	b, _ := json.Marshal(sampleRawFrame())
	in := Interner{}
	var a, c RawFrame
	if err := DecodeRawFrameInterned(b, in, &a); err != nil {
		t.Fatal(err)
	}
	if err := DecodeRawFrameInterned(b, in, &c); err != nil {
		t.Fatal(err)
	}
	if unsafe.StringData(a.Site) != unsafe.StringData(c.Site) || unsafe.StringData(a.MN) != unsafe.StringData(c.MN) {
		t.Error("the sites and stations of one batch are not interned")
	}
	if unsafe.StringData(a.Raw) == unsafe.StringData(c.Raw) {
		t.Error("raw frames are interned")
	}
}

func TestDecodeRawFrameResetsTheFrame(t *testing.T) {
	f := RawFrame{Site: "old", QN: "old", ReadingIDs: []string{"old"}}
	if err := DecodeRawFrame([]byte(`{"site":"S1","raw":"x"}`), &f); err != nil {
		t.Fatal(err)
	}
	if f.QN != "" || f.ReadingIDs != nil || f.Site != "S1" {
		t.Errorf("fields of the previous frame survived: %+v", f)
	}
}

func TestDecodeRawFrameCopiesStrings(t *testing.T) {
	b := []byte(`{"site":"S1","raw":"ab","reading_ids":["r1"]}`)
	var f RawFrame
	if err := DecodeRawFrame(b, &f); err != nil {
		t.Fatal(err)
	}
	for i := range b {
		b[i] = 'X' // the caller may reuse its buffer
	}
	if f.Site != "S1" || f.Raw != "ab" || f.ReadingIDs[0] != "r1" {
		t.Errorf("strings alias the input: %+v", f)
	}
}

// sampleRawFrame is a frame as the gateway publishes it: five readings of one upload.
func sampleRawFrame() RawFrame {
	at := time.Date(2025, 6, 1, 8, 0, 0, 0, time.UTC)
	f := RawFrame{
		Site: "STH-S2", MN: "65230100000002", QN: "20250601080000123", CN: "2051", DataTime: at,
		ReceivedAt: at.Add(2 * time.Second), Remote: "10.0.0.7:40112",
		Raw: "##0412QN=20250601080000123;ST=21;CN=2051;PW=******;MN=65230100000002;Flag=5;CP=&&DataTime=20250601080000;" +
			"w01018-Avg=21.5,w01018-Flag=N;w21003-Avg=0.52,w21003-Flag=N;w01001-Avg=7.41,w01001-Flag=N;" +
			"w01009-Avg=8.2,w01009-Flag=N;w01010-Avg=18.3,w01010-Flag=N&&4F21\r\n",
	}
	f.ID = RawFrameID(f.MN, f.QN, f.CN, f.DataTime)
	for _, p := range []string{"cod", "nh3n", "ph", "do", "temp"} {
		f.ReadingIDs = append(f.ReadingIDs, ReadingID(f.Site, p, IntervalMinute, at))
	}
	return f
}

func BenchmarkDecodeRawFrame(b *testing.B) {
	data, _ := json.Marshal(sampleRawFrame())
	benchDecoders(b, data, "RawFrame", DecodeRawFrameInterned)
}

func FuzzDecodeRawFrameMatchesEncodingJSON(f *testing.F) {
	for _, c := range rawFrameJSONCases {
		f.Add([]byte(c))
	}
	s, _ := json.Marshal(sampleRawFrame())
	f.Add(s)
	f.Fuzz(func(t *testing.T, in []byte) { decodeSameFrame(t, in) })
}
