package engine

import (
	"sort"

	"github.com/riverwatch/riverwatch/pkg/message"
)

// Phases of a series' exceedance state machine.
const (
	phaseNormal  uint8 = iota // within the target, or nothing judged yet
	phasePending              // over the target, waiting for confirmation
	phaseOpen                 // a confirmed exceedance: opened was emitted
)

// Severity of an open exceedance.
const (
	sevNone uint8 = iota
	sevWarning
	sevSevere
)

// Quality episode bits: each quality.suspect rule fires once when its episode starts and
// is re-armed when it ends, so a stuck sensor raises one event, not one per reading.
const (
	qOverRange   uint8 = 1 << iota // HJ 212 flag T
	qImplausible                   // physically impossible value
	qFlatLine                      // identical values for FlatLineReadings readings
)

// ringSize is how many recent valid values a series keeps for the jump rule's median.
const ringSize = 8

// minJumpHistory is how many recent values the jump rule needs before it judges.
const minJumpHistory = 4

// seriesKey interns site × parameter: the site's index in the network in the high 16 bits,
// the parameter's index in standard.Codes in the low 16.
type seriesKey uint32

func keyOf(site, param uint16) seriesKey { return seriesKey(uint32(site)<<16 | uint32(param)) }

func (k seriesKey) site() uint16  { return uint16(k >> 16) }
func (k seriesKey) param() uint16 { return uint16(k) }

// series is the state of one site × parameter. It is a fixed-size struct (about 200 bytes)
// plus its predictions, which exist only while an exceedance at an outfall or a section
// is open: 100,000 series fit in well under 1 KiB each. Times are Unix milliseconds, 0
// meaning never.
type series struct {
	key seriesKey
	// Kafka position of the last reading applied: a reading at or before it is a replay.
	partition int32
	offset    int64

	newest    int64   // newest observed time judged or flagged: the series' own clock
	lastRtd   int64   // newest observed time of a real-time (CN 2011) reading, any flag
	lastMin   int64   // newest period start of a minute average (CN 2051), any flag
	lastGood  int64   // observed time of the newest valid (flag N, plausible) reading
	lastValue float64 // its value
	lastMeets bool    // whether it met the target (true when not applicable)

	phase     uint8
	severity  uint8
	quality   uint8 // qOverRange | qImplausible | qFlatLine episodes in progress
	dirty     bool
	foreign   bool   // restored from a partition another instance owns: context only
	runN      uint16 // pending: exceeding readings in the run
	clearN    uint16 // open: clean readings in the clearing run
	flatN     uint16 // identical consecutive values
	ringN     uint8
	ringPos   uint8
	lastClass int8    // class last reported in opened/updated
	runSince  int64   // pending: observed time of the first exceeding reading
	lastBad   int64   // newest exceeding observed time
	lastOK    int64   // newest compliant observed time
	clearFrom int64   // open: observed time of the first reading of the clearing run
	openedAt  int64   // open: observed time of the opening reading (the exceedance's id)
	reported  float64 // open: excess last reported
	late      uint32  // readings that came later than Grace
	ring      [ringSize]float32
	preds     []prediction
	// verifying holds cleared predictions whose window is still to be judged (verify.go).
	verifying []prediction
}

// pushRing records a valid value for the jump rule.
func (s *series) pushRing(v float64) {
	s.ring[s.ringPos] = float32(v)
	s.ringPos = (s.ringPos + 1) % ringSize
	if s.ringN < ringSize {
		s.ringN++
	}
}

// median returns the median of the recent values.
func (s *series) median() float64 {
	var buf [ringSize]float64
	n := int(s.ringN)
	for i := 0; i < n; i++ {
		buf[i] = float64(s.ring[i])
	}
	vals := buf[:n]
	sort.Float64s(vals)
	if n%2 == 1 {
		return vals[n/2]
	}
	return (vals[n/2-1] + vals[n/2]) / 2
}

// superseded records which data streams the series' station sends and reports whether a
// period average covers a stretch of time that finer data has already covered. Stations
// send real-time values (CN 2011, timed when sampled) and minute and hour averages (CN
// 2051, 2061, timed at the START of their period, so an hour's average reaches the series
// an hour after its first real-time values). One series judges one stream of time: a
// period average is judged only when no finer reading was observed at or after its
// period's start. The judged readings are then in observed-time order, and a late
// average can neither reopen what the real-time values cleared nor open the same
// pollution twice. A station that sends only hour data (or only minute and hour data) is
// judged on it, and one whose real-time channel stops is judged on its averages from the
// first period the real-time data no longer reach. Lab samples and readings without an
// interval are point values and always judged; day averages never reach here.
func (s *series) superseded(interval string, obs int64) bool {
	switch interval {
	case message.IntervalRealtime:
		s.lastRtd = max(s.lastRtd, obs)
	case message.IntervalMinute:
		covered := s.lastRtd >= obs
		s.lastMin = max(s.lastMin, obs)
		return covered
	case message.IntervalHour:
		return s.lastRtd >= obs || s.lastMin >= obs
	}
	return false
}

// previous returns the most recent value in the ring.
func (s *series) previous() (float64, bool) {
	if s.ringN == 0 {
		return 0, false
	}
	return float64(s.ring[(s.ringPos+ringSize-1)%ringSize]), true
}
