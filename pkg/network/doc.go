// Package network loads the river network (configs/sites.yaml): jurisdictions, rivers,
// monitoring sites and their stations, and answers the questions the pipeline asks of it —
// which site does this station belong to, what lies downstream and how long does water take
// to get there, which jurisdictions are upstream and downstream of a site.
//
// Distances run along the flow, in km from each river's start. A tributary joins its main
// river at joins.at_km; its mouth is at its length_km (or, when no length is given, at its
// furthest site). Travel time over a stretch is distance / velocity of that river:
//
//	tributary  0 ──S1──────────── mouth
//	                                 \
//	main       0 ──M1──────────────── at_km ──M2──── M3 ──►
//
// Downstream(S1) = [M2, M3] with distances (mouth − km(S1)) + (km(M2) − at_km), ...
//
// A river may list its emergency spaces (一河一策一图: reservoirs, sluices, diversion
// channels, ponds) on the same km axis; pkg/plume recommends the one to stop a plume at.
package network
