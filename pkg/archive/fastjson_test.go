package archive

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
	"unsafe"

	"github.com/riverwatch/riverwatch/pkg/message"
)

var readingJSONCases = []string{
	`{"id":"a1","site":"STH-S2","station":"65230100000002","parameter":"cod","value":21.5,"unit":"mg/L","min":1,"max":30.25,"interval":"hour","flag":"N","observed_at":"2025-06-01T08:00:00Z","received_at":"2025-06-01T08:00:02.123456789+08:00","source":"hj212"}`,
	` { "site" : "S1" , "parameter":"ph", "value": -0.5e-3 , "observed_at":"2025-06-01T08:00:00.5Z" } `,
	`{}`,
	`{"site":null,"value":null,"min":null,"observed_at":null}`,
	`{"site":"S1","min":1,"min":null}`,
	`{"site":"a\"b","parameter":"cod"}`,       // escape: encoding/json decides
	`{"Site":"S1"}`,                           // case-insensitive match in encoding/json
	`{"site":"S1","extra":{"x":[1,2]}}`,       // unknown key
	`{"site":"S1","value":01}`,                // bad number
	`{"site":"S1","value":1e999}`,             // out of range
	`{"site":"S1","value":"12"}`,              // wrong type
	`{"site":"S1","observed_at":"yesterday"}`, // bad time
	`{"site":"S1"} trailing`,                  // garbage after
	`{"site":"S1",}`,                          // trailing comma
	`{"site":"\u4e09\u5c6f"}`,                 // unicode escape
	`{"site":"三屯河","unit":"µg/L"}`,            // UTF-8
	"{\"site\":\"bad\xff\"}",                  // invalid UTF-8
	`null`,                                    // null document
	`{"site":"S1","value":12,`,                // truncated
	`{"site":"S1","value":-}`,                 // lone minus
	`{"site":"S1","value":1.}`,                // no fraction digits
	`{"site":"S1","value":1.5E+2}`,            // exponent
	`[1,2]`,                                   // not an object
	"{\"site\":\"tab\there\"}",                // control character
}

// decodeSame checks that decodeReading gives exactly what json.Unmarshal gives.
func decodeSame(t *testing.T, in []byte) {
	t.Helper()
	var want, got message.Reading
	wantErr := json.Unmarshal(in, &want)
	gotErr := decodeReading(in, interner{}, &got)
	if (wantErr == nil) != (gotErr == nil) {
		t.Fatalf("%q: error %v, encoding/json says %v", in, gotErr, wantErr)
	}
	if wantErr != nil {
		if gotErr.Error() != wantErr.Error() {
			t.Fatalf("%q: error %q, encoding/json says %q", in, gotErr, wantErr)
		}
		return
	}
	// Times compare as instants (their *Location pointers may differ).
	if !sameReading(got, want) {
		t.Fatalf("%q:\n got %+v\nwant %+v", in, got, want)
	}
}

func sameReading(a, b message.Reading) bool {
	ta, tb := a.ObservedAt, b.ObservedAt
	ra, rb := a.ReceivedAt, b.ReceivedAt
	a.ObservedAt, b.ObservedAt, a.ReceivedAt, b.ReceivedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	return reflect.DeepEqual(a, b) && ta.Equal(tb) && ra.Equal(rb)
}

func TestDecodeReadingMatchesEncodingJSON(t *testing.T) {
	for _, c := range readingJSONCases {
		decodeSame(t, []byte(c))
	}
	for _, r := range readings(50, time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)) {
		b, _ := json.Marshal(r)
		decodeSame(t, b)
	}
}

func TestDecodeReadingTakesTheFastPathForGatewayOutput(t *testing.T) {
	lo := 0.5
	r := readings(1, time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC))[0]
	r.Min = &lo
	b, _ := json.Marshal(r)
	var got message.Reading
	if !fastReading(b, interner{}, &got) {
		t.Fatalf("json.Marshal output took the slow path: %s", b)
	}
	in := interner{}
	var a, c message.Reading
	_ = decodeReading(b, in, &a)
	_ = decodeReading(b, in, &c)
	if unsafe.StringData(a.Site) != unsafe.StringData(c.Site) {
		t.Error("the sites of one batch are not interned")
	}
}

func FuzzDecodeReadingMatchesEncodingJSON(f *testing.F) {
	for _, c := range readingJSONCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, in []byte) { decodeSame(t, in) })
}
