package playbook

import (
	"sort"
	"strings"

	"github.com/riverwatch/riverwatch/pkg/network"
	"github.com/riverwatch/riverwatch/pkg/notify"
)

// Gaps lists the (jurisdiction, role) pairs that some playbook step or escalation could
// reach on this network but that have no contact: the responder warns about them at start.
func (s *Set) Gaps(net *network.Network, c *notify.Contacts) []string {
	need := map[string]bool{}
	for _, site := range net.Sites() {
		for _, b := range s.Books {
			if !in(b.Trigger.SiteKinds, site.Kind) {
				continue
			}
			for _, st := range b.Steps {
				targets := Resolve(net, site.ID, st.Actor.Relation)
				for _, t := range targets {
					need[t.Jurisdiction+"/"+st.Actor.Role] = true
					for _, e := range st.Escalation {
						if e.To.Relation == RelStep {
							if j, ok := net.Ancestor(t.Jurisdiction, e.To.Up); ok {
								need[j+"/"+e.To.Role] = true
							}
						}
					}
				}
				for _, e := range st.Escalation {
					if e.To.Relation != RelStep {
						for _, t := range Resolve(net, site.ID, e.To.Relation) {
							if j, ok := net.Ancestor(t.Jurisdiction, e.To.Up); ok {
								need[j+"/"+e.To.Role] = true
							}
						}
					}
				}
			}
		}
	}
	var gaps []string
	for k := range need {
		if j, role, _ := strings.Cut(k, "/"); len(c.For(j, role)) == 0 {
			gaps = append(gaps, k)
		}
	}
	sort.Strings(gaps)
	return gaps
}
