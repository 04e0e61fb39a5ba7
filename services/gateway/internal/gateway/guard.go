package gateway

import (
	"net"
	"net/netip"
	"sync"
	"time"
)

// addrKey returns the address a limit applies to: the IP of an IPv4 peer, the /64 of an
// IPv6 one (one host usually holds a whole /64).
func addrKey(a net.Addr) string {
	s := a.String()
	if tcp, ok := a.(*net.TCPAddr); ok {
		ip, ok := netip.AddrFromSlice(tcp.IP)
		if ok {
			return prefixKey(ip.Unmap())
		}
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return prefixKey(ap.Addr().Unmap())
	}
	if host, _, err := net.SplitHostPort(s); err == nil {
		if ip, err := netip.ParseAddr(host); err == nil {
			return prefixKey(ip.Unmap())
		}
		return host
	}
	return s
}

func prefixKey(ip netip.Addr) string {
	if ip.Is4() {
		return ip.String()
	}
	p, _ := ip.Prefix(64)
	return p.String()
}

// guardLimits are the lock-out settings (gateway.auth_*).
type guardLimits struct {
	maxFailures int
	window      time.Duration
	lockout     time.Duration
	backoff     time.Duration
	backoffMax  time.Duration
	maxEntries  int // bound of the failure table; beyond it new keys are not tracked
}

// authGuard slows down and locks out password guessing (review finding M6). Failures are
// counted per address, per MN and per (MN, address) pair, within a window; the
// maxFailures-th locks that key for the lock-out time. An address that authenticated as an
// MN is trusted for it, so that guessing from elsewhere cannot lock a station out, and so
// that one misconfigured station cannot lock out the others behind the same NAT address:
//
//   - a locked pair refuses that MN from that address, trusted or not (a trusted address
//     that keeps failing: a misconfigured station, or a guesser behind its NAT);
//   - a locked MN refuses it from every address not trusted for it (guessing spread over
//     many addresses);
//   - a locked address refuses every MN not trusted from it, and its new connections when
//     it is trusted for none (they are closed at accept).
//
// Time is passed in (a fake clock in tests). Safe for concurrent use.
type authGuard struct {
	mu          sync.Mutex
	lim         guardLimits
	entries     map[string]*guardEntry          // "ip " + address key, "mn " + MN, "pair " + MN + " " + address key
	trusted     map[string]map[string]time.Time // MN → address key → last success
	trustedAddr map[string]int                  // address key → MNs trusting it
}

type guardEntry struct {
	failures    int
	first       time.Time // of the current window
	lockedUntil time.Time
}

// maxTrustedPerMN bounds the addresses remembered per station: a station on a mobile
// network changes address, the most recent are kept.
const maxTrustedPerMN = 8

func newAuthGuard(lim guardLimits) *authGuard {
	if lim.maxEntries <= 0 {
		lim.maxEntries = 100000
	}
	return &authGuard{lim: lim, entries: map[string]*guardEntry{}, trusted: map[string]map[string]time.Time{}, trustedAddr: map[string]int{}}
}

// lockKind says what is locked out.
type lockKind uint8

const (
	notLocked lockKind = iota
	lockedAddr
	lockedMN
	lockedPair
)

// lockedAt reports whether key is locked at now, and until when.
func (g *authGuard) lockedAt(key string, now time.Time) (bool, time.Time) {
	if e := g.entries[key]; e != nil && now.Before(e.lockedUntil) {
		return true, e.lockedUntil
	}
	return false, time.Time{}
}

// Locked reports whether an attempt for mn ("" for an MN that is no station) from addr is
// locked out at now, and until when.
func (g *authGuard) Locked(mn, addr string, now time.Time) (lockKind, time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	trusted := false
	if mn != "" {
		if ok, until := g.lockedAt("pair "+mn+" "+addr, now); ok {
			return lockedPair, until
		}
		_, trusted = g.trusted[mn][addr]
	}
	if trusted {
		return notLocked, time.Time{}
	}
	if ok, until := g.lockedAt("ip "+addr, now); ok {
		return lockedAddr, until
	}
	if mn != "" {
		if ok, until := g.lockedAt("mn "+mn, now); ok {
			return lockedMN, until
		}
	}
	return notLocked, time.Time{}
}

// Refused reports whether a new connection from addr is to be closed at once: the address
// is locked out and trusted for no MN.
func (g *authGuard) Refused(addr string, now time.Time) (bool, time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.trustedAddr[addr] > 0 {
		return false, time.Time{}
	}
	return g.lockedAt("ip "+addr, now)
}

// Failure records a failed attempt from addr for mn ("" for an MN that is no station: only
// the address counts, so that unknown MNs cannot fill the table) and returns how long the
// connection should wait before its next frame.
func (g *authGuard) Failure(mn, addr string, now time.Time) time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := g.fail("ip "+addr, now)
	if mn != "" {
		n = max(n, g.fail("mn "+mn, now), g.fail("pair "+mn+" "+addr, now))
	}
	d := g.lim.backoff
	for i := 1; i < n && d < g.lim.backoffMax; i++ {
		d *= 2
	}
	return min(d, g.lim.backoffMax)
}

// fail counts one failure of key and returns its failures in the window (the lock-out
// threshold counts as maxFailures).
func (g *authGuard) fail(key string, now time.Time) int {
	e := g.entries[key]
	if e == nil {
		if len(g.entries) >= g.lim.maxEntries {
			g.sweep(now)
			if len(g.entries) >= g.lim.maxEntries {
				return g.lim.maxFailures // untracked: slowed down as much as a locked key
			}
		}
		e = &guardEntry{}
		g.entries[key] = e
	}
	if now.Sub(e.first) > g.lim.window {
		e.failures, e.first = 0, now
	}
	e.failures++
	n := e.failures
	if e.failures >= g.lim.maxFailures {
		e.lockedUntil = now.Add(g.lim.lockout)
		e.failures, e.first = 0, now
	}
	return n
}

// sweep forgets entries neither locked nor within their window.
func (g *authGuard) sweep(now time.Time) {
	for k, e := range g.entries {
		if !now.Before(e.lockedUntil) && now.Sub(e.first) > g.lim.window {
			delete(g.entries, k)
		}
	}
}

// Success records that addr authenticated as mn: the address is trusted for that MN.
func (g *authGuard) Success(mn, addr string, now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	t := g.trusted[mn]
	if t == nil {
		t = map[string]time.Time{}
		g.trusted[mn] = t
	}
	if _, ok := t[addr]; !ok {
		g.trustedAddr[addr]++
	}
	t[addr] = now
	if len(t) > maxTrustedPerMN {
		oldest, at := "", now
		for a, ts := range t {
			if !ts.After(at) {
				oldest, at = a, ts
			}
		}
		delete(t, oldest)
		if g.trustedAddr[oldest]--; g.trustedAddr[oldest] <= 0 {
			delete(g.trustedAddr, oldest)
		}
	}
}

// connLimiter counts open connections per address key.
type connLimiter struct {
	mu  sync.Mutex
	max int
	n   map[string]int
}

func newConnLimiter(maxPerAddr int) *connLimiter {
	return &connLimiter{max: maxPerAddr, n: map[string]int{}}
}

// Acquire takes a slot for key, or reports false when key holds max connections.
func (l *connLimiter) Acquire(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n[key] >= l.max {
		return false
	}
	l.n[key]++
	return true
}

// Release returns key's slot.
func (l *connLimiter) Release(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n[key]--; l.n[key] <= 0 {
		delete(l.n, key)
	}
}

// tokenBucket is a rate limit: rate tokens a second, at most burst saved. Time is passed
// in. Safe for concurrent use.
type tokenBucket struct {
	mu     sync.Mutex
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
}

func newTokenBucket(rate float64, burst int) *tokenBucket {
	return &tokenBucket{rate: rate, burst: float64(burst), tokens: float64(burst)}
}

// Allow takes a token at now, or reports false when there is none.
func (b *tokenBucket) Allow(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.last.IsZero() && now.After(b.last) {
		b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	}
	if b.last.IsZero() || now.After(b.last) {
		b.last = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
