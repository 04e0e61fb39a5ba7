package backtest

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/config"
	"github.com/riverwatch/riverwatch/pkg/store/storetest"
)

// TestBacktestOnTheArchiveFindsWhatTheSeededHistoryHolds stores the seeded history in a
// real ClickHouse (through the archiver's Writer, a resent copy included) and runs the
// command as an operator would, with a candidate file beside the configuration: the
// report is the one the in-memory history gives.
func TestBacktestOnTheArchiveFindsWhatTheSeededHistoryHolds(t *testing.T) {
	a := storetest.NewArchive(t)
	h := seeded()
	a.Readings(t, h...)
	a.Readings(t, h[5:9]...) // a station resending its buffer: FINAL reads each reading once

	cfg := *a.Config
	sites, err := filepath.Abs("../engine/testdata/network.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg.SitesFile = sites
	cand := filepath.Join(t.TempDir(), "candidate.yaml")
	if err := os.WriteFile(cand, []byte("sites_file: "+sites+"\nassessor:\n  confirm_readings: 2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"-from", t0.Format(time.RFC3339), "-to", t0.Add(6 * time.Hour).Format(time.RFC3339), "-candidate", cand, "-format", "table"}
	req, err := ParseRequest(args, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := Command(context.Background(), &cfg, req, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "26 readings replayed") || !strings.Contains(out.String(), "added by candidate: M1 nh3n opened 2025-06-01T02:50:00Z") {
		t.Errorf("report:\n%s", out.String())
	}
	t.Logf("the command's table on the seeded history:\n%s", out.String()) // the note quotes it

	cur, err := RulesFrom("current", &cfg)
	if err != nil {
		t.Fatal(err)
	}
	c := config.Default()
	c.SitesFile = sites
	c.Assessor.ConfirmReadings = 2
	candRules, _ := RulesFrom("candidate", &c)
	rep, err := Run(context.Background(), a.Reader, Query{From: t0, To: t0.Add(6 * time.Hour)}, cur, candRules)
	if err != nil {
		t.Fatal(err)
	}
	mem, _ := Run(context.Background(), h, Query{From: t0, To: t0.Add(6 * time.Hour)}, cur, candRules)
	if rep.Readings != mem.Readings || len(rep.Added) != len(mem.Added) || rep.Total != mem.Total {
		t.Errorf("archive replay %+v differs from the in-memory one %+v", rep.Total, mem.Total)
	}
}
