package store

import (
	"context"
	"fmt"
	"time"

	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/network"
	"github.com/riverwatch/riverwatch/pkg/sourcerank"
)

// SourcesMaxRows bounds the raw readings read for one site of a ranking.
const SourcesMaxRows = 200000

// SeriesReader reads one site's reading series: Reader, and the api's in-memory store.
type SeriesReader interface {
	Series(ctx context.Context, q SeriesQuery) ([]Series, error)
}

// SourcesQuery is one exceedance to trace upstream (docs/sources.md).
type SourcesQuery struct {
	Site string    // where it exceeded
	At   time.Time // when the exceedance was observed there
	// Parameters are the exceeded ones, the lead first.
	Parameters []string
	// Sees says which sites may be read; nil reads every site. A site it refuses is not
	// read, so it shows as a candidate without readings.
	Sees    func(site *network.Site) bool
	Options sourcerank.Options
}

// RankSources ranks the upstream sources of an exceedance: it reads the raw readings of
// every window sourcerank.Windows names (the site's own and each candidate's), keeps the
// valid ones (normal flag), and hands them to sourcerank.Rank. The api's sources route and
// the responder's upstream search step both rank through it, so they answer the same.
func RankSources(ctx context.Context, src SeriesReader, net *network.Network, q SourcesQuery) (sourcerank.Ranking, error) {
	wins, err := sourcerank.Windows(net, q.Site, q.At, q.Options)
	if err != nil {
		return sourcerank.Ranking{}, fmt.Errorf("sources of %s: %w", q.Site, err)
	}
	rd := sourcerank.Readings{}
	for _, win := range wins {
		site, ok := net.Site(win.Site)
		if !ok || (q.Sees != nil && !q.Sees(site)) {
			continue
		}
		series, err := src.Series(ctx, SeriesQuery{Site: win.Site, From: win.From, To: win.To,
			Resolution: ResolutionRaw, MaxRows: SourcesMaxRows, Location: net.Location})
		if err != nil {
			return sourcerank.Ranking{}, fmt.Errorf("readings of %s: %w", win.Site, err)
		}
		rd[win.Site] = rankSamples(series)
	}
	rk, err := sourcerank.Rank(net, sourcerank.Query{Site: q.Site, At: q.At, Parameters: q.Parameters, Readings: rd}, q.Options)
	if err != nil {
		return sourcerank.Ranking{}, fmt.Errorf("sources of %s: %w", q.Site, err)
	}
	return rk, nil
}

// rankSamples keeps a series' valid readings (normal flag) for the ranking.
func rankSamples(series []Series) map[string][]sourcerank.Sample {
	out := map[string][]sourcerank.Sample{}
	for _, se := range series {
		var xs []sourcerank.Sample
		for _, pt := range se.Points {
			if pt.Flag == "" || pt.Flag == message.FlagNormal {
				xs = append(xs, sourcerank.Sample{T: pt.T, Value: pt.Value})
			}
		}
		if len(xs) > 0 {
			out[se.Parameter] = xs
		}
	}
	return out
}
