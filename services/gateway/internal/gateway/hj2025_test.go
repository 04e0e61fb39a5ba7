package gateway

import (
	"strings"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/hj212"
)

func TestBackfillPacketsArePublishedMarkedAndCounted(t *testing.T) {
	for _, tc := range []struct {
		name     string
		rf       bool
		backfill float64
	}{
		{"a live 2025 upload is not back-fill", false, 0},
		{"an RF=1 upload is published as back-fill", true, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, nil)
			c := h.dial(t)
			p := hourPacket(t, "20240601100000001", dataTime, hj212.Period("w21003", 1, 1, 1, "N"), hj212.Period("w01018", 9, 9, 9, "N"))
			p.Flag, p.RF = hj212.NewFlag(hj212.V2025, true, false), tc.rf
			if err := c.Upload(ctxT(t, 5*time.Second), p); err != nil {
				t.Fatalf("Upload: %v", err)
			}
			rs := h.readings.readings(t)
			if len(rs) != 2 {
				t.Fatalf("%d readings, want 2", len(rs))
			}
			for i, r := range rs {
				if r.Backfill != tc.rf {
					t.Errorf("reading %s: backfill %v, want %v", r.Parameter, r.Backfill, tc.rf)
				}
				if has := strings.Contains(string(h.readings.msgs[i].Value), `"backfill"`); has != tc.rf {
					t.Errorf("JSON %s: backfill key present %v, want %v (omitted on live readings)", h.readings.msgs[i].Value, has, tc.rf)
				}
			}
			if got := metricValue(h.gw.m.backfill); got != tc.backfill {
				t.Errorf("backfill metric %v, want %v", got, tc.backfill)
			}
		})
	}
}
