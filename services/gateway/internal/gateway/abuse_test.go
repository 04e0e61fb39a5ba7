package gateway

import (
	"context"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/config"
	"github.com/riverwatch/riverwatch/pkg/hj212"
)

// dialFrom connects a station client from a given loopback address (Linux routes all of
// 127.0.0.0/8 to lo), so that tests can play several peers.
func (h *harness) dialFrom(t *testing.T, ip string) *hj212.Client {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	conn, err := d.DialContext(context.Background(), "tcp", h.addr)
	if err != nil {
		t.Fatal(err)
	}
	c := hj212.NewClient(conn)
	t.Cleanup(func() { c.Close() })
	return c
}

func TestConnectionWithoutAuthenticationIsClosedAfterTheAuthTimeout(t *testing.T) {
	h := newHarness(t, func(c *config.Gateway) { c.AuthTimeout = 300 * time.Millisecond })
	station := h.dial(t)
	expectNoAnswerBefore(t, station, "20240601100000100") // authenticates at once
	silent := h.dial(t)
	start := time.Now()
	if _, err := silent.Receive(ctxT(t, 5*time.Second)); !closedByPeer(err) {
		t.Fatalf("silent connection not closed: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("silent connection closed after %v, auth_timeout is 300ms", d)
	}
	h.gw.waitRecords()
	if got := reasons(h.rejected.rejections(t)); !slices.Equal(got, []string{ReasonAuthTimeout}) {
		t.Fatalf("rejections %v, want one auth_timeout", got)
	}
	if got := metricValue(h.gw.m.connsClosed.WithLabelValues(ReasonAuthTimeout)); got != 1 {
		t.Errorf("closed{auth_timeout} = %v", got)
	}
	time.Sleep(300 * time.Millisecond) // past the deadline: the authenticated station stays
	expectNoAnswerBefore(t, station, "20240601100000101")
}

func TestConnectionsBeyondThePerAddressCapAreClosedAtOnceEvenWithKafkaStalled(t *testing.T) {
	h := newHarness(t, func(c *config.Gateway) { c.MaxConnectionsPerAddress = 2 })
	for range 2 {
		h.dialFrom(t, "127.0.0.7")
	}
	other := h.dialFrom(t, "127.0.0.8")
	expectNoAnswerBefore(t, other, "20240601100000110") // another address is served
	gate, _ := h.rejected.hold()                        // Kafka stalls for rejections
	defer close(gate)
	start := time.Now()
	for i := range 5 {
		c := h.dialFrom(t, "127.0.0.7")
		if _, err := c.Receive(ctxT(t, 5*time.Second)); !closedByPeer(err) {
			t.Fatalf("connection %d over the per-address cap not closed: %v", i+3, err)
		}
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("5 refused connections took %v with Kafka stalled: they waited for it", d)
	}
	if got := metricValue(h.gw.m.connsRefused.WithLabelValues(ReasonAddressConnections)); got != 5 {
		t.Errorf("refused{address_connections} = %v, want 5", got)
	}
}

func TestRecordsOfUnauthenticatedInputAreRateLimitedAndCounted(t *testing.T) {
	h := newHarness(t, func(c *config.Gateway) {
		c.MaxConnectionsPerAddress, c.UnauthRecordsBurst, c.UnauthRecordsPerSecond = 1, 2, 0.001
	})
	h.dialFrom(t, "127.0.0.9")
	for range 6 {
		c := h.dialFrom(t, "127.0.0.9")
		c.Receive(ctxT(t, 5*time.Second)) // closed at once
	}
	waitFor(t, "6 refused connections", func() bool {
		return metricValue(h.gw.m.connsRefused.WithLabelValues(ReasonAddressConnections)) == 6
	})
	// The refusals are recorded (or suppressed) in the background after the socket closed.
	waitFor(t, "6 refusals counted", func() bool {
		return metricValue(h.gw.m.framesRefused.WithLabelValues(ReasonAddressConnections)) == 6
	})
	h.gw.waitRecords()
	if n := len(h.rejected.rejections(t)); n != 2 {
		t.Fatalf("%d records, want the burst of 2", n)
	}
	if got := metricValue(h.gw.m.suppressed.WithLabelValues(ReasonAddressConnections)); got != 4 {
		t.Errorf("suppressed = %v, want 4", got)
	}
	if got := metricValue(h.gw.m.framesRefused.WithLabelValues(ReasonAddressConnections)); got != 6 {
		t.Errorf("refused metric = %v, want all 6", got)
	}
}

func TestPasswordGuessingIsLockedOutWhileTheStationKeepsBeingAnswered(t *testing.T) {
	h := newHarness(t, func(c *config.Gateway) { c.AuthMaxFailures = 3 })
	station := h.dialFrom(t, "127.0.0.1")
	expectNoAnswerBefore(t, station, "20240601100000120") // the station's address is now trusted for its MN
	guess := hourPacket(t, "20240601100000121", dataTime, hj212.Period("w21003", 1, 1, 1, "N"))
	var sent int
	for i := 0; sent < 3; i++ { // three wrong PWs from 127.0.0.2, a connection each
		guess.PW = "00000" + string(rune('0'+i))
		g := h.dialFrom(t, "127.0.0.2")
		if err := g.Send(ctxT(t, 5*time.Second), guess); err != nil {
			t.Fatal(err)
		}
		sent++
		g.Close()
	}
	waitFor(t, "three auth_pw refusals", func() bool {
		return metricValue(h.gw.m.authFailures.WithLabelValues(ReasonAuthPW)) == 3
	})
	// The guessing address is locked: a new connection is closed at once, not even read.
	g := h.dialFrom(t, "127.0.0.2")
	if _, err := g.Receive(ctxT(t, 5*time.Second)); !closedByPeer(err) {
		t.Fatalf("connection from the locked address: %v", err)
	}
	// The MN is locked for addresses it never authenticated from, even with the right PW.
	right := hourPacket(t, "20240601100000122", dataTime, hj212.Period("w21003", 1, 1, 1, "N"))
	n := h.dialFrom(t, "127.0.0.3")
	if err := n.Send(ctxT(t, 5*time.Second), right); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Receive(ctxT(t, 5*time.Second)); !closedByPeer(err) {
		t.Fatalf("right PW from a new address during the MN's lock-out: %v, want closed", err)
	}
	// The station itself keeps getting its answers.
	if err := station.Upload(ctxT(t, 5*time.Second), right); err != nil {
		t.Fatalf("station's upload during the lock-out: %v", err)
	}
	h.gw.waitRecords() // the refused connection is recorded in the background
	rj := h.rejected.rejections(t)
	got := reasons(rj)
	slices.Sort(got)
	if !slices.Equal(got, []string{ReasonAuthLocked, ReasonAuthLocked, ReasonAuthPW, ReasonAuthPW, ReasonAuthPW}) {
		t.Fatalf("rejections %v", got)
	}
	for _, r := range rj {
		if strings.Contains(r.Raw, "PW=00000") || strings.Contains(r.Raw, "PW=123456") || (r.Raw != "" && !strings.Contains(r.Raw, "PW=***")) {
			t.Fatalf("rejected raw keeps a password: %q", r.Raw)
		}
	}
	if got := metricValue(h.gw.m.connsRefused.WithLabelValues(ReasonAuthLocked)); got != 1 {
		t.Errorf("refused{auth_locked} = %v", got)
	}
	if rs := h.readings.readings(t); len(rs) != 1 {
		t.Fatalf("%d readings, want the station's one", len(rs))
	}
}

func TestPasswordNeverStoredWithAFrameRefusedForItsContent(t *testing.T) {
	h := newHarness(t, nil)
	c := h.dial(t)
	p := hourPacket(t, "20240601100000130", dataTime, hj212.Period("w21003", 1, 1, 1, "N"))
	p.CP = "DataTime=20240601090000;w21003-Avg=1,w01001-Avg=7" // malformed: refused after authentication
	if err := c.Send(ctxT(t, 5*time.Second), p); err != nil {
		t.Fatal(err)
	}
	expectNoAnswerBefore(t, c, "20240601100000131")
	rj := h.rejected.rejections(t)
	if len(rj) != 1 || strings.Contains(rj[0].Raw, "123456") || !strings.Contains(rj[0].Raw, "PW=***;MN="+sectionMN) {
		t.Fatalf("rejections %+v", rj)
	}
}

func TestSplitReassemblyIsBoundedAcrossConnections(t *testing.T) {
	var items []hj212.Item
	for _, code := range []string{"w21003", "w21011", "w01018", "w01019", "w01009", "w01010", "w01014", "w01003", "w21001", "w20122"} {
		items = append(items, hj212.Period(code, 1, 2, 3, "N"))
	}
	p := hourPacket(t, "20240601100000140", dataTime, items...)
	parts, err := hj212.Split(p, 200)
	if err != nil || len(parts) < 3 {
		t.Fatalf("split: %d, %v", len(parts), err)
	}
	h := newHarness(t, func(c *config.Gateway) { c.MaxSplitBytesTotal = int64(len(parts[0].CP)) + 10 })
	a, b := h.dial(t), h.dial(t)
	if err := a.Send(ctxT(t, 5*time.Second), parts[0]); err != nil {
		t.Fatal(err)
	}
	expectNoAnswerBefore(t, a, "20240601100000141")
	if got := metricValue(h.gw.m.splitBytes); got != float64(len(parts[0].CP)) {
		t.Fatalf("split bytes gauge %v, want %d", got, len(parts[0].CP))
	}
	other := parts[0]
	other.QN = "20240601100000142"
	if err := b.Send(ctxT(t, 5*time.Second), other); err != nil {
		t.Fatal(err)
	}
	expectNoAnswerBefore(t, b, "20240601100000143")
	rj := h.rejected.rejections(t)
	if len(rj) != 1 || rj[0].Reason != hj212.ReasonSplit || !strings.Contains(rj[0].Detail, "all connections") {
		t.Fatalf("rejections %+v, want one split refusal naming the gateway-wide bound", rj)
	}
	a.Close()
	waitFor(t, "the closed connection's bytes given back", func() bool { return metricValue(h.gw.m.splitBytes) == 0 })
}
