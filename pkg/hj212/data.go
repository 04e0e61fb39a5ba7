package hj212

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// Num is an optional number of an item: Set says whether the CP had it.
type Num struct {
	V   float64
	Set bool
}

// Value returns a set Num.
func Value(v float64) Num { return Num{V: v, Set: true} }

// Ptr returns a pointer to the value, or nil when it is not set.
func (n Num) Ptr() *float64 {
	if !n.Set {
		return nil
	}
	v := n.V
	return &v
}

// Item is one pollutant (or other monitored item) of a data upload: its code as
// transmitted and the values of its suffixes (facts.md §3.6).
type Item struct {
	Code string // w01018 (2017, 2025) or 011 (2005)
	Rtd  Num    // real-time value (CN 2011)
	Min  Num    // period minimum (2051, 2061, 2031)
	Avg  Num    // period mean
	Max  Num    // period maximum
	Cou  Num    // cumulative amount over the period (pollutant mass, water volume)
	// Converted (折算) values, mainly for flue gas.
	ZsRtd, ZsMin, ZsAvg, ZsMax Num
	Flag                       string // data flag (N, F, M, S, D, C, T, B); empty when the item had none
	// BelowDL: the item's Rtd or Avg was written as a detection limit with the HJ/T 91-2002
	// non-detect mark, "0.01L" (not in HJ 212, which has no non-detect flag; some data
	// loggers forward a laboratory analyser's result so): the value is the limit.
	BelowDL    bool
	EFlag      string // equipment flag
	SampleTime string // sampling time, yyyyMMddHHmmss
	// Err is why the item cannot be used (ReasonBadItem, ReasonBadValue, ReasonBadFlag), nil
	// when it parsed. The other items of the upload are unaffected.
	Err *Error
	// Raw is the item's group as transmitted, for error reports.
	Raw string
}

// Data is the CP of a data upload (CN 2011, 2051, 2061, 2031).
type Data struct {
	DataTime time.Time // in the location given to ParseData; the period's start for period data
	Items    []Item
}

// ParseData interprets the CP content of a data upload of version v, times in loc (the
// station's local time zone): exactly one DataTime, alone in the first group, then one
// group per item whose fields are all <code>-<suffix>=<value> of one code, no code in two
// groups. Structural faults refuse the whole CP (ReasonBadCP); a fault inside one item —
// an unknown suffix, a value that is not a plain decimal, an unknown data flag — only marks
// that item (Item.Err), so that the good items of the upload still count.
func ParseData(cp string, v Version, loc *time.Location) (Data, error) {
	var buf [64]Field // on the stack: an 8-item period frame has 33 fields (Avg, Min, Max, Flag)
	fields, err := AppendCP(buf[:0], cp)
	if err != nil {
		return Data{}, err
	}
	return dataFromFields(cp, fields, v, loc)
}

func dataFromFields(cp string, fields []Field, v Version, loc *time.Location) (Data, error) {
	var d Data
	if len(fields) == 0 || fields[0].Key != "DataTime" {
		return d, errorf(ReasonBadCP, "a data upload's CP must start with DataTime")
	}
	if len(fields) > 1 && fields[1].Group == 0 {
		return d, errorf(ReasonBadCP, "DataTime must be alone in its group")
	}
	t, err := ParseTime(fields[0].Value, loc)
	if err != nil {
		return d, errorf(ReasonBadCP, "DataTime: "+err.(*Error).Detail)
	}
	d.DataTime = t
	groups := groupCursor{cp: cp, rest: cp}
	nGroups := fields[len(fields)-1].Group
	d.Items = make([]Item, 0, nGroups)
	var seen map[string]struct{} // codes, once there are too many to compare pairwise
	if nGroups > maxQuadraticFields {
		seen = make(map[string]struct{}, nGroups)
	}
	for i := 1; i < len(fields); {
		g := fields[i].Group
		j := i
		for j < len(fields) && fields[j].Group == g {
			j++
		}
		code, _, ok := strings.Cut(fields[i].Key, "-")
		if !ok {
			return d, errorf(ReasonBadCP, "key "+quote(fields[i].Key)+" is not <code>-<suffix> (only DataTime may stand alone in a data upload)")
		}
		for _, f := range fields[i+1 : j] {
			if c, _, ok := strings.Cut(f.Key, "-"); !ok || c != code {
				return d, errorf(ReasonBadCP, "group "+strconv.Itoa(g)+" of item "+quote(code)+" holds key "+quote(f.Key))
			}
		}
		if seen != nil {
			if _, dup := seen[code]; dup {
				return d, errorf(ReasonBadCP, "item "+quote(code)+" appears in two groups")
			}
			seen[code] = struct{}{}
		} else {
			for k := range d.Items {
				if d.Items[k].Code == code {
					return d, errorf(ReasonBadCP, "item "+quote(code)+" appears in two groups")
				}
			}
		}
		it := Item{Code: code}
		it.Raw = groups.group(g)
		if !validCode(code) {
			it.Err = errorf(ReasonBadItem, "item code "+quote(code)+" is not 1–8 letters or digits")
		}
		for _, f := range fields[i:j] {
			if it.Err != nil {
				break
			}
			it.Err = it.set(f.Key[len(code)+1:], f.Value, v)
		}
		d.Items = append(d.Items, it)
		i = j
	}
	return d, nil
}

// groupCursor walks the ';'-separated groups of a CP (already validated by AppendCP) in
// order, as strings.Split(cp, ";")[g] would give them, without making the slice of all.
type groupCursor struct {
	cp, rest string
	next     int // the index of the group rest starts with
}

// group returns group g ("" beyond the last).
func (c *groupCursor) group(g int) string {
	if g < c.next { // not in order: start again
		c.rest, c.next = c.cp, 0
	}
	for ; c.next < g; c.next++ {
		_, c.rest, _ = strings.Cut(c.rest, ";")
	}
	s, _, _ := strings.Cut(c.rest, ";")
	return s
}

// validCode reports whether s can be an item code (w21003, a01001): 1–8 ASCII letters
// and digits.
func validCode(s string) bool { return alnum(s, 8) }

// set stores one suffix's value.
func (it *Item) set(suffix, val string, v Version) *Error {
	var n *Num
	switch suffix {
	case "Rtd":
		n = &it.Rtd
	case "Min":
		n = &it.Min
	case "Avg":
		n = &it.Avg
	case "Max":
		n = &it.Max
	case "Cou":
		n = &it.Cou
	case "ZsRtd":
		n = &it.ZsRtd
	case "ZsMin":
		n = &it.ZsMin
	case "ZsAvg":
		n = &it.ZsAvg
	case "ZsMax":
		n = &it.ZsMax
	case "Flag":
		if !ValidDataFlag(val, v) {
			return errorf(ReasonBadFlag, it.Code+"-Flag "+quote(val)+" is not a data flag of "+v.String())
		}
		it.Flag = val
		return nil
	case "EFlag":
		if val == "" || len(val) > 4 {
			return errorf(ReasonBadValue, it.Code+"-EFlag "+quote(val)+" is not an equipment flag")
		}
		it.EFlag = val
		return nil
	case "SampleTime":
		if _, ok := parseDigitsTime(val, nil); !ok || !allDigits(val, 14, 14) {
			return errorf(ReasonBadValue, it.Code+"-SampleTime "+quote(val)+" is not a valid yyyyMMddHHmmss")
		}
		it.SampleTime = val
		return nil
	default:
		return errorf(ReasonBadItem, "unknown suffix "+quote(suffix)+" of item "+quote(it.Code))
	}
	if (suffix == "Rtd" || suffix == "Avg") && len(val) > 1 && val[len(val)-1] == 'L' {
		// "0.01L": below the detection limit 0.01 (HJ/T 91-2002).
		f, ok := parseNumber(val[:len(val)-1])
		if !ok || f < 0 {
			return errorf(ReasonBadValue, it.Code+"-"+suffix+" "+quote(val)+" is not a detection limit with L")
		}
		*n, it.BelowDL = Value(f), true
		return nil
	}
	f, ok := parseNumber(val)
	if !ok {
		return errorf(ReasonBadValue, it.Code+"-"+suffix+" "+quote(val)+" is not a plain decimal number")
	}
	*n = Value(f)
	return nil
}

// Data flags of HJ 212-2017 (facts.md §3.7).
const (
	DataFlagNormal      = "N" // instrument working normally
	DataFlagStopped     = "F" // instrument stopped
	DataFlagMaintenance = "M" // maintenance
	DataFlagManual      = "S" // manually entered set value
	DataFlagFault       = "D" // instrument fault
	DataFlagCalibration = "C" // calibration
	DataFlagOverRange   = "T" // above the upper measurement range
	DataFlagCommFailure = "B" // communication failure between instrument and data logger
	// DataFlagPowerFailure is believed to be HJ/T 212-2005's P (power failure); accepted in
	// 2005 packets only.
	DataFlagPowerFailure = "P"
)

// ValidDataFlag reports whether f is a data flag of version v: N F M S D C T B, and P in
// HJ/T 212-2005.
func ValidDataFlag(f string, v Version) bool {
	switch f {
	case "N", "F", "M", "S", "D", "C", "T", "B":
		return true
	case "P":
		return v == V2005
	}
	return false
}

// Rtd returns a real-time item (CN 2011).
func Rtd(code string, v float64, flag string) Item {
	return Item{Code: code, Rtd: Value(v), Flag: flag}
}

// Period returns a minute, hour or day item (CN 2051, 2061, 2031).
func Period(code string, minV, avg, maxV float64, flag string) Item {
	return Item{Code: code, Min: Value(minV), Avg: Value(avg), Max: Value(maxV), Flag: flag}
}

// DataCP builds the CP content of a data upload: DataTime (dataTime in loc), then one group
// per item with its set values and flags. It refuses what ParseData would refuse: codes
// that are not 1–8 letters or digits, NaN or infinite values, unknown flags (of version v).
func DataCP(dataTime time.Time, loc *time.Location, v Version, items []Item) (string, error) {
	b := make([]byte, 0, 24+len(items)*48)
	b = append(b, "DataTime="...)
	b = dataTime.In(loc).AppendFormat(b, TimeLayout)
	for i := range items {
		it := &items[i]
		if !validCode(it.Code) {
			return "", errorf(ReasonBadItem, "item code "+quote(it.Code)+" is not 1–8 letters or digits")
		}
		if it.Flag != "" && !ValidDataFlag(it.Flag, v) {
			return "", errorf(ReasonBadFlag, "flag "+quote(it.Flag)+" of "+it.Code)
		}
		b = append(b, ';')
		first := true
		sep := func() {
			if !first {
				b = append(b, ',')
			}
			first = false
		}
		if it.SampleTime != "" {
			sep()
			b = append(b, it.Code...)
			b = append(b, "-SampleTime="...)
			b = append(b, it.SampleTime...)
		}
		for _, nv := range [...]struct {
			suffix string
			n      Num
		}{{"Rtd", it.Rtd}, {"Cou", it.Cou}, {"Min", it.Min}, {"Avg", it.Avg}, {"Max", it.Max},
			{"ZsRtd", it.ZsRtd}, {"ZsMin", it.ZsMin}, {"ZsAvg", it.ZsAvg}, {"ZsMax", it.ZsMax}} {
			if !nv.n.Set {
				continue
			}
			if math.IsNaN(nv.n.V) || math.IsInf(nv.n.V, 0) {
				return "", errorf(ReasonBadValue, it.Code+"-"+nv.suffix+" is not a finite number")
			}
			sep()
			b = append(b, it.Code...)
			b = append(b, '-')
			b = append(b, nv.suffix...)
			b = append(b, '=')
			b = AppendNumber(b, nv.n.V)
			if it.BelowDL && (nv.suffix == "Rtd" || nv.suffix == "Avg") {
				if nv.n.V < 0 {
					return "", errorf(ReasonBadValue, it.Code+"-"+nv.suffix+" is a negative detection limit")
				}
				b = append(b, 'L')
			}
		}
		if it.Flag != "" {
			sep()
			b = append(b, it.Code...)
			b = append(b, "-Flag="...)
			b = append(b, it.Flag...)
		}
		if it.EFlag != "" {
			sep()
			b = append(b, it.Code...)
			b = append(b, "-EFlag="...)
			b = append(b, it.EFlag...)
		}
		if first {
			return "", errorf(ReasonBadItem, "item "+quote(it.Code)+" has no value")
		}
	}
	return string(b), nil
}

// AppendNumber appends v as a plain decimal (no exponent), as the standard transmits it.
func AppendNumber(dst []byte, v float64) []byte {
	if v == 0 {
		return append(dst, '0') // no "-0"
	}
	return strconv.AppendFloat(dst, v, 'f', -1, 64)
}
