package hj212

import "strings"

// Edition is the edition of the standard a station is configured to speak (sites.yaml
// station.protocol), or EditionDetect: read it from the Flag's version bits.
//
// The Flag alone misleads: field devices sent Flag=8 long before HJ 212-2025 gave the
// version bits 000010 a meaning (anchors.md §2.2, the alltobs sample of 2021), so a legacy
// HJ 212-2017 logger that sends Flag=8 is read as 2025 unless its station says otherwise.
// A configured edition wins over the Flag; the Flag is then a cross-check
// (Packet.FlagDisagrees), counted by the gateway.
type Edition uint8

// Editions a station may be configured with.
const (
	EditionDetect Edition = iota // the Flag's version bits (absent Flag: 2005)
	Edition2005                  // HJ/T 212-2005
	Edition2017                  // HJ 212-2017
	Edition2025                  // HJ 212-2025
)

// editionNames are the values of sites.yaml station.protocol.
var editionNames = [...]string{EditionDetect: "detect", Edition2005: "hj212-2005", Edition2017: "hj212-2017", Edition2025: "hj212-2025"}

// ParseEdition reads a sites.yaml station.protocol value: "" or "detect", "hj212-2005",
// "hj212-2017", "hj212-2025" (case-insensitive).
func ParseEdition(s string) (Edition, bool) {
	if s == "" {
		return EditionDetect, true
	}
	for e, name := range editionNames {
		if strings.EqualFold(s, name) {
			return Edition(e), true
		}
	}
	return EditionDetect, false
}

// String returns the sites.yaml name of the edition.
func (e Edition) String() string {
	if int(e) < len(editionNames) {
		return editionNames[e]
	}
	return "edition(" + itoa(int(e)) + ")"
}

// Version returns the version of a configured edition; ok is false for EditionDetect.
func (e Edition) Version() (v Version, ok bool) {
	switch e {
	case Edition2005:
		return V2005, true
	case Edition2017:
		return V2017, true
	case Edition2025:
		return V2025, true
	}
	return 0, false
}

// EditionOf returns the configured edition of a version.
func EditionOf(v Version) Edition {
	switch v {
	case V2005:
		return Edition2005
	case V2017:
		return Edition2017
	case V2025:
		return Edition2025
	}
	return EditionDetect
}

// Profile is what the host knows of a station that changes how its frames are read: the
// edition it speaks and the deviations from the standard it is allowed. Receiver.Profile
// gives it by MN.
type Profile struct {
	Edition Edition   // EditionDetect: from the Flag
	Allow   Deviation // deviations accepted from this station (sites.yaml station.compat); 0: strict
	// Keys are the station's SM4 keys (sites.yaml station.sm4_keys), the current one first;
	// an encrypted CP is decrypted with the first whose plaintext has the frame's CRC, so
	// that a key can be rotated without losing frames. None: an encrypted CP is refused.
	// With keys, a command that HJ 212-2025 has encrypted (MustEncrypt) must arrive so.
	Keys []SM4Key
}
