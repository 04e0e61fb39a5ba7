package api_test

import (
	"net/url"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/services/api/internal/api"
)

// TestRolledUpSeriesSayHowFarTheRollupsHaveCome: hour and day answers carry the rollup
// loop's watermark, raw answers (which read the readings themselves) do not.
func TestRolledUpSeriesSayHowFarTheRollupsHaveCome(t *testing.T) {
	e := newEnv(t)
	through := e.now.Add(-3 * time.Second)
	e.store.Through = through
	for _, c := range []struct {
		resolution string
		want       bool
	}{{"raw", false}, {"hour", true}, {"day", true}} {
		t.Run(c.resolution, func(t *testing.T) {
			q := url.Values{"parameter": {"nh3n"}, "resolution": {c.resolution},
				"from": {e.now.Add(-48 * time.Hour).Format(time.RFC3339)}, "to": {e.now.Format(time.RFC3339)}}
			var r api.ReadingsResponse
			e.do(t, "GET", "/api/v1/sites/STH-S2/readings?"+q.Encode(), viewerChangji, nil).decode(t, &r)
			switch {
			case c.want && (r.RollupsThrough == nil || !r.RollupsThrough.Equal(through)):
				t.Errorf("rollups_through = %v, want %v", r.RollupsThrough, through)
			case !c.want && r.RollupsThrough != nil:
				t.Errorf("raw answer has rollups_through %v", r.RollupsThrough)
			}
		})
	}
}
