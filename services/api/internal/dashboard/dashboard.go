// Package dashboard holds riverwatch's web dashboard: plain HTML, CSS and modern JavaScript
// with inline SVG charts, embedded in the binary and served by the api service. Nothing is
// fetched from the internet (no CDN, no web fonts, no build step), so it works on a
// monitoring station's isolated network.
//
// Pages (hash routes of one document): #/ overview (river schematic, sites coloured by
// class, counters), #/map (the rivers drawn from the sites' coordinates, emergency spaces,
// the open plumes moving downstream), #/site/{id} (each parameter against its class bands and
// target, events and predicted windows marked), #/incidents (board with steps, owners, deadlines, receipt and acknowledgement,
// action buttons by role), #/incidents/{id} (one incident: the page a notification links
// to, laid out for a phone), #/reports (monthly and period compliance, CSV download). Chinese
// first, English by a toggle; the token is kept in localStorage; Server-Sent Events from
// /api/v1/stream trigger refreshes.
package dashboard

import (
	"embed"
	"io/fs"
)

//go:embed static
var files embed.FS

// Assets returns the dashboard's files, index.html at the root.
func Assets() fs.FS {
	sub, err := fs.Sub(files, "static")
	if err != nil {
		panic(err) // the embedded tree always has static/
	}
	return sub
}
