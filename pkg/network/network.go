package network

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/riverwatch/riverwatch/pkg/hj212"
)

// Site kinds.
const (
	KindSection        = "section"
	KindDrinkingSource = "drinking_source"
	KindOutfall        = "outfall"
)

// Jurisdiction is an administrative area that owns sites and acts in incidents.
type Jurisdiction struct {
	ID   string `yaml:"id" json:"id"`
	Name string `yaml:"name" json:"name"`
	// Parent is the jurisdiction above this one in the river-chief tree (village →
	// township → county → city, or a 兵团 regiment → division): escalation climbs to it
	// (docs/escalation.md). Optional; empty for the top of a tree.
	Parent string `yaml:"parent" json:"parent,omitempty"`
}

// Join says where a tributary meets its main river.
type Join struct {
	River string  `yaml:"river" json:"river"`
	AtKm  float64 `yaml:"at_km" json:"at_km"`
}

// River is one river of the network.
type River struct {
	ID          string  `yaml:"id" json:"id"`
	Name        string  `yaml:"name" json:"name"`
	VelocityMPS float64 `yaml:"velocity_mps" json:"velocity_mps"`
	FlowM3S     float64 `yaml:"flow_m3s" json:"flow_m3s"`
	LengthKm    float64 `yaml:"length_km" json:"length_km,omitempty"` // optional
	Joins       *Join   `yaml:"joins" json:"joins,omitempty"`
	// Transport is the optional plume model of the river (docs/plume.md): how velocity
	// follows live discharge and how much a plume spreads. Without it, velocity_mps holds
	// at every flow and the spread follows Jobson's leading-edge ratio.
	Transport *Transport `yaml:"transport" json:"transport,omitempty"`
	// EmergencySpaces are the river's places where a plume can be held or turned aside
	// (一河一策一图): reservoirs, sluices, diversion channels and ponds (docs/plume.md,
	// "Emergency spaces and interception"). Optional; none by default.
	EmergencySpaces []EmergencySpace `yaml:"emergency_spaces" json:"emergency_spaces,omitempty"`
}

// Emergency space kinds.
const (
	SpaceReservoir = "reservoir"
	SpaceSluice    = "sluice"
	SpaceDiversion = "diversion"
	SpacePond      = "pond"
)

// SpaceKinds are the kinds an emergency space may have, in the order errors list them.
var SpaceKinds = []string{SpaceReservoir, SpaceSluice, SpaceDiversion, SpacePond}

// EmergencySpace is a place on a river where a plume can be intercepted: a reservoir or a
// sluice that can hold it, a diversion channel or a pond that can take it off the river.
type EmergencySpace struct {
	ID   string `yaml:"id" json:"id"`     // unique across the network
	Name string `yaml:"name" json:"name"` // default: the id
	Kind string `yaml:"kind" json:"kind"` // reservoir, sluice, diversion or pond
	// Km is where it lies on its river, on the same axis as the sites' km.
	Km float64 `yaml:"km" json:"km"`
	// CapacityM3 is how much polluted water it can hold or take (m³); 0: not known.
	CapacityM3 float64 `yaml:"capacity_m3" json:"capacity_m3,omitempty"`
	// OperatedBy is who operates it: the contact (contacts.yaml) to tell. Optional; an
	// empty one names nobody.
	OperatedBy Operator `yaml:"operated_by" json:"operated_by"`
}

// Operator names a contact of the directory (contacts.yaml) by jurisdiction and role.
type Operator struct {
	Jurisdiction string `yaml:"jurisdiction" json:"jurisdiction"`
	Role         string `yaml:"role" json:"role"`
}

// Transport holds a river's plume parameters; every field is optional (docs/plume.md).
type Transport struct {
	// VelocityCoefficient is a in v = a·Qᵇ (m/s at 1 m³/s). Default: the value that puts the
	// relation through the river's velocity_mps at its flow_m3s.
	VelocityCoefficient float64 `yaml:"velocity_coefficient" json:"velocity_coefficient,omitempty"`
	// VelocityExponent is b in v = a·Qᵇ. Default 0.285 (Raymond et al. 2012, after Leopold
	// and Maddock's hydraulic geometry).
	VelocityExponent float64 `yaml:"velocity_exponent" json:"velocity_exponent,omitempty"`
	// DispersionM2S is the longitudinal dispersion coefficient D in m²/s. Default 0: the
	// spread is the one implied by Jobson's leading-edge ratio (σ = 5.5 % of the travel time).
	DispersionM2S float64 `yaml:"dispersion_m2s" json:"dispersion_m2s,omitempty"`
	// VelocityFactor bounds the velocity's uncertainty: the band runs from v·f (earliest
	// arrival) to v/f (latest fall). Default 1.5.
	VelocityFactor float64 `yaml:"velocity_factor" json:"velocity_factor,omitempty"`
	// Reaches override the parameters above on stretches of the river.
	Reaches []ReachTransport `yaml:"reaches" json:"reaches,omitempty"`
}

// ReachTransport overrides a river's transport parameters from FromKm to ToKm; a zero
// field keeps the river's value.
type ReachTransport struct {
	FromKm              float64 `yaml:"from_km" json:"from_km"`
	ToKm                float64 `yaml:"to_km" json:"to_km"`
	VelocityCoefficient float64 `yaml:"velocity_coefficient" json:"velocity_coefficient,omitempty"`
	VelocityExponent    float64 `yaml:"velocity_exponent" json:"velocity_exponent,omitempty"`
	DispersionM2S       float64 `yaml:"dispersion_m2s" json:"dispersion_m2s,omitempty"`
}

// Transport defaults.
const (
	DefaultVelocityExponent = 0.285
	DefaultVelocityFactor   = 1.5
)

// TransportAt returns the transport parameters that hold at km on the river, defaults
// filled in: the river's own, overridden by the first reach that contains km (from_km ≤
// km < to_km).
func (r *River) TransportAt(km float64) ReachTransport {
	out := ReachTransport{FromKm: 0, ToKm: -1, VelocityExponent: DefaultVelocityExponent}
	t := r.Transport
	if t != nil {
		if t.VelocityExponent != 0 {
			out.VelocityExponent = t.VelocityExponent
		}
		out.VelocityCoefficient, out.DispersionM2S = t.VelocityCoefficient, t.DispersionM2S
	}
	if t != nil {
		for _, rt := range t.Reaches {
			if km >= rt.FromKm && km < rt.ToKm {
				out.FromKm, out.ToKm = rt.FromKm, rt.ToKm
				if rt.VelocityExponent != 0 {
					out.VelocityExponent = rt.VelocityExponent
				}
				if rt.VelocityCoefficient != 0 {
					out.VelocityCoefficient = rt.VelocityCoefficient
				}
				if rt.DispersionM2S != 0 {
					out.DispersionM2S = rt.DispersionM2S
				}
				break
			}
		}
	}
	if out.VelocityCoefficient == 0 && r.FlowM3S > 0 {
		out.VelocityCoefficient = r.VelocityMPS / math.Pow(r.FlowM3S, out.VelocityExponent)
	}
	return out
}

// VelocityFactor returns the river's velocity uncertainty factor, default filled in.
func (r *River) VelocityFactor() float64 {
	if r.Transport != nil && r.Transport.VelocityFactor > 0 {
		return r.Transport.VelocityFactor
	}
	return DefaultVelocityFactor
}

// Station is the data logger that reports for a site over HJ 212.
type Station struct {
	MN       string `yaml:"mn" json:"mn"`
	Password string `yaml:"password" json:"-"`
	// IntervalS is how often the station is expected to report, in seconds (default 3600,
	// hourly data as automatic water stations send it).
	IntervalS int `yaml:"interval_s" json:"interval_s,omitempty"`
	// Protocol is the edition of HJ 212 the data logger speaks: hj212-2005, hj212-2017,
	// hj212-2025, or detect (the default: the Flag's version bits). Set it for a legacy
	// logger whose Flag misleads (Flag=8 before HJ 212-2025); the Flag is then a
	// cross-check (docs/protocol.md).
	Protocol string `yaml:"protocol" json:"protocol,omitempty"`
	// Compat lists the deviations from HJ 212 accepted from this station's logger:
	// modbus_crc, lowercase_hex, no_cp_end, long_segment (docs/protocol.md). Empty (the default): strict.
	// Each accepted deviation is counted, so that the logger gets fixed.
	Compat []string `yaml:"compat" json:"compat,omitempty"`
	// SM4Keys are the station's HJ 212-2025 SM4 keys, 32 hex digits each, the current one
	// first (docs/protocol.md): an encrypted CP is decrypted with the first that gives its
	// CRC, so that a rotation (every 90 days, §6.4.3) loses no frame while both are listed.
	// Secrets like Password: never serialised, never logged.
	SM4KeysHex []string `yaml:"sm4_keys" json:"-"`
	sm4Keys    []hj212.SM4Key
	// SM4NextKeyHex is the key the station is to rotate to (32 hex digits): a rotate_key
	// station command (CN 1014) sends it, encrypted with the current key, and the gateway
	// switches to it once the logger answers 9012 ExeRtn=1 (docs/protocol.md, Key rotation).
	// Taken from here only, never from a request. A secret like SM4KeysHex.
	SM4NextKeyHex string `yaml:"sm4_next_key" json:"-"`
	sm4NextKey    hj212.SM4Key
}

// SM4Keys returns the station's parsed SM4 keys (SM4KeysHex, validated by Parse).
func (st *Station) SM4Keys() []hj212.SM4Key { return st.sm4Keys }

// SM4NextKey returns the station's parsed next key (SM4NextKeyHex); unset when none.
func (st *Station) SM4NextKey() hj212.SM4Key { return st.sm4NextKey }

// Deviations returns the station's accepted deviations (Compat, validated by Parse).
func (st *Station) Deviations() hj212.Deviation {
	var d hj212.Deviation
	for _, name := range st.Compat {
		v, _ := hj212.ParseDeviation(name)
		d |= v
	}
	return d
}

// Edition returns the station's configured edition (Protocol, validated by Parse).
func (st *Station) Edition() hj212.Edition {
	e, _ := hj212.ParseEdition(st.Protocol)
	return e
}

// Limits names the discharge limits of an outfall: a named standard (GB18918-1A, ...) or a
// custom set of parameter → limit in mg/L.
type Limits struct {
	Name   string             `json:"name,omitempty"`
	Custom map[string]float64 `json:"custom,omitempty"`
}

// UnmarshalYAML accepts either a string (a standard's name) or a mapping.
func (l *Limits) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		l.Name = n.Value
		return nil
	case yaml.MappingNode:
		return n.Decode(&l.Custom)
	default:
		return fmt.Errorf("line %d: limits must be a standard's name or a mapping of parameter: limit", n.Line)
	}
}

// Site is a monitored place: a river section, a drinking-water source or an outfall.
type Site struct {
	ID           string   `yaml:"id" json:"id"`
	Name         string   `yaml:"name" json:"name"`
	Kind         string   `yaml:"kind" json:"kind"`
	River        string   `yaml:"river" json:"river"`
	Km           float64  `yaml:"km" json:"km"`
	Jurisdiction string   `yaml:"jurisdiction" json:"jurisdiction"`
	TargetClass  string   `yaml:"target_class" json:"target_class,omitempty"`
	Body         string   `yaml:"body" json:"body,omitempty"` // river (default) or lake: reservoirs use the lake TP limits
	Limits       *Limits  `yaml:"limits" json:"limits,omitempty"`
	FlowM3S      float64  `yaml:"flow_m3s" json:"flow_m3s,omitempty"`
	Lat          float64  `yaml:"lat" json:"lat,omitempty"`
	Lon          float64  `yaml:"lon" json:"lon,omitempty"`
	Station      *Station `yaml:"station" json:"station,omitempty"`
	line         int
}

// IsLake reports whether the site is judged as a lake or reservoir.
func (s *Site) IsLake() bool { return s.Body == "lake" }

// File is the schema of sites.yaml.
type File struct {
	Timezone      string         `yaml:"timezone"`
	Jurisdictions []Jurisdiction `yaml:"jurisdictions"`
	Rivers        []River        `yaml:"rivers"`
	Sites         []Site         `yaml:"sites"`
}

// Reach is a site downstream (or upstream) of another, with the distance and travel time
// along the flow between them.
type Reach struct {
	Site       *Site
	DistanceKm float64
	Travel     time.Duration
	// DilutionFlowM3S is the river flow at the reached site: the main river's flow once a
	// tributary has joined it, used for mass-balance mixing.
	DilutionFlowM3S float64
	// Path is the way along the flow from the one site to the other, one span per river,
	// upstream first.
	Path []Span
}

// Span is a stretch of one river, from FromKm down to ToKm.
type Span struct {
	River  string
	FromKm float64
	ToKm   float64
}

// Network is the validated river network. It is immutable after Load and safe for
// concurrent use.
type Network struct {
	Location      *time.Location
	jurisdictions []Jurisdiction
	rivers        []River
	sites         []*Site
	byID          map[string]*Site
	byMN          map[string]*Site
	riverByID     map[string]*River
	jurByID       map[string]*Jurisdiction
	downstream    map[string][]Reach
	upstream      map[string][]Reach
}

// Load reads and validates a sites.yaml file.
func Load(path string) (*Network, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("sites file: %w", err)
	}
	n, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("sites file %s: %w", path, err)
	}
	return n, nil
}

// Parse validates a sites.yaml document. Every problem found is reported, each naming the
// site and the line.
func Parse(data []byte) (*Network, error) {
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	var f File
	if err := root.Decode(&f); err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	recordSiteLines(&root, f.Sites)
	return build(f)
}

// recordSiteLines remembers where each site starts so validation errors can name the line.
func recordSiteLines(root *yaml.Node, sites []Site) {
	if len(root.Content) == 0 {
		return
	}
	doc := root.Content[0]
	for i := 0; i+1 < len(doc.Content); i += 2 {
		if doc.Content[i].Value != "sites" {
			continue
		}
		for j, item := range doc.Content[i+1].Content {
			if j < len(sites) {
				sites[j].line = item.Line
			}
		}
	}
}

func build(f File) (*Network, error) {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	tz := f.Timezone
	if tz == "" {
		tz = "Asia/Shanghai"
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		fail("timezone %q: %w", tz, err)
		loc = time.UTC
	}
	n := &Network{
		Location:      loc,
		jurisdictions: f.Jurisdictions,
		rivers:        f.Rivers,
		byID:          map[string]*Site{},
		byMN:          map[string]*Site{},
		riverByID:     map[string]*River{},
		jurByID:       map[string]*Jurisdiction{},
	}
	for i := range n.jurisdictions {
		j := &n.jurisdictions[i]
		if j.ID == "" {
			fail("jurisdiction %d: id is empty", i+1)
			continue
		}
		if _, dup := n.jurByID[j.ID]; dup {
			fail("jurisdiction %q: duplicate id", j.ID)
		}
		n.jurByID[j.ID] = j
	}
	for _, j := range n.jurisdictions {
		switch {
		case j.Parent == "":
		case j.Parent == j.ID:
			fail("jurisdiction %q: parent is itself", j.ID)
		case n.jurByID[j.Parent] == nil:
			fail("jurisdiction %q: unknown parent %q", j.ID, j.Parent)
		}
	}
	if cyc := n.parentCycle(); cyc != "" {
		fail("jurisdictions: parents form a cycle through %q", cyc)
	}
	for i := range n.rivers {
		r := &n.rivers[i]
		switch {
		case r.ID == "":
			fail("river %d: id is empty", i+1)
			continue
		case r.VelocityMPS <= 0:
			fail("river %q: velocity_mps must be > 0", r.ID)
		case r.FlowM3S < 0:
			fail("river %q: flow_m3s must be ≥ 0", r.ID)
		}
		if _, dup := n.riverByID[r.ID]; dup {
			fail("river %q: duplicate id", r.ID)
		}
		for _, msg := range r.Transport.problems() {
			fail("river %q: transport: %s", r.ID, msg)
		}
		n.riverByID[r.ID] = r
	}
	spaceIDs := map[string]string{} // space id → its river
	for i := range n.rivers {
		for _, msg := range n.spaceProblems(&n.rivers[i], spaceIDs) {
			fail("river %q: emergency_spaces: %s", n.rivers[i].ID, msg)
		}
	}
	for _, r := range n.rivers {
		if r.Joins == nil {
			continue
		}
		main, ok := n.riverByID[r.Joins.River]
		if !ok {
			fail("river %q: joins unknown river %q", r.ID, r.Joins.River)
			continue
		}
		if main.LengthKm > 0 && (r.Joins.AtKm < 0 || r.Joins.AtKm > main.LengthKm) {
			fail("river %q: joins %q at km %g, off that river (0–%g km)", r.ID, main.ID, r.Joins.AtKm, main.LengthKm)
		}
	}
	if cyc := n.joinCycle(); cyc != "" {
		fail("rivers: tributaries join in a cycle through %q", cyc)
	}

	for i := range f.Sites {
		s := &f.Sites[i]
		where := fmt.Sprintf("site %q (line %d)", s.ID, s.line)
		if s.ID == "" {
			fail("site at line %d: id is empty", s.line)
			continue
		}
		if _, dup := n.byID[s.ID]; dup {
			fail("%s: duplicate site id", where)
		}
		river, ok := n.riverByID[s.River]
		if !ok {
			fail("%s: unknown river %q", where, s.River)
		} else if s.Km < 0 || (river.LengthKm > 0 && s.Km > river.LengthKm) {
			fail("%s: km %g is off river %q (0–%g km)", where, s.Km, river.ID, river.LengthKm)
		}
		if _, ok := n.jurByID[s.Jurisdiction]; !ok {
			fail("%s: unknown jurisdiction %q", where, s.Jurisdiction)
		}
		switch s.Kind {
		case KindSection, KindDrinkingSource:
			if s.TargetClass == "" {
				fail("%s: a %s needs target_class", where, s.Kind)
			} else if !validClass(s.TargetClass) {
				fail("%s: target_class %q is not one of I, II, III, IV, V", where, s.TargetClass)
			}
		case KindOutfall:
			if s.Limits == nil || (s.Limits.Name == "" && len(s.Limits.Custom) == 0) {
				fail("%s: an outfall needs limits (a standard's name or parameter: limit)", where)
			}
			if s.FlowM3S < 0 {
				fail("%s: flow_m3s must be ≥ 0", where)
			}
		default:
			fail("%s: kind %q is not section, drinking_source or outfall", where, s.Kind)
		}
		switch s.Body {
		case "":
			s.Body = "river"
		case "river", "lake":
		default:
			fail("%s: body %q is not river or lake", where, s.Body)
		}
		if st := s.Station; st != nil {
			switch {
			case st.MN == "":
				fail("%s: station mn is empty", where)
			case n.byMN[st.MN] != nil:
				fail("%s: duplicate station mn %q (also site %q)", where, st.MN, n.byMN[st.MN].ID)
			default:
				n.byMN[st.MN] = s
			}
			if st.IntervalS == 0 {
				st.IntervalS = 3600
			}
			if _, ok := hj212.ParseEdition(st.Protocol); !ok {
				fail("%s: station protocol %q is not hj212-2005, hj212-2017, hj212-2025 or detect", where, st.Protocol)
			}
			st.sm4Keys = nil
			for i, h := range st.SM4KeysHex {
				k, err := hj212.ParseSM4Key(h)
				if err != nil {
					fail("%s: station sm4_keys[%d]: %v", where, i, err) // the error never holds the key
					continue
				}
				st.sm4Keys = append(st.sm4Keys, k)
			}
			st.sm4NextKey = hj212.SM4Key{}
			if st.SM4NextKeyHex != "" {
				k, err := hj212.ParseSM4Key(st.SM4NextKeyHex)
				switch {
				case err != nil:
					fail("%s: station sm4_next_key: %v", where, err)
				case len(st.sm4Keys) == 0:
					fail("%s: station sm4_next_key without sm4_keys: HJ 212-2025 sends the new key (CN 1014) encrypted with the current one", where)
				case slices.ContainsFunc(st.sm4Keys, k.Equal):
					fail("%s: station sm4_next_key is one of its sm4_keys already", where)
				default:
					st.sm4NextKey = k
				}
			}
			for _, c := range st.Compat {
				if _, ok := hj212.ParseDeviation(c); !ok {
					fail("%s: station compat %q is not modbus_crc, lowercase_hex, no_cp_end or long_segment", where, c)
				}
			}
		}
		n.byID[s.ID] = s
		n.sites = append(n.sites, s)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	n.computeReaches()
	return n, nil
}

// spaceProblems lists what is wrong with a river's emergency spaces, and fills in their
// defaults (a space's name is its id). ids collects the ids seen so far across rivers.
func (n *Network) spaceProblems(r *River, ids map[string]string) []string {
	var out []string
	for i := range r.EmergencySpaces {
		sp := &r.EmergencySpaces[i]
		if sp.ID == "" {
			out = append(out, fmt.Sprintf("space %d: id is empty", i+1))
			continue
		}
		where := fmt.Sprintf("space %q: ", sp.ID)
		if other, dup := ids[sp.ID]; dup {
			out = append(out, fmt.Sprintf("%sduplicate id (also on river %q)", where, other))
		}
		ids[sp.ID] = r.ID
		if sp.Name == "" {
			sp.Name = sp.ID
		}
		if !slices.Contains(SpaceKinds, sp.Kind) {
			out = append(out, fmt.Sprintf("%skind %q is not one of %s", where, sp.Kind, strings.Join(SpaceKinds, ", ")))
		}
		if sp.Km < 0 || (r.LengthKm > 0 && sp.Km > r.LengthKm) || math.IsNaN(sp.Km) {
			out = append(out, fmt.Sprintf("%skm %g is off the river (0–%g km)", where, sp.Km, r.LengthKm))
		}
		if sp.CapacityM3 < 0 {
			out = append(out, where+"capacity_m3 must be ≥ 0")
		}
		op := sp.OperatedBy
		switch {
		case op.Jurisdiction == "" && op.Role != "":
			out = append(out, fmt.Sprintf("%soperated_by role %q without a jurisdiction", where, op.Role))
		case op.Jurisdiction != "" && n.jurByID[op.Jurisdiction] == nil:
			out = append(out, fmt.Sprintf("%soperated_by: unknown jurisdiction %q", where, op.Jurisdiction))
		}
	}
	return out
}

// EmergencySpaces returns every river's emergency spaces with their river, in file order.
func (n *Network) EmergencySpaces() []RiverSpace {
	var out []RiverSpace
	for _, r := range n.rivers {
		for _, sp := range r.EmergencySpaces {
			out = append(out, RiverSpace{River: r.ID, EmergencySpace: sp})
		}
	}
	return out
}

// RiverSpace is an emergency space with the river it lies on.
type RiverSpace struct {
	River string
	EmergencySpace
}

// problems lists what is wrong with a river's transport parameters (none for a nil one).
func (t *Transport) problems() []string {
	if t == nil {
		return nil
	}
	var out []string
	check := func(where string, a, b, d float64) {
		if a < 0 {
			out = append(out, where+"velocity_coefficient must be ≥ 0")
		}
		if b < 0 || b > 1 {
			out = append(out, where+"velocity_exponent must be within 0–1")
		}
		if d < 0 {
			out = append(out, where+"dispersion_m2s must be ≥ 0")
		}
	}
	check("", t.VelocityCoefficient, t.VelocityExponent, t.DispersionM2S)
	if t.VelocityFactor != 0 && (t.VelocityFactor < 1 || t.VelocityFactor > 5) {
		out = append(out, "velocity_factor must be within 1–5")
	}
	for i, rt := range t.Reaches {
		where := fmt.Sprintf("reach %d (km %g–%g): ", i+1, rt.FromKm, rt.ToKm)
		if rt.FromKm < 0 || rt.ToKm <= rt.FromKm {
			out = append(out, where+"from_km must be ≥ 0 and below to_km")
		}
		for j := range i {
			if o := t.Reaches[j]; rt.FromKm < o.ToKm && o.FromKm < rt.ToKm {
				out = append(out, fmt.Sprintf("%soverlaps reach %d", where, j+1))
			}
		}
		check(where, rt.VelocityCoefficient, rt.VelocityExponent, rt.DispersionM2S)
	}
	return out
}

func validClass(c string) bool {
	switch strings.ToUpper(c) {
	case "I", "II", "III", "IV", "V":
		return true
	}
	return false
}

// joinCycle returns a river on a cycle of joins, or "".
func (n *Network) joinCycle() string {
	for _, r := range n.rivers {
		seen := map[string]bool{}
		for cur := &r; cur != nil && cur.Joins != nil; {
			if seen[cur.ID] {
				return cur.ID
			}
			seen[cur.ID] = true
			cur = n.riverByID[cur.Joins.River]
		}
	}
	return ""
}

// parentCycle returns a jurisdiction on a cycle of parents (longer than one: a
// jurisdiction that is its own parent is reported on its own), or "".
func (n *Network) parentCycle() string {
	for _, j := range n.jurisdictions {
		seen := map[string]bool{}
		for cur := n.jurByID[j.ID]; cur != nil && cur.Parent != "" && cur.Parent != cur.ID; cur = n.jurByID[cur.Parent] {
			if seen[cur.ID] {
				return cur.ID
			}
			seen[cur.ID] = true
		}
	}
	return ""
}

// MouthKm is where a river ends: its length, or its furthest site when no length is given.
func (n *Network) MouthKm(riverID string) float64 { return n.mouthKm(riverID) }

// mouthKm is where a river ends: its length, or its furthest site when no length is given.
func (n *Network) mouthKm(riverID string) float64 {
	r := n.riverByID[riverID]
	if r.LengthKm > 0 {
		return r.LengthKm
	}
	var max float64
	for _, s := range n.sites {
		if s.River == riverID && s.Km > max {
			max = s.Km
		}
	}
	return max
}

func (n *Network) computeReaches() {
	n.downstream = map[string][]Reach{}
	n.upstream = map[string][]Reach{}
	for _, from := range n.sites {
		var reaches []Reach
		riverID, km := from.River, from.Km
		var dist float64
		var travel time.Duration
		var path []Span
		strict := true // on the site's own river only sites strictly below it
		for riverID != "" {
			r := n.riverByID[riverID]
			for _, to := range n.sites {
				if to == from || to.River != riverID || to.Km < km || (strict && to.Km == km) {
					continue
				}
				d := to.Km - km
				reaches = append(reaches, Reach{
					Site:            to,
					DistanceKm:      dist + d,
					Travel:          travel + seconds(d*1000/r.VelocityMPS),
					DilutionFlowM3S: r.FlowM3S,
					Path:            append(append([]Span(nil), path...), Span{River: riverID, FromKm: km, ToKm: to.Km}),
				})
			}
			if r.Joins == nil {
				break
			}
			d := n.mouthKm(riverID) - km
			if d < 0 {
				d = 0
			}
			dist += d
			travel += seconds(d * 1000 / r.VelocityMPS)
			path = append(path, Span{River: riverID, FromKm: km, ToKm: km + d})
			riverID, km, strict = r.Joins.River, r.Joins.AtKm, false
		}
		sort.SliceStable(reaches, func(i, j int) bool { return reaches[i].DistanceKm < reaches[j].DistanceKm })
		n.downstream[from.ID] = reaches
		for _, rc := range reaches {
			n.upstream[rc.Site.ID] = append(n.upstream[rc.Site.ID], Reach{
				Site: from, DistanceKm: rc.DistanceKm, Travel: rc.Travel, DilutionFlowM3S: rc.DilutionFlowM3S, Path: rc.Path,
			})
		}
	}
	for id := range n.upstream {
		up := n.upstream[id]
		sort.SliceStable(up, func(i, j int) bool { return up[i].DistanceKm < up[j].DistanceKm })
	}
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// Sites returns every site, in file order.
func (n *Network) Sites() []*Site { return n.sites }

// Site returns the site with the given id.
func (n *Network) Site(id string) (*Site, bool) {
	s, ok := n.byID[id]
	return s, ok
}

// SiteByMN returns the site whose station has the given HJ 212 MN.
func (n *Network) SiteByMN(mn string) (*Site, bool) {
	s, ok := n.byMN[mn]
	return s, ok
}

// River returns the river with the given id.
func (n *Network) River(id string) (*River, bool) {
	r, ok := n.riverByID[id]
	return r, ok
}

// Rivers returns every river, in file order.
func (n *Network) Rivers() []River { return n.rivers }

// Jurisdiction returns the jurisdiction with the given id.
func (n *Network) Jurisdiction(id string) (*Jurisdiction, bool) {
	j, ok := n.jurByID[id]
	return j, ok
}

// Ancestor returns the jurisdiction up levels above id in the river-chief tree (1: its
// parent, 2: the parent's parent); up < 0 climbs to the top of the tree. It reports false
// when the tree is not that deep above id (or id is unknown); up 0 is id itself.
func (n *Network) Ancestor(id string, up int) (string, bool) {
	cur, ok := n.jurByID[id]
	if !ok {
		return "", false
	}
	if up < 0 {
		for cur.Parent != "" {
			cur = n.jurByID[cur.Parent]
		}
		return cur.ID, true
	}
	for range up {
		if cur.Parent == "" {
			return "", false
		}
		cur = n.jurByID[cur.Parent]
	}
	return cur.ID, true
}

// Jurisdictions returns every jurisdiction, in file order.
func (n *Network) Jurisdictions() []Jurisdiction { return n.jurisdictions }

// Downstream returns the sites downstream of a site, nearest first, following tributaries
// into their main rivers.
func (n *Network) Downstream(siteID string) []Reach { return n.downstream[siteID] }

// Upstream returns the sites upstream of a site, nearest first.
func (n *Network) Upstream(siteID string) []Reach { return n.upstream[siteID] }

// UpstreamJurisdictions returns the jurisdictions of sites upstream of a site, nearest
// first, without the site's own jurisdiction.
func (n *Network) UpstreamJurisdictions(siteID string) []string {
	return n.jurisdictionsOf(siteID, n.upstream[siteID], false)
}

// DownstreamJurisdictions returns the jurisdictions of sites downstream of a site, nearest
// first, without the site's own jurisdiction. With toIntake, it stops at the first
// drinking-water source downstream (that source's jurisdiction included).
func (n *Network) DownstreamJurisdictions(siteID string, toIntake bool) []string {
	return n.jurisdictionsOf(siteID, n.downstream[siteID], toIntake)
}

func (n *Network) jurisdictionsOf(siteID string, reaches []Reach, toIntake bool) []string {
	self := ""
	if s, ok := n.byID[siteID]; ok {
		self = s.Jurisdiction
	}
	seen := map[string]bool{self: true}
	var out []string
	for _, rc := range reaches {
		if !seen[rc.Site.Jurisdiction] {
			seen[rc.Site.Jurisdiction] = true
			out = append(out, rc.Site.Jurisdiction)
		}
		if toIntake && rc.Site.Kind == KindDrinkingSource {
			break
		}
	}
	return out
}

// NextIntake returns the first drinking-water source downstream of a site.
func (n *Network) NextIntake(siteID string) (Reach, bool) {
	for _, rc := range n.downstream[siteID] {
		if rc.Site.Kind == KindDrinkingSource {
			return rc, true
		}
	}
	return Reach{}, false
}

// Basin is the river system a site drains to: the id of the river at the end of its
// river's chain of joins (the site's own river when that joins none). Sites of one basin
// are the only ones whose events can group into one incident (a plume stays in its river
// system), so the responder's shards are basins (docs/scaling.md). An unknown site is its
// own basin.
func (n *Network) Basin(siteID string) string {
	s, ok := n.byID[siteID]
	if !ok {
		return siteID
	}
	r, ok := n.riverByID[s.River]
	// Load refuses cycles of joins; the bound keeps a Network built otherwise from looping.
	for i := 0; ok && r.Joins != nil && i <= len(n.rivers); i++ {
		next, found := n.riverByID[r.Joins.River]
		if !found {
			break
		}
		r = next
	}
	if !ok {
		return s.River
	}
	return r.ID
}
