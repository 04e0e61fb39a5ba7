package plume

import (
	"math"
	"sort"

	"github.com/riverwatch/riverwatch/pkg/network"
)

// Velocity bounds: a relation v = a·Qᵇ fed an odd discharge reading must not predict water
// standing still or a flood wave.
const (
	minVelocityMPS = 0.05
	maxVelocityMPS = 5.0
)

// Confidence of a prediction's velocities.
const (
	// ConfidenceLow: some leg's velocity is the river's configured velocity_mps.
	ConfidenceLow = "low"
	// ConfidenceMedium: every leg's velocity comes from a live discharge reading.
	ConfidenceMedium = "medium"
	// ConfidenceHigh: the reach's velocities are re-tuned from verified arrivals (the
	// assessor's, docs/plume.md "Re-tuning").
	ConfidenceHigh = "high"
)

// FlowFunc returns the live discharge (m³/s) measured at the nearest station on a river
// at or above km, and that station's km; ok is false when none reports one.
type FlowFunc func(river string, km float64) (q, atKm float64, ok bool)

// Route turns a reach's path into legs: one per stretch of constant parameters, split
// where a reach override begins or ends and where a tributary joins. Each leg's discharge
// is the live flow of the nearest station above it (plus the tributaries that joined
// between), else the river's flow_m3s plus every tributary above; its velocity is
// a·Qᵇ from a live discharge, else the river's velocity_mps. flow may be nil.
// confidence is ConfidenceMedium when every velocity came from a live discharge.
func Route(net *network.Network, path []network.Span, flow FlowFunc) (legs []Leg, confidence string) {
	allLive := len(path) > 0
	for _, sp := range path {
		r, ok := net.River(sp.River)
		if !ok {
			continue
		}
		cuts := []float64{sp.FromKm, sp.ToKm}
		if r.Transport != nil {
			for _, rt := range r.Transport.Reaches {
				cuts = append(cuts, rt.FromKm, rt.ToKm)
			}
		}
		for _, t := range tributaries(net, sp.River) {
			cuts = append(cuts, t.Joins.AtKm)
		}
		sort.Float64s(cuts)
		prev := sp.FromKm
		for _, c := range cuts {
			if c <= prev || c > sp.ToKm {
				continue
			}
			q, live := flowAt(net, flow, sp.River, prev, 0)
			tr := r.TransportAt(prev)
			v := r.VelocityMPS
			if live && q > 0 && tr.VelocityCoefficient > 0 {
				v = math.Min(maxVelocityMPS, math.Max(minVelocityMPS, tr.VelocityCoefficient*math.Pow(q, tr.VelocityExponent)))
			} else {
				allLive = false
			}
			legs = append(legs, Leg{LengthM: (c - prev) * 1000, VelocityMPS: v, DispersionM2S: tr.DispersionM2S, FlowM3S: q})
			prev = c
		}
	}
	if allLive && len(legs) > 0 {
		return legs, ConfidenceMedium
	}
	return legs, ConfidenceLow
}

// flowAt is the discharge of a river at km: the live flow of the nearest station at or
// above it, else the river's flow_m3s, plus every tributary that joined between (at or
// above km). live reports whether the base is a measurement.
func flowAt(net *network.Network, flow FlowFunc, river string, km float64, depth int) (q float64, live bool) {
	r, ok := net.River(river)
	if !ok || depth > 16 {
		return 0, false
	}
	baseKm := math.Inf(-1)
	if flow != nil {
		if lq, at, ok := flow(river, km); ok && lq > 0 {
			q, baseKm, live = lq, at, true
		}
	}
	if !live {
		q = r.FlowM3S
	}
	for _, t := range tributaries(net, river) {
		if t.Joins.AtKm > baseKm && t.Joins.AtKm <= km {
			tq, _ := flowAt(net, flow, t.ID, net.MouthKm(t.ID), depth+1)
			q += tq
		}
	}
	return q, live
}

// tributaries returns the rivers that join river.
func tributaries(net *network.Network, river string) []network.River {
	var out []network.River
	for _, r := range net.Rivers() {
		if r.Joins != nil && r.Joins.River == river {
			out = append(out, r)
		}
	}
	return out
}
