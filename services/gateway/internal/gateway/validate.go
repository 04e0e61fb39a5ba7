package gateway

import (
	"errors"
	"strconv"
	"time"

	"github.com/riverwatch/riverwatch/pkg/hj212"
	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/network"
	"github.com/riverwatch/riverwatch/pkg/standard"
)

// Reasons of refusal of the gateway, beside the codec's (hj212.Reason*). Stable,
// lower_snake: the rejected table, metrics and dashboards use them.
const (
	ReasonAuthMN             = "auth_mn"              // HJ 212 MN of no station in sites.yaml
	ReasonAuthPW             = "auth_pw"              // HJ 212 PW does not match the station's
	ReasonAuthToken          = "auth_token"           // HTTP: no or unknown bearer token
	ReasonForbidden          = "forbidden"            // HTTP: the token's role may not write, or the site is outside its jurisdictions
	ReasonUnknownSite        = "unknown_site"         // HTTP: no such site
	ReasonUnknownParameter   = "unknown_parameter"    // no canonical parameter for the code or name
	ReasonUnit               = "unit"                 // unit unknown, or of another quantity
	ReasonRange              = "range"                // physically impossible value
	ReasonInconsistent       = "inconsistent"         // min > value or value > max
	ReasonMissingValue       = "missing_value"        // no Rtd (real-time) or Avg (period data)
	ReasonFuture             = "future"               // time later than now + clock skew
	ReasonTooOld             = "too_old"              // time earlier than now − max age
	ReasonDuplicate          = "duplicate"            // frame already stored, or a reading twice in one input
	ReasonSystemCode         = hj212.ReasonSystemCode // water data under a non-water ST
	ReasonUnsupportedCN      = "unsupported_cn"       // an upload or request riverwatch does not turn into readings
	ReasonUnknownCN          = "unknown_cn"           // not a command of the standard
	ReasonBadBody            = "bad_body"             // HTTP body that is not a JSON array or a CSV with the header
	ReasonBadRow             = "bad_row"              // HTTP row with missing or unknown fields
	ReasonTooLarge           = "too_large"            // HTTP body over gateway.max_body_bytes
	ReasonTooManyConnections = "too_many_connections" // gateway.max_connections reached
	ReasonAddressConnections = "address_connections"  // gateway.max_connections_per_address reached
	ReasonAuthLocked         = "auth_locked"          // HJ 212 MN or address locked out after repeated authentication failures
	ReasonAuthTimeout        = "auth_timeout"         // HJ 212 connection without a valid frame within gateway.auth_timeout
	ReasonTooManyRows        = "too_many_rows"        // HTTP upload over gateway.max_rows
	ReasonBusy               = "busy"                 // HTTP: gateway.max_concurrent_uploads in progress (503, not recorded: nothing was read)
	ReasonBadValue           = hj212.ReasonBadValue   // not a number, not a time
	ReasonBadFlag            = hj212.ReasonBadFlag    // not a data flag
)

// Intervals by data-upload command.
var intervalOfCN = map[string]string{
	hj212.CNRealtime: message.IntervalRealtime,
	hj212.CNMinute:   message.IntervalMinute,
	hj212.CNHour:     message.IntervalHour,
	hj212.CNDay:      message.IntervalDay,
}

// candidate is a reading before validation, its values in the input's unit.
type candidate struct {
	site       *network.Site
	station    string
	param      string
	value      float64
	min, max   *float64
	unit       string
	flag       string
	interval   string
	observedAt time.Time
	source     string
	// belowDL: a non-detect, value being the detection limit ("0.01L", below_dl).
	belowDL bool
	// id: the reading's id when the caller made it already (message.ReadingID of site,
	// param, interval, observedAt), else "".
	id string
	// scratch: min and max point to the caller's scratch, which validate may overwrite
	// with the converted values (HJ 212 items), rather than to values it must keep.
	scratch bool
}

// refusal says why something was refused.
type refusal struct {
	reason string
	detail string
}

// checkTime refuses times in the future beyond the clock skew, or older than the max age.
func (g *Gateway) checkTime(t, now time.Time) *refusal {
	switch {
	case t.After(now.Add(g.cfg.ClockSkew)):
		return &refusal{ReasonFuture, "time " + t.UTC().Format(time.RFC3339) + " is more than " + g.cfg.ClockSkew.String() + " ahead of " + now.UTC().Format(time.RFC3339)}
	case t.Before(now.Add(-g.cfg.MaxAge)):
		return &refusal{ReasonTooOld, "time " + t.UTC().Format(time.RFC3339) + " is older than the maximum age " + g.cfg.MaxAge.String()}
	}
	return nil
}

// validate converts a candidate to its canonical unit and checks it: a known parameter, a
// convertible unit, a physically possible value, min ≤ value ≤ max. Times are checked by
// the caller (once per frame for HJ 212).
//
// The gateway owns the plausibility rule (standard.Plausible): an implausible value, min or
// max is refused with ReasonRange and recorded on the rejected topic. The assessor's engine
// calls the same function again only as defence in depth, for readings that reach Kafka
// without passing here.
func validate(c *candidate, now time.Time) (message.Reading, *refusal) {
	if !standard.Known(c.param) {
		return message.Reading{}, &refusal{ReasonUnknownParameter, "parameter " + strconv.Quote(c.param) + " is not a canonical parameter code"}
	}
	conv := func(what string, v float64) (float64, *refusal) {
		out, err := standard.ToCanonical(c.param, v, c.unit)
		switch {
		case err == nil:
		case errors.Is(err, standard.ErrUnknownParameter):
			return 0, &refusal{ReasonUnknownParameter, err.Error()}
		case errors.Is(err, standard.ErrInvalidValue):
			return 0, &refusal{ReasonBadValue, what + " of " + c.param + " is not a finite number"}
		default:
			return 0, &refusal{ReasonUnit, err.Error()}
		}
		if err := standard.Plausible(c.param, out); err != nil {
			return 0, &refusal{ReasonRange, what + ": " + err.Error()}
		}
		return out, nil
	}
	value, rf := conv("value", c.value)
	if rf != nil {
		return message.Reading{}, rf
	}
	if c.belowDL && value <= 0 {
		// A non-detect's value is the method's detection limit: a positive concentration.
		return message.Reading{}, &refusal{ReasonBadValue, c.param + ": below the detection limit, but the limit " + fmtF(value) + " is not positive"}
	}
	id := c.id
	if id == "" {
		id = message.ReadingID(c.site.ID, c.param, c.interval, c.observedAt)
	}
	r := message.Reading{
		ID:         id,
		Site:       c.site.ID,
		Station:    c.station,
		Parameter:  c.param,
		Value:      value,
		Unit:       standard.CanonicalUnit(c.param),
		Interval:   c.interval,
		Flag:       c.flag,
		ObservedAt: c.observedAt.UTC(),
		ReceivedAt: now.UTC(),
		Source:     c.source,
		BelowDL:    c.belowDL,
	}
	if c.min != nil {
		v, rf := conv("min", *c.min)
		if rf != nil {
			return message.Reading{}, rf
		}
		if v > value {
			return message.Reading{}, &refusal{ReasonInconsistent, c.param + ": min " + fmtF(v) + " > value " + fmtF(value)}
		}
		r.Min = c.keep(c.min, v)
	}
	if c.max != nil {
		v, rf := conv("max", *c.max)
		if rf != nil {
			return message.Reading{}, rf
		}
		if v < value {
			return message.Reading{}, &refusal{ReasonInconsistent, c.param + ": max " + fmtF(v) + " < value " + fmtF(value)}
		}
		r.Max = c.keep(c.max, v)
	}
	return r, nil
}

// keep is a pointer to v, the converted value of *p: p itself when it is the caller's
// scratch, else sameOrNew.
func (c *candidate) keep(p *float64, v float64) *float64 {
	if c.scratch {
		*p = v
		return p
	}
	return sameOrNew(p, v)
}

// sameOrNew is p when it holds v already (the candidate's own copy, unconverted: no
// allocation per reading for it), else a new pointer to v.
func sameOrNew(p *float64, v float64) *float64 {
	if *p == v {
		return p
	}
	n := new(float64) // not &v: that would put v on the heap on every call
	*n = v
	return n
}

func fmtF(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
