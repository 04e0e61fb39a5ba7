package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/riverwatch/riverwatch/pkg/hj212"
	"github.com/riverwatch/riverwatch/pkg/message"
)

// errSentElsewhere: another gateway replica sent the command first; this one drops its
// waiting copy without a record.
var errSentElsewhere = errors.New("sent by another gateway replica")

// relayEntry is what a relay remembers of one command.
type relayEntry struct {
	req       message.StationCommand
	recorded  map[string]bool // statuses this replica recorded
	elsewhere bool            // another replica recorded it sent
}

// CommandRelay carries riverwatch.station-commands to the stations (docs/architecture.md,
// Station commands): each gateway replica consumes every record in a group of its own,
// sends the requests for the stations that connect to it (waiting up to the TTL for one
// that is not connected, after recording not_connected), and records what became of each
// on the same topic: sent, acknowledged, executed, failed, refused, timed_out, expired. A
// replica drops its waiting copy once another replica records the command sent.
//
// Handle is the consumer's handler: it returns once the requests of a batch are handed to
// the Gateway and their immediate records are published, so the batch is committed then;
// what comes later from the station goes through Run's outbox. Commands waiting or in
// progress are held in memory: a gateway that stops loses them (the request stays on the
// topic, in station_commands, without an outcome).
type CommandRelay struct {
	gw       *Gateway
	out      Publisher
	instance string
	outbox   chan message.StationCommand

	mu   sync.Mutex
	cmds map[string]*relayEntry // by command id
}

// NewCommandRelay returns the relay of gw publishing its records with out, as instance.
func NewCommandRelay(gw *Gateway, out Publisher, instance string) *CommandRelay {
	return &CommandRelay{gw: gw, out: out, instance: instance, outbox: make(chan message.StationCommand, 1024),
		cmds: map[string]*relayEntry{}}
}

// Run publishes the records of commands in progress until ctx is done, retrying a failed
// publish for a minute before counting the record lost.
func (r *CommandRelay) Run(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case c := <-r.outbox:
			batch := []message.StationCommand{c}
			for len(batch) < cap(r.outbox) && len(r.outbox) > 0 {
				batch = append(batch, <-r.outbox)
			}
			r.publishRetrying(ctx, batch)
		}
	}
}

func (r *CommandRelay) publishRetrying(ctx context.Context, batch []message.StationCommand) {
	deadline := time.Now().Add(time.Minute)
	for wait := 100 * time.Millisecond; ; wait = min(2*wait, 5*time.Second) {
		err := r.publish(ctx, batch...)
		if err == nil {
			return
		}
		if ctx.Err() != nil || time.Now().After(deadline) {
			r.gw.m.stationCommands.WithLabelValues("lost").Add(float64(len(batch)))
			r.gw.log.Error("station command records not published", "records", len(batch), "err", err)
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
	}
}

// publish writes records keyed by site, as the requests are.
func (r *CommandRelay) publish(ctx context.Context, cs ...message.StationCommand) error {
	msgs := make([]kafka.Message, 0, len(cs))
	for _, c := range cs {
		b, err := json.Marshal(c)
		if err != nil {
			return fmt.Errorf("station command %s: %w", c.ID, err)
		}
		msgs = append(msgs, kafka.Message{Key: []byte(c.Site), Value: b})
	}
	if err := r.out.Publish(ctx, msgs...); err != nil {
		return fmt.Errorf("publish station command records: %w", err)
	}
	for _, c := range cs {
		r.gw.m.stationCommands.WithLabelValues(c.Status).Inc()
	}
	return nil
}

// Handle takes one batch of riverwatch.station-commands.
func (r *CommandRelay) Handle(ctx context.Context, batch []kafka.Message) error {
	now := r.gw.clock()
	r.forget(now)
	var records []message.StationCommand
	type send struct {
		e     *relayEntry
		build CommandBuilder
		ttl   time.Duration
	}
	var sends []send
	for _, m := range batch {
		var c message.StationCommand
		if err := json.Unmarshal(m.Value, &c); err != nil || c.Validate() != nil {
			r.gw.m.stationCommands.WithLabelValues("invalid").Inc()
			r.gw.log.Warn("station command refused", "offset", m.Offset, "partition", m.Partition, "err", errors.Join(err, c.Validate()))
			continue
		}
		if c.Status != message.StationRequested {
			r.noteOutcome(c)
			continue
		}
		r.mu.Lock()
		_, seen := r.cmds[c.ID]
		r.mu.Unlock()
		if seen {
			continue // a replay
		}
		r.gw.m.stationCommands.WithLabelValues("received").Inc()
		e := &relayEntry{req: c, recorded: map[string]bool{}}
		rec := func(status, detail string) {
			o := c.Outcome(status, r.instance, now)
			o.Detail = detail
			e.recorded[status] = true
			records = append(records, o)
		}
		site, ok := r.gw.net.SiteByMN(c.MN)
		build, err := commandBuilder(c, r.gw)
		left := c.At.Add(c.TTL()).Sub(now)
		switch {
		case !ok || site.Station == nil || site.ID != c.Site:
			rec(message.StationRefused, "MN "+c.MN+" is not the station of site "+c.Site+" in sites.yaml")
		case err != nil:
			rec(message.StationRefused, err.Error())
		case left <= 0:
			rec(message.StationExpired, "the TTL ended before the gateway received the command")
		default:
			if !r.gw.connected(c.MN) {
				rec(message.StationNotConnected, "the station is not connected to this gateway: waiting for it until the TTL ends")
			}
			sends = append(sends, send{e: e, build: build, ttl: left})
		}
		r.mu.Lock()
		r.cmds[c.ID] = e
		r.mu.Unlock()
	}
	if len(records) > 0 {
		if err := r.publish(ctx, records...); err != nil {
			r.mu.Lock()
			for _, rc := range records { // not recorded: the retried batch handles them again
				delete(r.cmds, rc.ID)
			}
			r.mu.Unlock()
			return err
		}
	}
	for _, s := range sends {
		e := s.e
		build := func(t hj212.Target, now time.Time) (hj212.Packet, error) {
			r.mu.Lock()
			elsewhere := e.elsewhere
			r.mu.Unlock()
			if elsewhere {
				return hj212.Packet{}, errSentElsewhere
			}
			return s.build(t, now)
		}
		if err := r.gw.SendCommand(e.req.MN, build, s.ttl, func(c hj212.Command) { r.step(e, c) }); err != nil {
			r.step(e, hj212.Command{State: hj212.CommandFailed, Detail: "not sent: " + err.Error(), At: now})
		}
	}
	return nil
}

// step records a step of a command sent through the Gateway, each status once.
func (r *CommandRelay) step(e *relayEntry, c hj212.Command) {
	status := ""
	switch c.State {
	case hj212.CommandSent:
		status = message.StationSent
	case hj212.CommandAccepted:
		status = message.StationAcknowledged
	case hj212.CommandDone:
		status = message.StationExecuted
	case hj212.CommandFailed:
		status = message.StationFailed
		if c.Attempts == 0 { // never written: the command could not be built or sent
			status = message.StationRefused
		}
	case hj212.CommandRejected:
		status = message.StationRefused
	case hj212.CommandTimedOut:
		status = message.StationTimedOut
	case hj212.CommandExpired:
		status = message.StationExpired
	default:
		return
	}
	r.mu.Lock()
	skip := e.recorded[status] || (e.elsewhere && (status == message.StationExpired || status == message.StationRefused && c.Attempts == 0))
	e.recorded[status] = true
	r.mu.Unlock()
	if skip {
		return
	}
	at := c.At
	if at.IsZero() {
		at = r.gw.clock()
	}
	o := e.req.Outcome(status, r.instance, at)
	o.QN, o.QnRtn, o.ExeRtn, o.Attempts, o.Detail = c.Packet.QN, c.QnRtn, c.ExeRtn, c.Attempts, c.Detail
	if c.State.Final() {
		o.Report = reportOf(c, r.gw.net.Location)
	}
	select {
	case r.outbox <- o:
	default:
		r.gw.m.stationCommands.WithLabelValues("lost").Inc()
		r.gw.log.Error("station command record dropped: outbox full", "id", o.ID, "status", o.Status)
	}
}

// noteOutcome takes another replica's record: once one has sent the command, this one's
// waiting copy is dropped when the station connects here, and its expiry is not recorded.
func (r *CommandRelay) noteOutcome(c message.StationCommand) {
	if c.Gateway == r.instance {
		return
	}
	switch c.Status {
	case message.StationNotConnected, message.StationExpired, message.StationRefused:
		return
	}
	r.mu.Lock()
	if e := r.cmds[c.ID]; e != nil {
		e.elsewhere = true
	}
	r.mu.Unlock()
}

// forget drops what the relay remembers of commands whose TTL ended an hour ago (a
// command in progress still reports through its entry; a replay after that is not
// recognised, and is recorded expired).
func (r *CommandRelay) forget(now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for id, e := range r.cmds {
		if now.Sub(e.req.At.Add(e.req.TTL())) > time.Hour {
			delete(r.cmds, id)
		}
	}
}

// connected reports whether the station with MN mn holds a session here.
func (g *Gateway) connected(mn string) bool {
	g.cmdMu.Lock()
	defer g.cmdMu.Unlock()
	return g.st.byMN[mn] != nil
}

// commandBuilder returns the HJ 212 command of a station command.
func commandBuilder(c message.StationCommand, g *Gateway) (CommandBuilder, error) {
	loc := g.net.Location
	switch c.Command {
	case message.StationRaiseFrequency, message.StationRestoreFrequency:
		if c.RtdInterval > 0 {
			return func(t hj212.Target, now time.Time) (hj212.Packet, error) {
				return hj212.SetRtdInterval(t, c.RtdInterval, now, loc)
			}, nil
		}
		return func(t hj212.Target, now time.Time) (hj212.Packet, error) {
			return hj212.SetMinInterval(t, c.MinInterval, now, loc)
		}, nil
	case message.StationRetainSample:
		return func(t hj212.Target, now time.Time) (hj212.Packet, error) { return hj212.RetainSample(t, now, loc), nil }, nil
	case message.StationSyncClock:
		// The time is the gateway's when the command is built; a resend keeps it (same QN).
		return func(t hj212.Target, now time.Time) (hj212.Packet, error) { return hj212.SetClock(t, now, loc), nil }, nil
	case message.StationReadClock:
		return func(t hj212.Target, now time.Time) (hj212.Packet, error) { return hj212.GetTime(t, now, loc), nil }, nil
	case message.StationQueryInfo:
		if _, err := hj212.QueryInfo(hj212.Target{}, c.PolID, c.InfoID, time.Time{}, loc); err != nil {
			return nil, err
		}
		return func(t hj212.Target, now time.Time) (hj212.Packet, error) {
			return hj212.QueryInfo(t, c.PolID, c.InfoID, now, loc)
		}, nil
	case message.StationRotateKey:
		// The key comes from sites.yaml only; the request names none.
		site, ok := g.net.SiteByMN(c.MN)
		if !ok || site.Station == nil {
			return nil, fmt.Errorf("MN %s is no station of sites.yaml", c.MN)
		}
		next := site.Station.SM4NextKey()
		if !next.Valid() {
			return nil, fmt.Errorf("station %s has no sm4_next_key in sites.yaml: nothing to rotate to", c.MN)
		}
		return func(t hj212.Target, now time.Time) (hj212.Packet, error) {
			if _, rotated := g.keys.rotatedAt(t.MN); rotated {
				return hj212.Packet{}, errors.New("the station uses its sm4_next_key already: make it the first of sm4_keys in sites.yaml, then set a new sm4_next_key")
			}
			return hj212.SetKey(t, next, now, loc)
		}, nil
	}
	return nil, fmt.Errorf("command %q has no HJ 212 command", c.Command)
}

// reportOf reads what the station sent under a command's QN besides 9011 and 9012: the
// clock of a 1011 (and its offset from the gateway's clock at arrival), the bottle of a
// 3015, the information of a 3020. Nothing is read from what answers a 1014: a key
// rotation's record holds no key material. nil when there is nothing.
func reportOf(c hj212.Command, loc *time.Location) *message.StationReport {
	if c.Packet.CN == hj212.CNSetKey || len(c.Replies) == 0 {
		return nil
	}
	rep := &message.StationReport{}
	var unread []string
	for i, p := range c.Replies {
		if p.CN != c.Packet.CN {
			unread = append(unread, "CN "+p.CN+" under the command's QN")
			continue
		}
		var err error
		switch p.CN {
		case hj212.CNGetTime:
			err = readClock(rep, p.CP, c.RepliedAt[i], loc)
		case hj212.CNRetainSample:
			err = readSample(rep, p.CP, loc)
		case hj212.CNGetInfo:
			var in hj212.Info
			if in, err = hj212.ParseInfo(p.CP, loc); err == nil {
				if !in.DataTime.IsZero() {
					rep.DataTime = &in.DataTime
				}
				for _, it := range in.Items {
					rep.Info = append(rep.Info, message.StationInfo{PolID: it.PolID, InfoID: it.InfoID, Value: it.Value})
				}
			}
		default:
			continue
		}
		if err != nil {
			unread = append(unread, "CN "+p.CN+": "+err.Error())
		}
	}
	if len(unread) > 0 {
		rep.Unread = strings.Join(unread, "; ")
	}
	if rep.SystemTime == nil && rep.DataTime == nil && rep.VaseNo == "" && rep.Info == nil && rep.Unread == "" {
		return nil
	}
	return rep
}

func readClock(rep *message.StationReport, cp string, at time.Time, loc *time.Location) error {
	fields, err := hj212.ParseCP(cp)
	if err != nil {
		return err
	}
	v, ok := hj212.Lookup(fields, "SystemTime")
	if !ok {
		return errors.New("no SystemTime")
	}
	t, err := hj212.ParseTime(v, loc)
	if err != nil {
		return err
	}
	off := t.Sub(at.Truncate(time.Second)).Seconds()
	rep.SystemTime, rep.ClockOffsetS = &t, &off
	return nil
}

func readSample(rep *message.StationReport, cp string, loc *time.Location) error {
	fields, err := hj212.ParseCP(cp)
	if err != nil {
		return err
	}
	if v, ok := hj212.Lookup(fields, "DataTime"); ok {
		t, err := hj212.ParseTime(v, loc)
		if err != nil {
			return err
		}
		rep.DataTime = &t
	}
	rep.VaseNo, _ = hj212.Lookup(fields, "VaseNo")
	return nil
}
