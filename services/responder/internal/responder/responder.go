package responder

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverwatch/riverwatch/pkg/config"
	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/network"
	"github.com/riverwatch/riverwatch/pkg/notify"
	"github.com/riverwatch/riverwatch/pkg/ops"
	"github.com/riverwatch/riverwatch/pkg/store"
	"github.com/riverwatch/riverwatch/pkg/stream"
	"github.com/riverwatch/riverwatch/services/responder/internal/incident"
	"github.com/riverwatch/riverwatch/services/responder/internal/playbook"
	"github.com/segmentio/kafka-go"
)

// Sender delivers one notification (notify.Channels in production).
type Sender interface {
	Send(ctx context.Context, t notify.Target, m notify.Message) error
}

// publisher writes messages to one topic and returns once Kafka has them (*stream.Writer).
type publisher interface {
	Publish(ctx context.Context, msgs ...kafka.Message) error
	Close() error
}

// Deps are what New takes besides the configuration; tests replace the collaborators.
type Deps struct {
	Log      *slog.Logger
	Registry prometheus.Registerer
	Clock    incident.Clock // nil: the wall clock
	Sender   Sender         // nil: notify.Channels, signing with the contacts' secrets (notify.WithSecrets)
	// Archive is what the search step's source ranking reads; nil: ClickHouse, as the
	// configuration says (responder.clickhouse_*), opened at the first ranking.
	Archive store.SeriesReader
}

// Responder wires the incident engine to Kafka and to the notification channels.
type Responder struct {
	cfg    *config.Config
	rc     config.Responder
	kafka  stream.Cluster
	log    *slog.Logger
	clock  incident.Clock // nil: the wall clock
	net    *network.Network
	books  *playbook.Set
	key    message.CommandKey // commands apply only with its signature (the api's)
	sender Sender
	ranker *ranker // the upstream sources of the search step (sources.go)
	m      *metrics
	km     *stream.Metrics // of its consumers and writers

	// mu guards what the current generation owns (eng, pending and the fields below); held
	// while persisting, so writes keep their order.
	mu sync.Mutex
	// eng holds the incidents of the partitions this replica owns; nil while it owns none.
	eng *incident.Engine
	// contacts gives a delivery its address by contact key (the state holds none).
	contacts *notify.Contacts
	pending  incident.Changes
	// shards is the number of partitions of the events topic, the unit of ownership; owned
	// are those of this generation (generation.go).
	shards int
	owned  []int
	// serving is false between a generation's end and the next one's restore: nothing is
	// dispatched, ticked or applied then.
	serving bool
	// placement is the state partition of each incident held: the partition of the event
	// that opened it (or of a drill's basin), or the one it was restored from.
	placement map[string]int
	// commandsNext is, per partition of the commands topic, the next offset to apply;
	// commandsDirty says it moved since it was last written to the state partitions.
	commandsNext  map[int]int64
	commandsDirty bool

	updates  publisher
	state    publisher
	rejected publisher // undecodable events and commands (message.UndecodableRejection)
	stations publisher // the playbooks' station commands (riverwatch.station-commands)

	wake     chan struct{}
	slots    chan struct{} // one per delivery in flight
	inflight sync.WaitGroup
}

// Check loads the network, contacts and playbooks named by cfg, as New does, and reports
// what is wrong with them.
func Check(cfg *config.Config) error {
	_, _, _, err := load(cfg)
	_, kerr := loadCommandKey(cfg)
	return errors.Join(err, kerr)
}

// loadCommandKey reads the key commands are verified with (kafka.commands_key_file).
func loadCommandKey(cfg *config.Config) (message.CommandKey, error) {
	key, err := message.LoadCommandKey(cfg.Kafka.CommandsKeyFile)
	if err != nil {
		return key, fmt.Errorf("config key kafka.commands_key_file: %w", err)
	}
	return key, nil
}

func load(cfg *config.Config) (*network.Network, *notify.Contacts, *playbook.Set, error) {
	net, err := network.Load(cfg.SitesFile)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("config key sites_file: %w", err)
	}
	contacts, err := notify.LoadContacts(cfg.ContactsFile, net, cfg.Responder.WebhookURL)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("config key contacts_file: %w", err)
	}
	if err := contacts.CheckOperators(net); err != nil {
		return nil, nil, nil, fmt.Errorf("config key contacts_file: %w", err)
	}
	books, err := playbook.Load(cfg.PlaybooksFile, net, contacts)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("config key playbooks_file: %w", err)
	}
	return net, contacts, books, nil
}

// ReloadContacts reads contacts_file again (a new rota, SIGHUP) and swaps it in once it is
// valid against the network and the playbooks file (every role a playbook names declared);
// a file that is not leaves the directory in use. The playbooks themselves are not swapped:
// open incidents follow the steps they started with, and a changed playbooks file applies
// at the next start.
func (r *Responder) ReloadContacts() error {
	n, err := notify.LoadContacts(r.cfg.ContactsFile, r.net, r.rc.WebhookURL)
	if err != nil {
		return fmt.Errorf("config key contacts_file: %w", err)
	}
	if err := n.CheckOperators(r.net); err != nil {
		return fmt.Errorf("config key contacts_file: %w", err)
	}
	if _, err := playbook.Load(r.cfg.PlaybooksFile, r.net, n); err != nil {
		return fmt.Errorf("config key contacts_file: the playbooks do not hold with it: %w", err)
	}
	for _, gap := range r.books.Gaps(r.net, n) {
		r.log.Warn("no contact for a role that playbooks can reach; its steps will be logged as not delivered", "jurisdiction_role", gap)
	}
	r.contacts.Replace(n)
	return nil
}

// New loads the network, contacts and playbooks named by cfg and builds a responder.
// Configuration errors (with their line numbers) are returned here, before anything runs.
// The responder section is used as it is (config.Responder.Validate).
func New(cfg *config.Config, d Deps) (*Responder, error) {
	rc := cfg.Responder
	if err := rc.Validate(); err != nil {
		return nil, err
	}
	log := d.Log
	if log == nil {
		log = slog.Default()
	}
	net, contacts, books, err := load(cfg)
	if err != nil {
		return nil, err
	}
	key, err := loadCommandKey(cfg)
	if err != nil {
		return nil, err
	}
	kc, err := stream.NewCluster(cfg.Kafka)
	if err != nil {
		return nil, err
	}
	for _, gap := range books.Gaps(net, contacts) {
		log.Warn("no contact for a role that playbooks can reach; its steps will be logged as not delivered", "jurisdiction_role", gap)
	}
	reg := d.Registry
	sender := d.Sender
	if sender == nil {
		sender = notify.NewChannels(rc.DeliveryTimeout, &notify.SMTP{
			Addr: rc.SMTPAddr, From: rc.SMTPFrom, Username: rc.SMTPUsername, Password: rc.SMTPPassword,
		}, notify.WithSecrets(contacts, rc.WebhookSecret))
	}
	m := newMetrics(reg)
	km := stream.NewMetrics(reg, "responder")
	r := &Responder{
		cfg: cfg, rc: rc, log: log, net: net, books: books, sender: sender, m: m, contacts: contacts, key: key,
		clock:    d.Clock,
		km:       km,
		kafka:    kc,
		updates:  stream.NewWriter(stream.WriterConfig{Cluster: kc, Topic: cfg.Kafka.Topics.Incidents, BatchTimeout: cfg.Kafka.BatchTimeout, Label: "incidents"}, km),
		state:    stream.NewWriter(stream.WriterConfig{Cluster: kc, Topic: rc.StateTopic, BatchTimeout: cfg.Kafka.BatchTimeout, Label: "state"}, km),
		rejected: stream.NewWriter(stream.WriterConfig{Cluster: kc, Topic: cfg.Kafka.Topics.Rejected, BatchTimeout: cfg.Kafka.BatchTimeout, Label: "rejected"}, km),
		stations: stream.NewWriter(stream.WriterConfig{Cluster: kc, Topic: cfg.Kafka.Topics.StationCommands, BatchTimeout: cfg.Kafka.BatchTimeout, Label: "station_commands"}, km),
		wake:     make(chan struct{}, 1),
		slots:    make(chan struct{}, rc.Workers),
		ranker:   &ranker{cfg: cfg, net: net, log: log, src: d.Archive},
	}
	return r, nil
}

// Run joins the responders' consumer group on the events topic and, for each generation,
// restores the state of the partitions assigned (generation.go), then consumes their events
// and every command, escalates and delivers until ctx is done. ready is called with true
// once the first generation is restored.
func (r *Responder) Run(ctx context.Context, ready func(bool)) error {
	defer r.updates.Close()
	defer r.state.Close()
	defer r.rejected.Close()
	defer r.stations.Close()
	defer r.ranker.close()
	k := r.cfg.Kafka
	if err := stream.EnsureTopics(ctx, r.kafka,
		stream.TopicSpec{Name: r.rc.StateTopic, Partitions: k.Partitions, Compacted: true},
		stream.TopicSpec{Name: k.Topics.Events, Partitions: k.Partitions},
		stream.TopicSpec{Name: k.Topics.Commands, Partitions: k.Partitions},
		stream.TopicSpec{Name: k.Topics.Incidents, Partitions: k.Partitions},
		stream.TopicSpec{Name: k.Topics.Rejected, Partitions: k.Partitions},
	); err != nil {
		return fmt.Errorf("responder topics: %w", err)
	}
	topo, err := r.topology(ctx)
	if err != nil {
		return err
	}
	events := stream.NewConsumer(stream.ConsumerConfig{
		Cluster: r.kafka, Topic: k.Topics.Events, GroupID: k.GroupPrefix + ".responder.events",
		MaxRows: 500, MaxDelay: 20 * time.Millisecond, MaxWait: k.MaxWait, Logger: r.log, Metrics: r.km,
	})
	var readyOnce sync.Once
	restored := func() {
		if ready != nil {
			readyOnce.Do(func() { ready(true) })
		}
	}
	if ready != nil {
		defer ready(false)
	}
	// Stopped in reverse order: the consumer first (its generation's end waits for the
	// deliveries in flight and writes the state), then the clock, then the dispatcher.
	var g ops.Group
	g.Add("dispatch", r.dispatchLoop)
	g.Add("tick", r.tickLoop)
	g.Add("events", func(c context.Context) error {
		return events.Consume(c, func(gctx context.Context, gen *stream.Generation) (stream.Session, error) {
			return r.openGeneration(gctx, events, gen, topo, restored)
		})
	})
	gerr := g.Run(ctx)
	r.inflight.Wait()
	return gerr
}

// flush publishes pending updates, then writes the state of every changed incident to its
// partition (and of every changed silence, and the commands position, to each partition
// owned). It must be called with r.mu held; on failure what is left stays pending for the
// next call.
func (r *Responder) flush(ctx context.Context) error {
	if r.pending.Empty() && !r.commandsDirty {
		return nil
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	if updates := r.ownUpdates(r.pending.Updates); len(updates) > 0 {
		msgs := make([]kafka.Message, 0, len(updates))
		for _, u := range updates {
			b, err := json.Marshal(u)
			if err != nil {
				return fmt.Errorf("encode incident update: %w", err)
			}
			msgs = append(msgs, kafka.Message{Key: []byte(updateKey(u)), Value: b})
		}
		if err := r.updates.Publish(wctx, msgs...); err != nil {
			r.m.persistErrors.Inc()
			return err
		}
		for _, u := range updates {
			if u.Notification != nil && u.Notification.Status == "inhibited" {
				r.m.inhibited.Inc()
			}
		}
	}
	r.pending.Updates = nil
	if err := r.publishStationCommands(wctx); err != nil {
		r.m.persistErrors.Inc()
		return err
	}
	msgs, err := r.stateMessages()
	if err != nil {
		return err
	}
	if err := r.state.Publish(wctx, msgs...); err != nil {
		r.m.persistErrors.Inc()
		return err
	}
	for _, id := range r.pending.Removed {
		delete(r.placement, id)
	}
	r.pending = incident.Changes{}
	r.commandsDirty = false
	return nil
}

// stateMessages encodes what flush writes to the state topic, each message with the
// partition it belongs in (stream.ByHeader): an incident in its own, a silence and the
// commands position in every partition owned, so that whoever owns any of them next has
// the silences and knows where to resume the commands.
func (r *Responder) stateMessages() ([]kafka.Message, error) {
	var msgs []kafka.Message
	add := func(key string, value []byte, partitions ...int) {
		for _, p := range partitions {
			msgs = append(msgs, kafka.Message{Key: []byte(key), Value: value, Headers: []kafka.Header{stream.PartitionHeader(p)}})
		}
	}
	for _, id := range r.pending.Dirty {
		b, ok, err := r.eng.Marshal(id)
		if err != nil {
			return nil, err
		}
		if ok {
			add(id, b, r.partitionsOf(id)...)
		}
	}
	for _, id := range r.pending.Removed {
		add(id, nil, r.partitionsOf(id)...) // tombstone
	}
	if r.commandsDirty {
		b, err := json.Marshal(commandsPosition{Next: r.commandsNext})
		if err != nil {
			return nil, fmt.Errorf("encode commands position: %w", err)
		}
		add(commandsPositionKey, b, r.owned...)
	}
	return msgs, nil
}

// partitionsOf is where a state key is written: a silence in every partition owned, an
// incident in its own (one opened without a placement, which the event and drill paths
// always give, in its basin's).
func (r *Responder) partitionsOf(key string) []int {
	if strings.HasPrefix(key, incident.SilenceKeyPrefix) {
		return r.owned
	}
	p, ok := r.placement[key]
	if !ok {
		inc, _ := r.eng.Get(key)
		p = stream.Shard(r.net.Basin(inc.Site), r.shards)
		r.placement[key] = p
	}
	return []int{p}
}

// ownUpdates leaves out the updates of silences this replica is not the home of: every
// replica applies every silence to its own incidents, and only the owner of the silence's
// home partition (stream.Shard of its id) publishes the silence and its audit trail, so
// that each is published once. A replica owning every partition publishes all.
func (r *Responder) ownUpdates(updates []message.IncidentUpdate) []message.IncidentUpdate {
	if len(r.owned) == r.shards {
		return updates
	}
	silences := map[string]bool{}
	for _, u := range updates {
		if u.Silence != nil {
			silences[u.Silence.ID] = true
		}
	}
	out := updates[:0:0]
	for _, u := range updates {
		id := ""
		switch {
		case u.Silence != nil:
			id = u.Silence.ID
		case u.Log != nil && silences[u.Log.IncidentID]:
			id = u.Log.IncidentID
		}
		if id != "" && !r.ownsPartition(stream.Shard(id, r.shards)) {
			continue
		}
		out = append(out, u)
	}
	return out
}

// ownsPartition reports whether partition p of the events topic is this generation's.
func (r *Responder) ownsPartition(p int) bool { return slices.Contains(r.owned, p) }

// publishStationCommands publishes the playbooks' pending station commands, keyed by site
// (docs/architecture.md, Station commands); r.mu is held.
func (r *Responder) publishStationCommands(ctx context.Context) error {
	if len(r.pending.StationCommands) == 0 {
		return nil
	}
	msgs := make([]kafka.Message, 0, len(r.pending.StationCommands))
	for _, c := range r.pending.StationCommands {
		b, err := json.Marshal(c)
		if err != nil {
			return fmt.Errorf("encode station command: %w", err)
		}
		msgs = append(msgs, kafka.Message{Key: []byte(c.Site), Value: b})
	}
	if err := r.stations.Publish(ctx, msgs...); err != nil {
		return fmt.Errorf("publish station commands: %w", err)
	}
	r.pending.StationCommands = nil
	return nil
}

func updateKey(u message.IncidentUpdate) string {
	switch {
	case u.Incident != nil:
		return u.Incident.ID
	case u.Log != nil && u.Log.IncidentID != "":
		return u.Log.IncidentID
	case u.Log != nil:
		return u.Log.CommandID
	case u.Notification != nil:
		return u.Notification.IncidentID
	case u.Silence != nil:
		return u.Silence.ID
	}
	return ""
}

// decodeOrReject decodes a batch's records as T and writes every record that does not
// decode to the rejected topic, before anything of the batch is applied: a failed write
// leaves nothing done, and the consumer retries the whole batch. It returns the decoded
// records, the partition each came from, and how many were refused.
func decodeOrReject[T any](ctx context.Context, r *Responder, batch []kafka.Message, what string) ([]T, []int, int, error) {
	out := make([]T, 0, len(batch))
	parts := make([]int, 0, len(batch))
	var rejections []message.Rejection
	for _, km := range batch {
		var v T
		if err := json.Unmarshal(km.Value, &v); err != nil {
			r.log.Warn("undecodable "+what+" recorded as rejected", "topic", km.Topic, "partition", km.Partition, "offset", km.Offset, "err", err)
			rejections = append(rejections, message.UndecodableRejection(rejectionSource, km.Topic, km.Partition, km.Offset, km.Time, km.Value, err))
			continue
		}
		out = append(out, v)
		parts = append(parts, km.Partition)
	}
	if err := r.reject(ctx, rejections); err != nil {
		return nil, nil, 0, err
	}
	return out, parts, len(rejections), nil
}

// handleEvents applies a batch of events; the consumer commits only after it returns nil,
// i.e. after the rejections of undecodable events and the resulting state are in Kafka.
// An incident an event opens is placed in the event's partition.
func (r *Responder) handleEvents(ctx context.Context, batch []kafka.Message) error {
	evs, parts, refused, err := decodeOrReject[message.Event](ctx, r, batch, "event")
	if err != nil {
		return err
	}
	if refused > 0 {
		r.m.events.WithLabelValues(incident.OutcomeInvalid).Add(float64(refused))
	}
	// The upstream ranking of a new section exceedance reads the archive: outside the
	// lock, so that deliveries and the clock go on meanwhile, and bounded.
	r.mu.Lock()
	want := make([]bool, len(evs))
	for i, ev := range evs {
		want[i] = r.eng != nil && r.eng.WantsSources(ev)
	}
	r.mu.Unlock()
	ranked := r.rankSources(ctx, evs, want)
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, ev := range evs {
		var (
			outcome string
			ch      incident.Changes
			err     error
		)
		if src, ok := ranked[i]; ok {
			outcome, ch, err = r.eng.HandleEventWithSources(ev, *src)
		} else {
			outcome, ch, err = r.eng.HandleEvent(ev)
		}
		r.m.events.WithLabelValues(outcome).Inc()
		if err != nil {
			r.log.Warn("invalid event skipped", "event", ev.ID, "err", err)
		}
		if outcome == incident.OutcomeOpened {
			r.log.Info("incident opened", "event", ev.ID, "type", ev.Type, "site", ev.Site, "parameter", ev.Parameter)
		}
		r.place(ch, parts[i])
		r.pending.Merge(ch)
	}
	err = r.flush(ctx)
	r.kick()
	return err
}

// place gives the incidents a change created the state partition p.
func (r *Responder) place(ch incident.Changes, p int) {
	if p < 0 {
		return
	}
	for _, id := range ch.Dirty {
		if _, ok := r.placement[id]; !ok && !strings.HasPrefix(id, incident.SilenceKeyPrefix) {
			r.placement[id] = p
		}
	}
}

// handleCommands applies command records in order (generation.go reads them one by one;
// tests hand over several).
func (r *Responder) handleCommands(ctx context.Context, batch []kafka.Message) error {
	for _, km := range batch {
		if err := r.handleCommand(ctx, km); err != nil {
			return err
		}
	}
	return nil
}

// handleCommand applies one record of the commands topic, which every replica reads whole:
// a command applies where it belongs (route), and what it refuses is recorded by one
// replica, the owner of the partition with the record's partition number (its home).
// The record's position is kept with the state, so a replay skips what was applied.
func (r *Responder) handleCommand(ctx context.Context, km kafka.Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.serving {
		return nil
	}
	if next, ok := r.commandsNext[km.Partition]; ok && km.Offset < next {
		return nil
	}
	home := r.ownsPartition(km.Partition % r.shards)
	batch := []kafka.Message{km}
	signed, forged := r.verifyCommands(batch)
	if !home {
		forged = nil
	}
	if err := r.reject(ctx, forged); err != nil {
		return err
	}
	for _, rej := range forged {
		r.m.commands.WithLabelValues("", rej.Reason).Inc()
	}
	var cmd message.Command
	if len(signed) == 1 {
		if err := json.Unmarshal(km.Value, &cmd); err != nil {
			if home {
				r.log.Warn("undecodable command recorded as rejected", "topic", km.Topic, "partition", km.Partition, "offset", km.Offset, "err", err)
				rej := message.UndecodableRejection(rejectionSource, km.Topic, km.Partition, km.Offset, km.Time, km.Value, err)
				if err := r.reject(ctx, []message.Rejection{rej}); err != nil {
					return err
				}
				r.m.commands.WithLabelValues("", incident.OutcomeInvalid).Inc()
			}
			signed = nil
		}
	}
	if len(signed) == 1 {
		if apply, p := r.route(cmd); apply {
			outcome, ch := r.eng.HandleCommand(cmd)
			r.m.commands.WithLabelValues(cmd.Type, outcome).Inc()
			r.log.Info("command", "id", cmd.ID, "type", cmd.Type, "incident", cmd.IncidentID, "silence", cmd.SilenceID, "outcome", outcome)
			r.place(ch, p)
			r.pending.Merge(ch)
		}
	}
	r.commandsNext[km.Partition] = km.Offset + 1
	r.commandsDirty = true
	err := r.flush(ctx)
	r.kick()
	return err
}

// route says whether this replica applies cmd, and in which partition an incident it
// opens is placed: a silence everywhere (each replica holds it for its own incidents); a
// drill where its site's basin is owned; an incident's command where the incident is held,
// or, for a command naming the incident's site, where that basin is owned (which records
// that no such incident exists). A replica owning every partition applies everything.
func (r *Responder) route(cmd message.Command) (bool, int) {
	all := len(r.owned) == r.shards
	switch cmd.Type {
	case message.CommandSilenceCreate, message.CommandSilenceExpire:
		return true, -1
	case message.CommandDrill:
		p := stream.Shard(r.net.Basin(cmd.Site), r.shards)
		return all || r.ownsPartition(p), p
	}
	if _, held := r.eng.State(cmd.IncidentID); held {
		return true, -1
	}
	if cmd.Site != "" {
		return all || r.ownsPartition(stream.Shard(r.net.Basin(cmd.Site), r.shards)), -1
	}
	return all, -1
}

// verifyCommands splits a batch into the commands signed with the responder's key and the
// rejections of the others (unsigned, or signed with another key or altered after
// signing): only the api holds the key, so whoever else writes to the commands topic
// changes nothing, and what they wrote is recorded.
func (r *Responder) verifyCommands(batch []kafka.Message) ([]kafka.Message, []message.Rejection) {
	signed := make([]kafka.Message, 0, len(batch))
	var forged []message.Rejection
	for _, km := range batch {
		var sig string
		for _, h := range km.Headers {
			if h.Key == message.HeaderCommandSignature {
				sig = string(h.Value)
			}
		}
		err := r.key.Verify(km.Value, sig)
		if err == nil {
			signed = append(signed, km)
			continue
		}
		reason := message.ReasonBadSignature
		if errors.Is(err, message.ErrUnsignedCommand) {
			reason = message.ReasonUnsignedCommand
		}
		rej := message.UndecodableRejection(rejectionSource, km.Topic, km.Partition, km.Offset, km.Time, km.Value, err)
		rej.Reason = reason
		rej.ID = message.RejectionID(rejectionSource, reason, rej.ReceivedAt, rej.Remote+"\x00"+rej.Raw)
		r.log.Warn("command not applied: its signature does not verify", "reason", reason,
			"topic", km.Topic, "partition", km.Partition, "offset", km.Offset)
		forged = append(forged, rej)
	}
	return signed, forged
}

// rejectionSource is the Rejection.Source of what the responder records on the rejected
// topic.
const rejectionSource = "responder"

// reject records undecodable input on the rejected topic, as every consumer does, and
// returns once Kafka has it.
func (r *Responder) reject(ctx context.Context, rejections []message.Rejection) error {
	if len(rejections) == 0 {
		return nil
	}
	msgs := make([]kafka.Message, 0, len(rejections))
	for _, rej := range rejections {
		v, err := json.Marshal(rej)
		if err != nil {
			return fmt.Errorf("encode rejection of %s: %w", rej.Remote, err)
		}
		msgs = append(msgs, kafka.Message{Key: []byte(rej.ID), Value: v})
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	if err := r.rejected.Publish(wctx, msgs...); err != nil {
		r.m.persistErrors.Inc()
		return fmt.Errorf("record %d undecodable messages: %w", len(msgs), err)
	}
	return nil
}

func (r *Responder) tickLoop(ctx context.Context) error {
	t := time.NewTicker(r.rc.TickInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		r.tick(ctx)
		r.kick()
	}
}

// tick runs the engine's clock (escalations, expiries) and refreshes the gauges.
func (r *Responder) tick(ctx context.Context) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.serving {
		return
	}
	r.pending.Merge(r.eng.Tick())
	if err := r.flush(ctx); err != nil {
		r.log.Warn("state write failed; will retry", "err", err)
	}
	for status, n := range r.eng.Counts() {
		r.m.incidents.WithLabelValues(status).Set(float64(n))
	}
	r.m.queued.Set(float64(r.eng.Pending()))
	for st, n := range r.eng.SilenceCounts() {
		r.m.silences.WithLabelValues(st).Set(float64(n))
	}
}

func (r *Responder) kick() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *Responder) dispatchLoop(ctx context.Context) error {
	t := time.NewTicker(r.rc.TickInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-r.wake:
		case <-t.C:
		}
		r.dispatch(ctx)
	}
}

// dispatch starts as many due deliveries as there are free workers. Each is recorded as
// being sent (durably) before it is attempted, and its outcome is recorded when it ends.
func (r *Responder) dispatch(ctx context.Context) {
	free := cap(r.slots) - len(r.slots)
	if free == 0 || ctx.Err() != nil {
		return
	}
	r.mu.Lock()
	if !r.serving {
		r.mu.Unlock()
		return
	}
	ds, ch := r.eng.StartDeliveries(free)
	r.pending.Merge(ch)
	if err := r.flush(ctx); err != nil {
		r.eng.AbortDeliveries(ds) // not durable: do not deliver
		r.mu.Unlock()
		r.log.Warn("write-ahead of deliveries failed; not delivering yet", "err", err)
		return
	}
	// Counted before the lock is let go, so that a generation ending now waits for them.
	r.inflight.Add(len(ds))
	r.mu.Unlock()
	for _, d := range ds {
		r.slots <- struct{}{}
		go func() {
			defer r.inflight.Done()
			defer func() { <-r.slots; r.kick() }()
			r.deliver(ctx, d)
		}()
	}
}

func (r *Responder) deliver(ctx context.Context, d incident.Delivery) {
	// A delivery that started finishes even during shutdown, so that its outcome is recorded.
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.rc.DeliveryTimeout)
	defer cancel()
	// No secret here: the sender looks it up at delivery time (notify.WithSecrets), so
	// that none is ever part of the delivery the state topic records.
	target := notify.Target{Channel: d.Channel, Address: r.address(d)}
	msg := notify.Message{
		Key: d.Key, IncidentID: d.IncidentID, StepID: d.StepID, Kind: d.Kind, Jurisdiction: d.Jurisdiction,
		Role: d.Role, Recipient: d.Name, Subject: d.Subject, Body: d.Body, Level: d.Level, Colour: d.Colour,
		Drill: d.Drill, Attempt: d.Attempt, Link: r.link(d.IncidentID),
	}
	start := time.Now()
	// Scrubbed again (the sender may not be notify.Channels): the error text is logged and
	// recorded in the state and incidents topics, and a robot's URL is its credential.
	err := notify.Redact(r.sender.Send(dctx, target, msg), d.Target)
	r.m.deliveryTime.WithLabelValues(d.Channel).Observe(time.Since(start).Seconds())
	status := "sent"
	if err != nil {
		status = "failed"
		r.log.Warn("delivery failed", "key", d.Key, "channel", d.Channel, "attempt", d.Attempt, "err", err)
	}
	r.m.notifications.WithLabelValues(d.Channel, status).Inc()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pending.Merge(r.eng.FinishDelivery(d, err, notify.IsPermanent(err)))
	if err := r.flush(ctx); err != nil {
		r.log.Warn("recording a delivery failed; will retry", "key", d.Key, "err", err)
	}
}

// link is an incident's page on the dashboard (responder.dashboard_url), empty without one.
func (r *Responder) link(incidentID string) string {
	if r.rc.DashboardURL == "" {
		return ""
	}
	return strings.TrimRight(r.rc.DashboardURL, "/") + "/#/incidents/" + url.PathEscape(incidentID)
}

// address looks the contact's address up by its key (the outbox in the state topic holds
// none); a delivery whose contact is gone from the directory keeps the address it was
// queued with while the responder runs.
func (r *Responder) address(d incident.Delivery) string {
	if r.contacts != nil {
		if c, ok := r.contacts.Lookup(d.Jurisdiction, d.Role, d.Name, d.Channel); ok {
			return c.Target
		}
	}
	return d.Target
}

var errNoBrokers = errors.New("no kafka brokers configured")
