package simulate

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/riverwatch/riverwatch/pkg/network"
	"github.com/riverwatch/riverwatch/pkg/standard"
)

// Kinds of happening in a scenario's timeline.
const (
	// KindSpill: an outfall discharges Concentration of Parameter for Duration; the pulse
	// travels downstream, mixed, dispersed and decaying.
	KindSpill = "spill"
	// KindStuck: a sensor repeats the value it read at At for Duration (a flat line).
	KindStuck = "stuck"
	// KindDrift: a sensor's reading drifts by PerHour every simulated hour for Duration.
	KindDrift = "drift"
	// KindSilent: a station sends nothing for Duration; with Backfill its data logger keeps
	// the frames and sends them when the link returns, as HJ 212 loggers do (补发).
	KindSilent = "silent"
	// KindDrill: an operator starts a drill incident at Site for Parameter.
	KindDrill = "drill"
	// KindTracer: a tracer drill releases Concentration of the tracer (in the river, mixed,
	// at Site: a section or source) for Duration; the pulse travels downstream like a
	// spill, conservative and diluted where the flow grows. The assessor re-tunes the
	// reach's velocity and dispersion from its breakthrough (docs/plume.md).
	KindTracer = "tracer"
)

// Story steps the narrator can wait for, in the order a full incident tells them.
const (
	StepReading     = "reading"
	StepExceedance  = "exceedance"
	StepPrediction  = "prediction"
	StepQuality     = "quality"
	StepOffline     = "offline"
	StepOnline      = "online"
	StepIncident    = "incident"
	StepNotified    = "notification"
	StepAcknowledge = "acknowledgement"
	StepRecovery    = "recovery"
	StepResolved    = "resolved"
	StepEndOfAlert  = "end_of_alert"
)

// Things the narrator tells around any incident, not steps a story waits for.
const (
	// NoteInhibited: an incident's alarms are held (a suspect series, an offline station,
	// a sensor-fault verdict): the maintenance unit is told, the river chief not paged.
	NoteInhibited = "inhibited"
	// NoteVerdict: the responder's verdict from the river's topology.
	NoteVerdict = "verdict"
	// NoteVerification: a prediction's window checked against what its site saw
	// (prediction.verified or prediction.refuted).
	NoteVerification = "verification"
	// NoteSources: the upstream source ranking (溯源) an incident's step carries.
	NoteSources = "sources"
)

// stepOrder is the canonical order of the steps; a scenario's story lists a subset.
var stepOrder = []string{
	StepReading, StepExceedance, StepPrediction, StepQuality, StepOffline, StepOnline,
	StepIncident, StepNotified, StepAcknowledge, StepRecovery, StepResolved, StepEndOfAlert,
}

// Happening is one entry of a scenario's timeline.
type Happening struct {
	Kind      string        `yaml:"kind"`
	At        time.Duration `yaml:"at"` // simulated time after the scenario starts
	Site      string        `yaml:"site"`
	Parameter string        `yaml:"parameter"`
	Duration  time.Duration `yaml:"duration"`
	// Concentration of the effluent during a spill, in the parameter's canonical unit.
	Concentration float64 `yaml:"concentration"`
	// Rise is how long the outfall's concentration takes to rise to Concentration and to
	// fall back (default 10 minutes).
	Rise time.Duration `yaml:"rise"`
	// DispersionM2S is the river's longitudinal dispersion coefficient (default 10 m²/s).
	DispersionM2S float64 `yaml:"dispersion_m2s"`
	// DecayPerDay is the first-order decay rate of the pollutant (default 0: conservative).
	DecayPerDay float64 `yaml:"decay_per_day"`
	// PerHour is a drifting sensor's change per simulated hour.
	PerHour float64 `yaml:"per_hour"`
	// Value, for a stuck sensor, is the reading it sticks at (a probe failing high, in the
	// parameter's canonical unit); without it, the value it read when it stuck.
	Value *float64 `yaml:"value"`
	// Backfill: a silent station's logger sends what it kept once the link returns.
	Backfill bool `yaml:"backfill"`
}

// End is when the happening stops affecting the stations.
func (h Happening) End() time.Duration { return h.At + h.Duration }

// Story says which steps tell the scenario's story and which sites they concern.
type Story struct {
	Steps []string `yaml:"steps"`
	// Site is where the story's exceedance, quality or offline step happens (for a spill:
	// the section the plume pushes over its class).
	Site string `yaml:"site"`
	// PredictionSite is the downstream site the prediction step names (the intake).
	PredictionSite string `yaml:"prediction_site"`
	// ReadingSite and ReadingParameter name the reading that starts the story; ReadingMin
	// is the value it must reach (the spill shows at the outfall).
	ReadingSite      string  `yaml:"reading_site"`
	ReadingParameter string  `yaml:"reading_parameter"`
	ReadingMin       float64 `yaml:"reading_min"`
	// Drill: the incident step must be a drill.
	Drill bool `yaml:"drill"`
}

// Scenario is a simulated stretch of river life: the stations' reporting schedule and a
// timeline of what goes wrong.
type Scenario struct {
	Name    string `yaml:"name"`
	TitleZH string `yaml:"title_zh"`
	TitleEN string `yaml:"title_en"`
	// Acceleration is the default speed of simulated time over wall time.
	Acceleration float64 `yaml:"acceleration"`
	// Span is the simulated duration of the scenario; the simulated clock starts Span
	// before the wall clock's "now" so that it never runs ahead of it.
	Span time.Duration `yaml:"span"`
	Seed uint64        `yaml:"seed"`
	// RealtimeInterval: real-time data (CN 2011) every this much simulated time.
	RealtimeInterval time.Duration `yaml:"realtime_interval"`
	// MinuteInterval: minute data (CN 2051) over this period; 0 sends none.
	MinuteInterval time.Duration `yaml:"minute_interval"`
	// Hourly: hourly data (CN 2061) at the top of every simulated hour.
	Hourly bool `yaml:"hourly"`
	// Sites limits the fleet to these sites (default: every site with a station).
	Sites    []string    `yaml:"sites"`
	Timeline []Happening `yaml:"timeline"`
	Story    Story       `yaml:"story"`
}

// LoadScenario reads and validates a scenario file against the network.
func LoadScenario(path string, net *network.Network) (*Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("scenario file: %w", err)
	}
	sc, err := ParseScenario(data, net)
	if err != nil {
		return nil, fmt.Errorf("scenario file %s: %w", path, err)
	}
	return sc, nil
}

// ParseScenario decodes a scenario, fills defaults and validates it; every problem found
// is reported.
func ParseScenario(data []byte, net *network.Network) (*Scenario, error) {
	var sc Scenario
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&sc); err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	sc.defaults()
	if err := sc.validate(net); err != nil {
		return nil, err
	}
	return &sc, nil
}

func (sc *Scenario) defaults() {
	if sc.Acceleration == 0 {
		sc.Acceleration = 60
	}
	if sc.RealtimeInterval == 0 {
		sc.RealtimeInterval = 5 * time.Minute
	}
	for i := range sc.Timeline {
		h := &sc.Timeline[i]
		if h.Kind == KindTracer && h.Parameter == "" {
			h.Parameter = "tracer"
		}
		if h.Kind == KindSpill || h.Kind == KindTracer {
			if h.Rise == 0 {
				h.Rise = 10 * time.Minute
			}
			if h.DispersionM2S == 0 {
				h.DispersionM2S = 10
			}
		}
	}
	if sc.Span == 0 {
		for _, h := range sc.Timeline {
			sc.Span = max(sc.Span, h.End()+time.Hour)
		}
		sc.Span = max(sc.Span, time.Hour)
	}
	if len(sc.Story.Steps) == 0 {
		sc.Story.Steps = []string{StepReading}
	}
}

func (sc *Scenario) validate(net *network.Network) error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if strings.TrimSpace(sc.Name) == "" {
		bad("name: must not be empty")
	}
	if sc.Acceleration < 0 {
		bad("acceleration: must be > 0")
	}
	if sc.RealtimeInterval < time.Second {
		bad("realtime_interval: must be at least 1s")
	}
	if sc.MinuteInterval < 0 || (sc.MinuteInterval > 0 && sc.MinuteInterval < time.Minute) {
		bad("minute_interval: must be 0 (off) or at least 1m")
	}
	siteOK := func(field, id string, needStation bool) *network.Site {
		s, ok := net.Site(id)
		if !ok {
			bad("%s: unknown site %q", field, id)
			return nil
		}
		if needStation && s.Station == nil {
			bad("%s: site %s has no station", field, id)
		}
		return s
	}
	for _, id := range sc.Sites {
		siteOK("sites", id, true)
	}
	for i, h := range sc.Timeline {
		f := fmt.Sprintf("timeline[%d] (%s)", i, h.Kind)
		if h.At < 0 || h.At > sc.Span {
			bad("%s: at %v must lie within the span %v", f, h.At, sc.Span)
		}
		switch h.Kind {
		case KindSpill, KindStuck, KindDrift, KindSilent, KindTracer:
			if h.Duration <= 0 {
				bad("%s: duration must be > 0", f)
			}
		case KindDrill:
		default:
			bad("%s: unknown kind (want spill, stuck, drift, silent, drill or tracer)", f)
			continue
		}
		site := siteOK(f+" site", h.Site, h.Kind != KindDrill)
		if h.Kind != KindSilent && !standard.Known(h.Parameter) {
			bad("%s: unknown parameter %q", f, h.Parameter)
		}
		switch h.Kind {
		case KindSpill:
			if site != nil && site.Kind != network.KindOutfall {
				bad("%s: site %s is a %s; spills happen at outfalls", f, h.Site, site.Kind)
			}
			if site != nil && site.FlowM3S <= 0 {
				bad("%s: outfall %s needs flow_m3s in sites.yaml to mix a spill", f, h.Site)
			}
			if h.Concentration <= 0 {
				bad("%s: concentration must be > 0", f)
			}
			if h.DecayPerDay < 0 || h.DispersionM2S < 0 || h.Rise < 0 {
				bad("%s: rise, dispersion_m2s and decay_per_day must not be negative", f)
			}
		case KindTracer:
			if site != nil && site.Kind == network.KindOutfall {
				bad("%s: site %s is an outfall; a tracer is released into the river at a section or source", f, h.Site)
			}
			if h.Parameter != "tracer" {
				bad("%s: parameter %q: a tracer drill releases the tracer", f, h.Parameter)
			}
			if h.Concentration <= 0 {
				bad("%s: concentration must be > 0", f)
			}
			if h.DispersionM2S < 0 || h.Rise < 0 {
				bad("%s: rise and dispersion_m2s must not be negative", f)
			}
		case KindDrift:
			if h.PerHour == 0 {
				bad("%s: per_hour must not be 0", f)
			}
		}
	}
	for _, st := range sc.Story.Steps {
		if !slices.Contains(stepOrder, st) {
			bad("story.steps: unknown step %q (known: %s)", st, strings.Join(stepOrder, ", "))
		}
	}
	for field, id := range map[string]string{
		"story.site": sc.Story.Site, "story.prediction_site": sc.Story.PredictionSite, "story.reading_site": sc.Story.ReadingSite,
	} {
		if id != "" {
			siteOK(field, id, false)
		}
	}
	need := func(step, field, val string) {
		if slices.Contains(sc.Story.Steps, step) && val == "" {
			bad("story: step %s needs %s", step, field)
		}
	}
	need(StepExceedance, "site", sc.Story.Site)
	need(StepRecovery, "site", sc.Story.Site)
	need(StepQuality, "site", sc.Story.Site)
	need(StepOffline, "site", sc.Story.Site)
	need(StepOnline, "site", sc.Story.Site)
	need(StepPrediction, "prediction_site", sc.Story.PredictionSite)
	return errors.Join(errs...)
}

// ordered returns the story's steps in canonical order.
func (s Story) ordered() []string {
	var out []string
	for _, st := range stepOrder {
		if slices.Contains(s.Steps, st) {
			out = append(out, st)
		}
	}
	return out
}

// Stations returns the sites the fleet simulates: the scenario's list, or every site that
// has a station.
func (sc *Scenario) Stations(net *network.Network) []*network.Site {
	var out []*network.Site
	for _, s := range net.Sites() {
		if s.Station == nil {
			continue
		}
		if len(sc.Sites) > 0 && !slices.Contains(sc.Sites, s.ID) {
			continue
		}
		out = append(out, s)
	}
	return out
}
