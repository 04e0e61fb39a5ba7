package plume

import (
	"math"
	"time"

	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/network"
)

// Why no interception is recommended (message.Prediction.InterceptionNoneReason).
const (
	// ReasonNoSpace: no emergency space lies on the way from the origin to the intake.
	ReasonNoSpace = "no emergency space configured on the way to the intake"
	// ReasonAllPassed: the earliest leading edge has reached every space on the way.
	ReasonAllPassed = "plume already past every space"
)

// Candidate is an emergency space on a plume's way to a site.
type Candidate struct {
	River string
	network.EmergencySpace
	// AlongM is how far along the way from the origin the space lies, in metres.
	AlongM float64
	// ToSiteKm is how far the way runs on from the space to the site.
	ToSiteKm float64
}

// SpacesOnPath returns the emergency spaces on a reach's path (network.Reach.Path), in the
// order the plume reaches them: those at or below the origin on each span and above its
// end, the site itself excluded (a space at the intake cannot protect it). A space at a
// tributary's mouth counts once, on the tributary.
func SpacesOnPath(net *network.Network, path []network.Span) []Candidate {
	var total float64
	for _, sp := range path {
		total += sp.ToKm - sp.FromKm
	}
	var out []Candidate
	var along float64
	for i, sp := range path {
		last := i == len(path)-1
		r, ok := net.River(sp.River)
		if !ok {
			continue
		}
		var here []Candidate
		for _, es := range r.EmergencySpaces {
			if es.Km < sp.FromKm || es.Km > sp.ToKm || (last && es.Km == sp.ToKm) {
				continue
			}
			if i > 0 && es.Km == sp.FromKm {
				continue // the confluence: counted on the span before when it is there
			}
			d := along + es.Km - sp.FromKm
			here = append(here, Candidate{River: sp.River, EmergencySpace: es, AlongM: d * 1000, ToSiteKm: total - d})
		}
		// In the plume's order whatever the file's.
		for a := 1; a < len(here); a++ {
			for b := a; b > 0 && here[b].AlongM < here[b-1].AlongM; b-- {
				here[b], here[b-1] = here[b-1], here[b]
			}
		}
		out = append(out, here...)
		along += sp.ToKm - sp.FromKm
	}
	return out
}

// Intercept recommends where to stop a plume on its way to an intake: of the spaces on the
// way (SpacesOnPath, in the plume's order), the nearest one the band's earliest leading
// edge has not reached at now. The earliest edge, not the expected one, because a sluice
// closed after the plume has begun to pass lets the front through: the recommendation is
// conservative. The plume's travel to each space is in.Legs cut at the space, so the
// arrival there is computed as the window's Earliest at the intake is; ActBy is releaseStart
// + that arrival, TimeLeftS ActBy − now. When no space is left the reason says why:
// ReasonNoSpace or ReasonAllPassed. A space the edge reaches exactly at now is passed.
func Intercept(spaces []Candidate, in Input, releaseStart, now time.Time) (message.Interception, string) {
	if len(spaces) == 0 {
		return message.Interception{}, ReasonNoSpace
	}
	for _, c := range spaces {
		var earliest time.Duration
		if legs := cutLegs(in.Legs, c.AlongM); len(legs) > 0 {
			part := in
			part.Legs = legs
			w, err := Compute(part)
			if err != nil {
				continue
			}
			earliest = w.Earliest
		}
		actBy := releaseStart.Add(earliest)
		if !actBy.After(now) {
			continue
		}
		return message.Interception{
			Space:        c.ID,
			Name:         c.Name,
			Kind:         c.Kind,
			Km:           c.Km,
			River:        c.River,
			ToIntakeKm:   math.Round(c.ToSiteKm*1000) / 1000,
			ActBy:        actBy.UTC(),
			TimeLeftS:    int64(actBy.Sub(now) / time.Second),
			Jurisdiction: c.OperatedBy.Jurisdiction,
			Role:         c.OperatedBy.Role,
		}, ""
	}
	return message.Interception{}, ReasonAllPassed
}

// cutLegs returns the legs that cover the first m metres of the way, the last one
// shortened to end there.
func cutLegs(legs []Leg, m float64) []Leg {
	var out []Leg
	for _, l := range legs {
		if m <= 0 {
			break
		}
		if l.LengthM > m {
			l.LengthM = m
		}
		out = append(out, l)
		m -= l.LengthM
	}
	return out
}
