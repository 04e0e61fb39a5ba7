package api_test

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/riverwatch/riverwatch/services/api/internal/api"
)

// testdata/backtests/confirm2.json is the CLI's JSON of confirming on two readings instead
// of three at STH-S2 (changji) and TTH-S1 (xpcc12): at each site the current rules open one
// episode (first over 01:00, opened 01:20, 40 min open, 3 notifying), the candidate the same
// one 10 minutes sooner (50 min) and the blip from 02:40 (the backtest package's
// TestTheAPIsStoredBacktestFixtureIsWhatTheCLIWrites keeps it the CLI's).
const backtestFixtures = "testdata/backtests"

func withBacktests(dir string) func(*api.Options) {
	return func(o *api.Options) { o.BacktestDir = dir }
}

func TestAStoredBacktestIsCutToTheSitesTheCallerSees(t *testing.T) {
	e := newEnv(t, withBacktests(backtestFixtures))
	var all api.BacktestReport
	e.do(t, "GET", "/api/v1/backtests/confirm2", admin, nil).decode(t, &all)
	if len(all.Sites) != 2 || all.Readings == nil || *all.Readings != 52 || all.Total.Added != 2 || all.Total.Per[0].Episodes != 2 || all.Total.Per[1].Episodes != 4 {
		t.Fatalf("admin: sites %+v readings %v total %+v; want both sites, 52 readings, 2 added, 2 and 4 episodes", all.Sites, all.Readings, all.Total)
	}
	res := e.do(t, "GET", "/api/v1/backtests/confirm2", viewerChangji, nil)
	if bytes.Contains(res.body, []byte("TTH-S1")) {
		t.Errorf("changji's viewer is shown TTH-S1: %s", res.body)
	}
	var cut api.BacktestReport
	res.decode(t, &cut)
	want := api.BacktestSite{Per: [2]api.BacktestTotals{
		{Episodes: 1, OpenNS: 40 * 60e9, MeanDelayNS: 20 * 60e9, Notifying: 3},
		{Episodes: 2, OpenNS: cut.Total.Per[1].OpenNS, MeanDelayNS: cut.Total.Per[1].MeanDelayNS, Notifying: cut.Total.Per[1].Notifying},
	}, Added: 1}
	if len(cut.Sites) != 1 || cut.Sites[0].Site != "STH-S2" || cut.Total != want || cut.Readings != nil || cut.ElapsedNS != nil {
		t.Errorf("changji: sites %+v total %+v readings %v; want STH-S2 alone, total %+v, readings null", cut.Sites, cut.Total, cut.Readings, want)
	}
	// The candidate's total at STH-S2 is its own site row: the total is recomputed over the
	// sites shown, not the CLI's total over both.
	if cut.Total.Per[1] != cut.Sites[0].Per[1] || cut.Total.Per[1].Episodes*2 != all.Total.Per[1].Episodes {
		t.Errorf("changji's candidate total %+v, site %+v, all %+v", cut.Total.Per[1], cut.Sites[0].Per[1], all.Total.Per[1])
	}
	if len(cut.Episodes[0]) != 1 || len(cut.Episodes[1]) != 2 || len(cut.Added) != 1 || cut.Added[0].Site != "STH-S2" || len(cut.Removed) != 0 {
		t.Errorf("changji's episodes %+v added %+v removed %+v", cut.Episodes, cut.Added, cut.Removed)
	}
	var list api.BacktestList
	e.do(t, "GET", "/api/v1/backtests", viewerChangji, nil).decode(t, &list)
	if !list.Configured || len(list.Items) != 1 || list.Items[0].Name != "confirm2" || list.Items[0].Sites != 1 || list.Items[0].Added != 1 ||
		list.Items[0].Episodes != [2]int{1, 2} {
		t.Errorf("changji's list %+v", list)
	}
	var other api.BacktestReport
	e.do(t, "GET", "/api/v1/backtests/confirm2", viewerXPCC6, nil).decode(t, &other)
	if len(other.Sites) != 0 || len(other.Episodes[0])+len(other.Episodes[1]) != 0 || other.Total.Per[0].Episodes != 0 {
		t.Errorf("xpcc6, which sees neither site: %+v", other)
	}
}

func TestStoredBacktestsRefuseWhatIsNotThere(t *testing.T) {
	dir := t.TempDir()
	fixture, err := os.ReadFile(filepath.Join(backtestFixtures, "confirm2.json"))
	if err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string][]byte{"good.json": fixture, "broken.json": []byte(`{"from": `), "notes.txt": []byte("x"), ".hidden.json": fixture} {
		if err := os.WriteFile(filepath.Join(dir, name), body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	e := newEnv(t, withBacktests(dir))
	var list api.BacktestList
	e.do(t, "GET", "/api/v1/backtests", admin, nil).decode(t, &list)
	if len(list.Items) != 1 || list.Items[0].Name != "good" {
		t.Errorf("list %+v, want only good (broken left out, notes and .hidden not reports)", list.Items)
	}
	for path, status := range map[string]int{
		"/api/v1/backtests/good":          http.StatusOK,
		"/api/v1/backtests/missing":       http.StatusNotFound,
		"/api/v1/backtests/broken":        http.StatusInternalServerError,
		"/api/v1/backtests/.hidden":       http.StatusNotFound,
		"/api/v1/backtests/..%2Fpasswd":   http.StatusNotFound,
		"/api/v1/backtests/good.json.bak": http.StatusNotFound,
	} {
		if res := e.do(t, "GET", path, admin, nil); res.status != status {
			t.Errorf("%s: %d, want %d: %s", path, res.status, status, res.body)
		}
	}
	none := newEnv(t)
	var empty api.BacktestList
	none.do(t, "GET", "/api/v1/backtests", admin, nil).decode(t, &empty)
	if empty.Configured || len(empty.Items) != 0 {
		t.Errorf("without api.backtest_dir: %+v, want configured false and no items", empty)
	}
	if res := none.do(t, "GET", "/api/v1/backtests/confirm2", admin, nil); res.status != http.StatusNotFound {
		t.Errorf("without api.backtest_dir: %d, want 404", res.status)
	}
}
