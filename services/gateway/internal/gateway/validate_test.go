package gateway

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/network"
	"github.com/riverwatch/riverwatch/pkg/standard"
)

// TestValidateRefusesExactlyWhatStandardPlausibleRefuses probes every parameter at the
// edges of the range standard.Plausible accepts (the engine's test probes the same
// values): the gateway refuses a value with reason range if and only if Plausible does.
func TestValidateRefusesExactlyWhatStandardPlausibleRefuses(t *testing.T) {
	now := time.Date(2026, 7, 1, 9, 0, 0, 0, time.UTC)
	site := &network.Site{ID: "S1"}
	probes := 0
	for _, param := range standard.Codes() {
		lo, hi, ok := standard.PlausibleRange(param)
		if !ok {
			t.Fatalf("%s: no plausible range", param)
		}
		for _, v := range []float64{lo, hi, math.Nextafter(lo, math.Inf(-1)), math.Nextafter(hi, math.Inf(1))} {
			if math.IsInf(v, 0) {
				continue
			}
			probes++
			c := candidate{site: site, param: param, value: v, unit: standard.CanonicalUnit(param), flag: message.FlagNormal,
				interval: message.IntervalHour, observedAt: now, source: message.SourceHTTP}
			_, rf := validate(&c, now)
			want := standard.Plausible(param, v)
			switch {
			case want == nil && rf != nil:
				t.Errorf("%s = %v: refused (%s: %s), but standard.Plausible accepts it", param, v, rf.reason, rf.detail)
			case want != nil && (rf == nil || rf.reason != ReasonRange || !strings.Contains(rf.detail, want.Error())):
				t.Errorf("%s = %v: refusal %+v, want reason %s with %q", param, v, rf, ReasonRange, want)
			}
		}
	}
	if probes < 4*len(standard.Codes())/2 {
		t.Fatalf("only %d probes", probes)
	}
}
