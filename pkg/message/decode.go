package message

import (
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"
)

// Readings are most of what the archiver and the assessor decode, and encoding/json spends
// about 1.6 KB of garbage and 4 µs per reading on them (55–62% of the assessor's CPU).
// DecodeReading parses the plain shape the gateway writes — an object of the known keys,
// strings without escapes, numbers, null — without reflection, and can intern the few
// distinct strings (sites, units, flags) of a batch. Anything else (escapes, unknown or
// differently cased keys, invalid UTF-8, bad syntax) falls back to encoding/json, so the
// result is always exactly what json.Unmarshal gives
// (FuzzDecodeReadingMatchesEncodingJSON checks it).

// Interner returns one string per distinct byte sequence. Use one per batch: it keeps
// every string it has seen.
type Interner map[string]string

// Get returns the interned copy of b.
func (in Interner) Get(b []byte) string {
	if s, ok := in[string(b)]; ok { // no allocation for the lookup
		return s
	}
	s := string(b)
	in[s] = s
	return s
}

// DecodeReading decodes one reading exactly like json.Unmarshal into a zero Reading (r is
// reset first), about four times faster.
func DecodeReading(data []byte, r *Reading) error {
	return DecodeReadingInterned(data, nil, r)
}

// DecodeReadingInterned is DecodeReading with the site, station, parameter, unit,
// interval, flag and source strings taken from in (nil: not interned), so that a batch's
// readings share them.
func DecodeReadingInterned(data []byte, in Interner, r *Reading) error {
	*r = Reading{}
	if fastReading(data, in, r) {
		return nil
	}
	*r = Reading{}
	return json.Unmarshal(data, r)
}

// fastReading parses data into r and reports whether it could; when it could not, r holds
// garbage and the caller decodes again with encoding/json.
func fastReading(data []byte, in Interner, r *Reading) bool {
	p := jsonScanner{data: data}
	return p.object(func(key []byte) bool {
		ok := true // a null the case skips leaves the field as it was, as encoding/json does
		switch string(key) {
		case "id":
			ok = p.stringField(&r.ID, nil)
		case "site":
			ok = p.stringField(&r.Site, in)
		case "station":
			ok = p.stringField(&r.Station, in)
		case "parameter":
			ok = p.stringField(&r.Parameter, in)
		case "unit":
			ok = p.stringField(&r.Unit, in)
		case "interval":
			ok = p.stringField(&r.Interval, in)
		case "flag":
			ok = p.stringField(&r.Flag, in)
		case "source":
			ok = p.stringField(&r.Source, in)
		case "value":
			if p.null() {
				break
			}
			r.Value, ok = p.number()
		case "min":
			r.Min, ok = p.optNumber()
		case "max":
			r.Max, ok = p.optNumber()
		case "backfill":
			if p.null() {
				break // encoding/json leaves the field as it was
			}
			r.Backfill, ok = p.boolean()
		case "below_dl":
			if p.null() {
				break
			}
			r.BelowDL, ok = p.boolean()
		case "observed_at":
			ok = p.timeField(&r.ObservedAt)
		case "received_at":
			ok = p.timeField(&r.ReceivedAt)
		default:
			return false // unknown, or a key encoding/json would match case-insensitively
		}
		return ok
	})
}

// object reads one whole JSON object to the end of the data, handing each key to field,
// which reads the value after it and reports whether it could; any key it refuses, or a
// syntax it does not take, makes object false.
func (p *jsonScanner) object(field func(key []byte) bool) bool {
	if !p.consume('{') {
		return false
	}
	if p.consume('}') {
		return p.end()
	}
	for {
		key, ok := p.plainString()
		if !ok || !p.consume(':') {
			return false
		}
		p.skipSpace()
		if !field(key) {
			return false
		}
		if p.consume(',') {
			continue
		}
		return p.consume('}') && p.end()
	}
}

// jsonScanner reads the subset of JSON that fastReading accepts.
type jsonScanner struct {
	data []byte
	i    int
	buf  []byte // unescaped strings (escapedString)
}

func (p *jsonScanner) skipSpace() {
	for p.i < len(p.data) {
		switch p.data[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *jsonScanner) consume(c byte) bool {
	p.skipSpace()
	if p.i < len(p.data) && p.data[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *jsonScanner) end() bool {
	p.skipSpace()
	return p.i == len(p.data)
}

// boolean reads true or false.
func (p *jsonScanner) boolean() (bool, bool) {
	rest := p.data[p.i:]
	switch {
	case len(rest) >= 4 && string(rest[:4]) == "true":
		p.i += 4
		return true, true
	case len(rest) >= 5 && string(rest[:5]) == "false":
		p.i += 5
		return false, true
	}
	return false, false
}

func (p *jsonScanner) null() bool {
	if len(p.data)-p.i >= 4 && string(p.data[p.i:p.i+4]) == "null" {
		p.i += 4
		return true
	}
	return false
}

// plainString reads a string without escapes or control characters, in valid UTF-8, and
// returns its contents (a slice of data).
func (p *jsonScanner) plainString() ([]byte, bool) {
	p.skipSpace()
	if p.i >= len(p.data) || p.data[p.i] != '"' {
		return nil, false
	}
	start := p.i + 1
	for j := start; j < len(p.data); j++ {
		switch c := p.data[j]; {
		case c == '"':
			s := p.data[start:j]
			if !utf8.Valid(s) {
				return nil, false
			}
			p.i = j + 1
			return s, true
		case c == '\\' || c < 0x20:
			return nil, false
		}
	}
	return nil, false
}

// stringField reads a string (interned when in is not nil) or null (which, as in
// encoding/json, leaves the field as it is).
func (p *jsonScanner) stringField(dst *string, in Interner) bool {
	if p.null() {
		return true
	}
	s, ok := p.plainString()
	if !ok {
		return false
	}
	if in != nil {
		*dst = in.Get(s)
	} else {
		*dst = string(s)
	}
	return true
}

// number reads a JSON number (the grammar, not everything strconv accepts).
func (p *jsonScanner) number() (float64, bool) {
	start, j := p.i, p.i
	d := p.data
	digits := func() bool {
		k := j
		for j < len(d) && d[j] >= '0' && d[j] <= '9' {
			j++
		}
		return j > k
	}
	if j < len(d) && d[j] == '-' {
		j++
	}
	if j < len(d) && d[j] == '0' {
		j++
	} else if !digits() {
		return 0, false
	}
	if j < len(d) && d[j] == '.' {
		j++
		if !digits() {
			return 0, false
		}
	}
	if j < len(d) && (d[j] == 'e' || d[j] == 'E') {
		j++
		if j < len(d) && (d[j] == '+' || d[j] == '-') {
			j++
		}
		if !digits() {
			return 0, false
		}
	}
	v, err := strconv.ParseFloat(string(d[start:j]), 64)
	if err != nil {
		return 0, false // out of range: encoding/json reports it
	}
	p.i = j
	return v, true
}

func (p *jsonScanner) optNumber() (*float64, bool) {
	if p.null() {
		return nil, true
	}
	v, ok := p.number()
	if !ok {
		return nil, false
	}
	return &v, true
}

// timeField reads a time the way encoding/json does (time.Time.UnmarshalJSON), or null.
func (p *jsonScanner) timeField(dst *time.Time) bool {
	if p.null() {
		return true
	}
	start := p.i
	if _, ok := p.plainString(); !ok {
		return false
	}
	return dst.UnmarshalJSON(p.data[start:p.i]) == nil
}
