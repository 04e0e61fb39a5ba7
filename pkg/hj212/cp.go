package hj212

import (
	"strconv"
	"strings"
	"time"
)

// Field is one key=value of a CP segment. Group numbers the ';'-separated group it is in,
// from 0: the fields of one pollutant share a group (separated by ',').
type Field struct {
	Key   string
	Value string
	Group int
}

// maxTableFields is how many fields the repeated-key check handles with a small hash table
// on the stack; beyond it a map. A minute frame of 8 items has 33 fields, and comparing
// every pair of them (528 comparisons of keys that differ in their last bytes) was 7 % of
// the gateway's work on it.
const maxTableFields = 100

// maxQuadraticFields is where the repeated-code check of a data upload's items
// (dataFromFields) switches from comparing every pair to a map.
const maxQuadraticFields = 48

// ParseCP parses a CP content (Packet.CP) into its fields, in order. The syntax is strict:
// groups separated by ';', fields by ',', each field key=value with exactly one '='; keys of
// letters, digits, '-' and '_'; values of printable characters other than ';', ',', '=',
// '&' (possibly empty); no empty group or field; no key twice. An empty CP has no fields.
// A violation is refused with ReasonBadCP.
func ParseCP(cp string) ([]Field, error) { return AppendCP(nil, cp) }

// AppendCP is ParseCP appending to dst, so that a caller can reuse one slice.
func AppendCP(dst []Field, cp string) ([]Field, error) {
	if cp == "" {
		return dst, nil
	}
	start := len(dst)
	group := 0
	i := 0
	for {
		// One field: key=value, ended by ',', ';' or the end.
		j := i
		for j < len(cp) && cp[j] != '=' && cp[j] != ',' && cp[j] != ';' {
			if !keyByte(cp[j]) {
				return dst, errorf(ReasonBadCP, "byte "+strconv.Quote(cp[j:j+1])+" in a key at "+strconv.Itoa(j))
			}
			j++
		}
		if j == i {
			return dst, errorf(ReasonBadCP, "empty key, field or group at "+strconv.Itoa(i))
		}
		if j == len(cp) || cp[j] != '=' {
			return dst, errorf(ReasonBadCP, "field "+quote(cp[i:j])+" has no '='")
		}
		key := cp[i:j]
		k := j + 1
		for k < len(cp) && cp[k] != ',' && cp[k] != ';' {
			if c := cp[k]; c == '=' || c < ' ' || c > '~' || c == '&' {
				return dst, errorf(ReasonBadCP, "byte "+strconv.Quote(cp[k:k+1])+" in the value of "+quote(key))
			}
			k++
		}
		dst = append(dst, Field{Key: key, Value: cp[j+1 : k], Group: group})
		if k == len(cp) {
			break
		}
		if cp[k] == ';' {
			group++
		}
		i = k + 1
		if i == len(cp) {
			return dst, errorf(ReasonBadCP, "CP ends with a separator")
		}
	}
	if key, dup := repeatedKey(dst[start:]); dup {
		return dst, errorf(ReasonBadCP, "key "+quote(key)+" repeated")
	}
	return dst, nil
}

func keyByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

func repeatedKey(fs []Field) (string, bool) {
	if len(fs) <= maxTableFields {
		// Open addressing over 256 slots (at least half empty), each the field's index + 1.
		var slots [256]uint8
		for i, f := range fs {
			h := uint32(2166136261) // FNV-1a
			for j := 0; j < len(f.Key); j++ {
				h = (h ^ uint32(f.Key[j])) * 16777619
			}
			for k := uint8(h); ; k++ {
				if slots[k] == 0 {
					slots[k] = uint8(i + 1)
					break
				}
				if fs[slots[k]-1].Key == f.Key {
					return f.Key, true
				}
			}
		}
		return "", false
	}
	seen := make(map[string]struct{}, len(fs))
	for _, f := range fs {
		if _, ok := seen[f.Key]; ok {
			return f.Key, true
		}
		seen[f.Key] = struct{}{}
	}
	return "", false
}

// Lookup returns the value of key among fields.
func Lookup(fields []Field, key string) (string, bool) {
	for _, f := range fields {
		if f.Key == key {
			return f.Value, true
		}
	}
	return "", false
}

// TimeLayout is the layout of DataTime, SystemTime and the first 14 digits of QN.
const TimeLayout = "20060102150405"

// FormatTime formats t as HJ 212 local time yyyyMMddHHmmss in loc.
func FormatTime(t time.Time, loc *time.Location) string { return t.In(loc).Format(TimeLayout) }

// NewQN returns a QN for t in loc: yyyyMMddHHmmssSSS.
func NewQN(t time.Time, loc *time.Location) string {
	t = t.In(loc)
	ms := t.Nanosecond() / 1e6
	return t.Format(TimeLayout) + string([]byte{byte('0' + ms/100), byte('0' + ms/10%10), byte('0' + ms%10)})
}

// ParseTime parses an HJ 212 time yyyyMMddHHmmss (14 digits, a valid date and time) in loc.
func ParseTime(s string, loc *time.Location) (time.Time, error) {
	if !allDigits(s, 14, 14) {
		return time.Time{}, errorf(ReasonBadValue, "time "+quote(s)+" is not 14 digits yyyyMMddHHmmss")
	}
	t, ok := parseDigitsTime(s, loc)
	if !ok {
		return time.Time{}, errorf(ReasonBadValue, "time "+quote(s)+" is not a valid date and time")
	}
	return t, nil
}

// parseDigitsTime parses 14 digits yyyyMMddHHmmss and checks that every part is in range
// (no 31 April, no hour 24). loc nil means UTC.
func parseDigitsTime(s string, loc *time.Location) (time.Time, bool) {
	if len(s) != 14 {
		return time.Time{}, false
	}
	num := func(i, n int) int {
		v := 0
		for _, c := range []byte(s[i : i+n]) {
			v = v*10 + int(c-'0')
		}
		return v
	}
	y, mo, d, h, mi, sec := num(0, 4), num(4, 2), num(6, 2), num(8, 2), num(10, 2), num(12, 2)
	if y < 1970 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 59 {
		return time.Time{}, false
	}
	if loc == nil {
		loc = time.UTC
	}
	t := time.Date(y, time.Month(mo), d, h, mi, sec, 0, loc)
	if t.Day() != d { // 31 April normalises to 1 May
		return time.Time{}, false
	}
	return t, true
}

// parseNumber parses a plain decimal number: an optional '-', digits with at most one '.',
// at least one digit, at most 32 bytes. Exponents, '+', hex, NaN and Inf are refused: the
// standard transmits fixed-point numbers (N5.2, …).
func parseNumber(s string) (float64, bool) {
	if len(s) == 0 || len(s) > 32 {
		return 0, false
	}
	i := 0
	if s[0] == '-' {
		i = 1
	}
	digits, dot := 0, false
	for ; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '.' && !dot:
			dot = true
		default:
			return 0, false
		}
	}
	if digits == 0 {
		return 0, false
	}
	v, err := strconv.ParseFloat(s, 64)
	return v, err == nil
}

// ParseNumber parses a value, after trimming spaces, as strictly as ParseData does: plain
// decimals only (no exponent, sign "+", hex, NaN or Inf).
func ParseNumber(s string) (float64, bool) { return parseNumber(strings.TrimSpace(s)) }
