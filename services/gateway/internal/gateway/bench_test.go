package gateway

import (
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/hj212"
)

// BenchmarkHandleMinuteFrame measures the gateway's own work on one 8-item minute frame
// from a decoded frame to the Kafka messages and the encoded answer (no network, no Kafka):
// parse, authenticate, validate, convert, build and marshal 8 readings.
func BenchmarkHandleMinuteFrame(b *testing.B) {
	h := newHarness(b, nil)
	codes := []string{"w01018", "w21003", "w21011", "w21001", "w01001", "w00000", "w01010", "w01009"}
	items := make([]hj212.Item, len(codes))
	for k, c := range codes {
		items[k] = hj212.Period(c, 7, 7.5, 8, "N")
	}
	at := testNow.Add(-time.Hour)
	cp, err := hj212.DataCP(at, shanghai, hj212.V2017, items)
	if err != nil {
		b.Fatal(err)
	}
	frames := make([][]byte, 1000)
	for i := range frames {
		p := hj212.Packet{QN: hj212.NewQN(at.Add(time.Duration(i)*time.Millisecond), shanghai), ST: "32", CN: hj212.CNMinute,
			PW: "654321", MN: outfallMN, Flag: hj212.NewFlag(hj212.V2017, true, false), CP: cp}
		if frames[i], err = hj212.Encode(p); err != nil {
			b.Fatal(err)
		}
	}
	s := h.gw.newSession(nil, "127.0.0.1:1", "127.0.0.1")
	s.rd = &deadlineReader{} // no connection: frames go to handle directly
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		s.out.reset()
		f := frames[i%len(frames)]
		s.handle(hj212.Frame{Data: f[6 : len(f)-6], Raw: f}, nil, testNow)
		if len(s.out.readings) != len(codes) {
			var why []string
			for _, r := range s.out.rejections {
				why = append(why, string(r.Value))
			}
			b.Fatalf("%d readings, %d rejections: %s", len(s.out.readings), len(s.out.rejections), why)
		}
		s.out.keys = s.out.keys[:0] // every frame a fresh one: do not let the batch's dedup keys grow
		i++
	}
	b.ReportMetric(float64(b.N*len(codes))/b.Elapsed().Seconds(), "readings/s")
}
