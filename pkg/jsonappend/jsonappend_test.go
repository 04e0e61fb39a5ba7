package jsonappend

import (
	"encoding/json"
	"math"
	"testing"
)

func TestFloatWritesWhatEncodingJSONWrites(t *testing.T) {
	values := []float64{0, 1, -1, 7.5, 0.1, 1e-6, 9.99e-7, 1e20, 1e21, 123456789.123, -3.5e-9,
		math.MaxFloat64, math.SmallestNonzeroFloat64, 0.6000000000000001, 3.4e38, 1.17549435e-38}
	for _, v := range values {
		std, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if got := Float(nil, v, 64); string(got) != string(std) {
			t.Errorf("float64 %v: got %s, encoding/json %s", v, got, std)
		}
		f32 := float32(v)
		if math.IsInf(float64(f32), 0) {
			continue
		}
		std32, err := json.Marshal(f32)
		if err != nil {
			t.Fatal(err)
		}
		if got := Float(nil, float64(f32), 32); string(got) != string(std32) {
			t.Errorf("float32 %v: got %s, encoding/json %s", f32, got, std32)
		}
	}
}

func TestStringWritesADocumentThatReadsBackTheSame(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"TTH-S2", `"TTH-S2"`},
		{"昌吉市", `"昌吉市"`},
		{"a\"b\\c\n\r\t\x01", `"a\"b\\c\n\r\t\u0001"`},
		{"\u2028\u2029", `"\u2028\u2029"`},
		{"bad \xff byte", `"bad \ufffd byte"`},
		{"<b>&</b>", `"<b>&</b>"`}, // encoding/json would write \u003c…; both read back the same
	}
	for _, tt := range tests {
		got := String(nil, tt.in)
		if string(got) != tt.want {
			t.Errorf("String(%q) = %s, want %s", tt.in, got, tt.want)
		}
		var back, std string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("String(%q) = %s does not parse: %v", tt.in, got, err)
		}
		b, _ := json.Marshal(tt.in)
		if err := json.Unmarshal(b, &std); err != nil {
			t.Fatal(err)
		}
		if back != std {
			t.Errorf("String(%q) reads back %q, encoding/json's %q", tt.in, back, std)
		}
	}
}
