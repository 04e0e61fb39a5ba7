package hj212

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"
)

// ErrNoAck is returned by Client.Upload when the host did not answer in time: the station
// must send the data again (the gateway answers only once the data is stored).
var ErrNoAck = errors.New("hj212: no data response (9014) from the host")

// Client is the station side of an HJ 212 connection (a data logger): it sends packets and
// waits for the host's answers. The simulator and the gateway's tests use it. A Client is
// not safe for concurrent use.
type Client struct {
	conn net.Conn
	dec  *Decoder
	wbuf []byte
	// OnPacket, when set, receives the packets from the host that are not the answer Upload
	// waits for (a time-setting command 1012, a stray response, …). It runs on the
	// goroutine that called Upload.
	OnPacket func(Packet)
	// keys are the station's SM4 keys (SetKeys), the current one first.
	keys []SM4Key
}

// SetKeys sets the station's SM4 keys (HJ 212-2025 §6.4), the current one first: packets
// HJ 212-2025 has encrypted (MustEncrypt) are sent encrypted with it, and an encrypted
// packet from the host is decrypted with whichever of them gives its CRC. None: plaintext.
func (c *Client) SetKeys(keys ...SM4Key) {
	c.keys = keys
	c.dec.Profile = func(string) Profile { return Profile{Keys: c.keys} }
}

// Dial connects to an HJ 212 host.
func Dial(ctx context.Context, addr string) (*Client, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("hj212 dial %s: %w", addr, err)
	}
	return NewClient(conn), nil
}

// NewClient wraps an open connection.
func NewClient(conn net.Conn) *Client {
	return &Client{conn: conn, dec: NewDecoder(conn, MaxDataLen)}
}

// Conn returns the underlying connection.
func (c *Client) Conn() net.Conn { return c.conn }

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

// Send encodes the packets and writes them in one write.
func (c *Client) Send(ctx context.Context, pkts ...Packet) error {
	if err := c.encode(pkts); err != nil {
		return err
	}
	return c.SendRaw(ctx, c.wbuf)
}

// encode fills wbuf with the frames of pkts, encrypting what the standard encrypts when
// the station has a key.
func (c *Client) encode(pkts []Packet) error {
	c.wbuf = c.wbuf[:0]
	for _, p := range pkts {
		var err error
		if len(c.keys) > 0 && MustEncrypt(p.CN) {
			var b []byte
			if b, err = EncodeEncrypted(p, c.keys[0]); err != nil {
				return fmt.Errorf("hj212 encode QN=%s CN=%s: %w", p.QN, p.CN, err)
			}
			c.wbuf = append(c.wbuf, b...)
			continue
		}
		if c.wbuf, err = AppendEncode(c.wbuf, p); err != nil {
			return fmt.Errorf("hj212 encode QN=%s CN=%s: %w", p.QN, p.CN, err)
		}
	}
	return nil
}

// SendRaw writes bytes as they are (tests use it for broken frames).
func (c *Client) SendRaw(ctx context.Context, b []byte) error {
	dl, _ := ctx.Deadline()
	c.conn.SetWriteDeadline(dl)
	defer unblockOnDone(ctx, c.conn.SetWriteDeadline)()
	if _, err := c.conn.Write(b); err != nil {
		return fmt.Errorf("hj212 write: %w", err)
	}
	return nil
}

// unblockOnDone sets a deadline in the past through set when ctx ends, so that a blocked
// read or write returns. The func it returns stops that and, when it has already begun,
// waits for it to finish: an expired call's poke must not land after the next call has set
// its own deadline (a resend right after an ErrNoAck read "i/o timeout" at once).
func unblockOnDone(ctx context.Context, set func(time.Time) error) (stop func()) {
	fired := make(chan struct{})
	cancel := context.AfterFunc(ctx, func() {
		set(time.Unix(1, 0))
		close(fired)
	})
	return func() {
		if !cancel() {
			<-fired
		}
	}
}

// Receive returns the next packet from the host. A frame the host sent broken comes back
// as an error (a *FrameError or a parse *Error); the connection stays usable.
func (c *Client) Receive(ctx context.Context) (Packet, error) {
	dl, _ := ctx.Deadline()
	c.conn.SetReadDeadline(dl)
	defer unblockOnDone(ctx, c.conn.SetReadDeadline)()
	f, err := c.dec.Next()
	if err != nil {
		if ctx.Err() != nil {
			return Packet{}, ctx.Err()
		}
		return Packet{}, err
	}
	return ParsePacket(f.Data)
}

// Upload sends the packets of one message (one packet, or the packets Split made) and, when
// any asks for an answer, waits until the host answers with a 9014 of the same QN or ctx
// ends (ErrNoAck). Other packets from the host meanwhile go to OnPacket.
func (c *Client) Upload(ctx context.Context, pkts ...Packet) error {
	if len(pkts) == 0 {
		return nil
	}
	if err := c.Send(ctx, pkts...); err != nil {
		return err
	}
	ack := false
	for _, p := range pkts {
		ack = ack || p.WantsAck()
	}
	if !ack {
		return nil
	}
	qn := pkts[0].QN
	for {
		p, err := c.Receive(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("%w (QN=%s): %w", ErrNoAck, qn, ctx.Err())
			}
			var fe *FrameError
			var pe *Error
			if errors.As(err, &fe) || errors.As(err, &pe) {
				continue // a broken frame from the host is not our answer; keep waiting
			}
			return fmt.Errorf("%w (QN=%s): %w", ErrNoAck, qn, err)
		}
		if p.CN == CNDataResponse && p.QN == qn {
			return nil
		}
		if c.OnPacket != nil {
			c.OnPacket(p)
		}
	}
}
