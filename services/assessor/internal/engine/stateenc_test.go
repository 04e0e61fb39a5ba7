package engine

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
)

// fillScalars sets every scalar field of the struct v points to from rng, zero about a
// third of the time (so omitempty is exercised both ways), and fails on a field kind it
// does not know: a new kind of field needs appendRecordJSON taught about it.
func fillScalars(t *testing.T, rng *rand.Rand, v reflect.Value, skip ...string) {
	t.Helper()
	for i := 0; i < v.NumField(); i++ {
		name, f := v.Type().Field(i).Name, v.Field(i)
		if contains(skip, name) {
			continue
		}
		zero := rng.IntN(3) == 0
		switch f.Kind() {
		case reflect.String:
			if !zero {
				f.SetString([]string{"TTH-S2", "nh3n", "昌吉\"市\"\n", "\xff<&>"}[rng.IntN(4)])
			}
		case reflect.Bool:
			f.SetBool(!zero)
		case reflect.Int8, reflect.Int32, reflect.Int64:
			if !zero {
				bits := min(f.Type().Bits(), 62)
				f.SetInt(rng.Int64N(1<<(bits-1)) - rng.Int64N(1<<(bits-2)))
			}
		case reflect.Uint8, reflect.Uint16, reflect.Uint32:
			if !zero {
				f.SetUint(rng.Uint64N(1 << f.Type().Bits()))
			}
		case reflect.Float64:
			if !zero {
				f.SetFloat([]float64{rng.NormFloat64() * 10, 1e-7, 0.6000000000000001, -3.25, 1e21}[rng.IntN(5)])
			}
		case reflect.Slice:
			if f.Type().Elem().Kind() != reflect.Float32 {
				t.Fatalf("field %s: a slice of %s; teach appendRecordJSON about it", name, f.Type().Elem())
			}
			if !zero {
				ring := make([]float32, 1+rng.IntN(30))
				for j := range ring {
					ring[j] = float32(rng.NormFloat64() * 5)
				}
				ring[0] = 1e-7
				f.Set(reflect.ValueOf(ring))
			}
		default:
			t.Fatalf("field %s of kind %s: teach fillScalars and appendRecordJSON about it", name, f.Kind())
		}
	}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}

func TestAppendRecordJSONMatchesEncodingJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var records []Record
	records = append(records, Record{Series: &SeriesState{}}, Record{Station: &StationState{}})
	for range 500 {
		var s SeriesState
		fillScalars(t, rng, reflect.ValueOf(&s).Elem(), "Preds", "Verifying")
		var st StationState
		fillScalars(t, rng, reflect.ValueOf(&st).Elem())
		records = append(records, Record{Key: "s|x|y", Series: &s}, Record{Key: "t|x", Station: &st})
	}
	for i, r := range records {
		fast, ok := appendRecordJSON(nil, &r)
		if !ok {
			t.Fatalf("record %d: not written by hand", i)
		}
		std, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		var a, b Record
		if err := json.Unmarshal(fast, &a); err != nil {
			t.Fatalf("record %d: %s does not parse: %v", i, fast, err)
		}
		if err := json.Unmarshal(std, &b); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("record %d decodes differently:\nfast: %s\nstd:  %s", i, fast, std)
		}
		// encoding/json escapes <, > and & where jsonappend does not; otherwise the bytes agree.
		if string(fast) != string(std) && !reflect.DeepEqual(stripHTMLEscapes(std), fast) {
			t.Fatalf("record %d: bytes differ:\nfast: %s\nstd:  %s", i, fast, std)
		}
	}
}

func stripHTMLEscapes(b []byte) []byte {
	var out []byte
	for i := 0; i < len(b); i++ {
		if i+6 <= len(b) && b[i] == '\\' && b[i+1] == 'u' && b[i+2] == '0' && b[i+3] == '0' {
			switch string(b[i+4 : i+6]) {
			case "3c":
				out, i = append(out, '<'), i+5
				continue
			case "3e":
				out, i = append(out, '>'), i+5
				continue
			case "26":
				out, i = append(out, '&'), i+5
				continue
			}
		}
		out = append(out, b[i])
	}
	return out
}

func TestEncodeRecordLeavesTheOtherRecordsToEncodingJSON(t *testing.T) {
	tests := []struct {
		name string
		rec  Record
	}{
		{"a series with a prediction", Record{Series: &SeriesState{Site: "a", Preds: []PredictionState{{Site: "b", Travel: 60}}}}},
		{"a series verifying a prediction", Record{Series: &SeriesState{Site: "a", Verifying: []PredictionState{{Site: "b"}}}}},
		{"a reach", Record{Reach: &ReachState{}}},
		{"a value JSON cannot hold", Record{Series: &SeriesState{Site: "a", Ring: []float32{float32(math.Inf(1))}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, ok := appendRecordJSON(nil, &tt.rec); ok {
				t.Fatal("written by hand; want encoding/json")
			}
			_, got, err := EncodeRecord(tt.rec)
			want, wantErr := json.Marshal(tt.rec)
			if (err != nil) != (wantErr != nil) || string(got) != string(want) {
				t.Fatalf("EncodeRecord = %s, %v; json.Marshal = %s, %v", got, err, want, wantErr)
			}
		})
	}
}

func BenchmarkEncodeSeriesRecord(b *testing.B) {
	s := SeriesState{Site: "TTH-S2", Parameter: "nh3n", Partition: 3, Offset: 123456, Newest: 1733280000000,
		LastRtd: 1733280000000, LastGood: 1733280000000, LastValue: 0.82, LastMeets: true, Phase: 1, Quality: 2,
		RunN: 3, LastOK: 1733280000000, LastClass: 3, Ring: make([]float32, 24)}
	for i := range s.Ring {
		s.Ring[i] = 0.8 + float32(i)/100
	}
	r := Record{Key: "s|TTH-S2|nh3n", Series: &s}
	b.Run("appendRecordJSON", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			EncodeRecord(r)
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			json.Marshal(r)
		}
	})
}
