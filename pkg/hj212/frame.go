package hj212

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"
)

const (
	headerLen  = 6 // "##" and 4 length digits
	trailerLen = 6 // 4 CRC hex digits and CR LF
	// MaxDataLen is the largest data segment the 4-digit length field can declare.
	MaxDataLen = 9999
	// maxRawErr bounds the raw bytes a FrameError keeps.
	maxRawErr = 2048
)

// Frame is one frame read by a Decoder that passed framing and CRC checks. Its slices point
// into the Decoder's buffer: they stay valid until the Decoder next reads from its source
// (a call of Next when More is false).
type Frame struct {
	Data []byte // the data segment, from "QN=" (or the first field) to the closing "&&"
	Raw  []byte // the whole frame, "##" to CR LF
	// Deviations are the departures from the standard the frame's station was allowed
	// (Decoder.Profile) and used: DevModbusCRC, DevLowerHex.
	Deviations Deviation
	// Encrypted marks a frame whose CP region arrived SM4-encrypted (HJ 212-2025 §6.4):
	// Data is then the decrypted data segment, which the CRC was checked on, and Raw the
	// frame as received.
	Encrypted bool
	// Key is the station key that decrypted an encrypted frame (one of Profile.Keys): the
	// host learns from it which key the station uses after a rotation (CN 1014).
	Key SM4Key
}

// FrameError is a refusal by the Decoder: the Reason, and the raw bytes it skipped
// (bounded to 2 KiB, a copy). The Decoder has resynchronised past them.
type FrameError struct {
	Err *Error
	Raw []byte
}

// Error returns the refusal's reason and detail.
func (e *FrameError) Error() string { return e.Err.Error() }

// Unwrap returns the *Error, so that ReasonOf works on a FrameError.
func (e *FrameError) Unwrap() error { return e.Err }

// Decoder reads HJ 212 frames from a byte stream: frames split across reads, several in
// one read, junk between them. Memory is bounded: one buffer of the maximum frame size
// (plus a read chunk) per Decoder, whatever the input.
//
// After a framing error (a bad length header, no CR LF where the frame should end) it
// resynchronises at the next "##"; after a CRC error it skips the frame. Each refusal is
// returned once, as a *FrameError, and decoding continues; only errors of the source
// (io.EOF, a timeout, …) end it.
type Decoder struct {
	// Profile gives what the host knows of the station with an MN: the deviations
	// (DevModbusCRC, DevLowerHex) it may make in its framing and its SM4 keys; nil allows
	// no deviation and knows no key. It is asked only for a frame that needs it (a
	// deviation, an encrypted CP), with the MN the frame claims (MNOf), before anything
	// authenticated it.
	Profile func(mn string) Profile

	src  io.Reader
	max  int
	buf  []byte
	r, w int   // unread bytes are buf[r:w]
	skip int   // bytes of an oversized frame still to discard
	err  error // error of the source, returned once buf is drained
	// clean counts the bytes at buf[r:] already searched for "##" in vain (but the last
	// one), so that junk trickling in one byte per read is searched once, not once per read.
	clean int
	// searched counts bytes searched for "##", for the test that keeps the search linear.
	searched int

	pending   bool // a result is stashed by More
	pendFrame Frame
	pendErr   error
}

// NewDecoder returns a Decoder that refuses data segments longer than maxData bytes
// (MaxDataLen when maxData ≤ 0 or larger).
func NewDecoder(src io.Reader, maxData int) *Decoder {
	if maxData <= 0 || maxData > MaxDataLen {
		maxData = MaxDataLen
	}
	return &Decoder{src: src, max: maxData, buf: make([]byte, headerLen+maxData+trailerLen+1024)}
}

// Next returns the next frame, or a *FrameError for input it refused (and skipped), or the
// source's error (io.EOF at the end) once every byte before it has been accounted for:
// bytes left inside an unfinished frame come back as a FrameError with
// ReasonFrameIncomplete first (and are dropped). After a source error, Next reads again.
func (d *Decoder) Next() (Frame, error) {
	if d.pending {
		d.pending = false
		return d.pendFrame, d.pendErr
	}
	for {
		if f, err, ok := d.scan(); ok {
			return f, err
		}
		if d.err != nil {
			return Frame{}, d.drain()
		}
		d.fill()
	}
}

// More reports whether Next would return without reading from the source: a frame or a
// refusal is already buffered. The gateway uses it to handle several frames that arrived
// together as one batch.
func (d *Decoder) More() bool {
	if d.pending {
		return true
	}
	f, err, ok := d.scan()
	if ok {
		d.pending, d.pendFrame, d.pendErr = true, f, err
	}
	return ok
}

// Buffered reports whether bytes of an unfinished frame (or junk) are waiting: a reader may
// use a shorter timeout for the rest of a frame than for the silence between frames.
func (d *Decoder) Buffered() bool { return d.w > d.r || d.skip > 0 }

// drain reports what is left in the buffer once the source failed, then the error.
func (d *Decoder) drain() error {
	if d.w > d.r {
		raw := d.buf[d.r:d.w]
		d.r, d.clean = d.w, 0
		reason, detail := ReasonFrameIncomplete, "stream ended inside a frame"
		if !bytes.HasPrefix(raw, []byte("##")) {
			reason, detail = ReasonFrameSync, "bytes outside any frame"
		}
		return frameErr(reason, detail+" ("+d.err.Error()+")", raw)
	}
	d.skip = 0
	// The error is returned once and forgotten: after a timeout the caller may read again;
	// after EOF or a closed connection the source says so again.
	err := d.err
	d.err = nil
	return err
}

// fill reads more bytes, moving the unread ones to the front first.
func (d *Decoder) fill() {
	if d.r > 0 {
		d.w = copy(d.buf, d.buf[d.r:d.w])
		d.r = 0
	}
	for range 100 { // a reader returning 0, nil forever must not spin forever
		n, err := d.src.Read(d.buf[d.w:])
		d.w += n
		if err != nil {
			d.err = err
			return
		}
		if n > 0 {
			return
		}
	}
	d.err = io.ErrNoProgress
}

// scan looks for a complete result in the buffer. ok is false when more input is needed.
func (d *Decoder) scan() (f Frame, err error, ok bool) {
	if d.skip > 0 {
		n := min(d.skip, d.w-d.r)
		d.r += n
		d.skip -= n
		if d.skip > 0 {
			return Frame{}, nil, false
		}
	}
	buf := d.buf[d.r:d.w]
	if len(buf) == 0 {
		return Frame{}, nil, false
	}
	// Junk before the next header is reported as soon as the header shows up, or when the
	// buffer is full of it.
	d.searched += len(buf) - d.clean
	i := bytes.Index(buf[d.clean:], []byte("##"))
	if i >= 0 {
		i += d.clean
		d.clean = 0
	} else {
		d.clean = max(len(buf)-1, 0)
	}
	if i != 0 {
		if i < 0 {
			keep := 0
			if buf[len(buf)-1] == '#' {
				keep = 1 // maybe the first half of "##"
			}
			if len(buf) < len(d.buf) && d.err == nil {
				return Frame{}, nil, false // wait for a header, or for the buffer to fill
			}
			if len(buf)-keep == 0 {
				return Frame{}, nil, false
			}
			i = len(buf) - keep
		}
		d.r += i
		d.clean = 0
		return Frame{}, frameErr(ReasonFrameSync, strconv.Itoa(i)+" bytes outside any frame", buf[:i]), true
	}
	if len(buf) < headerLen {
		return Frame{}, nil, false
	}
	n, okLen := parseLen(buf[2:6])
	if !okLen {
		return Frame{}, d.resync("length header " + strconv.Quote(string(buf[2:6])) + " is not 4 decimal digits"), true
	}
	total := headerLen + n + trailerLen
	if n > d.max {
		d.skip = total
		raw := buf[:min(len(buf), total)]
		err := frameErr(ReasonFrameLength, "declared data length "+strconv.Itoa(n)+" exceeds the maximum "+strconv.Itoa(d.max), raw)
		have := min(d.skip, len(buf))
		d.r += have
		d.skip -= have
		return Frame{}, err, true
	}
	if len(buf) < total {
		return Frame{}, nil, false
	}
	if buf[total-2] != '\r' || buf[total-1] != '\n' {
		return Frame{}, d.resync("no CR LF after the declared length " + strconv.Itoa(n)), true
	}
	raw := buf[:total]
	data := raw[headerLen : headerLen+n]
	crcText := raw[headerLen+n : headerLen+n+4]
	want, okCRC := parseHex4(crcText)
	d.r += total
	if !okCRC {
		return Frame{}, frameErr(ReasonCRC, "CRC "+strconv.Quote(string(crcText))+" is not 4 hex digits", raw), true
	}
	f, ferr := d.verify(data, raw, crcText, want)
	return f, ferr, true
}

// verify checks a frame's CRC (want, written crcText) over its data segment, decrypting an
// SM4-encrypted CP first (the CRC is over the plaintext, HJ 212-2025 App. A.2), and the
// deviations it needed against its station's Profile.
func (d *Decoder) verify(data, raw, crcText []byte, want uint16) (Frame, error) {
	var (
		prof  Profile
		asked bool
	)
	profile := func() Profile {
		if !asked && d.Profile != nil {
			prof, asked = d.Profile(MNOf(data)), true
		}
		return prof
	}
	var used Deviation
	for _, c := range crcText {
		if c >= 'a' && c <= 'f' {
			used |= DevLowerHex
		}
	}
	f := Frame{Data: data, Raw: raw}
	// Header values never hold '&', so the first "CP=&&" is the CP field: a fast test for
	// the common, plaintext frame before the exact bounds.
	start, end, enc := 0, 0, false
	if i := bytes.Index(data, cpOpen); i >= 0 && i+len(cpOpen) < len(data) && data[i+len(cpOpen)] == '{' {
		var ok bool
		start, end, ok = cpRegion(data)
		enc = ok && encrypted(data[start:end])
	}
	if enc {
		keys := profile().Keys
		if len(keys) == 0 {
			return Frame{}, frameErr(ReasonSM4, "CP is SM4-encrypted but station "+strconv.Quote(MNOf(data))+" has no key (sites.yaml station.sm4_keys)", raw)
		}
		ct, tail, err := parseCiphertext(data[start:end])
		if err != nil {
			return Frame{}, frameErr(ReasonSM4, err.Error(), raw)
		}
		var plainCRC uint16
		found := false
		for _, k := range keys {
			pt, ok := k.decryptCP(ct, tail)
			if !ok {
				continue
			}
			cand := make([]byte, 0, start+len(pt)+len(data)-end)
			cand = append(append(append(cand, data[:start]...), pt...), data[end:]...)
			if c := CRC16(cand); c == want || CRC16Modbus(cand) == want {
				f.Data, f.Encrypted, f.Key, plainCRC, found = cand, true, k, c, true
				break
			}
		}
		if !found {
			return Frame{}, frameErr(ReasonSM4, "no SM4 key of station "+strconv.Quote(MNOf(data))+" decrypts the CP to text whose CRC is "+string(crcText)+" (wrong or rotated key?)", raw)
		}
		if plainCRC != want {
			used |= DevModbusCRC
		}
	} else if got := CRC16(data); got != want {
		if CRC16Modbus(data) != want {
			return Frame{}, frameErr(ReasonCRC, "CRC "+string(crcText)+" does not match the data ("+string(appendHex4(nil, got))+")", raw)
		}
		used |= DevModbusCRC
	}
	if used != 0 {
		if refused := used &^ profile().Allow; refused != 0 {
			return Frame{}, frameErr(ReasonCRC, deviationDetail(refused, string(crcText)), raw)
		}
	}
	f.Deviations = used
	return f, nil
}

var cpOpen = []byte("CP=&&")

// deviationDetail says which framing deviations a frame made that its station is not
// allowed (sites.yaml station.compat).
func deviationDetail(refused Deviation, crc string) string {
	var what []string
	if refused&DevModbusCRC != 0 {
		what = append(what, "CRC "+crc+" is CRC-16/MODBUS, not the HJ 212 CRC")
	}
	if refused&DevLowerHex != 0 {
		what = append(what, "CRC "+crc+" is lower-case hex")
	}
	return strings.Join(what, "; ") + ": a deviation from the standard the station is not configured for (station.compat: " + strings.Join(refused.Names(), ", ") + ")"
}

// resync refuses the frame starting at d.r and skips to the next "##" after its header
// (or to the end of what is buffered).
func (d *Decoder) resync(detail string) error {
	buf := d.buf[d.r:d.w]
	j := bytes.Index(buf[2:], []byte("##"))
	if j < 0 {
		j = len(buf) - 2
		if buf[len(buf)-1] == '#' {
			j-- // keep a possible half header
		}
	}
	skipped := buf[:2+j]
	d.r += 2 + j
	return frameErr(ReasonFrameLength, detail, skipped)
}

func parseLen(b []byte) (int, bool) {
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func frameErr(reason, detail string, raw []byte) *FrameError {
	return &FrameError{Err: errorf(reason, detail), Raw: bytes.Clone(raw[:min(len(raw), maxRawErr)])}
}

// ErrTooLong is returned by AppendFrame for a data segment longer than MaxDataLen.
var ErrTooLong = errors.New("hj212: data segment longer than 9999 bytes; split the packet")

// AppendFrame wraps a data segment into a frame: "##", the length, the data, its CRC and
// CR LF.
func AppendFrame(dst, data []byte) ([]byte, error) {
	if len(data) > MaxDataLen {
		return dst, ErrTooLong
	}
	n := len(data)
	dst = append(dst, '#', '#', byte('0'+n/1000), byte('0'+n/100%10), byte('0'+n/10%10), byte('0'+n%10))
	dst = append(dst, data...)
	dst = appendHex4(dst, CRC16(data))
	return append(dst, '\r', '\n'), nil
}
