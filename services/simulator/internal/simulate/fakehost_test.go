package simulate

import (
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/hj212"
)

// fakeHost is an in-memory stand-in for the gateway's HJ 212 side (unit tests only): it
// decodes frames, checks their CRC through the decoder, records the packets and answers
// 9014 — except to the first sends of the QNs it is told to ignore.
type fakeHost struct {
	t    testing.TB
	ln   net.Listener
	mu   sync.Mutex
	pkts []hj212.Packet
	bad  int // frames the decoder refused
	// ignoreOnce lists QNs whose first send goes unanswered.
	ignoreOnce map[string]bool
	// silent: answer nothing at all.
	silent bool
	conns  int
	last   net.Conn // the newest connection: where command writes
	// keys, when set before the station connects, are the station's SM4 keys: frames are
	// decrypted with any (frameKeys records which, per encrypted frame) and commands the
	// standard encrypts are sent encrypted with the first.
	keys      []hj212.SM4Key
	frameKeys []hj212.SM4Key
	wmu       sync.Mutex // one write at a time on a connection (9014s and commands)
	wg        sync.WaitGroup
}

func newFakeHost(t testing.TB) *fakeHost {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &fakeHost{t: t, ln: ln, ignoreOnce: map[string]bool{}}
	h.wg.Add(1)
	go h.accept()
	t.Cleanup(h.close)
	return h
}

func (h *fakeHost) addr() string { return h.ln.Addr().String() }

func (h *fakeHost) close() {
	h.ln.Close()
	h.wg.Wait()
}

func (h *fakeHost) accept() {
	defer h.wg.Done()
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for {
		c, err := h.ln.Accept()
		if err != nil {
			return
		}
		h.mu.Lock()
		h.conns++
		h.last = c
		h.mu.Unlock()
		conns = append(conns, c)
		h.wg.Add(1)
		go h.serve(c)
	}
}

func (h *fakeHost) serve(c net.Conn) {
	defer h.wg.Done()
	defer c.Close()
	dec := hj212.NewDecoder(c, hj212.MaxDataLen)
	dec.Profile = func(string) hj212.Profile {
		h.mu.Lock()
		defer h.mu.Unlock()
		return hj212.Profile{Keys: h.keys}
	}
	re := &hj212.Reassembler{}
	for {
		f, err := dec.Next()
		if err != nil {
			var fe *hj212.FrameError
			if errors.As(err, &fe) {
				h.mu.Lock()
				h.bad++
				h.mu.Unlock()
				continue
			}
			return
		}
		p, err := hj212.ParsePacket(f.Data)
		if err != nil {
			h.mu.Lock()
			h.bad++
			h.mu.Unlock()
			continue
		}
		if p.Flag.Split() {
			whole, done, err := re.Add(p, time.Now())
			if err != nil || !done {
				continue
			}
			p = whole
		}
		h.mu.Lock()
		if f.Encrypted {
			h.frameKeys = append(h.frameKeys, f.Key)
		}
		h.pkts = append(h.pkts, p)
		ignore := h.silent || h.ignoreOnce[p.QN]
		delete(h.ignoreOnce, p.QN)
		h.mu.Unlock()
		if ignore || !p.WantsAck() {
			continue
		}
		b, err := hj212.Encode(hj212.Response9014(p))
		if err != nil {
			h.t.Errorf("encode 9014: %v", err)
			return
		}
		h.wmu.Lock()
		_, err = c.Write(b)
		h.wmu.Unlock()
		if err != nil {
			return
		}
	}
}

// command writes a host command to the newest connection, as the gateway does over a
// station's open session.
func (h *fakeHost) command(p hj212.Packet) {
	h.t.Helper()
	h.mu.Lock()
	keys := h.keys
	h.mu.Unlock()
	b, err := hj212.Encode(p)
	if len(keys) > 0 && hj212.MustEncrypt(p.CN) {
		b, err = hj212.EncodeEncrypted(p, keys[0])
	}
	if err != nil {
		h.t.Fatalf("encode command: %v", err)
	}
	h.mu.Lock()
	c := h.last
	h.mu.Unlock()
	if c == nil {
		h.t.Fatal("command: no station connected")
	}
	h.wmu.Lock()
	defer h.wmu.Unlock()
	if _, err := c.Write(b); err != nil {
		h.t.Fatalf("write command: %v", err)
	}
}

// answersTo returns the packets the station sent with the command's QN, in order.
func (h *fakeHost) answersTo(qn string) []hj212.Packet {
	var out []hj212.Packet
	for _, p := range h.packets() {
		if p.QN == qn {
			out = append(out, p)
		}
	}
	return out
}

func (h *fakeHost) packets() []hj212.Packet {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]hj212.Packet(nil), h.pkts...)
}
