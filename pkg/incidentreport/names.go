package incidentreport

import (
	"github.com/riverwatch/riverwatch/pkg/network"
	"github.com/riverwatch/riverwatch/pkg/standard"
)

// NetworkNames names sites, rivers and jurisdictions from the river network, parameters
// from the standard (氨氮 for nh3n) and roles with role (the contacts file's roles; nil
// leaves role ids).
func NetworkNames(n *network.Network, role func(string) string) Names {
	return Names{
		Site: func(id string) string {
			if s, ok := n.Site(id); ok {
				return s.Name
			}
			return ""
		},
		River: func(id string) string {
			if r, ok := n.River(id); ok {
				return r.Name
			}
			return ""
		},
		Jurisdiction: func(id string) string {
			if j, ok := n.Jurisdiction(id); ok {
				return j.Name
			}
			return ""
		},
		Parameter: func(code string) string {
			zh, _ := standard.Describe(code)
			return zh
		},
		Role: role,
	}
}
