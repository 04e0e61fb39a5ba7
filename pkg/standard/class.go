package standard

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Class is a GB 3838-2002 water-quality class: ClassI (best) to ClassV, and
// ClassWorseV (劣Ⅴ) for water that fails the Class Ⅴ limit. Higher values are
// worse, so the worst of several classes is their maximum. The zero value
// means "no class" (not applicable, or no data).
type Class int

// The GB 3838-2002 classes, ordered from best to worst (GB 3838-2002 §3;
// 劣Ⅴ per 环办〔2011〕22号).
const (
	ClassI      Class = 1 // Ⅰ: source water, national nature reserves
	ClassII     Class = 2 // Ⅱ: grade-1 drinking-water protection zones
	ClassIII    Class = 3 // Ⅲ: grade-2 drinking-water protection zones, swimming
	ClassIV     Class = 4 // Ⅳ: general industrial water
	ClassV      Class = 5 // Ⅴ: agricultural and general landscape water
	ClassWorseV Class = 6 // 劣Ⅴ: exceeds the Class Ⅴ limit
)

// ErrBadClass is returned by ParseClass for text that names no class.
var ErrBadClass = errors.New("standard: not a water-quality class")

// Valid reports whether c is one of ClassI…ClassWorseV.
func (c Class) Valid() bool { return c >= ClassI && c <= ClassWorseV }

// String returns the class in ASCII Roman numerals: "I", "II", "III", "IV",
// "V" or "劣V". The zero Class is "-".
func (c Class) String() string {
	switch c {
	case ClassI:
		return "I"
	case ClassII:
		return "II"
	case ClassIII:
		return "III"
	case ClassIV:
		return "IV"
	case ClassV:
		return "V"
	case ClassWorseV:
		return "劣V"
	case 0:
		return "-"
	}
	return "Class(" + strconv.Itoa(int(c)) + ")"
}

// Roman returns the class with the Unicode Roman numerals used in Chinese
// reports: "Ⅰ", "Ⅱ", "Ⅲ", "Ⅳ", "Ⅴ" or "劣Ⅴ". The zero Class is "-".
func (c Class) Roman() string {
	switch c {
	case ClassI:
		return "Ⅰ"
	case ClassII:
		return "Ⅱ"
	case ClassIII:
		return "Ⅲ"
	case ClassIV:
		return "Ⅳ"
	case ClassV:
		return "Ⅴ"
	case ClassWorseV:
		return "劣Ⅴ"
	case 0:
		return "-"
	}
	return c.String()
}

// Status returns the qualitative descriptor of the class (环办〔2011〕22号
// table 1, facts §2.3): Ⅰ–Ⅱ 优, Ⅲ 良好, Ⅳ 轻度污染, Ⅴ 中度污染, 劣Ⅴ 重度污染.
// The zero Class gives StatusNone.
func (c Class) Status() Status {
	switch c {
	case ClassI, ClassII:
		return StatusExcellent
	case ClassIII:
		return StatusGood
	case ClassIV:
		return StatusSlightlyPolluted
	case ClassV:
		return StatusModeratelyPolluted
	case ClassWorseV:
		return StatusHeavilyPolluted
	}
	return StatusNone
}

// Descriptor returns the Chinese descriptor of the class (优, 良好, 轻度污染,
// 中度污染 or 重度污染), or "" for the zero Class.
func (c Class) Descriptor() string { return c.Status().String() }

// Color returns the display colour of the class as a hex string (facts §2.3:
// the values of one public system; 22号 names the colours but gives no RGB).
func (c Class) Color() string { return c.Status().Color() }

// ParseClass reads a class written as ASCII or Unicode Roman numerals, Arabic
// digits or Chinese numerals, with an optional "Class"/"类" decoration:
// "I", "iii", "3", "Ⅲ", "Ⅲ类", "三类", "class III", "劣V", "劣Ⅴ", "劣五类", "6".
func ParseClass(s string) (Class, error) {
	t := strings.TrimSpace(s)
	t = strings.TrimSuffix(t, "类")
	t = strings.TrimSuffix(t, "类水")
	if len(t) >= 5 && strings.EqualFold(t[:5], "class") {
		t = strings.TrimSpace(t[5:])
	}
	worse := false
	if rest, ok := strings.CutPrefix(t, "劣"); ok {
		worse, t = true, strings.TrimSpace(rest)
	}
	var c Class
	switch strings.ToUpper(t) {
	case "I", "1", "Ⅰ", "一":
		c = ClassI
	case "II", "2", "Ⅱ", "二":
		c = ClassII
	case "III", "3", "Ⅲ", "三":
		c = ClassIII
	case "IV", "4", "Ⅳ", "四":
		c = ClassIV
	case "V", "5", "Ⅴ", "五":
		c = ClassV
	case "6":
		c = ClassWorseV
	}
	if worse {
		if c != ClassV {
			return 0, fmt.Errorf("%w: %q", ErrBadClass, s)
		}
		return ClassWorseV, nil
	}
	if c == 0 {
		return 0, fmt.Errorf("%w: %q", ErrBadClass, s)
	}
	return c, nil
}

// Status is the qualitative water-quality descriptor (水质状况) of a section,
// river or basin (环办〔2011〕22号, facts §2.3 and §2.5). The zero value,
// StatusNone, means no assessment.
type Status int

// The descriptors, from best to worst.
const (
	StatusNone               Status = iota // no assessment
	StatusExcellent                        // 优 (Ⅰ–Ⅱ; rivers: Ⅰ–Ⅲ share ≥ 90 %)
	StatusGood                             // 良好 (Ⅲ; rivers: 75 % ≤ Ⅰ–Ⅲ share < 90 %)
	StatusSlightlyPolluted                 // 轻度污染 (Ⅳ)
	StatusModeratelyPolluted               // 中度污染 (Ⅴ)
	StatusHeavilyPolluted                  // 重度污染 (劣Ⅴ)
)

// String returns the Chinese descriptor (优, 良好, 轻度污染, 中度污染, 重度污染),
// or "" for StatusNone.
func (s Status) String() string {
	switch s {
	case StatusExcellent:
		return "优"
	case StatusGood:
		return "良好"
	case StatusSlightlyPolluted:
		return "轻度污染"
	case StatusModeratelyPolluted:
		return "中度污染"
	case StatusHeavilyPolluted:
		return "重度污染"
	}
	return ""
}

// English returns the English descriptor ("excellent", "good", "slightly
// polluted", "moderately polluted", "heavily polluted"), or "".
func (s Status) English() string {
	switch s {
	case StatusExcellent:
		return "excellent"
	case StatusGood:
		return "good"
	case StatusSlightlyPolluted:
		return "slightly polluted"
	case StatusModeratelyPolluted:
		return "moderately polluted"
	case StatusHeavilyPolluted:
		return "heavily polluted"
	}
	return ""
}

// Color returns the display colour as a hex string: blue #5ab1ef (优), green
// #42cc70 (良好), yellow #e8dd3e (轻度), orange #f5a524 (中度), red #ed5466
// (重度), or "" for StatusNone. Facts §2.3: the colour names follow 22号's
// 表征颜色 column as found in public code [UNVERIFIED against the official
// text]; the hex values are one public system's, not official RGB.
func (s Status) Color() string {
	switch s {
	case StatusExcellent:
		return "#5ab1ef"
	case StatusGood:
		return "#42cc70"
	case StatusSlightlyPolluted:
		return "#e8dd3e"
	case StatusModeratelyPolluted:
		return "#f5a524"
	case StatusHeavilyPolluted:
		return "#ed5466"
	}
	return ""
}

// ColorName returns the Chinese colour name (蓝, 绿, 黄, 橙, 红), or "".
func (s Status) ColorName() string {
	switch s {
	case StatusExcellent:
		return "蓝"
	case StatusGood:
		return "绿"
	case StatusSlightlyPolluted:
		return "黄"
	case StatusModeratelyPolluted:
		return "橙"
	case StatusHeavilyPolluted:
		return "红"
	}
	return ""
}
