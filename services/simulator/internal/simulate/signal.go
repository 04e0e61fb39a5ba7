package simulate

import (
	"encoding/binary"
	"hash/fnv"
	"math"
	"time"

	"github.com/riverwatch/riverwatch/pkg/network"
)

// Parameters each kind of station reports, in canonical codes (DESIGN.md). River and
// reservoir stations carry the usual automatic-station suite (five routine parameters plus
// permanganate index, ammonia and phosphorus); outfall monitors carry what a wastewater
// discharge permit limits, and their flow.
var (
	sectionParams = []string{"temp", "ph", "do", "conductivity", "turbidity", "codmn", "nh3n", "tp"}
	lakeParams    = []string{"temp", "ph", "do", "conductivity", "turbidity", "codmn", "nh3n", "tp", "tn"}
	outfallParams = []string{"temp", "ph", "cod", "nh3n", "tp", "tn", "flow"}
)

// Model produces the undisturbed signal of every station: seasonal and diurnal cycles with
// deterministic noise. It is safe for concurrent use.
type Model struct {
	net  *network.Network
	loc  *time.Location
	seed uint64
}

// NewModel returns a signal model for the network; seed varies the noise between runs
// (the same seed gives the same values).
func NewModel(net *network.Network, seed uint64) *Model {
	loc := net.Location
	if loc == nil {
		loc = time.UTC
	}
	return &Model{net: net, loc: loc, seed: seed}
}

// Parameters returns the parameters a site's station reports.
func (m *Model) Parameters(site *network.Site) []string {
	switch {
	case site.Kind == network.KindOutfall:
		return outfallParams
	case site.IsLake():
		return lakeParams
	default:
		return sectionParams
	}
}

// seasonal is +1 at the height of the snow-melt season (mid July) and −1 in mid January:
// the Tianshan rivers carry most of their water, and their warmest, in summer.
func seasonal(t time.Time) float64 {
	day := float64(t.YearDay()) + float64(t.Hour())/24
	return math.Cos(2 * math.Pi * (day - 197) / 365.25)
}

// diurnal is +1 at the local hour peak and −1 twelve hours later.
func diurnal(local time.Time, peak float64) float64 {
	h := float64(local.Hour()) + float64(local.Minute())/60 + float64(local.Second())/3600
	return math.Cos(2 * math.Pi * (h - peak) / 24)
}

// FlowFactor is the river's discharge relative to its annual mean (sites.yaml flow_m3s):
// low in winter (0.4), high in the melt season (1.8), with an afternoon melt pulse in
// summer.
func (m *Model) FlowFactor(t time.Time) float64 {
	s := seasonal(t)
	f := 1.1 + 0.7*s
	if s > 0 {
		f *= 1 + 0.06*s*diurnal(t.In(m.loc), 18)
	}
	return f
}

// doSaturation is the solubility of oxygen in fresh water (mg/L) at temperature tc (°C),
// reduced for the ≈ 600 m altitude of the Changji plain.
func doSaturation(tc float64) float64 {
	return (14.652 - 0.41022*tc + 0.007991*tc*tc - 0.000077774*tc*tc*tc) * 0.94
}

// Value returns the undisturbed value of a parameter at a site at simulated time t, in the
// parameter's canonical unit (flow in m³/s).
func (m *Model) Value(site *network.Site, param string, t time.Time) float64 {
	local := t.In(m.loc)
	s := seasonal(t)
	n := func(sd float64) float64 { return sd * m.noise(site.ID, param, t) }
	// Each site differs a little from its neighbours, steadily.
	bias := 1 + 0.06*m.unit(site.ID, param)
	switch site.Kind {
	case network.KindOutfall:
		return m.outfall(site, param, local, s, bias, n)
	}
	lake := site.IsLake()
	temp := func() float64 {
		if lake {
			return math.Max(0.5, 9.5+9.5*s+0.5*diurnal(local, 16))
		}
		return math.Max(0.2, 9+9*s+1.2*diurnal(local, 16))
	}
	switch param {
	case "temp":
		return math.Max(0.1, temp()+n(0.08))
	case "do":
		// Photosynthesis lifts oxygen in the afternoon; respiration draws it down at night.
		return doSaturation(temp())*(0.93+0.05*diurnal(local, 15)) + n(0.08)
	case "ph":
		return 8.05 + 0.12*diurnal(local, 15) + n(0.02)
	case "conductivity":
		// Meltwater is fresh; winter base flow is more mineralised.
		return (420 - 120*s) * bias * (1 + n(0.01))
	case "turbidity":
		if lake {
			return math.Max(0.5, 3*bias*(1+n(0.08)))
		}
		return math.Max(0.5, (6+10*math.Max(0, s))*bias*(1+n(0.08)))
	case "codmn":
		return (2.0 + 0.4*s) * bias * (1 + n(0.04))
	case "nh3n":
		if site.Kind == network.KindDrinkingSource {
			return 0.12 * bias * (1 + n(0.08))
		}
		return (0.18 - 0.05*s) * bias * (1 + n(0.08))
	case "tp":
		if lake {
			return (0.012 + 0.002*s) * bias * (1 + n(0.05))
		}
		return (0.05 + 0.015*s) * bias * (1 + n(0.06))
	case "tn":
		return (0.28 + 0.03*s) * bias * (1 + n(0.04))
	case "flow":
		if r, ok := m.net.River(site.River); ok {
			return r.FlowM3S * m.FlowFactor(t) * (1 + n(0.02))
		}
	}
	return 0
}

// outfall is a municipal treatment plant's effluent: loads follow the town's day (peaks in
// the morning and evening), comfortably inside GB 18918 class 1A.
func (m *Model) outfall(site *network.Site, param string, local time.Time, s, bias float64, n func(float64) float64) float64 {
	day := diurnal(local, 10)
	switch param {
	case "temp":
		return 16 + 5*s + 0.8*diurnal(local, 15) + n(0.08)
	case "ph":
		return 7.3 + 0.1*day + n(0.02)
	case "cod":
		return (28 + 5*day) * bias * (1 + n(0.04))
	case "nh3n":
		return (1.2 + 0.3*day) * bias * (1 + n(0.06))
	case "tp":
		return (0.25 + 0.05*day) * bias * (1 + n(0.05))
	case "tn":
		return (7.5 + 1.2*day) * bias * (1 + n(0.04))
	case "flow":
		return site.FlowM3S * (1 + 0.25*day) * (1 + n(0.02))
	}
	return 0
}

// noise is a standard normal variate determined by (seed, site, parameter, second): the
// same frame always carries the same values.
func (m *Model) noise(site, param string, t time.Time) float64 {
	h := m.hash(site, param, t.Unix())
	u1 := (float64(h>>11) + 0.5) / (1 << 53)
	u2 := float64(splitmix(h)>>11) / (1 << 53)
	return math.Sqrt(-2*math.Log(u1)) * math.Cos(2*math.Pi*u2)
}

// unit is a fixed value in [−1, 1) for a (site, parameter).
func (m *Model) unit(site, param string) float64 {
	h := m.hash(site, param, -1)
	return float64(h>>11)/(1<<52) - 1
}

func (m *Model) hash(site, param string, sec int64) uint64 {
	f := fnv.New64a()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], m.seed)
	f.Write(b[:])
	f.Write([]byte(site))
	f.Write([]byte{0})
	f.Write([]byte(param))
	binary.LittleEndian.PutUint64(b[:], uint64(sec))
	f.Write(b[:])
	return splitmix(f.Sum64())
}

// splitmix is SplitMix64's finaliser: it spreads fnv's bits evenly.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}
