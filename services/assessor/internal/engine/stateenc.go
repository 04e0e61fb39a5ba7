package engine

import (
	"math"
	"strconv"

	"github.com/riverwatch/riverwatch/pkg/jsonappend"
)

// appendRecordJSON appends the JSON json.Marshal writes for r, without reflection, for
// the two records the assessor publishes after nearly every batch: a series without
// predictions and a station. It reports false for any other record (a series with
// predictions, a reach, a value json.Marshal refuses), which EncodeRecord gives to
// json.Marshal. Under the HJ 212 load
// json.Marshal of these records was a tenth of the assessor's CPU (rwbench -profile);
// TestAppendRecordJSONMatchesEncodingJSON keeps the two byte-for-byte equal and fails when
// a state gains a field this encoder does not write.
func appendRecordJSON(b []byte, r *Record) ([]byte, bool) {
	switch {
	case r.Series != nil && r.Station == nil && r.Reach == nil && len(r.Series.Preds) == 0 && len(r.Series.Verifying) == 0 && finite(r.Series):
		b = append(b, `{"series":`...)
		b = appendSeriesJSON(b, r.Series)
	case r.Station != nil && r.Series == nil && r.Reach == nil:
		b = append(b, `{"station":`...)
		b = appendStationJSON(b, r.Station)
	default:
		return b, false
	}
	return append(b, '}'), true
}

// recordSize is a capacity that holds r's JSON without growing, in the common case.
func recordSize(r *Record) int {
	if r.Series != nil {
		return 320 + 12*len(r.Series.Ring)
	}
	return 160
}

// finite reports whether every float of s is one JSON can hold (json.Marshal fails on
// the others, and that error must stay EncodeRecord's).
func finite(s *SeriesState) bool {
	if math.IsNaN(s.LastValue) || math.IsInf(s.LastValue, 0) || math.IsNaN(s.Reported) || math.IsInf(s.Reported, 0) {
		return false
	}
	for _, v := range s.Ring {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return false
		}
	}
	return true
}

func appendSeriesJSON(b []byte, s *SeriesState) []byte {
	b = append(b, `{"site":`...)
	b = jsonappend.String(b, s.Site)
	b = append(b, `,"param":`...)
	b = jsonappend.String(b, s.Parameter)
	b = appendInt(b, `,"p":`, int64(s.Partition), false)
	b = appendInt(b, `,"o":`, s.Offset, false)
	b = appendInt(b, `,"newest":`, s.Newest, true)
	b = appendInt(b, `,"rtd":`, s.LastRtd, true)
	b = appendInt(b, `,"min":`, s.LastMin, true)
	b = appendInt(b, `,"good":`, s.LastGood, true)
	b = appendFloat(b, `,"value":`, s.LastValue)
	if s.LastMeets {
		b = append(b, `,"meets":true`...)
	}
	b = appendInt(b, `,"phase":`, int64(s.Phase), true)
	b = appendInt(b, `,"sev":`, int64(s.Severity), true)
	b = appendInt(b, `,"q":`, int64(s.Quality), true)
	b = appendInt(b, `,"run_n":`, int64(s.RunN), true)
	b = appendInt(b, `,"clear_n":`, int64(s.ClearN), true)
	b = appendInt(b, `,"flat_n":`, int64(s.FlatN), true)
	b = appendInt(b, `,"run_since":`, s.RunSince, true)
	b = appendInt(b, `,"last_bad":`, s.LastBad, true)
	b = appendInt(b, `,"last_ok":`, s.LastOK, true)
	b = appendInt(b, `,"clear_from":`, s.ClearFrom, true)
	b = appendInt(b, `,"opened_at":`, s.OpenedAt, true)
	b = appendFloat(b, `,"reported":`, s.Reported)
	b = appendInt(b, `,"class":`, int64(s.LastClass), true)
	b = appendInt(b, `,"late":`, int64(s.Late), true)
	if len(s.Ring) > 0 {
		b = append(b, `,"ring":[`...)
		for i, v := range s.Ring {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonappend.Float(b, float64(v), 32)
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

func appendStationJSON(b []byte, s *StationState) []byte {
	b = append(b, `{"site":`...)
	b = jsonappend.String(b, s.Site)
	b = appendInt(b, `,"last_seen":`, s.LastSeen, false)
	b = appendInt(b, `,"last_obs":`, s.LastObs, false)
	b = appendInt(b, `,"newest":`, s.Newest, true)
	b = appendInt(b, `,"p":`, int64(s.Partition), false)
	b = appendInt(b, `,"o":`, s.Offset, false)
	if s.Offline {
		b = append(b, `,"offline":true`...)
	}
	return append(b, '}')
}

// appendInt writes `key v`, or nothing when omitEmpty and v is 0 (omitempty).
func appendInt(b []byte, key string, v int64, omitEmpty bool) []byte {
	if omitEmpty && v == 0 {
		return b
	}
	return strconv.AppendInt(append(b, key...), v, 10)
}

// appendFloat writes an omitempty float64: nothing when it is 0.
func appendFloat(b []byte, key string, v float64) []byte {
	if v == 0 {
		return b
	}
	return jsonappend.Float(append(b, key...), v, 64)
}
