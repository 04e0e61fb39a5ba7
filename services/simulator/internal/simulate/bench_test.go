package simulate

import (
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/hj212"
)

// BenchmarkWorldValue measures one simulated value at a site downstream of a spill (the
// model plus the plume): the cost that bounds how many stations a fleet can simulate.
func BenchmarkWorldValue(b *testing.B) {
	net := repoNetwork(b)
	sc := repoScenario(b, net, "spill")
	start := time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
	w := NewWorld(net, NewModel(net, sc.Seed), sc, start)
	site := mustSite(b, net, "STH-D2")
	at := start.Add(6 * time.Hour)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		w.Value(site, "nh3n", at.Add(time.Duration(i%3600)*time.Second))
	}
}

// BenchmarkEncodeUpload measures building one real-time upload of a river station (eight
// parameters): values, CP, packet, frame with CRC.
func BenchmarkEncodeUpload(b *testing.B) {
	net := repoNetwork(b)
	sc := repoScenario(b, net, "spill")
	start := time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
	w := NewWorld(net, NewModel(net, sc.Seed), sc, start)
	site := mustSite(b, net, "STH-S2")
	chs, err := channels(w.model.Parameters(site))
	if err != nil {
		b.Fatal(err)
	}
	items := make([]hj212.Item, len(chs))
	var buf []byte
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		at := start.Add(time.Duration(i) * 5 * time.Minute)
		for j, ch := range chs {
			items[j] = hj212.Rtd(ch.code, round(w.Value(site, ch.param, at)*ch.factor, ch.dec), hj212.DataFlagNormal)
		}
		cp, err := hj212.DataCP(at, net.Location, hj212.V2017, items)
		if err != nil {
			b.Fatal(err)
		}
		p := hj212.Packet{QN: hj212.NewQN(at, net.Location), ST: "21", CN: "2011", PW: "123456", MN: site.Station.MN, Flag: 5, CP: cp}
		if buf, err = hj212.AppendEncode(buf[:0], p); err != nil {
			b.Fatal(err)
		}
	}
}
