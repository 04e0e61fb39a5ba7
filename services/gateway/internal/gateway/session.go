package gateway

import (
	"context"
	"crypto/subtle"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/riverwatch/riverwatch/pkg/hj212"
	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/network"
)

// session is one station connection.
type session struct {
	g      *Gateway
	conn   net.Conn
	remote string
	dec    *hj212.Decoder
	rx     hj212.Receiver
	rd     *deadlineReader
	addr   string        // the address key of the limits (addrKey)
	site   *network.Site // the site of the last packet authenticated
	wait   time.Duration // back-off after an authentication failure, before the next frame
	locked bool          // a frame hit a lock-out: close after this batch
	lastMN string        // the MN last authenticated (the guard is told of each new one)
	out    outbox
	errRun int             // consecutive frames refused by the codec or authentication
	dev    hj212.Deviation // deviations of the frame being handled: answers mirror its CRC
	wbuf   []byte
	wmu    sync.Mutex // serialises writes: batch answers and host commands

	// Per-frame scratch of data (reused, so a reading costs no allocation for them): the
	// parameters given so far, the reading ids of the frame's items, and the min and max
	// of the item being validated (its reading is encoded before the next item's).
	params []string
	idbuf  []byte
	minMax [2]float64

	// Host commands (commands.go), guarded by cmdMu: another goroutine sends them.
	cmdMu    sync.Mutex
	tracker  hj212.Tracker
	cmdDone  map[string]CommandDone // by QN
	attached string                 // the MN this session is registered as ("" until authenticated)
	cmdPW    string                 // its password
	lastST   string                 // the ST of its last packet (not 91)
	lastVer  hj212.Version          // the edition of its last packet
	cmdDev   hj212.Deviation        // the CRC deviation of its last frame (commands mirror it)
}

// newSession is the state of one station connection before its first frame (conn is nil
// in the benchmark, which hands frames to handle directly).
func (g *Gateway) newSession(conn net.Conn, remote, addr string) *session {
	s := &session{g: g, conn: conn, remote: remote, addr: addr, cmdDone: map[string]CommandDone{}}
	s.rx = hj212.Receiver{Location: g.net.Location, Authenticate: s.authenticate, Profile: g.profile,
		Reassembler: hj212.Reassembler{MaxSets: g.cfg.MaxSplitSets, MaxBytes: g.cfg.MaxSplitBytes, Timeout: g.cfg.SplitTimeout, Budget: g.split}}
	return s
}

// serve reads frames until the station leaves, times out, misbehaves too often or the
// gateway stops. Frames that arrived together are handled as one batch: published
// together, then answered in order.
func (g *Gateway) serve(ctx context.Context, conn net.Conn, addr string) {
	defer conn.Close()
	s := g.newSession(conn, conn.RemoteAddr().String(), addr)
	defer g.detach(s)
	defer s.rx.Reassembler.Reset() // give the shared split budget back, however the session ends
	// Until a frame authenticates, the connection lives at most gateway.auth_timeout.
	s.rd = &deadlineReader{ctx: ctx, conn: conn, idle: g.cfg.IdleTimeout, frame: g.cfg.FrameTimeout, authBy: time.Now().Add(g.cfg.AuthTimeout)}
	s.dec = hj212.NewDecoder(s.rd, g.cfg.MaxFrameBytes)
	s.dec.Profile = g.profile
	s.rd.dec = s.dec
	stop := context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	log := g.log.With("remote", s.remote)
	log.Debug("station connected")

	for {
		f, err := s.dec.Next()
		if err != nil && !isFrameError(err) {
			s.finish(ctx, err, log)
			return
		}
		s.out.reset()
		now := g.clock()
		s.handle(f, err, now)
		// An authentication failure ends the batch: the frames after it wait for the back-off.
		for n := 1; n < g.cfg.BatchFrames && s.dec.More() && s.wait == 0 && !s.locked; n++ {
			f, err := s.dec.Next()
			s.handle(f, err, now)
		}
		for _, inc := range s.rx.Reassembler.Expire(now) {
			s.incompleteSplit(inc, now)
		}
		if !s.flush(ctx, log) {
			return
		}
		if s.lastMN != "" && s.lastMN != s.attachedMN() {
			g.attach(s, s.lastMN) // and send the commands waiting for it
		}
		if s.locked {
			g.m.connsClosed.WithLabelValues(ReasonAuthLocked).Inc()
			log.Debug("closing connection: locked out")
			return
		}
		if s.errRun >= g.cfg.MaxFrameErrors {
			g.m.connsClosed.WithLabelValues("frame_errors").Inc()
			log.Warn("closing connection after repeated refused frames", "refused", s.errRun)
			return
		}
		if s.wait > 0 {
			t := time.NewTimer(s.wait)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
			}
			s.wait = 0
		}
	}
}

func isFrameError(err error) bool {
	var fe *hj212.FrameError
	return errors.As(err, &fe)
}

// finish records what a closing connection leaves behind (split messages in progress).
func (s *session) finish(ctx context.Context, err error, log *slog.Logger) {
	s.out.reset()
	now := s.g.clock()
	for _, inc := range s.rx.Reassembler.Drain() {
		s.incompleteSplit(inc, now)
	}
	if len(s.out.rejections) > 0 {
		if perr := s.g.publish(ctx, &s.out); perr != nil {
			log.Warn("record incomplete split messages", "err", perr)
		} else {
			s.g.commit(&s.out)
		}
	}
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed), ctx.Err() != nil:
		log.Debug("station disconnected", "err", err)
	case errors.Is(err, os.ErrDeadlineExceeded) && !s.rd.authBy.IsZero() && !time.Now().Before(s.rd.authBy):
		s.g.m.connsClosed.WithLabelValues(ReasonAuthTimeout).Inc()
		s.g.recordUnauth(&message.Rejection{Reason: ReasonAuthTimeout, Source: message.SourceHJ212, Remote: s.remote, ReceivedAt: now,
			Detail: "no frame with a valid MN and PW within " + s.g.cfg.AuthTimeout.String() + " of connecting (gateway.auth_timeout)"})
		log.Debug("closing connection: not authenticated in time", "auth_timeout", s.g.cfg.AuthTimeout)
	case errors.Is(err, os.ErrDeadlineExceeded):
		log.Debug("station idle, closing", "idle_timeout", s.g.cfg.IdleTimeout)
	default:
		log.Debug("station connection failed", "err", err)
	}
}

// flush publishes the batch and, once Kafka acknowledged it, sends the answers. It returns
// false when the connection is unusable.
func (s *session) flush(ctx context.Context, log *slog.Logger) bool {
	o := &s.out
	if err := s.g.publish(ctx, o); err != nil {
		// No answer: the station resends, and the readings' ids make the resend harmless.
		s.g.m.framesUnacked.Add(float64(o.frames))
		log.Warn("publish failed; frames left unanswered", "frames", o.frames, "readings", len(o.readings), "rejections", len(o.rejections), "err", err)
		return true
	}
	s.g.commit(o)
	if len(o.replies) == 0 {
		return true
	}
	s.wbuf = s.wbuf[:0]
	for _, r := range o.replies {
		s.wbuf = append(s.wbuf, r...)
	}
	s.wmu.Lock()
	s.conn.SetWriteDeadline(time.Now().Add(s.g.cfg.WriteTimeout))
	_, err := s.conn.Write(s.wbuf)
	s.wmu.Unlock()
	if err != nil {
		log.Warn("answer station", "err", err)
		return false
	}
	for _, cn := range o.replyCNs {
		s.g.m.answers.WithLabelValues(cn).Inc()
	}
	return true
}

// attachedMN is the MN the session is registered as for host commands.
func (s *session) attachedMN() string {
	s.cmdMu.Lock()
	defer s.cmdMu.Unlock()
	return s.attached
}

// reply queues an answer, sent once the batch is published.
func (s *session) reply(p hj212.Packet) {
	b, err := hj212.EncodeFor(p, s.dev)
	if err != nil { // answers are built from validated packets
		s.g.log.Error("encode answer", "cn", p.CN, "err", err)
		return
	}
	s.out.replies = append(s.out.replies, b)
	s.out.replyCNs = append(s.out.replyCNs, p.CN)
}

// refuse records a refusal of a whole frame. codec marks refusals by the codec or
// authentication, which count towards closing the connection.
func (s *session) refuse(reason, detail, raw string, p *hj212.Packet, site *network.Site, now time.Time, codec bool) {
	limit := s.g.unauth
	if reason == ReasonAuthMN || reason == ReasonAuthPW || reason == ReasonAuthLocked {
		limit = s.g.authRecs
	}
	if codec && !limit.Allow(now) {
		// Unauthenticated input: recorded within gateway.unauth_records_per_second, counted always.
		s.g.m.suppressed.WithLabelValues(reason).Inc()
		s.g.m.framesRefused.WithLabelValues(reason).Inc()
		s.errRun++
		return
	}
	rj := &message.Rejection{Reason: reason, Detail: detail, Source: message.SourceHJ212, Remote: s.remote, Raw: raw, ReceivedAt: now}
	if p != nil {
		rj.Station = p.MN
	}
	if site != nil {
		rj.Site = site.ID
	}
	s.out.addRejection(rj, true)
	if codec {
		s.errRun++
	}
}

// asRefusal is errors.As(err, *hj212.RefusalError), in a function of its own: its target
// then goes to the heap only when there is an error, not for every frame handled.
func asRefusal(err error) *hj212.RefusalError {
	if err == nil {
		return nil
	}
	var re *hj212.RefusalError
	if errors.As(err, &re) {
		return re
	}
	return nil
}

// handle processes one result of the decoder.
func (s *session) handle(f hj212.Frame, err error, now time.Time) {
	s.out.frames++
	up, err := s.rx.Decode(f, err, now)
	s.dev = up.Deviations
	if re := asRefusal(err); re != nil {
		s.dev = f.Deviations
		site := s.site // known from StageAuth on (auth_pw names the site)
		if re.Stage < hj212.StageAuth {
			site = nil
		}
		if re.Authenticated() {
			s.errRun = 0
			s.crossCheck(re.Packet, f.Deviations, f.Encrypted)
		}
		s.refuse(re.Reason, re.Detail, re.Raw, re.Packet, site, now, !re.Authenticated())
		if re.Final {
			s.ack(*re.Packet)
		}
		return
	}
	s.errRun = 0
	s.crossCheck(&up.Packet, up.Deviations, up.Encrypted)
	if up.Encrypted && s.site != nil && up.Key.Equal(s.site.Station.SM4NextKey()) {
		s.g.tookNextKey(up.Packet.MN, "seen", now) // it switched before we knew (a lost 9012, a gateway restart)
	}
	s.cmdMu.Lock()
	if up.Packet.ST != hj212.STSystem {
		s.lastST = up.Packet.ST
	}
	s.lastVer, s.cmdDev = up.Packet.Version(), up.Deviations&hj212.DevModbusCRC
	s.cmdMu.Unlock()
	if up.Pending {
		return // held until the set is complete; answered then
	}
	s.dispatch(&up, now)
}

// crossCheck counts, for an authenticated packet, a Flag that names another edition than
// its station's configured one (sites.yaml station.protocol: the configured edition is
// used), each deviation from the standard its station was allowed (station.compat), and
// an SM4-encrypted CP.
func (s *session) crossCheck(p *hj212.Packet, dev hj212.Deviation, encrypted bool) {
	if s.site == nil {
		return
	}
	if encrypted {
		s.g.m.encrypted.WithLabelValues(s.site.ID).Inc()
	}
	if p.FlagDisagrees() {
		s.g.m.editionMismatch.WithLabelValues(s.site.ID, p.Edition.String(), hj212.EditionOf(p.FlagVersion()).String()).Inc()
	}
	for _, name := range dev.Names() {
		s.g.m.deviations.WithLabelValues(s.site.ID, name).Inc()
	}
}

// authenticate checks a packet's MN and PW against sites.yaml, under the lock-out of
// guessing (authGuard); the session remembers the site of the last packet checked. A
// failure sets the back-off before the next frame; a lock-out closes the connection.
func (s *session) authenticate(p *hj212.Packet) error {
	g := s.g
	now := g.clock()
	site, ok := g.net.SiteByMN(p.MN)
	mn := ""
	if ok && site.Station != nil {
		mn = p.MN
	} else {
		site = nil
	}
	s.site = site
	if kind, until := g.guard.Locked(mn, s.addr, now); kind != notLocked {
		s.locked = true
		g.m.authFailures.WithLabelValues(ReasonAuthLocked).Inc()
		what := "address " + s.addr + " (for stations it never authenticated as)"
		switch kind {
		case lockedMN:
			what = "station " + p.MN + " (for addresses it never authenticated from)"
		case lockedPair:
			what = "station " + p.MN + " from address " + s.addr
		}
		return &hj212.Error{Reason: ReasonAuthLocked, Detail: what + " is locked out after " + strconv.Itoa(g.cfg.AuthMaxFailures) +
			" authentication failures until " + until.UTC().Format(time.RFC3339) + "; PW not checked"}
	}
	if mn == "" {
		s.wait = max(s.wait, g.guard.Failure("", s.addr, now))
		g.m.authFailures.WithLabelValues(ReasonAuthMN).Inc()
		return &hj212.Error{Reason: ReasonAuthMN, Detail: "MN " + strconv.Quote(p.MN) + " is not a station of sites.yaml"}
	}
	if subtle.ConstantTimeCompare([]byte(p.PW), []byte(site.Station.Password)) != 1 {
		s.wait = max(s.wait, g.guard.Failure(mn, s.addr, now))
		g.m.authFailures.WithLabelValues(ReasonAuthPW).Inc()
		return &hj212.Error{Reason: ReasonAuthPW, Detail: "PW does not match station " + p.MN + " of site " + site.ID}
	}
	if !s.rd.authBy.IsZero() || s.lastMN != mn {
		g.guard.Success(mn, s.addr, now)
		s.lastMN = mn
	}
	s.rd.authBy = time.Time{}
	return nil
}

// incompleteSplit records a split message given up.
func (s *session) incompleteSplit(inc hj212.Incomplete, now time.Time) {
	site, _ := s.g.net.SiteByMN(inc.First.MN)
	s.refuse(hj212.ReasonSplitIncomplete, "split message QN="+inc.First.QN+" CN="+inc.First.CN+": "+
		strconv.Itoa(inc.Have)+" of "+strconv.Itoa(inc.Want)+" packets arrived within "+s.g.cfg.SplitTimeout.String(),
		string(inc.First.AppendSegment(nil)), &inc.First, site, now, false)
}

// dispatch handles an authenticated packet by its command.
func (s *session) dispatch(up *hj212.Upload, now time.Time) {
	p, site, raw := up.Packet, s.site, up.Raw
	if up.Data != nil {
		s.data(up, now)
		return
	}
	if s.answer(p, now) { // a 9011/9012 or an upload answering one of our commands
		s.out.framesAccepted++
		if p.WantsAck() && hj212.CommandDirection(p.CN) != hj212.DirResponse {
			s.reply(hj212.Response9014(p)) // a data response: 3011–3024 are host-only when they start a request
		}
		return
	}
	switch hj212.CommandDirection(p.CN) {
	case hj212.DirResponse:
		s.out.framesAccepted++ // answers to our 1012, or stray: never answered
	case hj212.DirHeartbeat:
		s.out.framesAccepted++
		s.ack(p)
	case hj212.DirUpload:
		if p.CN == hj212.CNTimeCalibration {
			s.out.framesAccepted++
			s.ack(p)
			if s.g.cfg.TimeSync {
				s.reply(hj212.SetTime(p, now, s.g.net.Location))
			}
			return
		}
		// Stored as a rejection, so answered: sending it again would not change anything.
		s.refuse(ReasonUnsupportedCN, hj212.DescribeCN(p.CN, p.Version())+" is an upload riverwatch does not turn into readings", raw, &p, site, now, false)
		s.ack(p)
	case hj212.DirRequest:
		s.refuse(ReasonUnsupportedCN, hj212.DescribeCN(p.CN, p.Version())+" is a host-to-field request; the gateway is not a field machine", raw, &p, site, now, false)
		s.ack(p)
	default:
		s.refuse(ReasonUnknownCN, "CN "+p.CN+" is not a command of HJ 212", raw, &p, site, now, false)
	}
}

// ack queues the answer the packet asks for (hj212.Answer), if any.
func (s *session) ack(p hj212.Packet) {
	if a, ok := hj212.Answer(p); ok {
		s.reply(a)
	}
}

// data handles a data upload (2011, 2051, 2061, 2031).
func (s *session) data(up *hj212.Upload, now time.Time) {
	p, site, raw, d := up.Packet, s.site, up.Raw, up.Data
	key := p.MN + "\x00" + p.QN
	if p.QN == "" { // 2005 packets may have no QN: the data's own identity
		key = p.MN + "\x00" + p.CN + "\x00" + d.DataTime.UTC().Format(time.RFC3339)
	}
	if s.g.seen.Seen(p.MN, key, now) || slices.Contains(s.out.keys, key) {
		s.refuse(ReasonDuplicate, "frame MN="+p.MN+" QN="+p.QN+" was already stored; not published again", raw, &p, site, now, false)
		s.ack(p)
		return
	}
	if rf := s.g.checkTime(d.DataTime, now); rf != nil {
		s.refuse(rf.reason, rf.detail, raw, &p, site, now, false)
		s.ack(p)
		s.remember(p.MN, key, now)
		return
	}
	interval := intervalOfCN[p.CN]
	first := len(s.out.readingIDs)
	// The items' reading ids, made as one string: slicing it allocates nothing.
	s.idbuf = s.idbuf[:0]
	for i := range d.Items {
		if up.Pollutants[i].Param != "" {
			s.idbuf = message.AppendReadingID(s.idbuf, site.ID, up.Pollutants[i].Param, interval, d.DataTime)
		} else {
			s.idbuf = append(s.idbuf, make([]byte, message.ReadingIDLen)...) // no reading: never used
		}
	}
	ids := string(s.idbuf)
	s.params = s.params[:0]
	for i := range d.Items {
		id := ids[i*message.ReadingIDLen : (i+1)*message.ReadingIDLen]
		s.item(&p, up.Pollutants[i], site, &d.Items[i], interval, d.DataTime, raw, now, id)
	}
	if frameIDs := s.out.readingIDs[first:]; len(frameIDs) > 0 && s.g.rawFrames != nil {
		// A frame none of whose items became a reading is in rejected already, raw.
		s.out.addRawFrame(&message.RawFrame{
			Site: site.ID, MN: p.MN, QN: p.QN, CN: p.CN, DataTime: d.DataTime.UTC(), ReceivedAt: now,
			Remote: s.remote, Raw: raw, ReadingIDs: slices.Clone(frameIDs),
		})
	}
	s.out.framesAccepted++
	s.ack(p)
	s.remember(p.MN, key, now)
}

// remember marks a frame as stored once the batch is published.
func (s *session) remember(mn, key string, now time.Time) {
	s.out.keys = append(s.out.keys, key)
	s.out.marks = append(s.out.marks, seenMark{mn: mn, key: key, at: now})
}

// item turns one item of a data upload into a reading, or a rejection.
func (s *session) item(p *hj212.Packet, pol hj212.Pollutant, site *network.Site, it *hj212.Item, interval string,
	at time.Time, raw string, now time.Time, id string) {
	refuse := func(param, reason, detail string) {
		s.out.addRejection(&message.Rejection{
			Reason: reason, Detail: detail, Station: p.MN, Site: site.ID, Parameter: param,
			Source: message.SourceHJ212, Remote: s.remote, Raw: raw, ReceivedAt: now,
		}, false)
	}
	if it.Err != nil {
		refuse(it.Code, it.Err.Reason, it.Err.Detail)
		return
	}
	if pol.Param == "" {
		refuse(it.Code, ReasonUnknownParameter, "item code "+strconv.Quote(it.Code)+" has no canonical parameter in "+p.Version().String())
		return
	}
	// The standard's examples always flag; an item without -Flag means normal.
	c := candidate{site: site, station: p.MN, param: pol.Param, unit: pol.Unit, flag: message.NormalizeFlag(it.Flag), interval: interval,
		observedAt: at, source: message.SourceHJ212, belowDL: it.BelowDL, id: id, scratch: true}
	if interval == message.IntervalRealtime {
		if !it.Rtd.Set {
			refuse(pol.Param, ReasonMissingValue, it.Code+" has no -Rtd in real-time data (CN 2011)")
			return
		}
		c.value = it.Rtd.V
	} else {
		if !it.Avg.Set {
			refuse(pol.Param, ReasonMissingValue, it.Code+" has no -Avg in period data (CN "+p.CN+")")
			return
		}
		c.value = it.Avg.V
		if it.Min.Set {
			s.minMax[0] = it.Min.V
			c.min = &s.minMax[0]
		}
		if it.Max.Set {
			s.minMax[1] = it.Max.V
			c.max = &s.minMax[1]
		}
	}
	for _, q := range s.params {
		if q == pol.Param {
			refuse(pol.Param, ReasonDuplicate, "parameter "+pol.Param+" already given by another item of this frame ("+it.Code+")")
			return
		}
	}
	s.params = append(s.params, pol.Param)
	r, rf := validate(&c, now)
	if rf != nil {
		refuse(pol.Param, rf.reason, it.Code+": "+rf.detail)
		return
	}
	r.Backfill = p.RF // HJ 212-2025 back-fill: stored, not judged as live (docs/protocol.md)
	s.out.addReading(&r)
}
