package message

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
	"unsafe"
)

var readingJSONCases = []string{
	`{"id":"a1","site":"STH-S2","station":"65230100000002","parameter":"cod","value":21.5,"unit":"mg/L","min":1,"max":30.25,"interval":"hour","flag":"N","observed_at":"2025-06-01T08:00:00Z","received_at":"2025-06-01T08:00:02.123456789+08:00","source":"hj212"}`,
	` { "site" : "S1" , "parameter":"ph", "value": -0.5e-3 , "observed_at":"2025-06-01T08:00:00.5Z" } `,
	`{}`,
	`{"site":"S1","backfill":true}`,
	`{"site":"S1","backfill":false,"source":"hj212"}`,
	`{"site":"S1","backfill":null}`,
	`{"site":"S1","backfill":true,"backfill":null}`, // null leaves it as it was
	`{"site":"S1","backfill":1}`,                    // wrong type
	`{"site":"S1","backfill":"true"}`,               // wrong type
	`{"site":"S1","backfill":tru}`,                  // bad literal
	`{"site":"S1","value":0.01,"below_dl":true}`,
	`{"site":"S1","below_dl":false}`,
	`{"site":"S1","below_dl":true,"below_dl":null}`, // null leaves it as it was
	`{"site":"S1","below_dl":"L"}`,                  // wrong type
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

// decodeSame checks that DecodeReading gives exactly what json.Unmarshal gives.
func decodeSame(t *testing.T, in []byte) {
	t.Helper()
	var want, got Reading
	wantErr := json.Unmarshal(in, &want)
	gotErr := DecodeReadingInterned(in, Interner{}, &got)
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

func sameReading(a, b Reading) bool {
	ta, tb := a.ObservedAt, b.ObservedAt
	ra, rb := a.ReceivedAt, b.ReceivedAt
	a.ObservedAt, b.ObservedAt, a.ReceivedAt, b.ReceivedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	return reflect.DeepEqual(a, b) && ta.Equal(tb) && ra.Equal(rb)
}

func TestDecodeReadingMatchesEncodingJSON(t *testing.T) {
	for _, c := range readingJSONCases {
		decodeSame(t, []byte(c))
	}
	for _, r := range sampleReadings(50, time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)) {
		b, _ := json.Marshal(r)
		decodeSame(t, b)
	}
}

func TestDecodeReadingTakesTheFastPathForGatewayOutput(t *testing.T) {
	lo := 0.5
	r := sampleReadings(1, time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC))[0]
	r.Min = &lo
	b, _ := json.Marshal(r)
	var got Reading
	if !fastReading(b, Interner{}, &got) {
		t.Fatalf("json.Marshal output took the slow path: %s", b)
	}
	in := Interner{}
	var a, c Reading
	_ = DecodeReadingInterned(b, in, &a)
	_ = DecodeReadingInterned(b, in, &c)
	if unsafe.StringData(a.Site) != unsafe.StringData(c.Site) {
		t.Error("the sites of one batch are not interned")
	}
}

func TestDecodeReadingResetsTheReading(t *testing.T) {
	lo := 1.0
	r := Reading{Site: "old", Min: &lo, Station: "old"}
	if err := DecodeReading([]byte(`{"site":"S1","parameter":"cod"}`), &r); err != nil {
		t.Fatal(err)
	}
	if r.Station != "" || r.Min != nil || r.Site != "S1" {
		t.Errorf("fields of the previous reading survived: %+v", r)
	}
}

func TestDecodeReadingWithoutInternerCopiesStrings(t *testing.T) {
	b := []byte(`{"site":"S1","parameter":"cod"}`)
	var r Reading
	if err := DecodeReading(b, &r); err != nil {
		t.Fatal(err)
	}
	copy(b[9:11], "XX") // the caller may reuse its buffer
	if r.Site != "S1" {
		t.Errorf("site %q aliases the input", r.Site)
	}
}

// sampleReadings are n readings of a few sites and parameters, one minute apart.
func sampleReadings(n int, base time.Time) []Reading {
	sites, params := []string{"STH-S1", "STH-S2", "TTH-T1"}, []string{"cod", "nh3n", "ph"}
	out := make([]Reading, 0, n)
	for i := range n {
		site, param := sites[i%len(sites)], params[(i/len(sites))%len(params)]
		at := base.Add(time.Duration(i) * time.Minute)
		flag := FlagNormal
		if i%7 == 3 {
			flag = "D"
		}
		out = append(out, Reading{
			ID: ReadingID(site, param, IntervalMinute, at), Site: site, Station: "mn-" + site,
			Parameter: param, Value: float64(i%97) / 10, Unit: "mg/L", Interval: IntervalMinute,
			Flag: flag, ObservedAt: at, ReceivedAt: at.Add(2 * time.Second), Source: SourceHJ212,
		})
	}
	return out
}

func BenchmarkDecodeReading(b *testing.B) {
	data, _ := json.Marshal(sampleReadings(1, time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC))[0])
	benchDecoders(b, data, "Reading", DecodeReadingInterned)
}

// benchDecoders times a hand decoder of T, interned and not, against encoding/json on data.
func benchDecoders[T any](b *testing.B, data []byte, name string, decode func([]byte, Interner, *T) error) {
	b.Run("Decode"+name+"Interned", func(b *testing.B) {
		b.ReportAllocs()
		in := Interner{}
		var v T
		for b.Loop() {
			if err := decode(data, in, &v); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Decode"+name, func(b *testing.B) {
		b.ReportAllocs()
		var v T
		for b.Loop() {
			if err := decode(data, nil, &v); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var v T
			if err := json.Unmarshal(data, &v); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func FuzzDecodeReadingMatchesEncodingJSON(f *testing.F) {
	for _, c := range readingJSONCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, in []byte) { decodeSame(t, in) })
}
