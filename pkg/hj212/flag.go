package hj212

// Flag is the Flag field of a packet, bits V5 V4 V3 V2 V1 V0 D A (facts.md §3.3): A asks
// the receiver to acknowledge, D says the message is split (PNUM/PNO present), V5..V0 name
// the edition of the standard.
type Flag uint8

// Flag bits.
const (
	// FlagAck (A): the receiver must answer (a data upload with CN 9014).
	FlagAck Flag = 1 << 0
	// FlagSplit (D): the message is split into packets carrying PNUM and PNO.
	FlagSplit Flag = 1 << 1
)

// Version is the edition of the standard, the Flag's bits 2–7.
type Version uint8

// Editions of the standard. A frame without a Flag field is HJ/T 212-2005.
const (
	V2005 Version = 0 // HJ/T 212-2005
	V2017 Version = 1 // HJ 212-2017
	V2025 Version = 2 // HJ 212-2025, in force from 2026-01-01
)

// Known reports whether the version is one the package speaks.
func (v Version) Known() bool { return v <= V2025 }

// String names the edition: "HJ 212-2017", ….
func (v Version) String() string {
	switch v {
	case V2005:
		return "HJ/T 212-2005"
	case V2017:
		return "HJ 212-2017"
	case V2025:
		return "HJ 212-2025"
	}
	return "unknown HJ 212 version " + itoa(int(v))
}

// NewFlag returns the Flag of a packet of version v.
func NewFlag(v Version, ack, split bool) Flag {
	f := Flag(v) << 2
	if ack {
		f |= FlagAck
	}
	if split {
		f |= FlagSplit
	}
	return f
}

// Version returns the edition named by the version bits.
func (f Flag) Version() Version { return Version(f >> 2) }

// Ack reports whether the sender asks for an answer.
func (f Flag) Ack() bool { return f&FlagAck != 0 }

// Split reports whether the packet is one of a split message.
func (f Flag) Split() bool { return f&FlagSplit != 0 }

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	neg := n < 0
	if neg {
		n = -n
	}
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}
