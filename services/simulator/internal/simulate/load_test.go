package simulate

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/hj212"
	"github.com/riverwatch/riverwatch/pkg/network"
)

func TestGeneratedSitesAreAValidNetwork(t *testing.T) {
	var b bytes.Buffer
	if err := GenerateSites(&b, 45); err != nil {
		t.Fatal(err)
	}
	net, err := network.Parse(b.Bytes())
	if err != nil {
		t.Fatalf("generated network invalid: %v\n%s", err, b.String())
	}
	n := 0
	for _, s := range net.Sites() {
		if s.Station != nil {
			n++
		}
	}
	if n != 45 || len(net.Rivers()) != 3 {
		t.Errorf("%d stations on %d rivers, want 45 on 3", n, len(net.Rivers()))
	}
}

func TestLoadOverHJ212CountsWhatTheGatewayAcknowledged(t *testing.T) {
	host := newFakeHost(t)
	net := repoNetwork(t)
	var sites []*network.Site
	for _, s := range net.Sites()[:4] {
		sites = append(sites, s)
	}
	const rate = 2000.0
	res, err := Load(context.Background(), LoadConfig{
		Mode: ModeHJ212, Stations: sites, Params: 12, Rate: rate, Duration: 500 * time.Millisecond,
		Addr: host.addr(), Window: 4, Loc: net.Location, Metrics: NewMetrics(nil),
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Readings == 0 || res.Uploads == 0 || res.Errors != 0 || res.Unacked != 0 {
		t.Fatalf("result %v", res)
	}
	if res.Readings != res.Uploads*12 {
		t.Errorf("%d readings in %d uploads of 12 parameters", res.Readings, res.Uploads)
	}
	// The pacer never runs ahead of the rate (plus the uploads already in flight).
	if max := rate*res.Elapsed.Seconds() + float64(4*4*12); float64(res.Readings) > max {
		t.Errorf("%d readings in %v exceeds the %v/s rate", res.Readings, res.Elapsed, rate)
	}
	if host.bad != 0 {
		t.Errorf("the host refused %d frames", host.bad)
	}
	seen := map[string]bool{}
	for _, p := range host.packets() {
		if p.CN != hj212.CNRealtime {
			t.Fatalf("CN %s", p.CN)
		}
		d, err := hj212.ParseData(p.CP, p.Version(), net.Location)
		if err != nil || len(d.Items) != 12 {
			t.Fatalf("upload %s: %v, %d items", p.QN, err, len(d.Items))
		}
		if !d.DataTime.Before(time.Now()) {
			t.Fatalf("DataTime %v is in the future", d.DataTime)
		}
		k := p.MN + p.QN
		if seen[k] {
			t.Fatalf("QN %s sent twice by %s", p.QN, p.MN)
		}
		seen[k] = true
	}
	if !strings.Contains(res.String(), "readings/s") {
		t.Errorf("report %q", res.String())
	}
}

func TestLoadRefusesBadConfigurations(t *testing.T) {
	site := &network.Site{ID: "X", Station: &network.Station{MN: "1", Password: "1"}}
	tests := []struct {
		name string
		cfg  LoadConfig
		want string
	}{
		{"too many parameters", LoadConfig{Mode: ModeHJ212, Stations: []*network.Site{site}, Params: MaxLoadParams + 1, Duration: time.Second}, "parameters must be"},
		{"no station", LoadConfig{Mode: ModeHJ212, Params: 1, Duration: time.Second}, "no station"},
		{"unknown mode", LoadConfig{Mode: "pigeon", Stations: []*network.Site{site}, Params: 1, Duration: time.Millisecond}, "not hj212 or kafka"},
		{"kafka without a topic", LoadConfig{Mode: ModeKafka, Stations: []*network.Site{site}, Params: 1, Duration: time.Millisecond}, "needs brokers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(context.Background(), tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestEveryLoadParameterHasAnHJ212Code(t *testing.T) {
	chs, err := channels(paramNames(MaxLoadParams))
	if err != nil {
		t.Fatal(err)
	}
	if len(chs) != MaxLoadParams {
		var have []string
		for _, c := range chs {
			have = append(have, c.param)
		}
		t.Errorf("%d of %d load parameters have a code: %v", len(chs), MaxLoadParams, have)
	}
}
