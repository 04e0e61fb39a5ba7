package plume

import (
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/network"
)

// A sluice 6 km and a pond 12 km below the origin, the intake at 16 km; 1 m/s on two legs
// (6 km, 10 km), band factor 1.5, Jobson spread. By hand, the earliest leading edge comes
// at 0.89 × L / (1 m/s × 1.5) (= T_fast − 2σ_fast, σ = 5.5 % T_fast):
//
//	sluice: 0.89 × 6000 / 1.5 = 3560 s (59 min 20 s)
//	pond:   0.89 × 12000 / 1.5 = 7120 s (1 h 58 min 40 s)
func TestInterceptRecommendationChangesAsThePlumePassesASluice(t *testing.T) {
	t0 := time.Date(2026, 7, 1, 2, 0, 0, 0, time.UTC)
	sluice := Candidate{River: "santun", AlongM: 6000, ToSiteKm: 10, EmergencySpace: network.EmergencySpace{
		ID: "G1", Name: "节制闸", Kind: network.SpaceSluice, Km: 72, OperatedBy: network.Operator{Jurisdiction: "changji", Role: "emergency"}}}
	pond := Candidate{River: "santun", AlongM: 12000, ToSiteKm: 4, EmergencySpace: network.EmergencySpace{
		ID: "P1", Name: "调蓄池", Kind: network.SpacePond, Km: 78}}
	in := Input{Concentration: 10, VelocityFactor: 1.5, Duration: time.Hour, Legs: []Leg{
		{LengthM: 6000, VelocityMPS: 1, FlowM3S: 5}, {LengthM: 10000, VelocityMPS: 1, FlowM3S: 5}}}
	atSluice, atPond := t0.Add(3560*time.Second), t0.Add(7120*time.Second)
	tests := []struct {
		name       string
		spaces     []Candidate
		now        time.Time
		want       string // the space, "" for none
		wantActBy  time.Time
		wantLeftS  int64
		wantReason string
	}{
		{"half an hour in: the sluice", []Candidate{sluice, pond}, t0.Add(30 * time.Minute), "G1", atSluice, 3560 - 1800, ""},
		{"a second before the edge: still the sluice", []Candidate{sluice, pond}, atSluice.Add(-time.Second), "G1", atSluice, 1, ""},
		{"the edge at the sluice: the pond", []Candidate{sluice, pond}, atSluice, "P1", atPond, 7120 - 3560, ""},
		{"past the sluice: the pond", []Candidate{sluice, pond}, t0.Add(90 * time.Minute), "P1", atPond, 7120 - 5400, ""},
		{"past the pond too: none", []Candidate{sluice, pond}, t0.Add(2 * time.Hour), "", time.Time{}, 0, ReasonAllPassed},
		{"past the only sluice: none", []Candidate{sluice}, t0.Add(time.Hour), "", time.Time{}, 0, ReasonAllPassed},
		{"no space on the way", nil, t0, "", time.Time{}, 0, ReasonNoSpace},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, reason := Intercept(tt.spaces, in, t0, tt.now)
			if got.Space != tt.want || reason != tt.wantReason {
				t.Fatalf("Intercept = %q (reason %q), want %q (reason %q)", got.Space, reason, tt.want, tt.wantReason)
			}
			if tt.want == "" {
				if !got.IsZero() {
					t.Errorf("no recommendation, yet %+v", got)
				}
				return
			}
			if !got.ActBy.Equal(tt.wantActBy) || got.TimeLeftS != tt.wantLeftS {
				t.Errorf("act by %v, %d s left; want %v, %d s", got.ActBy, got.TimeLeftS, tt.wantActBy, tt.wantLeftS)
			}
		})
	}
	got, _ := Intercept([]Candidate{sluice, pond}, in, t0, t0)
	want := message.Interception{Space: "G1", Name: "节制闸", Kind: "sluice", Km: 72, River: "santun", ToIntakeKm: 10,
		ActBy: atSluice, TimeLeftS: 3560, Jurisdiction: "changji", Role: "emergency"}
	if got != want {
		t.Errorf("Intercept = %+v, want %+v", got, want)
	}
}

// A space on the tributary below the origin and one on the main river below the join lie
// on the way; one above the origin, one on the main river above the join and one at the
// intake itself do not. The file lists them out of order.
func TestSpacesOnPathListsTheSpacesOnTheWayInThePlumesOrder(t *testing.T) {
	n, err := network.Parse([]byte(`
jurisdictions: [{id: a, name: A}]
rivers:
  - id: main
    velocity_mps: 1
    length_km: 100
    emergency_spaces:
      - {id: M-intake, kind: sluice, km: 50}
      - {id: M-below, kind: pond, km: 45}
      - {id: M-above-join, kind: reservoir, km: 30}
  - id: trib
    velocity_mps: 1
    length_km: 20
    joins: {river: main, at_km: 40}
    emergency_spaces:
      - {id: T-mouth, kind: diversion, km: 20}
      - {id: T-below, kind: sluice, km: 15}
      - {id: T-above, kind: sluice, km: 3}
sites:
  - {id: O1, kind: outfall, river: trib, km: 5, jurisdiction: a, limits: GB18918-1A, flow_m3s: 0.5}
  - {id: D1, kind: drinking_source, river: main, km: 50, jurisdiction: a, target_class: II}
`))
	if err != nil {
		t.Fatal(err)
	}
	rc := reachTo(t, n, "O1", "D1") // trib 5 → 20, main 40 → 50: 25 km
	got := SpacesOnPath(n, rc.Path)
	want := []struct {
		id       string
		alongM   float64
		toSiteKm float64
	}{{"T-below", 10000, 15}, {"T-mouth", 15000, 10}, {"M-below", 20000, 5}}
	if len(got) != len(want) {
		t.Fatalf("spaces on the way = %+v, want %v", got, want)
	}
	for i, w := range want {
		if got[i].ID != w.id || got[i].AlongM != w.alongM || got[i].ToSiteKm != w.toSiteKm {
			t.Errorf("space %d = %s at %g m, %g km to the site; want %s at %g m, %g km", i, got[i].ID, got[i].AlongM, got[i].ToSiteKm, w.id, w.alongM, w.toSiteKm)
		}
	}
}

// The worked example of docs/plume.md ("Emergency spaces and interception"): a spill at
// the Santun's city outfall (STH-O1, km 66) heading for the 第二水厂 intake (STH-D2, km 82)
// on the repository's network, released on 1 July at 10:00 Changji time. No transport is
// configured: 0.8 m/s, band factor 1.5, Jobson. The earliest edge (1.2 m/s × 0.89):
// sluice STH-G1 (km 74, 8 km) 5933 s → 11:38:53; pond STH-P1 (km 78, 12 km) 8900 s →
// 12:28:20.
func TestInterceptMatchesTheWorkedExample(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	n, err := network.Load(filepath.Join(filepath.Dir(file), "..", "..", "configs", "sites.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	rc := reachTo(t, n, "STH-O1", "STH-D2")
	legs, _ := Route(n, rc.Path, nil)
	in := Input{Concentration: 19.64, VelocityFactor: 1.5, Duration: time.Hour, Legs: legs}
	cst := time.FixedZone("CST", 8*3600)
	t0 := time.Date(2026, 7, 1, 10, 0, 0, 0, cst)
	spaces := SpacesOnPath(n, rc.Path)
	tests := []struct {
		name  string
		now   time.Time
		space string
		left  int64
		text  string
	}{
		{"issued at the release", t0, "STH-G1", 5933, "建议在三屯河城北拦河节制闸（km 74.0，由昌吉市应急管理局操作）拦截，须在11:38前（剩余1小时38分）行动"},
		{"re-issued at 11:40", t0.Add(100 * time.Minute), "STH-P1", 2900, "建议在三屯河北干渠应急调蓄池（km 78.0，由昌吉市应急管理局操作）拦截，须在12:28前（剩余48分钟）行动"},
		{"re-issued at 12:30", t0.Add(150 * time.Minute), "", 0, "污染团已越过沿途全部应急空间，无法在上游拦截"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ic, reason := Intercept(spaces, in, t0, tt.now)
			if ic.Space != tt.space || ic.TimeLeftS != tt.left {
				t.Fatalf("Intercept = %s, %d s left (%q); want %s, %d s", ic.Space, ic.TimeLeftS, reason, tt.space, tt.left)
			}
			p := message.Prediction{Site: "STH-D2", Interception: ic, InterceptionNoneReason: reason}
			if got := DescribeInterception(p, "三屯河", "昌吉市应急管理局", tt.now, cst); got != tt.text {
				t.Errorf("got  %s\nwant %s", got, tt.text)
			}
		})
	}
}
