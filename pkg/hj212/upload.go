package hj212

import (
	"errors"
	"strings"
	"time"
)

// ReasonSystemCode: water data under a system code (ST) that is not a water one.
const ReasonSystemCode = "system_code"

// Upload is one frame of a field machine decoded for the host: its packet, authenticated
// and, for a split message, joined; for a data upload (IsData) also its data, each item
// with its pollutant. Receiver.Decode returns it.
type Upload struct {
	Packet Packet
	// Raw is the frame as received; for a joined split message, the joined data segment.
	Raw string
	// Pending marks a split packet held until the rest of its message arrives: nothing
	// to store or answer yet.
	Pending bool
	// Data is the CP of a data upload, nil for other commands.
	Data *Data
	// Pollutants[i] is the pollutant of Data.Items[i]; Param is "" when the item's code
	// has no canonical parameter in the packet's version (LookupPollutant).
	Pollutants []Pollutant
	// Deviations are the departures from the standard the frame made, which its station's
	// Profile allowed (the Frame's and DevNoCPEnd).
	Deviations Deviation
	// Encrypted marks a packet whose CP arrived SM4-encrypted (Frame.Encrypted); for a
	// joined split message, any of its packets.
	Encrypted bool
	// Key is the key that decrypted it (Frame.Key); unset for plaintext.
	Key SM4Key
}

// Stage says how far Decode got before it refused a frame.
type Stage uint8

// Stages of decoding, in order.
const (
	StageFrame  Stage = iota + 1 // framing and CRC (the Decoder's *FrameError)
	StagePacket                  // the header fields of the data segment (ParsePacket)
	StageAuth                    // Receiver.Authenticate refused the MN or PW
	StageSplit                   // a split packet that does not fit its message (Reassembler)
	StageData                    // the CP of a data upload, or its system code
)

// RefusalError is why Decode refused a frame: the stage, a stable Reason (the codec's
// Reason constants, or the Authenticate function's), a Detail for a person, the raw frame
// and, from StageAuth on, the packet.
type RefusalError struct {
	Stage  Stage
	Reason string
	Detail string
	Raw    string
	Packet *Packet // nil at StageFrame and StagePacket
	// Final marks a refusal that sending the frame again cannot change (a data upload under
	// a non-water system code): the sender is answered, so that it stops resending. Other
	// refusals are not answered: the frame may have been damaged in transit.
	Final bool
	Err   error // the underlying error
}

// Error returns "hj212 <reason>: <detail>".
func (e *RefusalError) Error() string { return "hj212 " + e.Reason + ": " + e.Detail }

// Unwrap returns the underlying error.
func (e *RefusalError) Unwrap() error { return e.Err }

// Authenticated reports whether the packet passed authentication before it was refused.
func (e *RefusalError) Authenticated() bool { return e.Stage > StageAuth }

// Receiver decodes the frames of one connection of a field machine into Uploads: it
// parses each packet, authenticates it, joins split messages and parses data uploads.
// Not safe for concurrent use (its Reassembler is per connection).
type Receiver struct {
	// Location is the time zone of DataTime (the stations' local time).
	Location *time.Location
	// Authenticate checks a packet's MN and PW; an *Error it returns gives the refusal's
	// Reason and Detail. nil accepts every packet.
	Authenticate func(p *Packet) error
	// Reassembler holds the split messages in progress; the caller expires and drains it.
	Reassembler Reassembler
	// Profile gives what the host knows of the station with an MN (its configured edition,
	// the deviations it is allowed); nil, or the zero Profile, reads every frame strictly by
	// the standard and its Flag. It is asked once per frame before the packet is parsed and
	// authenticated, with the MN the frame claims (MNOf).
	Profile func(mn string) Profile
}

// Decode decodes one result of the Decoder (f, and ferr, its error: a *FrameError becomes
// a StageFrame refusal). Every refusal is a *RefusalError.
func (r *Receiver) Decode(f Frame, ferr error, now time.Time) (Upload, error) {
	if ferr != nil {
		var fe *FrameError
		if !errors.As(ferr, &fe) {
			return Upload{}, &RefusalError{Stage: StageFrame, Reason: ReasonFrameSync, Detail: ferr.Error(), Err: ferr}
		}
		return Upload{}, &RefusalError{Stage: StageFrame, Reason: fe.Err.Reason, Detail: fe.Err.Detail, Raw: string(fe.Raw), Err: ferr}
	}
	raw := string(f.Raw)
	var prof Profile
	if r.Profile != nil {
		prof = r.Profile(MNOf(f.Data))
	}
	p, used, err := parsePacket(dataString(f, raw), prof.Allow)
	if err != nil {
		return Upload{}, refusal(StagePacket, err, raw, nil)
	}
	p.Edition = prof.Edition
	dev := f.Deviations | used
	if err := checkEdition(&p); err != nil {
		return Upload{}, refusal(StagePacket, err, raw, nil)
	}
	if len(prof.Keys) > 0 && !f.Encrypted && MustEncrypt(p.CN) && len(p.CP) >= 16 {
		return Upload{}, refusal(StagePacket, errorf(ReasonSM4, "CN "+p.CN+" of station "+p.MN+" arrived in plaintext; HJ 212-2025 §6.4.4 has it SM4-encrypted and the station has a key (sites.yaml station.sm4_keys)"), raw, nil)
	}
	// The limit is on the segment as sent: encryption lengthens it about five times.
	if n := len(f.Raw) - headerLen - trailerLen; n > MaxSegment2025 && p.Version() == V2025 {
		if prof.Allow&DevLongSegment == 0 {
			return Upload{}, refusal(StagePacket, errorf(ReasonSplit, "data segment of "+itoa(n)+" characters exceeds "+itoa(MaxSegment2025)+
				": HJ 212-2025 §8.1.2 has it split (PNUM/PNO); a deviation the station is not configured for (station.compat: long_segment)"), raw, nil)
		}
		dev |= DevLongSegment
	}
	if r.Authenticate != nil {
		if err := r.Authenticate(&p); err != nil {
			return Upload{}, refusal(StageAuth, err, raw, &p)
		}
	}
	if !p.OmitFlag && p.Flag.Split() {
		joined, done, err := r.Reassembler.Add(p, now)
		if err != nil {
			return Upload{}, refusal(StageSplit, err, raw, &p)
		}
		if !done {
			return Upload{Packet: p, Raw: raw, Pending: true, Deviations: dev, Encrypted: f.Encrypted, Key: f.Key}, nil
		}
		p = joined
		raw = string(p.AppendSegment(nil))
	}
	up := Upload{Packet: p, Raw: raw, Deviations: dev, Encrypted: f.Encrypted, Key: f.Key}
	if !IsData(p.CN) {
		return up, nil
	}
	if !WaterST(p.ST) {
		pk := up.Packet // not &up.Packet: that would put up on the heap for every frame
		return up, &RefusalError{Stage: StageData, Reason: ReasonSystemCode, Final: true, Raw: raw, Packet: &pk,
			Detail: DescribeST(p.ST) + " is not a water system code (21, 32, …); data of station " + p.MN + " refused"}
	}
	v := p.Version()
	d, err := ParseData(p.CP, v, r.Location)
	if err != nil {
		pk := up.Packet
		return up, refusal(StageData, err, raw, &pk)
	}
	up.Data = &d
	up.Pollutants = make([]Pollutant, len(d.Items))
	for i := range d.Items {
		if d.Items[i].Err == nil {
			up.Pollutants[i], _ = LookupPollutant(v, d.Items[i].Code)
		}
	}
	return up, nil
}

// dataString is f.Data as a string: a slice of raw when Data lies in Raw (a plaintext
// frame; the Decoder's), which saves a copy of the segment per frame, else a copy of its
// own (a decrypted one). The bytes are the same either way.
func dataString(f Frame, raw string) string {
	if n := len(f.Data); n > 0 && len(f.Raw) >= headerLen+n && &f.Raw[headerLen] == &f.Data[0] {
		return raw[headerLen : headerLen+n]
	}
	return string(f.Data)
}

// checkEdition refuses what the packet's edition does not have: RF (back-fill) before
// HJ 212-2025; no QN from HJ 212-2017 on (a station configured 2017 that sends no Flag).
func checkEdition(p *Packet) error {
	if p.QN == "" && p.Version() >= V2017 {
		return errorf(ReasonBadField, "field QN missing (required from HJ 212-2017 on; the station is configured "+p.Edition.String()+")")
	}
	if p.RF && p.Version() < V2025 {
		return errorf(ReasonBadField, "RF=1 (back-fill) is a field of HJ 212-2025; this packet is "+p.Version().String())
	}
	return nil
}

// refusal wraps an error of a stage; an *Error in its chain gives Reason and Detail.
func refusal(st Stage, err error, raw string, p *Packet) *RefusalError {
	re := &RefusalError{Stage: st, Raw: raw, Packet: p, Err: err}
	var he *Error
	if errors.As(err, &he) {
		re.Reason, re.Detail = he.Reason, he.Detail
	} else {
		re.Reason, re.Detail = ReasonBadField, err.Error()
	}
	return re
}

// Answer returns what HJ 212 has the host answer to a packet from a field machine, when the
// packet asks for an answer (WantsAck): a data response (9014) to an upload or a heartbeat,
// a request response (9011) rejecting a request only a host may send. Answers (9011–9014)
// and unknown commands get none.
func Answer(p Packet) (Packet, bool) {
	if !p.WantsAck() {
		return Packet{}, false
	}
	switch CommandDirection(p.CN) {
	case DirUpload, DirHeartbeat:
		return Response9014(p), true
	case DirRequest:
		return Response9011(p, QnRtnRejected), true
	}
	return Packet{}, false
}

// SetTime returns the command (CN 1012) that sets a field machine's clock to now, for its
// time-calibration request (CN 1013) req.
func SetTime(req Packet, now time.Time, loc *time.Location) Packet {
	return Packet{
		QN: NewQN(now, loc), ST: req.ST, CN: CNSetTime, PW: req.PW, MN: req.MN,
		Flag: NewFlag(req.Version(), true, false), OmitFlag: req.OmitFlag,
		CP: "SystemTime=" + FormatTime(now, loc),
	}
}

// MaskPassword returns a frame or data segment with the value of every PW field (and
// NewPW, the CP key that changes it, and NewKey, the SM4 key of a 1014) replaced by "***",
// so that a station's password or key is never stored or logged with a refused frame. The
// CRC no longer matches; the text is for people.
func MaskPassword(raw string) string { return maskField(maskPW(raw), KeyNewKey+"=") }

// maskField replaces the value of every CP field key= (key with its '=') with "***".
func maskField(raw, key string) string {
	var b strings.Builder
	rest := raw
	for {
		j := strings.Index(rest, key)
		if j < 0 {
			if b.Len() == 0 {
				return raw
			}
			b.WriteString(rest)
			return b.String()
		}
		at := len(raw) - len(rest) + j
		field := at == 0 || raw[at-1] == ';' || raw[at-1] == '&' || raw[at-1] == ','
		b.WriteString(rest[:j+len(key)])
		rest = rest[j+len(key):]
		if !field {
			continue
		}
		end := strings.IndexAny(rest, ";,&\r\n")
		if end < 0 {
			end = len(rest)
		}
		b.WriteString("***")
		rest = rest[end:]
	}
}

func maskPW(raw string) string {
	var b strings.Builder
	rest := raw
	for {
		j := strings.Index(rest, "PW=")
		if j < 0 {
			if b.Len() == 0 {
				return raw
			}
			b.WriteString(rest)
			return b.String()
		}
		k := j // start of the key
		if k >= 3 && rest[k-3:k] == "New" {
			k -= 3
		}
		at := len(raw) - len(rest) + k // offset of the key in raw
		field := at == 0 || raw[at-1] == ';' || raw[at-1] == '&' || (at == 6 && strings.HasPrefix(raw, "##"))
		b.WriteString(rest[:j+3])
		rest = rest[j+3:]
		if !field {
			continue
		}
		end := strings.IndexAny(rest, ";&\r\n")
		if end < 0 {
			end = len(rest)
		}
		b.WriteString("***")
		rest = rest[end:]
	}
}
