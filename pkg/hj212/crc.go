package hj212

// crcTable[x] is the result of the standard's eight shift/XOR rounds on x. The standard's
// step crc = (crc >> 8) ^ b leaves only 8 bits of state before the rounds, so the whole
// checksum is one table lookup per byte — and can take only 256 values (facts.md §3.9).
var crcTable = func() (t [256]uint16) {
	for i := range t {
		crc := uint16(i)
		for range 8 {
			lsb := crc & 1
			crc >>= 1
			if lsb != 0 {
				crc ^= 0xA001
			}
		}
		t[i] = crc
	}
	return t
}()

// CRC16 returns the HJ 212 checksum of a data segment (from "QN=" to the closing "&&").
//
// It is the standard's own variant, not CRC-16/MODBUS: start at 0xFFFF; for each byte
// crc = (crc >> 8) ^ byte, then 8 rounds of shift right with XOR 0xA001 when the dropped
// bit was 1. Public code that uses MODBUS (crc ^= byte) fails the standard's example, whose
// checksum is 1C80. It is a weak check (256 possible values); riverwatch does not "fix" it,
// because stations compute it this way.
func CRC16(data []byte) uint16 {
	crc := uint16(0xFFFF)
	for _, b := range data {
		crc = crcTable[byte(crc>>8)^b]
	}
	return crc
}

// crcString is CRC16 over a string, without converting it.
func crcString(s string) uint16 {
	crc := uint16(0xFFFF)
	for i := 0; i < len(s); i++ {
		crc = crcTable[byte(crc>>8)^s[i]]
	}
	return crc
}

const hexUpper = "0123456789ABCDEF"

// appendHex4 appends v as 4 upper-case hex digits.
func appendHex4(dst []byte, v uint16) []byte {
	return append(dst, hexUpper[v>>12], hexUpper[v>>8&0xF], hexUpper[v>>4&0xF], hexUpper[v&0xF])
}

// parseHex4 parses 4 hex digits, either case.
func parseHex4(b []byte) (uint16, bool) {
	if len(b) != 4 {
		return 0, false
	}
	var v uint16
	for _, c := range b {
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		default:
			return 0, false
		}
		v = v<<4 | uint16(d)
	}
	return v, true
}
