package hj212

import (
	"strconv"
	"strings"
)

// Packet is the data segment of one frame, its fields validated. Every string is a
// substring of one copy of the data segment.
type Packet struct {
	QN   string // request code: yyyyMMddHHmmssSSS local time; empty only in 2005 packets
	PNUM int    // number of packets of a split message; 0 when not split
	PNO  int    // this packet's number, 1..PNUM; 0 when not split
	ST   string // system code, 2 digits
	CN   string // command code, 4 digits
	PW   string // access password, up to 6 characters
	MN   string // device id, up to 24 letters and digits
	Flag Flag
	// OmitFlag marks a packet without a Flag field (HJ/T 212-2005 devices may leave it
	// out). Such a packet is version 2005 and never asks for an answer.
	OmitFlag bool
	// RF marks a back-fill (补传) packet of HJ 212-2025: data the field machine stored while
	// it could not send and sends now ("RF=1"). The field is absent otherwise; the standard
	// has no RF=0 (Table 3), so a value other than 1 is refused. Only HJ 212-2025 packets
	// carry it (Receiver.Decode refuses it under another edition).
	RF bool
	// Edition is the edition the station is configured to speak (Receiver.Profile, from
	// sites.yaml station.protocol); EditionDetect (the zero value) reads it from the Flag.
	// It is not written on the wire: Version uses it, so that answers and the pollutant
	// codes follow the station's edition.
	Edition Edition
	// CP is the command-parameter content between "CP=&&" and the closing "&&" (empty for
	// "CP=&&&&"). See ParseCP and ParseData.
	CP string
}

// Version returns the edition of the standard the packet follows: the station's configured
// Edition when set, else the Flag's version bits (HJ/T 212-2005 without a Flag).
func (p *Packet) Version() Version {
	if v, ok := p.Edition.Version(); ok {
		return v
	}
	return p.FlagVersion()
}

// FlagVersion returns the edition the Flag's version bits name (2005 without a Flag).
func (p *Packet) FlagVersion() Version {
	if p.OmitFlag {
		return V2005
	}
	return p.Flag.Version()
}

// FlagDisagrees reports whether the station's configured Edition differs from the edition
// its Flag names: a legacy logger sending Flag=8, or a firmware that never updated its
// version bits. The configured edition is the one used.
func (p *Packet) FlagDisagrees() bool {
	v, ok := p.Edition.Version()
	return ok && v != p.FlagVersion()
}

// WantsAck reports whether the sender asks for an answer.
func (p *Packet) WantsAck() bool { return !p.OmitFlag && p.Flag.Ack() }

// ParsePacket parses and validates a data segment (Frame.Data). The fields are, in any
// order, QN, PNUM, PNO, ST, CN, PW, MN, Flag, then CP last (its content may hold ';'):
//
//   - QN: 17 digits forming a valid time with milliseconds; required from HJ 212-2017 on.
//   - ST: 2 digits; CN: 4 digits; PW: 1–6 printable characters; MN: 1–24 letters or digits.
//   - Flag: a decimal byte whose version bits name 2005, 2017 or 2025 (refused with
//     ReasonVersion otherwise); absent means 2005.
//   - PNUM and PNO: 1–4 digits, 1 ≤ PNO ≤ PNUM, present exactly when Flag has D set.
//   - CP: "CP=&&…&&" with printable characters and no "&" inside.
//
// A missing, repeated, unknown or malformed field is refused with ReasonBadField.
func ParsePacket(data []byte) (Packet, error) {
	p, _, err := parsePacket(string(data), 0)
	return p, err
}

// parsePacket parses a data segment, accepting the deviations in allow (DevNoCPEnd); used
// says which it needed.
func parsePacket(s string, allow Deviation) (Packet, Deviation, error) {
	var (
		p    Packet
		used Deviation
		seen uint16
		flag = -1
	)
	const (
		hQN = 1 << iota
		hPNUM
		hPNO
		hST
		hCN
		hPW
		hMN
		hFlag
		hRF
	)
	rest := s
	for {
		eq := strings.IndexByte(rest, '=')
		if eq < 0 {
			return p, used, errorf(ReasonBadField, "no CP field (expected CP=&&…&&)")
		}
		key := rest[:eq]
		if key == "CP" {
			cp := rest[eq+1:]
			switch {
			case len(cp) >= 4 && cp[:2] == "&&" && cp[len(cp)-2:] == "&&":
				p.CP = cp[2 : len(cp)-2]
			case len(cp) >= 2 && cp[:2] == "&&" && allow&DevNoCPEnd != 0:
				p.CP, used = cp[2:], used|DevNoCPEnd // "CP=&&…" without the closing "&&"
			case len(cp) >= 2 && cp[:2] == "&&" && !strings.HasSuffix(cp, "&&"):
				return p, used, errorf(ReasonBadField, "CP has no closing && (a deviation from the standard the station is not configured for: station.compat: no_cp_end)")
			default:
				return p, used, errorf(ReasonBadField, "CP must be &&…&& and end the data segment")
			}
			if i := badCPByte(p.CP); i >= 0 {
				return p, used, errorf(ReasonBadField, "CP holds a byte 0x"+strconv.FormatUint(uint64(p.CP[i]), 16)+" at "+strconv.Itoa(i)+" ('&' or a non-printable)")
			}
			break
		}
		semi := strings.IndexByte(rest, ';')
		if semi < 0 || semi < eq {
			return p, used, errorf(ReasonBadField, "field "+quote(rest[:min(len(rest), 16)])+" is not key=value;")
		}
		val := rest[eq+1 : semi]
		rest = rest[semi+1:]
		var bit uint16
		switch key {
		case "QN":
			bit = hQN
			if !validQN(val) {
				return p, used, errorf(ReasonBadField, "QN "+quote(val)+" is not 17 digits of a valid time yyyyMMddHHmmssSSS")
			}
			p.QN = val
		case "PNUM", "PNO":
			n, ok := parseSmallInt(val)
			if !ok || n == 0 {
				return p, used, errorf(ReasonBadField, key+" "+quote(val)+" is not a number 1–9999")
			}
			if key == "PNUM" {
				bit, p.PNUM = hPNUM, n
			} else {
				bit, p.PNO = hPNO, n
			}
		case "ST":
			bit = hST
			if !allDigits(val, 2, 2) {
				return p, used, errorf(ReasonBadField, "ST "+quote(val)+" is not 2 digits")
			}
			p.ST = val
		case "CN":
			bit = hCN
			if !allDigits(val, 4, 4) {
				return p, used, errorf(ReasonBadField, "CN "+quote(val)+" is not 4 digits")
			}
			p.CN = val
		case "PW":
			bit = hPW
			if !validPW(val) {
				return p, used, errorf(ReasonBadField, "PW must be 1–6 printable characters")
			}
			p.PW = val
		case "MN":
			bit = hMN
			if !validMN(val) {
				return p, used, errorf(ReasonBadField, "MN "+quote(val)+" is not 1–24 letters or digits")
			}
			p.MN = val
		case "Flag":
			bit = hFlag
			if !allDigits(val, 1, 3) {
				return p, used, errorf(ReasonBadField, "Flag "+quote(val)+" is not a number 0–255")
			}
			n, _ := strconv.Atoi(val)
			if n > 255 {
				return p, used, errorf(ReasonBadField, "Flag "+quote(val)+" is not a number 0–255")
			}
			flag = n
		case "RF":
			bit = hRF
			if val != "1" {
				return p, used, errorf(ReasonBadField, "RF "+quote(val)+" is not 1 (HJ 212-2025 Table 3: RF=1 marks a back-fill packet; there is no other value)")
			}
			p.RF = true
		default:
			return p, used, errorf(ReasonBadField, "unknown field "+quote(key))
		}
		if seen&bit != 0 {
			return p, used, errorf(ReasonBadField, "field "+key+" repeated")
		}
		seen |= bit
	}
	if flag < 0 {
		p.OmitFlag = true
	} else {
		p.Flag = Flag(flag)
		if !p.Flag.Version().Known() {
			return p, used, errorf(ReasonVersion, "Flag "+strconv.Itoa(flag)+" has version bits "+strconv.Itoa(int(p.Flag.Version()))+" (known: 0 = 2005, 1 = 2017, 2 = 2025)")
		}
	}
	for _, f := range [...]struct {
		bit  uint16
		name string
	}{{hST, "ST"}, {hCN, "CN"}, {hPW, "PW"}, {hMN, "MN"}} {
		if seen&f.bit == 0 {
			return p, used, errorf(ReasonBadField, "field "+f.name+" missing")
		}
	}
	if p.QN == "" && p.Version() >= V2017 {
		return p, used, errorf(ReasonBadField, "field QN missing (required from HJ 212-2017 on)")
	}
	if err := p.checkSplit(); err != nil {
		return p, used, err
	}
	return p, used, nil
}

// checkSplit checks that PNUM and PNO are present exactly when the Flag says split.
func (p *Packet) checkSplit() error {
	split := !p.OmitFlag && p.Flag.Split()
	switch {
	case split && (p.PNUM == 0 || p.PNO == 0):
		return errorf(ReasonBadField, "Flag says split but PNUM or PNO is missing")
	case !split && (p.PNUM != 0 || p.PNO != 0):
		return errorf(ReasonBadField, "PNUM/PNO present but Flag does not say split")
	case p.PNO > p.PNUM:
		return errorf(ReasonBadField, "PNO "+strconv.Itoa(p.PNO)+" > PNUM "+strconv.Itoa(p.PNUM))
	case split && p.QN == "":
		return errorf(ReasonBadField, "a split packet needs a QN to be reassembled")
	}
	return nil
}

// Validate checks a packet against the rules ParsePacket applies, so that an encoded packet
// is one the gateway accepts.
func (p *Packet) Validate() error {
	switch {
	case p.QN != "" && !validQN(p.QN):
		return errorf(ReasonBadField, "QN "+quote(p.QN)+" is not 17 digits of a valid time")
	case p.QN == "" && p.Version() >= V2017:
		return errorf(ReasonBadField, "QN is required from HJ 212-2017 on")
	case !allDigits(p.ST, 2, 2):
		return errorf(ReasonBadField, "ST "+quote(p.ST)+" is not 2 digits")
	case !allDigits(p.CN, 4, 4):
		return errorf(ReasonBadField, "CN "+quote(p.CN)+" is not 4 digits")
	case !validPW(p.PW):
		return errorf(ReasonBadField, "PW must be 1–6 printable characters")
	case !validMN(p.MN):
		return errorf(ReasonBadField, "MN "+quote(p.MN)+" is not 1–24 letters or digits")
	case !p.OmitFlag && !p.Flag.Version().Known():
		return errorf(ReasonVersion, "Flag version bits "+strconv.Itoa(int(p.Flag.Version()))+" are not 2005, 2017 or 2025")
	case p.PNUM < 0 || p.PNUM > 9999 || p.PNO < 0 || p.PNO > 9999:
		return errorf(ReasonBadField, "PNUM and PNO must be 1–9999")
	case p.RF && p.Version() < V2025:
		return errorf(ReasonBadField, "RF (back-fill) is a field of HJ 212-2025, not of "+p.Version().String())
	}
	if i := badCPByte(p.CP); i >= 0 {
		return errorf(ReasonBadField, "CP holds '&' or a non-printable byte at "+strconv.Itoa(i))
	}
	return p.checkSplit()
}

// AppendSegment appends the packet's data segment (without framing) to dst.
func (p *Packet) AppendSegment(dst []byte) []byte {
	if p.QN != "" {
		dst = append(dst, "QN="...)
		dst = append(dst, p.QN...)
		dst = append(dst, ';')
	}
	if p.PNUM > 0 {
		dst = append(dst, "PNUM="...)
		dst = strconv.AppendInt(dst, int64(p.PNUM), 10)
		dst = append(dst, ";PNO="...)
		dst = strconv.AppendInt(dst, int64(p.PNO), 10)
		dst = append(dst, ';')
	}
	dst = append(dst, "ST="...)
	dst = append(dst, p.ST...)
	dst = append(dst, ";CN="...)
	dst = append(dst, p.CN...)
	dst = append(dst, ";PW="...)
	dst = append(dst, p.PW...)
	dst = append(dst, ";MN="...)
	dst = append(dst, p.MN...)
	if !p.OmitFlag {
		dst = append(dst, ";Flag="...)
		dst = strconv.AppendInt(dst, int64(p.Flag), 10)
	}
	if p.RF {
		dst = append(dst, ";RF=1"...) // after Flag (and PNUM/PNO), before CP: HJ 212-2025 Table 3
	}
	dst = append(dst, ";CP=&&"...)
	dst = append(dst, p.CP...)
	return append(dst, "&&"...)
}

// AppendEncode validates the packet and appends its frame to dst.
func AppendEncode(dst []byte, p Packet) ([]byte, error) { return appendEncode(dst, p, CRC16) }

// EncodeFor encodes an answer to a station whose frame made the deviations dev: with
// DevModbusCRC the answer's CRC is CRC-16/MODBUS, the one such a logger checks (otherwise it
// drops our answer and resends forever). Other deviations are not mirrored: the answer is
// standard.
func EncodeFor(p Packet, dev Deviation) ([]byte, error) {
	crc := CRC16
	if dev&DevModbusCRC != 0 {
		crc = CRC16Modbus
	}
	return appendEncode(make([]byte, 0, frameOverhead+len(p.CP)), p, crc)
}

func appendEncode(dst []byte, p Packet, crc func([]byte) uint16) ([]byte, error) {
	if err := p.Validate(); err != nil {
		return dst, err
	}
	start := len(dst)
	dst = append(dst, "##0000"...)
	dst = p.AppendSegment(dst)
	n := len(dst) - start - headerLen
	if n > MaxDataLen {
		return dst[:start], ErrTooLong
	}
	dst[start+2], dst[start+3], dst[start+4], dst[start+5] = byte('0'+n/1000), byte('0'+n/100%10), byte('0'+n/10%10), byte('0'+n%10)
	dst = appendHex4(dst, crc(dst[start+headerLen:]))
	return append(dst, '\r', '\n'), nil
}

// frameOverhead is room for a frame's header, fields other than CP and trailer: a
// 9014 answer with MN, PW and a 2017 QN is about 100 bytes, which 64 did not hold.
const frameOverhead = 128

// Encode validates the packet and returns its frame, ready to write to the connection.
func Encode(p Packet) ([]byte, error) {
	return AppendEncode(make([]byte, 0, frameOverhead+len(p.CP)), p)
}

// Response9014 returns the data response (CN 9014) to a data upload: same QN, PW and MN,
// ST 91, the request's version, no answer asked, empty CP (facts.md §3.10, §3.11).
func Response9014(req Packet) Packet {
	return Packet{
		QN: req.QN, ST: STSystem, CN: CNDataResponse, PW: req.PW, MN: req.MN,
		Flag: NewFlag(req.Version(), false, false),
	}
}

// Response9011 returns the request response (CN 9011) with a QnRtn code (QnRtnReady,
// QnRtnRejected, …) to a request: the host's to a field machine's, or a field machine's
// to a host command.
func Response9011(req Packet, qnRtn string) Packet {
	return Packet{
		QN: req.QN, ST: STSystem, CN: CNRequestResponse, PW: req.PW, MN: req.MN,
		Flag: NewFlag(req.Version(), false, false), CP: "QnRtn=" + qnRtn,
	}
}

// Response9012 returns the execution result (CN 9012) with an ExeRtn code (ExeRtnDone,
// ExeRtnFailed, …) that a field machine sends once it has carried out a host command.
func Response9012(req Packet, exeRtn string) Packet {
	return Packet{
		QN: req.QN, ST: STSystem, CN: CNExecutionResult, PW: req.PW, MN: req.MN,
		Flag: NewFlag(req.Version(), false, false), CP: "ExeRtn=" + exeRtn,
	}
}

// validQN reports whether s is 17 digits forming a valid local time with milliseconds.
func validQN(s string) bool {
	if !allDigits(s, 17, 17) {
		return false
	}
	_, ok := parseDigitsTime(s[:14], nil)
	return ok
}

func validPW(s string) bool {
	if len(s) == 0 || len(s) > 6 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c > '~' || c == ';' || c == '&' || c == '=' || c == ',' {
			return false
		}
	}
	return true
}

// validMN reports whether s can be a station's MN: 1–24 ASCII letters and digits.
func validMN(s string) bool { return alnum(s, 24) }

// alnum reports whether s is 1 to maxLen ASCII letters and digits.
func alnum(s string, maxLen int) bool {
	if len(s) == 0 || len(s) > maxLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			return false
		}
	}
	return true
}

// badCPByte returns the index of the first byte that may not appear inside CP, or -1.
func badCPByte(s string) int {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c > '~' || c == '&' {
			return i
		}
	}
	return -1
}

func allDigits(s string, minLen, maxLen int) bool {
	if len(s) < minLen || len(s) > maxLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func parseSmallInt(s string) (int, bool) {
	if !allDigits(s, 1, 4) {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}

// quote quotes s for an error detail, bounded.
func quote(s string) string {
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	return strconv.Quote(s)
}
