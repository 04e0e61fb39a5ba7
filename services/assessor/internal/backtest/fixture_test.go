package backtest

import (
	"bytes"
	"context"
	"flag"
	"os"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/config"
	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/network"
	"github.com/riverwatch/riverwatch/services/assessor/internal/assessor"
)

var updateFixture = flag.Bool("update", false, "rewrite the api's stored-backtest fixture")

// apiFixture is the stored backtest the api's tests and the dashboard's browser test read
// (api.backtest_dir): the api decodes what `assessor backtest -format json` writes, so the
// fixture is written by this package and checked here against a fresh run.
const apiFixture = "../../../api/internal/api/testdata/backtests/confirm2.json"

// twoSites is the seeded history of M1 (seeded) at a changji section (STH-S2, Class Ⅲ:
// NH3-N 1.0) and a xpcc12 one (TTH-S1, Class Ⅱ: 0.5), readings every 10 minutes.
func twoSites() history {
	var h history
	for _, site := range []string{"STH-S2", "TTH-S1"} {
		for _, r := range seeded() {
			r.Site, r.Station = site, site
			r.ID = message.ReadingID(site, r.Parameter, r.Interval, r.ObservedAt)
			h = append(h, r)
		}
	}
	// observation order, as ScanReadings gives it
	var out history
	for i := range 26 {
		out = append(out, h[i], h[26+i])
	}
	return out
}

// TestTheAPIsStoredBacktestFixtureIsWhatTheCLIWrites: the fixture is the JSON report of
// confirming on two readings instead of three over twoSites (the replay's time fixed at
// 1 s), byte for byte; `go test -run Fixture -update` rewrites it.
func TestTheAPIsStoredBacktestFixtureIsWhatTheCLIWrites(t *testing.T) {
	net, err := network.Load("../../../../configs/sites.yaml")
	if err != nil {
		t.Fatal(err)
	}
	a := config.Default().Assessor
	b := a
	b.ConfirmReadings = 2
	rep, err := Run(context.Background(), twoSites(), Query{From: t0, To: t0.Add(6 * time.Hour)},
		Rules{Name: "current", Network: net, Options: assessor.OptionsFrom(a)},
		Rules{Name: "candidate", Network: net, Options: assessor.OptionsFrom(b)})
	if err != nil {
		t.Fatal(err)
	}
	rep.Elapsed = time.Second
	if rep.Readings != 52 || len(rep.Sites) != 2 || rep.Total.Added != 2 {
		t.Fatalf("replayed %d readings, %d sites, %d added; want 52, 2, 2 (each site's blip)", rep.Readings, len(rep.Sites), rep.Total.Added)
	}
	var buf bytes.Buffer
	if err := rep.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	if *updateFixture {
		if err := os.WriteFile(apiFixture, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(apiFixture)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, buf.Bytes()) {
		t.Errorf("%s differs from the CLI's JSON of the same backtest: run go test -run Fixture -update and check the diff", apiFixture)
	}
}
