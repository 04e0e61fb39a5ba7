package engine

import (
	"fmt"
	"math"
	"time"

	"github.com/riverwatch/riverwatch/pkg/plume"
)

// Re-tuning a reach's velocity from its verified arrivals (docs/plume.md, "Re-tuning").
// Every prediction.verified of a reach (origin site → predicted site) gives an observed
// travel time of the plume's front — the rise at the site minus the opening at the
// origin, each taken half a reporting interval earlier than the reading that showed it —
// against the travel time the window predicted. Their ratio is the factor the reach's
// velocities were off by; the reach's scale moves toward it by a weight of 1/(n + 2) after
// n arrivals (the configured velocity counts as one), never below tuneMinWeight, and stays
// within the band's own factor (v/f … v·f: an arrival outside it is refuted, not fitted).
// Every leg's velocity of the reach's next windows is multiplied by the scale. A refuted
// prediction changes nothing: a rise outside the band, or none, says the model is wrong
// in a way a velocity cannot fix. The scales are kept with the assessor's state (one
// record per reach, written by the instance that owns the origin's partition and read by
// every instance).

// tuneMinWeight keeps a long-tuned reach following a river that changes with the seasons.
const tuneMinWeight = 0.2

// tuneHighAfter is the number of verified arrivals after which a reach's windows have
// confidence "high".
const tuneHighAfter = 3

// reachKey names a reach: the origin's and the predicted site's indexes.
type reachKey [2]uint16

// tune is a reach's velocity and dispersion calibration.
type tune struct {
	scale      float64 // multiplies every leg's velocity; 1 untuned
	verified   int     // verified arrivals it was fitted from
	dispersion float64 // multiplies the spread's variance; 1 untuned (tracer.go)
	tracers    int     // tracer breakthroughs it was fitted from
	partition  int32   // the Kafka partition of the origin's readings: its writer's
	dirty      bool
}

// ReachState is the exported calibration of one reach.
type ReachState struct {
	Origin        string  `json:"origin"`
	Site          string  `json:"site"`
	VelocityScale float64 `json:"velocity_scale"`
	Verified      int     `json:"verified"`
	Partition     int32   `json:"p"`
	// DispersionScale and Tracers: the spread's calibration from tracer drills (absent
	// in records written before it, and until a tracer tuned the reach: 1, none).
	DispersionScale float64 `json:"dispersion_scale,omitempty"`
	Tracers         int     `json:"tracers,omitempty"`
}

func reachRecordKey(origin, site string) string { return "r|" + origin + "|" + site }

// velocityScale returns a reach's scale (1 when untuned) and its verified arrivals.
func (e *Engine) velocityScale(origin, site uint16) (float64, int) {
	if t := e.tunes[reachKey{origin, site}]; t != nil {
		return t.scale, t.verified
	}
	return 1, 0
}

// dispersionScale returns a reach's dispersion scale, 1 when untuned.
func (e *Engine) dispersionScale(origin, site uint16) float64 {
	if t := e.tunes[reachKey{origin, site}]; t != nil && t.dispersion > 0 {
		return t.dispersion
	}
	return 1
}

// tuneOf returns a reach's calibration, creating it untuned.
func (e *Engine) tuneOf(k reachKey) *tune {
	t := e.tunes[k]
	if t == nil {
		t = &tune{scale: 1, dispersion: 1}
		e.tunes[k] = t
	}
	return t
}

// retune fits a reach's scale to one verified arrival of p, a prediction of origin series
// s, within the reach's band factor f.
func (e *Engine) retune(s *series, p *prediction, v plume.Verdict) {
	if v.Outcome != plume.OutcomeVerified || v.RiseAt.IsZero() || p.travel <= 0 || p.win.ReleaseStart.IsZero() {
		return
	}
	half := func(si uint16) time.Duration {
		if st := e.sites[si].site.Station; st != nil && st.IntervalS > 0 {
			return time.Duration(st.IntervalS) * time.Second / 2
		}
		return 30 * time.Minute
	}
	observed := v.RiseAt.Add(-half(p.site)).Sub(p.win.ReleaseStart.Add(-half(s.key.site())))
	if observed <= 0 {
		return
	}
	k := reachKey{s.key.site(), p.site}
	t := e.tuneOf(k)
	// The window was computed with the scale in force then, which is the scale now (one
	// writer per reach, in order): predicted travel × scale is the travel at scale 1.
	ratio := float64(p.travel) / float64(observed.Milliseconds()) // > 1: the plume came sooner than predicted
	w := math.Max(tuneMinWeight, 1/float64(t.verified+2))
	f := e.reachFactor(p.site, s.key.site())
	t.scale = math.Min(f, math.Max(1/f, t.scale*math.Pow(ratio, w)))
	t.verified++
	t.partition = s.partition
	e.markTune(k, t)
	e.m.reachScale.WithLabelValues(e.sites[k[0]].site.ID, e.sites[k[1]].site.ID).Set(t.scale)
}

// reachFactor is the band factor f of the way from origin to site: the largest of its
// rivers', as the window's band uses.
func (e *Engine) reachFactor(site, origin uint16) float64 {
	f := 1.0
	for _, rc := range e.net.Downstream(e.sites[origin].site.ID) {
		if rc.Site.ID != e.sites[site].site.ID {
			continue
		}
		for _, sp := range rc.Path {
			if rv, ok := e.net.River(sp.River); ok {
				f = math.Max(f, rv.VelocityFactor())
			}
		}
	}
	return f
}

func (e *Engine) markTune(k reachKey, t *tune) {
	if !t.dirty {
		t.dirty = true
		e.dirtyTune = append(e.dirtyTune, k)
	}
}

// drainTunes appends the records of the reaches re-tuned since the last call.
func (e *Engine) drainTunes(out []Record) []Record {
	for _, k := range e.dirtyTune {
		t := e.tunes[k]
		if t == nil {
			continue
		}
		t.dirty = false
		origin, site := e.sites[k[0]].site.ID, e.sites[k[1]].site.ID
		out = append(out, Record{Key: reachRecordKey(origin, site), Reach: &ReachState{
			Origin: origin, Site: site, VelocityScale: t.scale, Verified: t.verified, Partition: t.partition,
			DispersionScale: t.dispersion, Tracers: t.tracers,
		}})
	}
	e.dirtyTune = e.dirtyTune[:0]
	return out
}

// importTune restores a reach's calibration, whichever instance wrote it: a reach's
// velocity is the river's, not a partition's.
func (e *Engine) importTune(r *ReachState) error {
	oi, ok := e.siteIx[r.Origin]
	if !ok {
		return fmt.Errorf("restore reach %s→%s: unknown site", r.Origin, r.Site)
	}
	di, ok := e.siteIx[r.Site]
	if !ok {
		return fmt.Errorf("restore reach %s→%s: unknown site", r.Origin, r.Site)
	}
	if !(r.VelocityScale > 0) || math.IsInf(r.VelocityScale, 0) {
		return fmt.Errorf("restore reach %s→%s: velocity scale %g", r.Origin, r.Site, r.VelocityScale)
	}
	d := r.DispersionScale
	switch {
	case d == 0:
		d = 1 // written before tracer drills tuned the spread, or none did yet
	case !(d > 0) || math.IsInf(d, 0):
		return fmt.Errorf("restore reach %s→%s: dispersion scale %g", r.Origin, r.Site, d)
	}
	f := e.reachFactor(di, oi)
	t := &tune{
		scale: math.Min(f, math.Max(1/f, r.VelocityScale)), verified: r.Verified, partition: r.Partition,
		dispersion: math.Min(dispersionBound, math.Max(1/dispersionBound, d)), tracers: r.Tracers,
	}
	e.tunes[reachKey{oi, di}] = t
	e.m.reachScale.WithLabelValues(r.Origin, r.Site).Set(t.scale)
	if t.tracers > 0 {
		e.m.reachDisp.WithLabelValues(r.Origin, r.Site).Set(t.dispersion)
	}
	return nil
}
