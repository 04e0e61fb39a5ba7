package gateway

import (
	"net"
	"testing"
	"time"
)

var testLimits = guardLimits{maxFailures: 3, window: 10 * time.Minute, lockout: 15 * time.Minute,
	backoff: time.Second, backoffMax: 5 * time.Second}

func TestAuthGuardLocksOutAnAddressAfterRepeatedFailures(t *testing.T) {
	g := newAuthGuard(testLimits)
	t0 := testNow
	var waits []time.Duration
	for i := range 3 {
		if k, _ := g.Locked("", "10.0.0.9", t0); k != notLocked {
			t.Fatalf("locked after %d failures", i)
		}
		waits = append(waits, g.Failure("", "10.0.0.9", t0.Add(time.Duration(i)*time.Second)))
	}
	if waits[0] != time.Second || waits[1] != 2*time.Second || waits[2] != 4*time.Second {
		t.Errorf("back-off %v, want 1s 2s 4s (doubling)", waits)
	}
	k, until := g.Locked("", "10.0.0.9", t0.Add(time.Minute))
	if k != lockedAddr || !until.Equal(t0.Add(2*time.Second+15*time.Minute)) {
		t.Fatalf("after 3 failures: %v until %v, want the address locked 15 min", k, until)
	}
	if k, _ := g.Locked("65230100000002", "10.0.0.10", t0.Add(time.Minute)); k != notLocked {
		t.Fatal("another address is locked too")
	}
	if k, _ := g.Locked("", "10.0.0.9", t0.Add(16*time.Minute)); k != notLocked {
		t.Fatal("still locked after the lock-out time")
	}
}

func TestAuthGuardFailuresOutsideTheWindowDoNotAddUp(t *testing.T) {
	g := newAuthGuard(testLimits)
	for i := range 10 { // one failure every 11 minutes: never 3 within 10 minutes
		g.Failure("", "10.0.0.9", testNow.Add(time.Duration(i)*11*time.Minute))
	}
	if k, _ := g.Locked("", "10.0.0.9", testNow.Add(100*time.Minute)); k != notLocked {
		t.Fatal("locked by failures spread over more than the window")
	}
}

func TestAuthGuardBackOffIsCapped(t *testing.T) {
	g := newAuthGuard(guardLimits{maxFailures: 100, window: time.Hour, lockout: time.Hour, backoff: time.Second, backoffMax: 5 * time.Second})
	var last time.Duration
	for range 20 {
		last = g.Failure("65230100000002", "10.0.0.9", testNow)
	}
	if last != 5*time.Second {
		t.Fatalf("back-off after 20 failures %v, want the cap 5s", last)
	}
}

func TestAuthGuardLocksOutAnMNButNotTheAddressesItAuthenticatedFrom(t *testing.T) {
	g := newAuthGuard(testLimits)
	const mn = "65230100000002"
	g.Success(mn, "10.1.1.1", testNow) // the station itself
	for i := range 3 {                 // guesses from three addresses: the MN's count reaches 3
		g.Failure(mn, "10.0.0."+string(rune('1'+i)), testNow)
	}
	for _, tc := range []struct {
		name, addr string
		want       lockKind
	}{
		{"a guessing address", "10.0.0.1", lockedMN},
		{"a new address", "10.9.9.9", lockedMN},
		{"the station's own address", "10.1.1.1", notLocked},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if k, _ := g.Locked(mn, tc.addr, testNow.Add(time.Minute)); k != tc.want {
				t.Fatalf("locked = %v, want %v", k, tc.want)
			}
		})
	}
	if k, _ := g.Locked("65230100000101", "10.9.9.9", testNow); k != notLocked {
		t.Fatal("another station is locked too")
	}
}

func TestAuthGuardTableIsBounded(t *testing.T) {
	lim := testLimits
	lim.maxEntries = 10
	g := newAuthGuard(lim)
	for i := range 1000 {
		g.Failure("", net.IPv4(10, 0, byte(i>>8), byte(i)).String(), testNow)
	}
	if len(g.entries) > 10 {
		t.Fatalf("%d entries, bound 10", len(g.entries))
	}
	// Untracked keys are slowed down as much as locked ones.
	if d := g.Failure("", "10.200.0.1", testNow); d != 4*time.Second {
		t.Fatalf("back-off of an untracked address %v", d)
	}
}

func TestTokenBucketRefillsAtItsRate(t *testing.T) {
	b := newTokenBucket(2, 3) // 2 a second, burst 3
	allowed := 0
	for range 10 {
		if b.Allow(testNow) {
			allowed++
		}
	}
	if allowed != 3 {
		t.Fatalf("burst: %d allowed, want 3", allowed)
	}
	if !b.Allow(testNow.Add(500*time.Millisecond)) || b.Allow(testNow.Add(500*time.Millisecond)) {
		t.Fatal("after 0.5 s at 2/s: want exactly one more")
	}
	n := 0
	for range 10 {
		if b.Allow(testNow.Add(time.Hour)) {
			n++
		}
	}
	if n != 3 {
		t.Fatalf("after an hour: %d allowed, want the burst 3", n)
	}
}

func TestConnLimiterCapsPerAddress(t *testing.T) {
	l := newConnLimiter(2)
	if !l.Acquire("a") || !l.Acquire("a") || l.Acquire("a") {
		t.Fatal("third connection of a admitted")
	}
	if !l.Acquire("b") {
		t.Fatal("b refused because of a")
	}
	l.Release("a")
	if !l.Acquire("a") {
		t.Fatal("a refused after one of its connections closed")
	}
}

func TestAddrKey(t *testing.T) {
	for _, tc := range []struct {
		addr net.Addr
		want string
	}{
		{&net.TCPAddr{IP: net.ParseIP("192.0.2.7"), Port: 4000}, "192.0.2.7"},
		{&net.TCPAddr{IP: net.ParseIP("::ffff:192.0.2.7"), Port: 4000}, "192.0.2.7"},
		{&net.TCPAddr{IP: net.ParseIP("2001:db8:1:2:aaaa::1"), Port: 4000}, "2001:db8:1:2::/64"},
		{&net.TCPAddr{IP: net.ParseIP("2001:db8:1:2:bbbb::9"), Port: 1}, "2001:db8:1:2::/64"},
	} {
		if got := addrKey(tc.addr); got != tc.want {
			t.Errorf("addrKey(%v) = %q, want %q", tc.addr, got, tc.want)
		}
	}
}

func TestAuthGuardOneMisconfiguredStationDoesNotLockOutItsNATNeighbours(t *testing.T) {
	g := newAuthGuard(testLimits)
	const nat, good, bad = "100.64.0.1", "65230100000002", "65230100000101"
	g.Success(good, nat, testNow) // a station behind the carrier's NAT address
	for range 3 {                 // another one behind it with a wrong PW configured
		g.Failure(bad, nat, testNow)
	}
	at := testNow.Add(time.Minute)
	for _, tc := range []struct {
		name string
		mn   string
		want lockKind
	}{
		{"the misconfigured station", bad, lockedPair},
		{"its neighbour, trusted from the address", good, notLocked},
		{"a station never seen from the address", "65230100000003", lockedAddr},
		{"an unknown MN", "", lockedAddr},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if k, _ := g.Locked(tc.mn, nat, at); k != tc.want {
				t.Fatalf("locked = %v, want %v", k, tc.want)
			}
		})
	}
	if refused, _ := g.Refused(nat, at); refused {
		t.Fatal("new connections from an address trusted for a station are closed at accept")
	}
	if refused, _ := g.Refused("10.0.0.1", at); refused {
		t.Fatal("an address without failures is refused")
	}
}

func TestAuthGuardATrustedAddressThatKeepsFailingIsLockedForThatStation(t *testing.T) {
	g := newAuthGuard(testLimits)
	const addr, mn = "100.64.0.1", "65230100000002"
	g.Success(mn, addr, testNow)
	for range 3 { // a guesser behind the station's NAT, or the station after a PW change on one side
		g.Failure(mn, addr, testNow)
	}
	if k, _ := g.Locked(mn, addr, testNow.Add(time.Minute)); k != lockedPair {
		t.Fatalf("locked = %v, want the (MN, address) pair locked", k)
	}
}
