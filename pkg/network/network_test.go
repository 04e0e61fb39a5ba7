package network

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/hj212"
)

const tributaryNet = `
timezone: Asia/Shanghai
jurisdictions:
  - {id: a, name: A}
  - {id: b, name: B}
  - {id: c, name: C}
rivers:
  - {id: main, name: Main, velocity_mps: 1.0, flow_m3s: 10, length_km: 100}
  - {id: trib, name: Trib, velocity_mps: 0.5, flow_m3s: 2, length_km: 20, joins: {river: main, at_km: 40}}
sites:
  - {id: M1, kind: section, river: main, km: 10, jurisdiction: a, target_class: III}
  - {id: T1, kind: section, river: trib, km: 11, jurisdiction: b, target_class: III}
  - {id: O1, kind: outfall, river: trib, km: 15, jurisdiction: b, limits: GB18918-1A, flow_m3s: 0.5}
  - {id: M2, kind: drinking_source, river: main, km: 50, jurisdiction: c, target_class: II}
  - {id: M3, kind: section, river: main, km: 70, jurisdiction: a, target_class: III}
`

func TestDownstreamFollowsTributaryIntoMainRiver(t *testing.T) {
	n, err := Parse([]byte(tributaryNet))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		from   string
		want   []string
		distKm []float64
		travel []time.Duration
	}{
		// T1 at km 11 of a 20 km tributary: 9 km to the mouth at 0.5 m/s (18000 s), then
		// main river from km 40 at 1 m/s.
		{from: "T1", want: []string{"O1", "M2", "M3"}, distKm: []float64{4, 19, 39},
			travel: []time.Duration{8000 * time.Second, 28000 * time.Second, 48000 * time.Second}},
		{from: "M1", want: []string{"M2", "M3"}, distKm: []float64{40, 60},
			travel: []time.Duration{40000 * time.Second, 60000 * time.Second}},
		{from: "M3", want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.from, func(t *testing.T) {
			got := n.Downstream(tt.from)
			if len(got) != len(tt.want) {
				t.Fatalf("downstream of %s: got %d sites, want %v", tt.from, len(got), tt.want)
			}
			for i, r := range got {
				if r.Site.ID != tt.want[i] || r.DistanceKm != tt.distKm[i] || r.Travel != tt.travel[i] {
					t.Errorf("reach %d: got %s %.1f km %v, want %s %.1f km %v", i, r.Site.ID, r.DistanceKm, r.Travel, tt.want[i], tt.distKm[i], tt.travel[i])
				}
			}
		})
	}
	if r := n.Downstream("O1")[0]; r.Site.ID != "M2" || r.DilutionFlowM3S != 10 {
		t.Errorf("outfall on tributary: first reach %s flow %g, want M2 on the main river's 10 m³/s", r.Site.ID, r.DilutionFlowM3S)
	}
}

func TestJurisdictionsUpAndDownstream(t *testing.T) {
	n, err := Parse([]byte(tributaryNet))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(n.DownstreamJurisdictions("T1", false), ","); got != "c,a" {
		t.Errorf("downstream of T1 = %q, want c,a", got)
	}
	if got := strings.Join(n.DownstreamJurisdictions("T1", true), ","); got != "c" {
		t.Errorf("downstream of T1 to the intake = %q, want c", got)
	}
	if got := strings.Join(n.UpstreamJurisdictions("M3"), ","); got != "c,b" {
		t.Errorf("upstream of M3 = %q, want c,b (nearest first, own jurisdiction a left out)", got)
	}
	if in, ok := n.NextIntake("O1"); !ok || in.Site.ID != "M2" {
		t.Errorf("next intake below O1 = %v, want M2", in.Site)
	}
}

func TestParseRefusesBrokenNetworks(t *testing.T) {
	base := `
jurisdictions: [{id: a, name: A}]
rivers: [{id: r, name: R, velocity_mps: 1, flow_m3s: 1, length_km: 50}]
sites:
`
	tests := []struct {
		name, sites, want string
	}{
		{"unknown river", `  - {id: S, kind: section, river: x, km: 1, jurisdiction: a, target_class: III}`, `unknown river "x"`},
		{"site off its river", `  - {id: S, kind: section, river: r, km: 60, jurisdiction: a, target_class: III}`, "off river"},
		{"missing target class", `  - {id: S, kind: section, river: r, km: 1, jurisdiction: a}`, "needs target_class"},
		{"bad target class", `  - {id: S, kind: section, river: r, km: 1, jurisdiction: a, target_class: VII}`, "not one of"},
		{"outfall without limits", `  - {id: S, kind: outfall, river: r, km: 1, jurisdiction: a}`, "needs limits"},
		{"unknown jurisdiction", `  - {id: S, kind: section, river: r, km: 1, jurisdiction: z, target_class: III}`, `unknown jurisdiction "z"`},
		{"duplicate MN", "  - {id: S, kind: section, river: r, km: 1, jurisdiction: a, target_class: III, station: {mn: \"1\"}}\n  - {id: T, kind: section, river: r, km: 2, jurisdiction: a, target_class: III, station: {mn: \"1\"}}", `duplicate station mn "1"`},
		{"duplicate id", "  - {id: S, kind: section, river: r, km: 1, jurisdiction: a, target_class: III}\n  - {id: S, kind: section, river: r, km: 2, jurisdiction: a, target_class: III}", "duplicate site id"},
		{"unknown kind", `  - {id: S, kind: lake, river: r, km: 1, jurisdiction: a}`, `kind "lake"`},
		{"sm4 key not 16 bytes", `  - {id: S, kind: section, river: r, km: 1, jurisdiction: a, target_class: III, station: {mn: "1", sm4_keys: ["0011aa"]}}`, `sm4_keys[0]: sm4 key: want 32 hex digits`},
		{"next key not 16 bytes", `  - {id: S, kind: section, river: r, km: 1, jurisdiction: a, target_class: III, station: {mn: "1", sm4_keys: ["8f3ae1c9027b44d5a6e0193c7d2b5f18"], sm4_next_key: "00"}}`, `sm4_next_key: sm4 key: want 32 hex digits`},
		{"next key without a current key", `  - {id: S, kind: section, river: r, km: 1, jurisdiction: a, target_class: III, station: {mn: "1", sm4_next_key: "8f3ae1c9027b44d5a6e0193c7d2b5f18"}}`, `sm4_next_key without sm4_keys`},
		{"next key already current", `  - {id: S, kind: section, river: r, km: 1, jurisdiction: a, target_class: III, station: {mn: "1", sm4_keys: ["8f3ae1c9027b44d5a6e0193c7d2b5f18"], sm4_next_key: "8F3AE1C9027B44D5A6E0193C7D2B5F18"}}`, `sm4_next_key is one of its sm4_keys`},
		{"unknown compat", `  - {id: S, kind: section, river: r, km: 1, jurisdiction: a, target_class: III, station: {mn: "1", compat: [modbus]}}`, `compat "modbus"`},
		{"unknown protocol", `  - {id: S, kind: section, river: r, km: 1, jurisdiction: a, target_class: III, station: {mn: "1", protocol: hj212-2020}}`, `protocol "hj212-2020"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(base + tt.sites + "\n"))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.want)
			}
			if !strings.Contains(err.Error(), "line ") {
				t.Errorf("error %q does not name the line", err)
			}
		})
	}
}

func TestParseRefusesJoinCycle(t *testing.T) {
	doc := `
jurisdictions: [{id: a, name: A}]
rivers:
  - {id: r, velocity_mps: 1, joins: {river: s, at_km: 1}}
  - {id: s, velocity_mps: 1, joins: {river: r, at_km: 1}}
`
	if _, err := Parse([]byte(doc)); err == nil || !strings.Contains(err.Error(), "cycle") {
		t.Fatalf("error = %v, want a join cycle", err)
	}
}

func TestRepositorySitesFileIsValid(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	n, err := Load(filepath.Join(filepath.Dir(file), "..", "..", "configs", "sites.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, s := range n.Sites() {
		count[s.Kind]++
	}
	// The plan: 6 sections on the two rivers, 2 urban drinking-water sources, 2 outfalls.
	if count[KindSection] != 6 || count[KindDrinkingSource] != 2 || count[KindOutfall] != 2 {
		t.Errorf("sites by kind = %v, want 6 sections, 2 drinking sources, 2 outfalls", count)
	}
	if s, ok := n.SiteByMN("65230100000002"); !ok || s.Name != "头屯河八钢断面" {
		t.Errorf("MN 65230100000002 → %v, want 头屯河八钢断面", s)
	}
	if in, ok := n.NextIntake("STH-O1"); !ok || in.Site.ID != "STH-D2" {
		t.Errorf("intake below the Santun outfall = %v, want STH-D2", in.Site)
	}
}

func TestStationProtocolIsOptionalAndNamesAnEdition(t *testing.T) {
	base := `
jurisdictions: [{id: a, name: A}]
rivers: [{id: r, name: R, velocity_mps: 1, flow_m3s: 1, length_km: 50}]
sites:
  - {id: S, kind: section, river: r, km: 1, jurisdiction: a, target_class: III, station: {mn: "1"%s}}
`
	for _, tc := range []struct {
		yaml string
		want hj212.Edition
	}{
		{"", hj212.EditionDetect},
		{", protocol: detect", hj212.EditionDetect},
		{", protocol: hj212-2005", hj212.Edition2005},
		{", protocol: hj212-2017", hj212.Edition2017},
		{", protocol: HJ212-2025", hj212.Edition2025},
	} {
		n, err := Parse([]byte(fmt.Sprintf(base, tc.yaml)))
		if err != nil {
			t.Fatalf("%q: %v", tc.yaml, err)
		}
		s, _ := n.SiteByMN("1")
		if got := s.Station.Edition(); got != tc.want {
			t.Errorf("%q: edition %v, want %v", tc.yaml, got, tc.want)
		}
	}
}

func TestStationCompatNamesDeviations(t *testing.T) {
	n, err := Parse([]byte(`
jurisdictions: [{id: a, name: A}]
rivers: [{id: r, name: R, velocity_mps: 1, flow_m3s: 1, length_km: 50}]
sites:
  - {id: S, kind: section, river: r, km: 1, jurisdiction: a, target_class: III, station: {mn: "1", compat: [modbus_crc, no_cp_end]}}
  - {id: T, kind: section, river: r, km: 2, jurisdiction: a, target_class: III, station: {mn: "2"}}
`))
	if err != nil {
		t.Fatal(err)
	}
	s, _ := n.SiteByMN("1")
	if got := s.Station.Deviations(); got != hj212.DevModbusCRC|hj212.DevNoCPEnd {
		t.Errorf("deviations %v, want modbus_crc+no_cp_end", got)
	}
	s, _ = n.SiteByMN("2")
	if got := s.Station.Deviations(); got != 0 {
		t.Errorf("a station without compat allows %v, want none", got)
	}
}

func TestStationSM4KeysAreParsedAndNeverSerialised(t *testing.T) {
	const key = "8f3ae1c9027b44d5a6e0193c7d2b5f18"
	n, err := Parse([]byte(`
jurisdictions: [{id: a, name: A}]
rivers: [{id: r, name: R, velocity_mps: 1, flow_m3s: 1, length_km: 50}]
sites:
  - {id: S, kind: section, river: r, km: 1, jurisdiction: a, target_class: III, station: {mn: "1", sm4_keys: ["` + key + `"]}}
`))
	if err != nil {
		t.Fatal(err)
	}
	s, _ := n.SiteByMN("1")
	if ks := s.Station.SM4Keys(); len(ks) != 1 || !ks[0].Valid() {
		t.Fatalf("keys %v, want one", ks)
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), key) || strings.Contains(string(b), "sm4") {
		t.Errorf("site JSON shows the key: %s", b)
	}
	if _, err := Parse([]byte(strings.Replace(`
jurisdictions: [{id: a, name: A}]
rivers: [{id: r, name: R, velocity_mps: 1, flow_m3s: 1, length_km: 50}]
sites:
  - {id: S, kind: section, river: r, km: 1, jurisdiction: a, target_class: III, station: {mn: "1", sm4_keys: ["KEY"]}}
`, "KEY", key[:30]+"zz", 1))); err == nil || strings.Contains(err.Error(), key[:30]) {
		t.Errorf("a malformed key: %v (must be refused without showing it)", err)
	}
}

const treeNet = `
jurisdictions:
  - {id: city, name: 市}
  - {id: county, name: 县, parent: city}
  - {id: town, name: 镇, parent: county}
  - {id: village, name: 村, parent: town}
  - {id: xpcc, name: 兵团师}
rivers:
  - {id: r, name: R, velocity_mps: 1, flow_m3s: 1}
sites:
  - {id: S1, kind: section, river: r, km: 1, jurisdiction: village, target_class: III}
`

func TestAncestorClimbsTheRiverChiefTree(t *testing.T) {
	n, err := Parse([]byte(treeNet))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		from   string
		up     int
		want   string
		wantOK bool
	}{
		{"village", 0, "village", true},
		{"village", 1, "town", true},
		{"village", 2, "county", true},
		{"village", 3, "city", true},
		{"village", 4, "", false},
		{"village", -1, "city", true},
		{"xpcc", 1, "", false},
		{"xpcc", -1, "xpcc", true},
		{"nowhere", 1, "", false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s_up_%d", tt.from, tt.up), func(t *testing.T) {
			got, ok := n.Ancestor(tt.from, tt.up)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("Ancestor(%s, %d) = %q, %v; want %q, %v", tt.from, tt.up, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestParseRefusesBrokenJurisdictionTrees(t *testing.T) {
	tests := []struct {
		name, jurisdictions, want string
	}{
		{"unknown parent", "  - {id: a, name: A, parent: nowhere}\n", `jurisdiction "a": unknown parent "nowhere"`},
		{"own parent", "  - {id: a, name: A, parent: a}\n", `jurisdiction "a": parent is itself`},
		{"cycle", "  - {id: a, name: A, parent: c}\n  - {id: b, name: B, parent: a}\n  - {id: c, name: C, parent: b}\n", "parents form a cycle"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := "jurisdictions:\n" + tt.jurisdictions + "rivers:\n  - {id: r, name: R, velocity_mps: 1, flow_m3s: 1}\nsites:\n  - {id: S1, kind: section, river: r, km: 1, jurisdiction: a, target_class: III}\n"
			_, err := Parse([]byte(doc))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse: got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestBasinIsTheRiverSystemASiteDrainsTo(t *testing.T) {
	two := strings.Replace(tributaryNet, "sites:\n", "  - {id: other, name: Other, velocity_mps: 1.0, flow_m3s: 5}\nsites:\n  - {id: X1, kind: section, river: other, km: 1, jurisdiction: a, target_class: III}\n", 1)
	n, err := Parse([]byte(two))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ site, want string }{
		{"M1", "main"},   // on the main river
		{"T1", "main"},   // a tributary's site drains to the main river
		{"O1", "main"},   // so does its outfall
		{"X1", "other"},  // another river system
		{"gone", "gone"}, // an unknown site is its own basin
	}
	for _, tt := range tests {
		if got := n.Basin(tt.site); got != tt.want {
			t.Errorf("Basin(%s) = %q, want %q", tt.site, got, tt.want)
		}
	}
}

func TestEmergencySpacesAreOptionalAndGetTheirDefaults(t *testing.T) {
	doc := `
jurisdictions: [{id: a, name: A}]
rivers:
  - {id: r, name: R, velocity_mps: 1, flow_m3s: 1, length_km: 50}
  - id: s
    name: S
    velocity_mps: 1
    emergency_spaces:
      - {id: G1, name: 一号节制闸, kind: sluice, km: 12, capacity_m3: 30000, operated_by: {jurisdiction: a, role: emergency}}
      - {id: P1, kind: pond, km: 20}
`
	n, err := Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := n.River("r"); len(r.EmergencySpaces) != 0 {
		t.Errorf("river without spaces has %v", r.EmergencySpaces)
	}
	got := n.EmergencySpaces()
	want := []RiverSpace{
		{River: "s", EmergencySpace: EmergencySpace{ID: "G1", Name: "一号节制闸", Kind: SpaceSluice, Km: 12, CapacityM3: 30000, OperatedBy: Operator{Jurisdiction: "a", Role: "emergency"}}},
		{River: "s", EmergencySpace: EmergencySpace{ID: "P1", Name: "P1", Kind: SpacePond, Km: 20}},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("spaces = %+v, want %+v", got, want)
	}
	data, _ := json.Marshal(got[0].EmergencySpace)
	if string(data) != `{"id":"G1","name":"一号节制闸","kind":"sluice","km":12,"capacity_m3":30000,"operated_by":{"jurisdiction":"a","role":"emergency"}}` {
		t.Errorf("JSON = %s", data)
	}
}

func TestParseRefusesBrokenEmergencySpaces(t *testing.T) {
	base := `
jurisdictions: [{id: a, name: A}]
rivers:
  - {id: q, name: Q, velocity_mps: 1, emergency_spaces: [{id: X, kind: pond, km: 1}]}
  - id: r
    name: R
    velocity_mps: 1
    length_km: 50
    emergency_spaces:
`
	tests := []struct {
		name, spaces, want string
	}{
		{"unknown kind", `      - {id: G, kind: dam, km: 1}`, `river "r": emergency_spaces: space "G": kind "dam" is not one of reservoir, sluice, diversion, pond`},
		{"no kind", `      - {id: G, km: 1}`, `space "G": kind "" is not one of`},
		{"km past the mouth", `      - {id: G, kind: sluice, km: 60}`, `space "G": km 60 is off the river (0–50 km)`},
		{"negative km", `      - {id: G, kind: sluice, km: -1}`, `space "G": km -1 is off the river`},
		{"duplicate id on the river", "      - {id: G, kind: sluice, km: 1}\n      - {id: G, kind: pond, km: 2}", `space "G": duplicate id (also on river "r")`},
		{"duplicate id across rivers", `      - {id: X, kind: sluice, km: 1}`, `space "X": duplicate id (also on river "q")`},
		{"empty id", `      - {kind: sluice, km: 1}`, `space 1: id is empty`},
		{"unknown jurisdiction", `      - {id: G, kind: sluice, km: 1, operated_by: {jurisdiction: z, role: eeb}}`, `space "G": operated_by: unknown jurisdiction "z"`},
		{"role without jurisdiction", `      - {id: G, kind: sluice, km: 1, operated_by: {role: eeb}}`, `space "G": operated_by role "eeb" without a jurisdiction`},
		{"negative capacity", `      - {id: G, kind: pond, km: 1, capacity_m3: -5}`, `space "G": capacity_m3 must be ≥ 0`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(base + tt.spaces + "\n"))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}
