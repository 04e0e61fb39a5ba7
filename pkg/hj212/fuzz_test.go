package hj212

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

// chunkReader returns at most n bytes per Read, so that fuzzing also varies how a stream is
// cut into reads.
type chunkReader struct {
	r io.Reader
	n int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(p) > c.n {
		p = p[:c.n]
	}
	return c.r.Read(p)
}

// FuzzDecode feeds arbitrary bytes, cut into reads of arbitrary size, through the whole
// receive path: Decoder, ParsePacket, ParseData, and the encoder on what parsed. It checks
// that nothing panics, that memory stays bounded (the Decoder's buffer never grows; every
// refusal keeps at most 2 KiB), that every byte is accounted for, and that a packet that
// parsed re-encodes to a frame that parses to the same packet.
//
// Long run: go test ./pkg/hj212 -run '^$' -fuzz '^FuzzDecode$' -fuzztime 10m
func FuzzDecode(f *testing.F) {
	for _, s := range []string{exampleStandard, exampleRealtime, exampleHour, exampleResponse,
		exampleStandard + exampleHour, "junk" + exampleStandard + "\r\n", "##0101" + exampleStandard[6:50],
		"##0000FFFF\r\n", "##99", "####0101", strings.Replace(exampleHour, "D801", "d801", 1)} {
		f.Add([]byte(s), uint16(7), uint16(0))
	}
	f.Fuzz(func(t *testing.T, in []byte, chunk, maxData uint16) {
		n := int(chunk)%4096 + 1
		d := NewDecoder(&chunkReader{r: bytes.NewReader(in), n: n}, int(maxData))
		bufCap := cap(d.buf)
		accounted := 0
		for range len(in) + 2 {
			fr, err := d.Next()
			if cap(d.buf) != bufCap {
				t.Fatalf("decoder buffer grew from %d to %d", bufCap, cap(d.buf))
			}
			var fe *FrameError
			switch {
			case err == nil:
				accounted += len(fr.Raw)
				checkPacket(t, fr.Data)
				continue
			case errors.As(err, &fe):
				if len(fe.Raw) > maxRawErr || fe.Err.Reason == "" {
					t.Fatalf("refusal %v keeps %d raw bytes", fe, len(fe.Raw))
				}
				continue
			case err == io.EOF:
			default:
				t.Fatalf("unexpected error %v", err)
			}
			break
		}
		if accounted > len(in) {
			t.Fatalf("frames hold %d bytes of a %d-byte input", accounted, len(in))
		}
	})
}

func checkPacket(t *testing.T, data []byte) {
	t.Helper()
	p, err := ParsePacket(data)
	if err != nil {
		if ReasonOf(err) == "" {
			t.Fatalf("ParsePacket error without a reason: %v", err)
		}
		return
	}
	enc, err := Encode(p)
	if err != nil {
		t.Fatalf("a parsed packet does not encode: %v\n%+v", err, p)
	}
	q, err := ParsePacket(enc[headerLen : len(enc)-trailerLen])
	if err != nil || q != p {
		t.Fatalf("re-encoded packet parses to %+v (%v), want %+v", q, err, p)
	}
	if d, err := ParseData(p.CP, p.Version(), time.UTC); err == nil {
		for _, it := range d.Items {
			if it.Err != nil && it.Err.Reason == "" {
				t.Fatalf("item error without a reason: %+v", it)
			}
		}
	}
}

// FuzzParseCP checks that ParseCP never panics, that what it accepts is rebuilt exactly from
// its fields, that the fields are bounded by the input, and that ParseData on it either
// refuses with a reason or returns items whose codes are in the CP.
//
// Long run: go test ./pkg/hj212 -run '^$' -fuzz '^FuzzParseCP$' -fuzztime 10m
func FuzzParseCP(f *testing.F) {
	for _, s := range []string{"", "RtdInterval=30", dataOf(exampleRealtime)[strings.Index(dataOf(exampleRealtime), "&&")+2 : len(dataOf(exampleRealtime))-2],
		"DataTime=20240601090000;w01018-Avg=1.5,w01018-Flag=N", "a=1;;b", "a=1,a=2", "DataTime=20240631090000;x-Rtd=1e5",
		"DataTime=20240601090000;w01018-Rtd=-0.5,w01018-Flag=T;w01019-ZsRtd=1,w01019-EFlag=A1,w01019-SampleTime=20240601085959"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, cp string) {
		fs, err := ParseCP(cp)
		if err != nil {
			if ReasonOf(err) != ReasonBadCP {
				t.Fatalf("ParseCP error %v without reason bad_cp", err)
			}
			return
		}
		if len(fs) > len(cp)/2+1 {
			t.Fatalf("%d fields from %d bytes", len(fs), len(cp))
		}
		var b strings.Builder
		for i, fd := range fs {
			if i > 0 {
				if fd.Group != fs[i-1].Group {
					b.WriteByte(';')
				} else {
					b.WriteByte(',')
				}
			}
			b.WriteString(fd.Key + "=" + fd.Value)
		}
		if b.String() != cp {
			t.Fatalf("fields rebuild %q, want %q", b.String(), cp)
		}
		for _, v := range []Version{V2005, V2017} {
			d, err := ParseData(cp, v, time.UTC)
			if err != nil {
				if ReasonOf(err) != ReasonBadCP {
					t.Fatalf("ParseData error %v without reason bad_cp", err)
				}
				continue
			}
			for _, it := range d.Items {
				if !strings.Contains(cp, it.Code+"-") || !strings.Contains(cp, it.Raw) {
					t.Fatalf("item %+v not in the CP", it)
				}
			}
		}
	})
}

// FuzzMaskPassword checks that a data segment the codec accepts keeps no password once
// masked: it still parses, with PW "***", and its other fields unchanged.
func FuzzMaskPassword(f *testing.F) {
	for _, s := range []string{dataOf(exampleStandard), dataOf(exampleHour), dataOf(exampleResponse),
		"QN=20240601100000000;ST=21;CN=1072;PW=123456;MN=M1;Flag=5;CP=&&NewPW=654321&&", "PW=PW=PW;"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, seg string) {
		masked := MaskPassword(seg)
		p, err := ParsePacket([]byte(seg))
		if err != nil {
			return
		}
		q, err := ParsePacket([]byte(masked))
		if err != nil {
			t.Fatalf("masked segment %q no longer parses: %v", masked, err)
		}
		if q.PW != "***" || q.MN != p.MN || q.QN != p.QN || q.CN != p.CN {
			t.Fatalf("masked %q: PW %q MN %q QN %q CN %q; want PW *** and the rest of %q", masked, q.PW, q.MN, q.QN, q.CN, seg)
		}
	})
}
