package playbook

import (
	"time"

	"github.com/riverwatch/riverwatch/pkg/network"
)

// Target is one jurisdiction a step concerns, with the site through which it is concerned:
// the event's own site for self, the nearest site of that jurisdiction along the flow for the
// others (so that a downstream warning can give the predicted arrival there).
type Target struct {
	Jurisdiction string
	Site         *network.Site
	DistanceKm   float64
	Travel       time.Duration
}

// Resolve returns the jurisdictions that a relation designates from a site, nearest first.
// It agrees with network.UpstreamJurisdictions, DownstreamJurisdictions and NextIntake, and
// adds the site and travel time for each jurisdiction. An unknown site or relation yields
// nothing.
func Resolve(net *network.Network, siteID, relation string) []Target {
	site, ok := net.Site(siteID)
	if !ok {
		return nil
	}
	switch relation {
	case RelSelf:
		return []Target{{Jurisdiction: site.Jurisdiction, Site: site}}
	case RelUpstream:
		return byJurisdiction(site, net.Upstream(siteID), false, 0)
	case RelUpstreamNext:
		return byJurisdiction(site, net.Upstream(siteID), false, 1)
	case RelDownstream:
		return byJurisdiction(site, net.Downstream(siteID), false, 0)
	case RelDownstreamNext:
		return byJurisdiction(site, net.Downstream(siteID), false, 1)
	case RelDownstreamToIntake:
		return byJurisdiction(site, net.Downstream(siteID), true, 0)
	case RelIntake:
		rc, ok := net.NextIntake(siteID)
		if !ok {
			return nil
		}
		return []Target{{Jurisdiction: rc.Site.Jurisdiction, Site: rc.Site, DistanceKm: rc.DistanceKm, Travel: rc.Travel}}
	}
	return nil
}

// byJurisdiction keeps the nearest reach of each jurisdiction other than the site's own.
// With toIntake it stops after the first drinking-water source; limit > 0 keeps that many.
func byJurisdiction(site *network.Site, reaches []network.Reach, toIntake bool, limit int) []Target {
	seen := map[string]bool{site.Jurisdiction: true}
	var out []Target
	for _, rc := range reaches {
		if !seen[rc.Site.Jurisdiction] {
			seen[rc.Site.Jurisdiction] = true
			out = append(out, Target{Jurisdiction: rc.Site.Jurisdiction, Site: rc.Site, DistanceKm: rc.DistanceKm, Travel: rc.Travel})
			if limit > 0 && len(out) == limit {
				break
			}
		}
		if toIntake && rc.Site.Kind == network.KindDrinkingSource {
			break
		}
	}
	return out
}
