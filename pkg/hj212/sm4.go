package hj212

import (
	"bytes"
	"crypto/cipher"
	"encoding/hex"
	"errors"
	"log/slog"
	"strconv"
	"strings"

	"github.com/emmansun/gmsm/sm4"
)

// ReasonSM4: an SM4-encrypted CP (HJ 212-2025 §6.4) that cannot be decrypted: malformed
// ciphertext, a station without a key, no key of the station giving the CRC, or a packet
// that must be encrypted arriving in plaintext from a station that has a key.
const ReasonSM4 = "sm4"

// SM4Key is one station's SM4 key (HJ 212-2025 §6.4.2: 16 bytes, ECB, no padding). It is
// a secret: its String, GoString and LogValue never show it.
type SM4Key struct {
	b   cipher.Block
	raw [sm4.BlockSize]byte // for the one place it is sent: a key rotation (SetKey, CN 1014)
}

// NewSM4Key returns the key of 16 bytes.
func NewSM4Key(key []byte) (SM4Key, error) {
	b, err := sm4.NewCipher(key)
	if err != nil {
		return SM4Key{}, errors.New("sm4 key: want 16 bytes") // never the key itself
	}
	k := SM4Key{b: b}
	copy(k.raw[:], key)
	return k, nil
}

// Equal reports whether k and o are the same key (both unset counts as equal).
func (k SM4Key) Equal(o SM4Key) bool { return k.raw == o.raw && k.Valid() == o.Valid() }

// ParseSM4Key reads a key written as 32 hex digits (sites.yaml station.sm4_keys).
func ParseSM4Key(s string) (SM4Key, error) {
	if len(s) != 32 {
		return SM4Key{}, errors.New("sm4 key: want 32 hex digits (16 bytes), got " + strconv.Itoa(len(s)) + " characters")
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return SM4Key{}, errors.New("sm4 key: not hex")
	}
	return NewSM4Key(b)
}

// Valid reports whether the key is set.
func (k SM4Key) Valid() bool { return k.b != nil }

// String hides the key.
func (k SM4Key) String() string { return "SM4Key(***)" }

// GoString hides the key.
func (k SM4Key) GoString() string { return "SM4Key(***)" }

// LogValue hides the key.
func (k SM4Key) LogValue() slog.Value { return slog.StringValue("***") }

// MustEncrypt reports whether HJ 212-2025 has the CP of a command encrypted (§6.4.4): data
// commands 2000–2999, 1014 (new key) and 3020 (field-machine information).
func MustEncrypt(cn string) bool {
	return len(cn) == 4 && cn[0] == '2' || cn == "1014" || cn == "3020"
}

// EncryptCP returns the CP region encrypted as HJ 212-2025 writes it (§6.4.2, App. A.2):
// every whole group of 16 characters SM4-encrypted (ECB, no padding) and written as
// "{0xE4,0x3E,…}" (upper-case, comma-separated), the last group of fewer than 16
// characters left in plaintext after it. A region shorter than 16 characters is "{}"
// followed by the region.
func (k SM4Key) EncryptCP(cp string) string {
	full := len(cp) - len(cp)%sm4.BlockSize
	var b strings.Builder
	b.Grow(full*5 + 2 + len(cp) - full)
	b.WriteByte('{')
	var blk [sm4.BlockSize]byte
	for i := 0; i < full; i += sm4.BlockSize {
		k.b.Encrypt(blk[:], []byte(cp[i:i+sm4.BlockSize]))
		for j, c := range blk {
			if i > 0 || j > 0 {
				b.WriteByte(',')
			}
			b.WriteString("0x")
			b.WriteByte(hexUpper[c>>4])
			b.WriteByte(hexUpper[c&0xF])
		}
	}
	b.WriteByte('}')
	b.WriteString(cp[full:])
	return b.String()
}

// encrypted reports whether a CP region is written encrypted: it starts with '{' (no
// plaintext CP does: its keys are letters).
func encrypted(region []byte) bool { return len(region) > 0 && region[0] == '{' }

// parseCiphertext reads the "{0xNN,…}" part of an encrypted CP region into bytes and
// returns the plaintext tail after it. The byte count must be a multiple of 16 and the
// tail shorter than 16 characters.
func parseCiphertext(region []byte) (ct []byte, tail []byte, err error) {
	end := -1
	for i, c := range region {
		if c == '}' {
			end = i
			break
		}
	}
	if end < 0 {
		return nil, nil, errors.New("encrypted CP has no closing '}'")
	}
	inner, tail := region[1:end], region[end+1:]
	if len(inner) > 0 {
		ct = make([]byte, 0, (len(inner)+1)/5)
		for i := 0; ; {
			if len(inner)-i < 4 || inner[i] != '0' || inner[i+1] != 'x' && inner[i+1] != 'X' {
				return nil, nil, errors.New("encrypted CP item at " + strconv.Itoa(i+1) + " is not 0xNN")
			}
			v, ok := hexByte(inner[i+2], inner[i+3])
			if !ok {
				return nil, nil, errors.New("encrypted CP item at " + strconv.Itoa(i+1) + " is not 0xNN")
			}
			ct = append(ct, v)
			i += 4
			if i == len(inner) {
				break
			}
			if inner[i] != ',' {
				return nil, nil, errors.New("encrypted CP items not separated by ',' at " + strconv.Itoa(i+1))
			}
			i++
		}
	}
	if len(ct)%sm4.BlockSize != 0 {
		return nil, nil, errors.New("encrypted CP holds " + strconv.Itoa(len(ct)) + " bytes, not whole 16-byte SM4 groups")
	}
	if len(tail) >= sm4.BlockSize {
		return nil, nil, errors.New("encrypted CP has a plaintext tail of " + strconv.Itoa(len(tail)) + " characters; only the last group of fewer than 16 stays plaintext")
	}
	return ct, tail, nil
}

// decryptCP decrypts ciphertext bytes and appends the plaintext tail; ok is false when the
// plaintext is not printable text (another key).
func (k SM4Key) decryptCP(ct, tail []byte) (plain []byte, ok bool) {
	plain = make([]byte, len(ct), len(ct)+len(tail))
	for i := 0; i < len(ct); i += sm4.BlockSize {
		k.b.Decrypt(plain[i:i+sm4.BlockSize], ct[i:i+sm4.BlockSize])
	}
	for _, c := range plain {
		if c < ' ' || c > '~' {
			return nil, false
		}
	}
	return append(plain, tail...), true
}

func hexByte(a, b byte) (byte, bool) {
	x, ok1 := hexDigit(a)
	y, ok2 := hexDigit(b)
	return x<<4 | y, ok1 && ok2
}

func hexDigit(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// cpRegion returns the bounds of the CP content in a data segment: after "CP=&&", up to
// the closing "&&" (or the end, for a segment without it). ok is false without a CP.
func cpRegion(data []byte) (start, end int, ok bool) {
	off := 0
	for {
		eq := bytes.IndexByte(data[off:], '=')
		if eq < 0 {
			return 0, 0, false
		}
		if string(data[off:off+eq]) == "CP" {
			start = off + eq + 1
			if len(data)-start < 2 || data[start] != '&' || data[start+1] != '&' {
				return 0, 0, false
			}
			start += 2
			end = len(data)
			if end-start >= 2 && data[end-1] == '&' && data[end-2] == '&' {
				end -= 2
			}
			return start, end, true
		}
		semi := bytes.IndexByte(data[off:], ';')
		if semi < eq {
			return 0, 0, false
		}
		off += semi + 1
	}
}

// EncodeEncrypted encodes a packet as an HJ 212-2025 field machine with key k sends it:
// the CRC computed over the plaintext data segment, then the CP region encrypted
// (App. A.2: "先完成CRC校验并组包，再对数据段加密"). The length is that of the segment sent.
func EncodeEncrypted(p Packet, k SM4Key) ([]byte, error) { return EncodeEncryptedFor(p, k, 0) }

// EncodeEncryptedFor is EncodeEncrypted for a station whose frames made the deviations dev:
// with DevModbusCRC the CRC (over the plaintext) is CRC-16/MODBUS, as EncodeFor does.
func EncodeEncryptedFor(p Packet, k SM4Key, dev Deviation) ([]byte, error) {
	if !k.Valid() {
		return nil, errorf(ReasonSM4, "no SM4 key to encrypt CN "+p.CN+" with")
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	plain := p.AppendSegment(nil)
	crc := CRC16(plain)
	if dev&DevModbusCRC != 0 {
		crc = CRC16Modbus(plain)
	}
	q := p
	q.CP = k.EncryptCP(p.CP)
	seg := q.AppendSegment(nil)
	if len(seg) > MaxDataLen {
		return nil, ErrTooLong
	}
	n := len(seg)
	out := make([]byte, 0, len(seg)+12)
	out = append(out, '#', '#', byte('0'+n/1000), byte('0'+n/100%10), byte('0'+n/10%10), byte('0'+n%10))
	out = append(out, seg...)
	out = appendHex4(out, crc)
	return append(out, '\r', '\n'), nil
}
