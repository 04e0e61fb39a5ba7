package engine

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/standard"
)

// TestImplausibleIsExactlyWhatStandardPlausibleRefuses probes every parameter at the edges
// of the range standard.Plausible accepts (the gateway's validate test probes the same
// values): the engine raises quality.suspect "implausible" if and only if Plausible
// refuses the value, so the defence in depth judges as the gateway does.
func TestImplausibleIsExactlyWhatStandardPlausibleRefuses(t *testing.T) {
	e, _ := newTestEngine(t, Options{})
	h := time.Hour
	at := time.Duration(0)
	probes := 0
	for _, param := range standard.Codes() {
		lo, hi, ok := standard.PlausibleRange(param)
		if !ok {
			t.Fatalf("%s: no plausible range", param)
		}
		// A plausible reading between probes ends each implausible episode, so that the
		// next implausible probe raises its own event.
		between := 0.0
		switch {
		case !math.IsInf(lo, 0) && !math.IsInf(hi, 0):
			between = lo + (hi-lo)/2
		case !math.IsInf(lo, 0):
			between = lo
		}
		for _, v := range []float64{lo, hi, math.Nextafter(lo, math.Inf(-1)), math.Nextafter(hi, math.Inf(1))} {
			if math.IsInf(v, 0) {
				continue
			}
			probes++
			evs := e.Apply(rd("M2", param, v, at))
			e.Apply(rd("M2", param, between, at+h))
			at += 2 * h
			var implausible *message.Event
			for i := range evs {
				if evs[i].Type == message.EventQualitySuspect && strings.HasPrefix(evs[i].Reason, "implausible:") {
					implausible = &evs[i]
				}
			}
			want := standard.Plausible(param, v)
			switch {
			case want == nil && implausible != nil:
				t.Errorf("%s = %v: %s, but standard.Plausible accepts it", param, v, implausible.Reason)
			case want != nil && (implausible == nil || implausible.Reason != "implausible: "+want.Error()):
				t.Errorf("%s = %v: events %+v, want quality.suspect %q", param, v, evs, "implausible: "+want.Error())
			}
		}
	}
	if probes < 4*len(standard.Codes())/2 {
		t.Fatalf("only %d probes", probes)
	}
}
