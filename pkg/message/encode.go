package message

import (
	"time"

	"github.com/riverwatch/riverwatch/pkg/jsonappend"
)

// AppendReadingJSON appends the JSON of a reading to b: the same document encoding/json
// writes for Reading (same keys, omitempty, RFC 3339 times), about four times faster and
// with one allocation less. Readings are the hot path of the gateway and of the
// simulator's Kafka load (facts: ≥ 100k readings/s); TestAppendReadingMatchesEncodingJSON
// guards the equivalence, field by field, and fails when Reading gains a field this
// encoder does not write. The values must be finite (json.Marshal refuses NaN and ±Inf;
// this encoder would write them as they are).
func AppendReadingJSON(b []byte, r *Reading) []byte {
	b = append(b, `{"id":`...)
	b = jsonappend.String(b, r.ID)
	b = append(b, `,"site":`...)
	b = jsonappend.String(b, r.Site)
	if r.Station != "" {
		b = append(b, `,"station":`...)
		b = jsonappend.String(b, r.Station)
	}
	b = append(b, `,"parameter":`...)
	b = jsonappend.String(b, r.Parameter)
	b = append(b, `,"value":`...)
	b = jsonappend.Float(b, r.Value, 64)
	b = append(b, `,"unit":`...)
	b = jsonappend.String(b, r.Unit)
	if r.Min != nil {
		b = append(b, `,"min":`...)
		b = jsonappend.Float(b, *r.Min, 64)
	}
	if r.Max != nil {
		b = append(b, `,"max":`...)
		b = jsonappend.Float(b, *r.Max, 64)
	}
	b = append(b, `,"interval":`...)
	b = jsonappend.String(b, r.Interval)
	b = append(b, `,"flag":`...)
	b = jsonappend.String(b, r.Flag)
	b = append(b, `,"observed_at":"`...)
	b = r.ObservedAt.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","received_at":"`...)
	b = r.ReceivedAt.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","source":`...)
	b = jsonappend.String(b, r.Source)
	if r.Backfill {
		b = append(b, `,"backfill":true`...)
	}
	if r.BelowDL {
		b = append(b, `,"below_dl":true`...)
	}
	return append(b, '}')
}
