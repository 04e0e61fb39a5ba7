// Package playbook loads riverwatch's response playbooks (configs/playbooks.yaml) and its
// contact directory (configs/contacts.yaml), validates both against the river network, picks
// the playbook for an event and works out which jurisdictions a step concerns.
//
// A playbook is the city's joint-response plan (上下游联防联动) written as code: a trigger
// (event types, site kinds, parameters, severity), the emergency level (Ⅳ…Ⅰ) and warning
// colour rules, steps, and when the incident may resolve. Each step names an actor as a role
// in a jurisdiction given relative to the site of the event:
//
//	self                  the site's own jurisdiction
//	upstream              every jurisdiction upstream (a search report is routed there)
//	upstream_next         the nearest upstream jurisdiction
//	downstream            every jurisdiction downstream
//	downstream_next       the nearest downstream jurisdiction
//	downstream_to_intake  every jurisdiction downstream up to and including the next
//	                      drinking-water intake
//	intake                the jurisdiction of the next drinking-water intake downstream
//
// Resolution follows tributaries into their main rivers (network.Downstream/Upstream), so a
// spill on a tributary warns the jurisdictions on the main river below the confluence.
//
// Loading reports every problem at once, each naming the file's line, so that a broken
// playbook stops the responder at start and not in the middle of an incident.
package playbook
