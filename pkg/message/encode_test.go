package message

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

// fillEveryField sets every field of a struct to a non-zero value, so that a field the
// fast encoder forgets shows up as a difference.
func fillEveryField(t *testing.T, v reflect.Value) {
	for i := range v.NumField() {
		f := v.Field(i)
		switch f.Kind() {
		case reflect.String:
			f.SetString("x" + v.Type().Field(i).Name)
		case reflect.Float64:
			f.SetFloat(float64(i) + 0.25)
		case reflect.Bool:
			f.SetBool(true)
		case reflect.Pointer:
			if f.Type().Elem().Kind() != reflect.Float64 {
				t.Fatalf("field %s: unhandled pointer type %s", v.Type().Field(i).Name, f.Type())
			}
			x := float64(i) + 0.5
			f.Set(reflect.ValueOf(&x))
		case reflect.Struct:
			if f.Type() != reflect.TypeOf(time.Time{}) {
				t.Fatalf("field %s: unhandled struct %s", v.Type().Field(i).Name, f.Type())
			}
			f.Set(reflect.ValueOf(time.Date(2024, 6, 1, 1, 2, 3, i*1000, time.UTC)))
		default:
			t.Fatalf("field %s of kind %s: teach fillEveryField and AppendReadingJSON about it", v.Type().Field(i).Name, f.Kind())
		}
	}
}

func TestAppendReadingMatchesEncodingJSON(t *testing.T) {
	var full Reading
	fillEveryField(t, reflect.ValueOf(&full).Elem())
	lo, hi := -0.0, 1e-7
	cases := []Reading{
		full,
		{}, // every omitempty field empty
		{ID: "a", Site: "STH-S2", Station: "昌吉市监测站\"实验室\"\\\n\t\x01\u2028\xff", Parameter: "hg", Value: 0.00005, Unit: "mg/L",
			Min: &lo, Max: &hi, Interval: "hour", Flag: "N", ObservedAt: time.Date(2024, 6, 1, 1, 0, 0, 0, time.UTC),
			ReceivedAt: time.Date(2024, 6, 1, 2, 3, 4, 567e6, time.UTC), Source: "hj212"},
	}
	cases = append(cases, Reading{Station: "<b>a&b</b>"}) // encoding/json escapes HTML; the documents agree
	for _, v := range []float64{0, 1, -1, 7.5, 0.1, 1e-6, 9.99e-7, 1e20, 1e21, 123456789.123, -3.5e-9, math.MaxFloat64, math.SmallestNonzeroFloat64} {
		cases = append(cases, Reading{Value: v})
	}
	for i, r := range cases {
		fast := AppendReadingJSON(nil, &r)
		std, err := json.Marshal(&r)
		if err != nil {
			t.Fatal(err)
		}
		var a, b Reading
		if err := json.Unmarshal(fast, &a); err != nil {
			t.Fatalf("case %d: fast JSON %s does not parse: %v", i, fast, err)
		}
		if err := json.Unmarshal(std, &b); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Errorf("case %d: fast JSON decodes to\n%+v\nencoding/json to\n%+v\nfast: %s\nstd:  %s", i, a, b, fast, std)
		}
		if string(fast) != string(std) && !strings.ContainsAny(r.Station, "<>&") {
			t.Errorf("case %d: bytes differ:\nfast: %s\nstd:  %s", i, fast, std)
		}
	}
}

func BenchmarkAppendReading(b *testing.B) {
	v := 0.8
	at := time.Date(2024, 6, 1, 2, 0, 0, 0, time.UTC)
	r := Reading{ID: "0123456789abcdef0123456789abcdef", Site: "STH-S2", Station: "65230100000002", Parameter: "nh3n",
		Value: 1.25, Unit: "mg/L", Min: &v, Max: &v, Interval: "min", Flag: "N", ObservedAt: at, ReceivedAt: at, Source: "hj212"}
	b.Run("AppendReadingJSON", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			buf = AppendReadingJSON(buf[:0], &r)
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			json.Marshal(&r)
		}
	})
}
