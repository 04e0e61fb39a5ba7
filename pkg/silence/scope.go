package silence

import (
	"slices"

	"github.com/riverwatch/riverwatch/pkg/network"
)

// SiteLabels are the labels of a site's events, the parameter aside.
func SiteLabels(s *network.Site) Labels {
	return Labels{LabelSite: s.ID, LabelRiver: s.River, LabelJurisdiction: s.Jurisdiction, LabelKind: s.Kind}
}

// Scope returns the jurisdictions of every site of the network that the silence can
// concern (CouldMatch on its site labels), sorted: who may create or expire it is decided
// on them (pkg/authz.Silence). A silence whose matchers fit no site has an empty scope.
func Scope(s *Silence, net *network.Network) []string {
	var out []string
	for _, site := range net.Sites() {
		if s.CouldMatch(SiteLabels(site)) && !slices.Contains(out, site.Jurisdiction) {
			out = append(out, site.Jurisdiction)
		}
	}
	slices.Sort(out)
	return out
}
