package simulate

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/hj212"
	"github.com/riverwatch/riverwatch/pkg/network"
)

// The whole fleet plays the spill scenario, fast, against a stand-in gateway: every
// station reports on its schedule with valid frames, and the outfall's monitor shows the
// spill.
func TestFleetPlaysTheSpillScenarioOverHJ212(t *testing.T) {
	net := repoNetwork(t)
	sc := repoScenario(t, net, "spill")
	sc.Hourly, sc.MinuteInterval = true, 10*time.Minute // every kind of upload
	host := newFakeHost(t)
	start := time.Now()
	clock := NewClock(start, sc.Span, 40000) // 19 simulated hours in under two seconds
	var out bytes.Buffer
	f := &Fleet{
		World: NewWorld(net, NewModel(net, sc.Seed), sc, clock.SimStart), Clock: clock, Addr: host.addr(),
		Out: &out, Log: quietLog(), Metrics: NewMetrics(nil),
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := f.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if s := f.Stats(); s.Acked != f.Sent() || s.Pending != 0 || s.GivenUp != 0 {
		t.Fatalf("sent %d, stats %+v: want every upload acknowledged", f.Sent(), s)
	}
	if host.bad != 0 {
		t.Fatalf("the host refused %d frames", host.bad)
	}
	type key struct{ mn, cn string }
	count := map[key]int{}
	var spillSeen bool
	for _, p := range host.packets() {
		site, ok := net.SiteByMN(p.MN)
		if !ok {
			t.Fatalf("unknown MN %s", p.MN)
		}
		count[key{p.MN, p.CN}]++
		wantST := hj212.STSurfaceWater
		if site.Kind == network.KindOutfall {
			wantST = hj212.STWaterPollution
		}
		if p.ST != wantST || p.PW != site.Station.Password || !p.WantsAck() || p.Version() != hj212.V2017 {
			t.Fatalf("%s: ST %s PW %s Flag %d", site.ID, p.ST, p.PW, p.Flag)
		}
		d, err := hj212.ParseData(p.CP, p.Version(), net.Location)
		if err != nil {
			t.Fatalf("%s CN %s: %v", site.ID, p.CN, err)
		}
		if d.DataTime.After(clock.End()) || d.DataTime.After(start) {
			t.Fatalf("%s sent DataTime %v, after the wall clock's start %v", site.ID, d.DataTime, start)
		}
		for _, it := range d.Items {
			if it.Err != nil {
				t.Fatalf("%s: item %s: %v", site.ID, it.Code, it.Err)
			}
			if site.ID == "STH-O1" && it.Code == "w21003" && p.CN == hj212.CNRealtime && it.Rtd.V > 0.9*sc.Timeline[0].Concentration {
				spillSeen = true
			}
			if usual := site.FlowM3S * 1000; it.Code == "w00000" && p.CN == hj212.CNRealtime && (it.Rtd.V < 0.6*usual || it.Rtd.V > 1.4*usual) {
				t.Errorf("%s flow %v L/s: want its %v L/s ± the daily swing", site.ID, it.Rtd.V, usual)
			}
		}
		if p.CN == hj212.CNHour && (d.DataTime.Minute() != 0 || d.Items[0].Avg.Set == false) {
			t.Errorf("%s hourly data at %v without an hour's mean", site.ID, d.DataTime)
		}
	}
	if !spillSeen {
		t.Errorf("the outfall's monitor never showed the spill (%v mg/L ammonia)", sc.Timeline[0].Concentration)
	}
	rtd := int(sc.Span / sc.RealtimeInterval)
	for _, site := range net.Sites() {
		mn := site.Station.MN
		if n := count[key{mn, hj212.CNRealtime}]; n < rtd-1 || n > rtd+1 {
			t.Errorf("%s sent %d real-time uploads, want about %d", site.ID, n, rtd)
		}
		if hours := int(sc.Span / time.Hour); count[key{mn, hj212.CNHour}] < hours-1 || count[key{mn, hj212.CNHour}] > hours {
			t.Errorf("%s sent %d hourly uploads, want about %d over %v", site.ID, count[key{mn, hj212.CNHour}], hours, sc.Span)
		}
		wantMin := 0
		if site.Kind == network.KindOutfall {
			wantMin = int(sc.Span / sc.MinuteInterval)
		}
		if n := count[key{mn, hj212.CNMinute}]; n < wantMin-1 || n > wantMin+1 {
			t.Errorf("%s sent %d minute uploads, want about %d", site.ID, n, wantMin)
		}
	}
	if !strings.Contains(out.String(), "spill begins at STH-O1") {
		t.Errorf("timeline output lacks the spill:\n%s", out.String())
	}
}

func TestSilentStationBackfillsWhenItsLinkReturns(t *testing.T) {
	net := repoNetwork(t)
	sc := repoScenario(t, net, "station-silent")
	sc.Sites = []string{"TTH-S2", "TTH-S3"}
	host := newFakeHost(t)
	clock := NewClock(time.Now(), sc.Span, 20000)
	f := &Fleet{World: NewWorld(net, NewModel(net, sc.Seed), sc, clock.SimStart), Clock: clock, Addr: host.addr(), Log: quietLog()}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := f.Run(ctx); err != nil {
		t.Fatal(err)
	}
	h := sc.Timeline[0]
	outageStart, outageEnd := clock.SimStart.Add(h.At), clock.SimStart.Add(h.End())
	var during, late int
	for _, p := range host.packets() {
		if p.MN != mustSite(t, net, "TTH-S2").Station.MN || p.CN != hj212.CNRealtime {
			continue
		}
		d, err := hj212.ParseData(p.CP, p.Version(), net.Location)
		if err != nil {
			t.Fatal(err)
		}
		if !d.DataTime.Before(outageStart) && d.DataTime.Before(outageEnd) {
			during++
		}
		if d.DataTime.After(outageEnd) {
			late++
		}
	}
	if want := int(h.Duration / sc.RealtimeInterval); during != want {
		t.Errorf("backfilled %d real-time uploads of the outage, want %d", during, want)
	}
	if late == 0 {
		t.Error("nothing sent after the outage")
	}
}

func TestAStationReportsAtTheIntervalTheHostSetsFromTheCommandOn(t *testing.T) {
	net := repoNetwork(t)
	sc := repoScenario(t, net, "spill")
	sc.Hourly, sc.MinuteInterval = false, 0 // real-time data only: its gaps are the interval
	host := newFakeHost(t)
	clock := NewClock(time.Now(), sc.Span, 3000) // 5 simulated minutes in 0.1 s
	var story syncBuffer
	f := &Fleet{World: NewWorld(net, NewModel(net, sc.Seed), sc, clock.SimStart), Clock: clock, Addr: host.addr(), Log: quietLog(), Out: &story}
	site := mustSite(t, net, "TTH-S2")
	s, err := f.newStation(site, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	done := make(chan struct{}, 2)
	go func() { s.logger.Run(ctx); done <- struct{}{} }()
	go func() { s.run(ctx); done <- struct{}{} }()
	defer func() { cancel(); <-done; <-done }()

	times := func() []time.Time {
		var out []time.Time
		for _, p := range host.packets() {
			if p.CN == hj212.CNRealtime {
				d, err := hj212.ParseData(p.CP, p.Version(), net.Location)
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, d.DataTime)
			}
		}
		return out
	}
	waitFor(t, "three real-time uploads", func() bool { return len(times()) >= 3 })
	tg := hj212.Target{ST: hj212.STSurfaceWater, MN: site.Station.MN, PW: site.Station.Password, Version: hj212.V2017}
	cmd, err := hj212.SetRtdInterval(tg, 60, clock.Now().Add(time.Hour), net.Location)
	if err != nil {
		t.Fatal(err)
	}
	host.command(cmd)
	waitFor(t, "the 9012", func() bool { return len(host.answersTo(cmd.QN)) == 2 })
	before := len(times())
	waitFor(t, "five uploads after the command", func() bool { return len(times()) >= before+5 })
	got := times()
	gap := func(i int) time.Duration { return got[i].Sub(got[i-1]) }
	for i := 1; i < 3; i++ {
		if gap(i) != 5*time.Minute {
			t.Errorf("gap %d before the command %v, want the scenario's 5m", i, gap(i))
		}
	}
	for i := before + 1; i < before+5; i++ {
		if gap(i) != time.Minute {
			t.Errorf("gap %d after the command %v, want the 60 s it set", i, gap(i))
		}
	}
	if a := host.answersTo(cmd.QN); a[0].CP != "QnRtn=1" || a[1].CP != "ExeRtn=1" {
		t.Errorf("answers %s, %s", a[0].CP, a[1].CP)
	}
	// The narration tells the rate rising: measured before, set after.
	line := story.String()
	if !strings.Contains(line, "▶ 加密监测 reporting rate raised at TTH-S2") || !strings.Contains(line, "every 1m0s, was 5m0s") ||
		!strings.Contains(line, "(12/h)") || !strings.Contains(line, "60/h from now") {
		t.Errorf("narration %q, want the raise at TTH-S2 from a measured 12/h to 60/h", line)
	}
}

// String returns what was written (syncBuffer: integration_test.go).
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func TestAStationCarriesOutTheHostCommandsItSupports(t *testing.T) {
	net := repoNetwork(t)
	sc := repoScenario(t, net, "spill")
	clock := NewClock(time.Now(), sc.Span, 1)
	f := &Fleet{World: NewWorld(net, NewModel(net, sc.Seed), sc, clock.SimStart), Clock: clock, Log: quietLog()}
	s, err := f.newStation(mustSite(t, net, "TTH-S2"), quietLog())
	if err != nil {
		t.Fatal(err)
	}
	loc := f.World.model.loc
	hostNow := time.Now().Truncate(time.Second) // the gateway's clock, a span ahead of the scenario's
	newKey, err := hj212.ParseSM4Key("5a1c7e93b2d04f68a9e3c1b7d5f20846")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, cn, cp string
		report       string // prefix of the report; "" for none
		err          error  // nil, ErrUnsupportedCommand, or errAny
		check        func() bool
	}{
		{"1062 sets the real-time interval in seconds", hj212.CNSetRtdInterval, "RtdInterval=30", "", nil,
			func() bool { return time.Duration(s.rtdEvery.Load()) == 30*time.Second }},
		{"1064 sets the minute interval in minutes", hj212.CNSetMinInterval, "MinInterval=5", "", nil,
			func() bool { return time.Duration(s.minEvery.Load()) == 5*time.Minute }},
		{"1062 out of range fails and changes nothing", hj212.CNSetRtdInterval, "RtdInterval=0", "", errAny,
			func() bool { return time.Duration(s.rtdEvery.Load()) == 30*time.Second }},
		{"3015 retains a sample in the first bottle", hj212.CNRetainSample, "", "DataTime=", nil,
			func() bool { return s.vases.Load() == 1 }},
		{"3015 again takes the next bottle", hj212.CNRetainSample, "", "DataTime=", nil,
			func() bool { return s.vases.Load() == 2 }},
		{"1011 reports the station's time", hj212.CNGetTime, "", "SystemTime=" + hj212.FormatTime(clock.Now(), loc)[:10], nil, func() bool { return true }},
		{"1012 shifts the logger's clock to the host's time", hj212.CNSetTime, "SystemTime=" + hj212.FormatTime(hostNow, loc), "", nil,
			func() bool { d := s.loggerNow().Sub(hostNow); return d > -2*time.Second && d < 2*time.Second }},
		{"1011 then reports the host's time", hj212.CNGetTime, "", "SystemTime=" + hj212.FormatTime(hostNow, loc)[:12], nil, func() bool { return true }},
		{"1012 without a valid time fails", hj212.CNSetTime, "SystemTime=2026", "", errAny, func() bool { return true }},
		{"3020 of an instrument the station has", hj212.CNGetInfo, "PolId=" + s.channels[0].code + ";InfoId=i12001", "DataTime=", nil, func() bool { return true }},
		{"3020 of the logger itself", hj212.CNGetInfo, "InfoId=i11001", "DataTime=", nil, func() bool { return true }},
		{"3020 of an instrument it does not have fails", hj212.CNGetInfo, "PolId=a21026;InfoId=i12001", "", errAny, func() bool { return true }},
		{"1014 puts the new key first", hj212.CNSetKey, "NewKey=5A1C7E93B2D04F68A9E3C1B7D5F20846;DataTime=20260310120000", "", nil,
			func() bool { k := s.sm4Keys(); return len(k) == 1 && k[0].Equal(newKey) }},
		{"1014 without a key fails", hj212.CNSetKey, "DataTime=20260310120000", "", errAny, func() bool { return len(s.sm4Keys()) == 1 }},
		{"a command it does not know is refused", "3011", "", "", ErrUnsupportedCommand, func() bool { return true }},
	} {
		t.Run(c.name, func(t *testing.T) {
			report, err := s.execute(hj212.Packet{CN: c.cn, CP: c.cp})
			switch {
			case c.err == errAny && err == nil, c.err != errAny && !errors.Is(err, c.err):
				t.Fatalf("error %v, want %v", err, c.err)
			case !strings.HasPrefix(report, c.report) || (c.report == "") != (report == ""):
				t.Errorf("report %q, want one starting %q", report, c.report)
			case !c.check():
				t.Errorf("the station's state did not change as the command says")
			}
		})
	}
	if got := time.Duration(s.rtdEvery.Load()); got != 30*time.Second {
		t.Errorf("real-time interval %v at the end", got)
	}
}

// errAny stands for "some error" in the table above.
var errAny = errors.New("any error")

func TestStationsSpreadOverTheGatewaysGiven(t *testing.T) {
	net := repoNetwork(t)
	tests := []struct {
		name, addr string
		want       map[string]int
	}{
		{"one gateway takes every station", "127.0.0.1:9212", map[string]int{"127.0.0.1:9212": len(net.Sites())}},
		{"two gateways take half each", "127.0.0.1:9212, 127.0.0.1:9312", map[string]int{"127.0.0.1:9212": (len(net.Sites()) + 1) / 2, "127.0.0.1:9312": len(net.Sites()) / 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &Fleet{World: &World{net: net}, Addr: tt.addr}
			got := map[string]int{}
			for _, s := range net.Sites() {
				got[f.gatewayOf(s)]++
			}
			if !maps.Equal(got, tt.want) {
				t.Errorf("stations per gateway %v, want %v", got, tt.want)
			}
		})
	}
}
