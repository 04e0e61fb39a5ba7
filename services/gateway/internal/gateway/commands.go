package gateway

import (
	"context"
	"errors"
	"time"

	"github.com/riverwatch/riverwatch/pkg/hj212"
)

// CommandBuilder builds a host command for the station's connection: t is what the gateway
// knows of it (ST of its last packet, MN, PW, edition), now the gateway's clock.
type CommandBuilder func(t hj212.Target, now time.Time) (hj212.Packet, error)

// CommandDone is called with each step of a command, never with the gateway's locks held:
// sent (as it is written), accepted (the 9011, and again for each reply with its QN), and
// once with its final state (done, rejected, failed, timed_out, expired; State.Final).
type CommandDone func(hj212.Command)

// queuedCommand waits for its station to connect.
type queuedCommand struct {
	build CommandBuilder
	done  CommandDone
	until time.Time
}

// stations are the authenticated HJ 212 sessions by MN and the commands waiting for a
// station that is not connected.
type stations struct {
	byMN   map[string]*session
	queued map[string][]queuedCommand
}

// ErrUnknownStation: SendCommand for an MN that is no station of sites.yaml.
var ErrUnknownStation = errors.New("gateway: no station with this MN in sites.yaml")

// SendCommand sends a host command to the station with MN mn (docs/protocol.md, Host
// commands): at once when it is connected, else at its next authenticated connection within
// ttl. The connection's tracker follows it through 9011 and 9012 (resending on the
// standard's timeout); done gets the final state, or expired when the station did not
// connect within ttl.
func (g *Gateway) SendCommand(mn string, build CommandBuilder, ttl time.Duration, done CommandDone) error {
	if site, ok := g.net.SiteByMN(mn); !ok || site.Station == nil {
		return ErrUnknownStation
	}
	now := g.clock()
	g.cmdMu.Lock()
	s := g.st.byMN[mn]
	if s == nil {
		g.st.queued[mn] = append(g.st.queued[mn], queuedCommand{build: build, done: done, until: now.Add(ttl)})
		g.cmdMu.Unlock()
		return nil
	}
	g.cmdMu.Unlock()
	s.command(build, done, now)
	return nil
}

// attach registers an authenticated session as its MN's and sends the commands waiting
// for it.
func (g *Gateway) attach(s *session, mn string) {
	pw := ""
	if site, ok := g.net.SiteByMN(mn); ok && site.Station != nil {
		pw = site.Station.Password
	}
	g.cmdMu.Lock()
	s.cmdMu.Lock()
	if old := g.st.byMN[s.attached]; old == s {
		delete(g.st.byMN, s.attached)
	}
	s.attached, s.cmdPW = mn, pw
	s.cmdMu.Unlock()
	g.st.byMN[mn] = s
	waiting := g.st.queued[mn]
	delete(g.st.queued, mn)
	g.cmdMu.Unlock()
	now := g.clock()
	for _, q := range waiting {
		s.command(q.build, q.done, now)
	}
}

// detach forgets a closing session and ends its commands in progress.
func (g *Gateway) detach(s *session) {
	g.cmdMu.Lock()
	s.cmdMu.Lock()
	if g.st.byMN[s.attached] == s {
		delete(g.st.byMN, s.attached)
	}
	s.cmdMu.Unlock()
	g.cmdMu.Unlock()
	s.cmdMu.Lock()
	ended := s.tracker.Abandon("the connection closed before the command completed", s.g.clock())
	s.cmdMu.Unlock()
	for _, c := range ended {
		s.endCommand(c)
	}
}

// runCommandTimers resends and times out the commands of every connection, and expires
// the waiting ones, every second until ctx ends.
func (g *Gateway) runCommandTimers(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			g.commandsDue(g.clock())
		}
	}
}

// commandsDue does one round of runCommandTimers at now.
func (g *Gateway) commandsDue(now time.Time) {
	g.cmdMu.Lock()
	var expired []queuedCommand
	for mn, qs := range g.st.queued {
		kept := qs[:0]
		for _, q := range qs {
			if now.After(q.until) {
				expired = append(expired, q)
			} else {
				kept = append(kept, q)
			}
		}
		if len(kept) == 0 {
			delete(g.st.queued, mn)
		} else {
			g.st.queued[mn] = kept
		}
	}
	sessions := make([]*session, 0, len(g.st.byMN))
	for _, s := range g.st.byMN {
		sessions = append(sessions, s)
	}
	g.cmdMu.Unlock()
	for _, q := range expired {
		g.m.commands.WithLabelValues("", hj212.CommandExpired.String()).Inc()
		if q.done != nil {
			q.done(hj212.Command{State: hj212.CommandExpired, Detail: "the station did not connect before the command's TTL ended", At: now})
		}
	}
	for _, s := range sessions {
		s.commandsDue(now)
	}
}

// target is what a command needs of this connection's station; s.cmdMu is held.
func (s *session) target() hj212.Target {
	return hj212.Target{ST: s.lastST, MN: s.attached, PW: s.cmdPW, Version: s.lastVer}
}

// command builds, writes and tracks one host command.
func (s *session) command(build CommandBuilder, done CommandDone, now time.Time) {
	s.cmdMu.Lock()
	p, err := build(s.target(), now)
	var c *hj212.Command
	var b []byte
	if err == nil {
		b, err = s.g.encodeCommand(p, s.cmdDev, now)
	}
	if err == nil {
		c, err = s.tracker.Sent(p, now)
	}
	if err != nil {
		s.cmdMu.Unlock()
		s.g.m.commands.WithLabelValues(p.CN, hj212.CommandFailed.String()).Inc()
		if done != nil {
			done(hj212.Command{Packet: p, State: hj212.CommandFailed, Detail: "not sent: " + err.Error(), At: now})
		}
		return
	}
	s.cmdDone[p.QN] = done
	sent := *c
	s.cmdMu.Unlock()
	s.g.m.commandsSent.WithLabelValues(c.Packet.CN).Inc()
	if done != nil {
		done(sent)
	}
	s.write(b) // a failed write ends the connection; detach then ends the command
}

// commandsDue resends this connection's unanswered commands and ends the timed-out ones.
func (s *session) commandsDue(now time.Time) {
	s.cmdMu.Lock()
	resend, timedOut := s.tracker.Due(now)
	var frames [][]byte
	for _, c := range resend {
		if b, err := s.g.encodeCommand(c.Packet, s.cmdDev, now); err == nil {
			frames = append(frames, b)
		}
	}
	s.cmdMu.Unlock()
	for _, b := range frames {
		s.write(b)
	}
	for _, c := range timedOut {
		s.endCommand(c)
	}
}

// answer hands a packet from the station to its commands' tracker; it reports whether the
// packet belonged to a command (a 9011, a 9012, or an upload with the command's QN).
func (s *session) answer(p hj212.Packet, now time.Time) bool {
	s.cmdMu.Lock()
	c, ok := s.tracker.Handle(p, now)
	var step hj212.Command
	var done CommandDone
	if ok && !c.State.Final() {
		step, done = *c, s.cmdDone[c.Packet.QN]
	}
	s.cmdMu.Unlock()
	switch {
	case ok && c.State.Final():
		s.endCommand(c)
	case done != nil:
		done(step)
	}
	return ok
}

// endCommand reports a command that reached its final state.
func (s *session) endCommand(c *hj212.Command) {
	s.cmdMu.Lock()
	done := s.cmdDone[c.Packet.QN]
	delete(s.cmdDone, c.Packet.QN)
	s.cmdMu.Unlock()
	s.g.m.commands.WithLabelValues(c.Packet.CN, c.State.String()).Inc()
	if c.Packet.CN == hj212.CNSetKey && c.State == hj212.CommandDone {
		s.g.tookNextKey(c.Packet.MN, "executed", c.At) // the logger encrypts with it from now on
	}
	s.g.log.Info("station command ended", "mn", c.Packet.MN, "cn", c.Packet.CN, "qn", c.Packet.QN, "state", c.State.String(),
		"attempts", c.Attempts, "detail", c.Detail)
	if done != nil {
		done(*c)
	}
}

// write writes one frame to the station, serialised with the batch answers.
func (s *session) write(b []byte) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.conn.SetWriteDeadline(time.Now().Add(s.g.cfg.WriteTimeout))
	if _, err := s.conn.Write(b); err != nil {
		s.g.log.Warn("write station command", "err", err)
		s.conn.Close()
	}
}
