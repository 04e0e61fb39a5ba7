package hj212

import (
	"bytes"
	"io"
	"strconv"
	"testing"
	"time"
)

// minuteFrame is an outfall's minute upload with n items, as the load check sends it.
func minuteFrame(tb testing.TB, n int) []byte {
	tb.Helper()
	items := make([]Item, n)
	for i := range items {
		items[i] = Period("w0"+strconv.Itoa(1000+i), 1.25, 2.5, 3.75, "N")
	}
	cp, err := DataCP(time.Date(2024, 6, 1, 1, 0, 0, 0, time.UTC), shanghai, V2017, items)
	if err != nil {
		tb.Fatal(err)
	}
	b, err := Encode(Packet{QN: "20240601090100000", ST: "32", CN: CNMinute, PW: "123456", MN: "65230100000101", Flag: NewFlag(V2017, true, false), CP: cp})
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// BenchmarkDecode measures framing and CRC of a stream of 8-item minute frames.
func BenchmarkDecode(b *testing.B) {
	frame := minuteFrame(b, 8)
	stream := bytes.Repeat(frame, 100)
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	r := bytes.NewReader(stream)
	d := NewDecoder(r, 0)
	for b.Loop() {
		r.Reset(stream)
		for {
			if _, err := d.Next(); err != nil {
				if err != io.EOF {
					b.Fatal(err)
				}
				break
			}
		}
	}
}

// BenchmarkParsePacket measures the header fields of one frame.
func BenchmarkParsePacket(b *testing.B) {
	data := minuteFrame(b, 8)
	data = data[6 : len(data)-6]
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParsePacket(data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseCP measures the CP syntax of an 8-item minute upload (reusing the slice, as
// the gateway does).
func BenchmarkParseCP(b *testing.B) {
	data := minuteFrame(b, 8)
	p, err := ParsePacket(data[6 : len(data)-6])
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(p.CP)))
	b.ReportAllocs()
	var fs []Field
	for b.Loop() {
		if fs, err = AppendCP(fs[:0], p.CP); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseData measures a whole data upload's CP into items (8 readings per op).
func BenchmarkParseData(b *testing.B) {
	data := minuteFrame(b, 8)
	p, err := ParsePacket(data[6 : len(data)-6])
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseData(p.CP, V2017, shanghai); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*8)/b.Elapsed().Seconds(), "items/s")
}

// BenchmarkEncode measures building a frame, as the simulator does.
func BenchmarkEncode(b *testing.B) {
	data := minuteFrame(b, 8)
	p, err := ParsePacket(data[6 : len(data)-6])
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var buf []byte
	for b.Loop() {
		if buf, err = AppendEncode(buf[:0], p); err != nil {
			b.Fatal(err)
		}
	}
}
