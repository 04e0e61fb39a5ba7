package hj212

import (
	"bytes"
	"strings"
)

// Deviation is a set of departures from the standard that field data loggers are known to
// make (anchors.md §2.1). The codec is strict: a frame with a deviation is refused unless
// its station is configured to allow that deviation (Profile.Allow, sites.yaml
// station.compat), and an accepted one says which it used (Frame.Deviations,
// Upload.Deviations), so that the gateway can count the loggers that need fixing.
type Deviation uint8

// Deviations the codec can accept from a station configured for them.
const (
	// DevModbusCRC: the CRC is CRC-16/MODBUS (crc ^= byte) instead of the standard's
	// variant (crc = (crc >> 8) ^ byte), as in several public implementations. Answers to
	// such a frame carry a MODBUS CRC too, so that the logger accepts them.
	DevModbusCRC Deviation = 1 << iota
	// DevLowerHex: the CRC is written in lower-case hex digits.
	DevLowerHex
	// DevNoCPEnd: the CP field lacks its closing "&&" ("CP=&&…" up to the CRC).
	DevNoCPEnd
	// DevLongSegment: an HJ 212-2025 packet whose data segment exceeds MaxSegment2025
	// (1,024 characters) instead of being split (§8.1.2).
	DevLongSegment
)

// deviationNames are the values of sites.yaml station.compat, in bit order.
var deviationNames = [...]string{"modbus_crc", "lowercase_hex", "no_cp_end", "long_segment"}

// ParseDeviation reads one sites.yaml station.compat value: modbus_crc, lowercase_hex,
// no_cp_end or long_segment.
func ParseDeviation(s string) (Deviation, bool) {
	for i, name := range deviationNames {
		if s == name {
			return 1 << i, true
		}
	}
	return 0, false
}

// Names returns the sites.yaml names of the deviations in d, in a fixed order.
func (d Deviation) Names() []string {
	var out []string
	for i, name := range deviationNames {
		if d&(1<<i) != 0 {
			out = append(out, name)
		}
	}
	return out
}

// String returns the names joined by "+", or "none".
func (d Deviation) String() string {
	if d == 0 {
		return "none"
	}
	return strings.Join(d.Names(), "+")
}

// CRC16Modbus returns CRC-16/MODBUS of data (poly 0xA001 reflected, init 0xFFFF): the
// checksum of the loggers that deviate with DevModbusCRC. It is not the standard's CRC16.
func CRC16Modbus(data []byte) uint16 {
	crc := uint16(0xFFFF)
	for _, b := range data {
		crc = crc>>8 ^ crcTable[byte(crc)^b]
	}
	return crc
}

// MNOf returns the MN field of a data segment as ParsePacket would read it, or "" when it
// has none; it validates nothing. Decoder.Allow and Receiver.Profile are asked with it,
// before the packet is parsed and authenticated.
func MNOf(data []byte) string {
	rest := data
	for {
		eq := bytes.IndexByte(rest, '=')
		if eq < 0 {
			return ""
		}
		key := string(rest[:eq])
		if key == "CP" {
			return ""
		}
		semi := bytes.IndexByte(rest, ';')
		if semi < eq {
			return ""
		}
		if key == "MN" {
			return string(rest[eq+1 : semi])
		}
		rest = rest[semi+1:]
	}
}
