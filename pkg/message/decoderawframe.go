package message

import (
	"encoding/json"
	"unicode/utf16"
	"unicode/utf8"
)

// Raw frames are the archiver's other big decode (16% of its CPU under HJ 212 load went to
// encoding/json on them). DecodeRawFrame parses the shape the gateway writes (json.Marshal
// of a RawFrame: the known keys, strings, an array of strings or null) without reflection.
// Unlike fastReading it reads string escapes, since every HJ 212 frame has some: json.Marshal
// writes the frame's "&&" as \u0026 and its CR LF as \r\n. Anything else (unknown or
// differently cased keys, invalid UTF-8, lone surrogates, null array elements, bad syntax)
// falls back to encoding/json, so the result is always exactly what json.Unmarshal gives
// (FuzzDecodeRawFrameMatchesEncodingJSON checks it).

// DecodeRawFrame decodes one raw frame exactly like json.Unmarshal into a zero RawFrame (f
// is reset first).
func DecodeRawFrame(data []byte, f *RawFrame) error {
	return DecodeRawFrameInterned(data, nil, f)
}

// DecodeRawFrameInterned is DecodeRawFrame with the site, MN, CN and remote strings taken
// from in (nil: not interned), so that a batch's frames share them.
func DecodeRawFrameInterned(data []byte, in Interner, f *RawFrame) error {
	*f = RawFrame{}
	if fastRawFrame(data, in, f) {
		return nil
	}
	*f = RawFrame{}
	return json.Unmarshal(data, f)
}

// fastRawFrame parses data into f and reports whether it could; when it could not, f holds
// garbage and the caller decodes again with encoding/json.
func fastRawFrame(data []byte, in Interner, f *RawFrame) bool {
	p := jsonScanner{data: data}
	return p.object(func(key []byte) bool {
		ok := true // a null the case skips leaves the field as it was, as encoding/json does
		switch string(key) {
		case "id":
			ok = p.escapedStringField(&f.ID, nil)
		case "site":
			ok = p.escapedStringField(&f.Site, in)
		case "mn":
			ok = p.escapedStringField(&f.MN, in)
		case "qn":
			ok = p.escapedStringField(&f.QN, nil) // one per frame: interning would only grow the map
		case "cn":
			ok = p.escapedStringField(&f.CN, in)
		case "remote":
			ok = p.escapedStringField(&f.Remote, in)
		case "raw":
			ok = p.escapedStringField(&f.Raw, nil)
		case "data_time":
			ok = p.timeField(&f.DataTime)
		case "received_at":
			ok = p.timeField(&f.ReceivedAt)
		case "reading_ids":
			f.ReadingIDs, ok = p.stringArray()
		default:
			return false // unknown, or a key encoding/json would match case-insensitively
		}
		return ok
	})
}

// stringArray reads null (nil, as encoding/json sets it) or an array of strings. An empty
// array is an empty, non-nil slice, as in encoding/json; a null element is left to
// encoding/json (it would keep what a repeated key's earlier array put there). Elements
// without escapes (reading ids always) share one allocation: they are kept together anyway.
func (p *jsonScanner) stringArray() ([]string, bool) {
	if p.null() {
		return nil, true
	}
	if !p.consume('[') {
		return nil, false
	}
	if p.consume(']') {
		return []string{}, true
	}
	open := p.i
	var spans [16][2]int // the elements' contents in data
	sp := spans[:0]
	for {
		p.skipSpace()
		from := p.i
		s, ok := p.escapedString()
		if !ok {
			return nil, false
		}
		if len(s) != p.i-from-2 { // unescaped into p.buf: decode element by element
			p.i = open
			return p.escapedStringArray()
		}
		sp = append(sp, [2]int{from + 1, p.i - 1})
		if p.consume(',') {
			continue
		}
		if !p.consume(']') {
			return nil, false
		}
		break
	}
	base := sp[0][0]
	all := string(p.data[base:sp[len(sp)-1][1]])
	out := make([]string, len(sp))
	for k, span := range sp {
		out[k] = all[span[0]-base : span[1]-base]
	}
	return out, true
}

// escapedStringArray reads the rest of a non-empty array of strings, p.i just after its
// opening bracket, one allocation per element.
func (p *jsonScanner) escapedStringArray() ([]string, bool) {
	var out []string
	for {
		p.skipSpace()
		s, ok := p.escapedString()
		if !ok {
			return nil, false
		}
		out = append(out, string(s))
		if p.consume(',') {
			continue
		}
		return out, p.consume(']')
	}
}

// escapedStringField reads a string, escapes and all (interned when in is not nil), or
// null (which leaves the field as it is).
func (p *jsonScanner) escapedStringField(dst *string, in Interner) bool {
	if p.null() {
		return true
	}
	s, ok := p.escapedString()
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

// escapedString reads a string in valid UTF-8 without control characters and returns its
// contents: a slice of data when it has no escapes, else p.buf unescaped (valid until the
// next call). It refuses what encoding/json would repair rather than reject (lone
// surrogates) and what it rejects (unknown escapes), leaving both to encoding/json.
func (p *jsonScanner) escapedString() ([]byte, bool) {
	d := p.data
	if p.i >= len(d) || d[p.i] != '"' {
		return nil, false
	}
	start := p.i + 1
	j := start
	for j < len(d) && d[j] != '"' && d[j] != '\\' && d[j] >= 0x20 {
		j++
	}
	if j >= len(d) || d[j] < 0x20 {
		return nil, false
	}
	if d[j] == '"' {
		s := d[start:j]
		if !utf8.Valid(s) {
			return nil, false
		}
		p.i = j + 1
		return s, true
	}
	if cap(p.buf) < len(d)-start {
		// Unescaped, the rest of the string is no longer than the rest of data: one
		// allocation per decode.
		p.buf = make([]byte, 0, len(d)-start)
	}
	buf := append(p.buf[:0], d[start:j]...)
	for j < len(d) {
		c := d[j]
		switch {
		case c == '"':
			// The escapes are ASCII: the unescaped string is valid UTF-8 when the rest is.
			if !utf8.Valid(buf) {
				return nil, false
			}
			p.i, p.buf = j+1, buf
			return buf, true
		case c < 0x20:
			return nil, false
		case c != '\\':
			buf = append(buf, c)
			j++
			continue
		}
		if j+1 >= len(d) {
			return nil, false
		}
		switch d[j+1] {
		case '"', '\\', '/':
			buf = append(buf, d[j+1])
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := hex4(d[j+2:])
			if !ok {
				return nil, false
			}
			j += 6
			if utf16.IsSurrogate(r) {
				if len(d) < j+2 || d[j] != '\\' || d[j+1] != 'u' {
					return nil, false
				}
				r2, ok := hex4(d[j+2:])
				if !ok {
					return nil, false
				}
				if r = utf16.DecodeRune(r, r2); r == utf8.RuneError {
					return nil, false
				}
				j += 6
			}
			buf = utf8.AppendRune(buf, r)
			continue
		default:
			return nil, false
		}
		j += 2
	}
	return nil, false
}

// hex4 reads the four hex digits of a \u escape.
func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}
