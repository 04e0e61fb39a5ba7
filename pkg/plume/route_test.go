package plume

import (
	"math"
	"testing"

	"github.com/riverwatch/riverwatch/pkg/network"
)

// main: 0.8 m/s at 5 m³/s, v = a·Q^0.5 (so a = 0.8/√5); a stretch km 60–80 with D = 30.
// trib: joins main at km 40 with 3 m³/s; side: joins main at km 50 with 2 m³/s.
const routeNet = `
jurisdictions: [{id: a, name: A}]
rivers:
  - id: main
    name: Main
    velocity_mps: 0.8
    flow_m3s: 5
    length_km: 120
    transport:
      velocity_exponent: 0.5
      dispersion_m2s: 10
      reaches: [{from_km: 60, to_km: 80, dispersion_m2s: 30}]
  - {id: trib, name: Trib, velocity_mps: 0.5, flow_m3s: 3, length_km: 20, joins: {river: main, at_km: 40}}
  - {id: side, name: Side, velocity_mps: 0.5, flow_m3s: 2, length_km: 10, joins: {river: main, at_km: 50}}
sites:
  - {id: T1, kind: section, river: trib, km: 10, jurisdiction: a, target_class: III}
  - {id: M1, kind: section, river: main, km: 30, jurisdiction: a, target_class: III}
  - {id: M2, kind: drinking_source, river: main, km: 90, jurisdiction: a, target_class: II}
`

func reachTo(t *testing.T, n *network.Network, from, to string) network.Reach {
	t.Helper()
	for _, rc := range n.Downstream(from) {
		if rc.Site.ID == to {
			return rc
		}
	}
	t.Fatalf("%s is not downstream of %s", to, from)
	return network.Reach{}
}

func TestRouteSplitsLegsAndTakesVelocityFromLiveFlow(t *testing.T) {
	n, err := network.Parse([]byte(routeNet))
	if err != nil {
		t.Fatal(err)
	}
	// A station at km 30 of main measures 20 m³/s. Below it the trib (3) joins at km 40
	// and the side river (2) at km 50, so the discharge is 20, 23, then 25 m³/s and
	// v = (0.8/√5)·√Q: √20·0.357771 = 1.6, √23·0.357771 = 1.715809, √25·0.357771 = 1.788854.
	live := func(river string, km float64) (float64, float64, bool) {
		if river == "main" && km >= 30 {
			return 20, 30, true
		}
		return 0, 0, false
	}
	type leg struct{ km, v, d, q float64 }
	tests := []struct {
		name       string
		from       string
		flow       FlowFunc
		want       []leg
		confidence string
	}{
		{
			name: "configured velocity and flows without a reading",
			from: "M1",
			want: []leg{
				{10, 0.8, 10, 5},  // km 30–40
				{10, 0.8, 10, 8},  // 40–50: the trib's 3 m³/s joined
				{10, 0.8, 10, 10}, // 50–60: the side river's 2
				{20, 0.8, 30, 10}, // 60–80: the reach override, D = 30
				{10, 0.8, 10, 10}, // 80–90
			},
			confidence: ConfidenceLow,
		},
		{
			name: "velocity from the live discharge",
			from: "M1",
			flow: live,
			want: []leg{
				{10, 1.6, 10, 20},
				{10, 1.715809, 10, 23},
				{10, 1.788854, 10, 25},
				{20, 1.788854, 30, 25},
				{10, 1.788854, 10, 25},
			},
			confidence: ConfidenceMedium,
		},
		{
			// From the trib: km 10–20 of the trib at its own 0.5 m/s and 3 m³/s, then main.
			// The trib has no station, so confidence stays low even with main's reading.
			name: "a tributary into its main river",
			from: "T1",
			flow: live,
			want: []leg{
				{10, 0.5, 0, 3},
				{10, 1.715809, 10, 23},
				{10, 1.788854, 10, 25},
				{20, 1.788854, 30, 25},
				{10, 1.788854, 10, 25},
			},
			confidence: ConfidenceLow,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			legs, conf := Route(n, reachTo(t, n, tt.from, "M2").Path, tt.flow)
			if conf != tt.confidence {
				t.Errorf("confidence %q, want %q", conf, tt.confidence)
			}
			if len(legs) != len(tt.want) {
				t.Fatalf("legs %+v, want %d", legs, len(tt.want))
			}
			for i, w := range tt.want {
				g := legs[i]
				if !approx(g.LengthM, w.km*1000) || !approx(g.VelocityMPS, w.v) || g.DispersionM2S != w.d || !approx(g.FlowM3S, w.q) {
					t.Errorf("leg %d = %+v, want %g km at %g m/s, D %g, Q %g", i+1, g, w.km, w.v, w.d, w.q)
				}
			}
		})
	}
}

func TestRouteDilutesAtEveryJoin(t *testing.T) {
	n, err := network.Parse([]byte(routeNet))
	if err != nil {
		t.Fatal(err)
	}
	// Trib (3 m³/s) into main (5): 3/8; then the side river: 8/10. Together 0.3.
	legs, _ := Route(n, reachTo(t, n, "T1", "M2").Path, nil)
	w, err := Compute(Input{Concentration: 10, Legs: legs})
	if err != nil {
		t.Fatal(err)
	}
	if !approx(w.Dilution, 0.3) || !approx(w.Plateau, 3) {
		t.Errorf("dilution %g, plateau %g, want 0.3 and 3 mg/L", w.Dilution, w.Plateau)
	}
}

func TestTransportIsValidated(t *testing.T) {
	tests := []struct{ name, transport string }{
		{"negative dispersion", `{dispersion_m2s: -1}`},
		{"exponent above 1", `{velocity_exponent: 1.5}`},
		{"factor below 1", `{velocity_factor: 0.5}`},
		{"empty reach", `{reaches: [{from_km: 10, to_km: 10}]}`},
		{"overlapping reaches", `{reaches: [{from_km: 0, to_km: 20}, {from_km: 10, to_km: 30}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := "jurisdictions: [{id: a, name: A}]\nrivers:\n  - {id: r, name: R, velocity_mps: 1, flow_m3s: 1, transport: " + tt.transport + "}\nsites: []\n"
			if _, err := network.Parse([]byte(doc)); err == nil {
				t.Error("want an error")
			}
		})
	}
	ok := "jurisdictions: [{id: a, name: A}]\nrivers:\n  - {id: r, name: R, velocity_mps: 1, flow_m3s: 1}\nsites: []\n"
	if _, err := network.Parse([]byte(ok)); err != nil {
		t.Errorf("a river without transport: %v", err)
	}
}

func approx(a, b float64) bool { return math.Abs(a-b) <= 1e-4*math.Max(1, math.Abs(b)) }
