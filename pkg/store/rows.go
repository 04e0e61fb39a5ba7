package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"
	"unicode/utf8"

	"github.com/riverwatch/riverwatch/pkg/config"
	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/silence"
	"github.com/segmentio/kafka-go"
)

// Kind names what a topic carries, and so which tables its messages go to.
type Kind string

// The topics the archiver consumes. riverwatch.commands is not archived: every command's
// effect reaches the incident log through the responder.
const (
	KindReadings  Kind = "readings"  // message.Reading → readings (+ rollups)
	KindRejected  Kind = "rejected"  // message.Rejection → rejected
	KindEvents    Kind = "events"    // message.Event → events
	KindIncidents Kind = "incidents" // message.IncidentUpdate → incidents, incident_log, notifications
	// KindCorrections: message.Correction → the corrected reading in readings (+ rollups),
	// and the record in corrections.
	KindCorrections Kind = "corrections"
	// KindStationCommands: message.StationCommand (requests and outcomes) → station_commands.
	KindStationCommands Kind = "station_commands"
	// KindRawFrames: message.RawFrame (accepted HJ 212 frames, PW masked) → raw_frames.
	KindRawFrames Kind = "raw_frames"
)

// Kinds returns the archived topic kinds in pipeline order.
func Kinds() []Kind {
	return []Kind{KindReadings, KindRejected, KindEvents, KindIncidents, KindCorrections, KindStationCommands, KindRawFrames}
}

// Topic returns the topic of a kind in a configuration.
func (k Kind) Topic(t config.Topics) string {
	switch k {
	case KindReadings:
		return t.Readings
	case KindRejected:
		return t.Rejected
	case KindEvents:
		return t.Events
	case KindIncidents:
		return t.Incidents
	case KindCorrections:
		return t.Corrections
	case KindStationCommands:
		return t.StationCommands
	case KindRawFrames:
		return t.RawFrames
	}
	return ""
}

// ParseKind accepts a kind ("readings") or a configured topic name ("riverwatch.readings")
// and returns the kind and the topic.
func ParseKind(t config.Topics, s string) (Kind, string, error) {
	for _, k := range Kinds() {
		if s == string(k) || s == k.Topic(t) {
			return k, k.Topic(t), nil
		}
	}
	return "", "", fmt.Errorf("unknown topic %q: want one of readings, rejected, events, incidents, corrections, station_commands, raw_frames or their topic names", s)
}

// ReasonDecode is the rejection reason of a message the archiver could not decode or that
// lacks what its table needs: the contract's message.ReasonUndecodable, which every
// consumer uses. The message is recorded in rejected and committed, so that one bad
// message never blocks a topic.
const ReasonDecode = message.ReasonUndecodable

// sourceArchiver is the Rejection.Source of the archiver's own rejections.
const sourceArchiver = "archiver"

var (
	epoch   = time.Unix(0, 0).UTC()
	maxTime = time.Date(2105, 12, 31, 0, 0, 0, 0, time.UTC) // DateTime is UInt32 seconds
)

// blockCol is one column of a block: its name and a typed slice of values.
type blockCol struct {
	name string
	data any
}

// block is the rows of one table from one batch, held column by column, the way the native
// protocol sends them.
type block struct {
	table string
	rows  int
	cols  []blockCol
}

func (b block) names() []string {
	out := make([]string, len(b.cols))
	for i, c := range b.cols {
		out[i] = c.name
	}
	return out
}

// split returns a DateTime second and its millisecond part, clamped to what DateTime holds.
func split(t time.Time) (time.Time, uint16) {
	t = t.UTC()
	if t.Before(epoch) {
		return epoch, 0
	}
	if t.After(maxTime) {
		return maxTime, 0
	}
	return t.Truncate(time.Second), uint16(t.Nanosecond() / int(time.Millisecond))
}

func sec(t time.Time) time.Time {
	s, _ := split(t)
	return s
}

func nullTime(t *time.Time) *time.Time {
	if t == nil || t.IsZero() {
		return nil
	}
	s := sec(*t)
	return &s
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return nullTime(&t)
}

func inRange(t time.Time) bool { return !t.Before(epoch) && !t.After(maxTime) }

func boolByte(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

func strs(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

type readingRows struct {
	id, site, station, parameter, unit, interval, flag, source []string
	value                                                      []float64
	vmin, vmax                                                 []*float64
	observedAt, receivedAt                                     []time.Time
	observedMs                                                 []uint16
	version                                                    []uint64
	belowDL                                                    []uint8
}

// reserve makes room for n readings at once: a batch is tens of thousands of readings, and
// growing fifteen slices by doubling would be most of the archiver's garbage.
func (r *readingRows) reserve(n int) {
	strs := func() []string { return make([]string, 0, n) }
	r.id, r.site, r.station, r.parameter, r.unit = strs(), strs(), strs(), strs(), strs()
	r.interval, r.flag, r.source = strs(), strs(), strs()
	r.value = make([]float64, 0, n)
	r.vmin, r.vmax = make([]*float64, 0, n), make([]*float64, 0, n)
	r.observedAt, r.receivedAt = make([]time.Time, 0, n), make([]time.Time, 0, n)
	r.observedMs = make([]uint16, 0, n)
	r.version = make([]uint64, 0, n)
	r.belowDL = make([]uint8, 0, n)
}

func (r *readingRows) add(x *message.Reading) { r.addVersion(x, ReadingVersion(x.ReceivedAt)) }

// addVersion adds a reading with the version its row is stored with.
func (r *readingRows) addVersion(x *message.Reading, version uint64) {
	obs, ms := split(x.ObservedAt)
	r.id = append(r.id, x.ID)
	r.site = append(r.site, x.Site)
	r.station = append(r.station, x.Station)
	r.parameter = append(r.parameter, x.Parameter)
	r.value = append(r.value, x.Value)
	r.unit = append(r.unit, x.Unit)
	r.vmin = append(r.vmin, x.Min)
	r.vmax = append(r.vmax, x.Max)
	r.interval = append(r.interval, x.Interval)
	r.flag = append(r.flag, x.Flag)
	r.observedAt = append(r.observedAt, obs)
	r.observedMs = append(r.observedMs, ms)
	r.receivedAt = append(r.receivedAt, sec(x.ReceivedAt))
	r.source = append(r.source, x.Source)
	r.version = append(r.version, version)
	r.belowDL = append(r.belowDL, boolByte(x.BelowDL))
}

func (r *readingRows) block() block {
	return block{table: TableReadings, rows: len(r.id), cols: []blockCol{
		{"id", r.id}, {"site", r.site}, {"station", r.station}, {"parameter", r.parameter},
		{"value", r.value}, {"unit", r.unit}, {"value_min", r.vmin}, {"value_max", r.vmax},
		{"interval_kind", r.interval}, {"flag", r.flag}, {"observed_at", r.observedAt},
		{"observed_ms", r.observedMs}, {"received_at", r.receivedAt}, {"source", r.source},
		{"version", r.version}, {"below_dl", r.belowDL},
	}}
}

type rejectedRows struct {
	id, reason, detail, station, site, parameter, source, remote, raw []string
	receivedAt                                                        []time.Time
	receivedMs                                                        []uint16
}

func (r *rejectedRows) add(x *message.Rejection) {
	at, ms := split(x.ReceivedAt)
	r.id = append(r.id, x.ID)
	r.reason = append(r.reason, x.Reason)
	r.detail = append(r.detail, x.Detail)
	r.station = append(r.station, x.Station)
	r.site = append(r.site, x.Site)
	r.parameter = append(r.parameter, x.Parameter)
	r.source = append(r.source, x.Source)
	r.remote = append(r.remote, x.Remote)
	r.raw = append(r.raw, message.TruncateRaw(x.Raw))
	r.receivedAt = append(r.receivedAt, at)
	r.receivedMs = append(r.receivedMs, ms)
}

func (r *rejectedRows) block() block {
	return block{table: TableRejected, rows: len(r.id), cols: []blockCol{
		{"id", r.id}, {"reason", r.reason}, {"detail", r.detail}, {"station", r.station},
		{"site", r.site}, {"parameter", r.parameter}, {"source", r.source}, {"remote", r.remote},
		{"raw", r.raw}, {"received_at", r.receivedAt}, {"received_ms", r.receivedMs},
	}}
}

type rawFrameRows struct {
	id, site, mn, qn, cn, remote, raw []string
	dataTime, receivedAt              []time.Time
	receivedMs                        []uint16
	readingIDs                        [][]string
}

func (r *rawFrameRows) add(x *message.RawFrame) {
	at, ms := split(x.ReceivedAt)
	r.id = append(r.id, x.ID)
	r.site = append(r.site, x.Site)
	r.mn = append(r.mn, x.MN)
	r.qn = append(r.qn, x.QN)
	r.cn = append(r.cn, x.CN)
	r.dataTime = append(r.dataTime, sec(x.DataTime))
	r.receivedAt = append(r.receivedAt, at)
	r.receivedMs = append(r.receivedMs, ms)
	r.remote = append(r.remote, x.Remote)
	r.raw = append(r.raw, message.TruncateRaw(x.Raw))
	ids := x.ReadingIDs
	if ids == nil {
		ids = []string{}
	}
	r.readingIDs = append(r.readingIDs, ids)
}

func (r *rawFrameRows) block() block {
	return block{table: TableRawFrames, rows: len(r.id), cols: []blockCol{
		{"id", r.id}, {"site", r.site}, {"mn", r.mn}, {"qn", r.qn}, {"cn", r.cn}, {"data_time", r.dataTime},
		{"received_at", r.receivedAt}, {"received_ms", r.receivedMs}, {"remote", r.remote}, {"raw", r.raw},
		{"reading_ids", r.readingIDs},
	}}
}

type eventRows struct {
	id, typ, site, river, parameter, targetClass, class, severity, reason []string
	readingID, originSite, originEventID                                  []string
	value, limit, multiple, predicted, distance                           []float64
	observedAt, emittedAt                                                 []time.Time
	observedMs                                                            []uint16
	readingReceivedAt, arrivalAt                                          []*time.Time
	version                                                               []uint64
	// The verification (migration 11).
	vOutcome                         []string
	vThreshold, riseErr, peakTimeErr []float64
	peakErr, durationErr             []float64
	riseAt, peakAt, fallAt           []*time.Time
}

func (r *eventRows) add(x *message.Event) {
	obs, ms := split(x.ObservedAt)
	r.id = append(r.id, x.ID)
	r.typ = append(r.typ, x.Type)
	r.site = append(r.site, x.Site)
	r.river = append(r.river, x.River)
	r.parameter = append(r.parameter, x.Parameter)
	r.value = append(r.value, x.Value)
	r.limit = append(r.limit, x.Limit)
	r.targetClass = append(r.targetClass, x.TargetClass)
	r.class = append(r.class, x.Class)
	r.multiple = append(r.multiple, x.Multiple)
	r.severity = append(r.severity, x.Severity)
	r.reason = append(r.reason, x.Reason)
	r.observedAt = append(r.observedAt, obs)
	r.observedMs = append(r.observedMs, ms)
	r.emittedAt = append(r.emittedAt, sec(x.EmittedAt))
	r.readingID = append(r.readingID, x.ReadingID)
	r.readingReceivedAt = append(r.readingReceivedAt, optTime(x.ReadingReceivedAt))
	r.originSite = append(r.originSite, x.OriginSite)
	r.originEventID = append(r.originEventID, x.OriginEventID)
	r.arrivalAt = append(r.arrivalAt, optTime(x.ArrivalAt))
	r.predicted = append(r.predicted, x.PredictedValue)
	r.distance = append(r.distance, x.DistanceKm)
	// The latest emission of an event id wins.
	r.version = append(r.version, uint64(max(x.EmittedAt.UnixMilli(), 0)))
	v := &x.Verification
	r.vOutcome = append(r.vOutcome, v.Outcome)
	r.vThreshold = append(r.vThreshold, v.Threshold)
	r.riseAt = append(r.riseAt, optTime(v.RiseAt))
	r.peakAt = append(r.peakAt, optTime(v.PeakAt))
	r.fallAt = append(r.fallAt, optTime(v.FallAt))
	r.riseErr = append(r.riseErr, v.RiseErrorS)
	r.peakTimeErr = append(r.peakTimeErr, v.PeakTimeErrorS)
	r.peakErr = append(r.peakErr, v.PeakError)
	r.durationErr = append(r.durationErr, v.DurationErrorS)
}

func (r *eventRows) block() block {
	return block{table: TableEvents, rows: len(r.id), cols: []blockCol{
		{"id", r.id}, {"type", r.typ}, {"site", r.site}, {"river", r.river},
		{"parameter", r.parameter}, {"value", r.value}, {"limit_value", r.limit},
		{"target_class", r.targetClass}, {"class", r.class}, {"multiple", r.multiple},
		{"severity", r.severity}, {"reason", r.reason}, {"observed_at", r.observedAt},
		{"observed_ms", r.observedMs}, {"emitted_at", r.emittedAt}, {"reading_id", r.readingID},
		{"reading_received_at", r.readingReceivedAt}, {"origin_site", r.originSite},
		{"origin_event_id", r.originEventID}, {"arrival_at", r.arrivalAt},
		{"predicted_value", r.predicted}, {"distance_km", r.distance}, {"version", r.version},
		{"verification_outcome", r.vOutcome}, {"verification_threshold", r.vThreshold},
		{"rise_at", r.riseAt}, {"peak_at", r.peakAt}, {"fall_at", r.fallAt},
		{"rise_error_s", r.riseErr}, {"peak_time_error_s", r.peakTimeErr},
		{"peak_error", r.peakErr}, {"duration_error_s", r.durationErr},
	}}
}

type incidentRows struct {
	id, title, status, level, colour, playbook, river, site, steps, doc []string
	version                                                             []uint64
	sites, parameters, jurisdictions, eventIDs                          [][]string
	drill                                                               []uint8
	openedAt, updatedAt                                                 []time.Time
	ackedAt, resolvedAt, closedAt                                       []*time.Time
}

func (r *incidentRows) add(x *message.Incident) error {
	steps, err := json.Marshal(x.Steps)
	if err != nil {
		return fmt.Errorf("incident %s steps: %w", x.ID, err)
	}
	doc, err := json.Marshal(x)
	if err != nil {
		return fmt.Errorf("incident %s: %w", x.ID, err)
	}
	if x.Steps == nil {
		steps = []byte("[]")
	}
	r.id = append(r.id, x.ID)
	r.version = append(r.version, x.Version)
	r.title = append(r.title, x.Title)
	r.status = append(r.status, x.Status)
	r.level = append(r.level, x.Level)
	r.colour = append(r.colour, x.Colour)
	r.playbook = append(r.playbook, x.Playbook)
	r.river = append(r.river, x.River)
	r.site = append(r.site, x.Site)
	r.sites = append(r.sites, strs(x.Sites))
	r.parameters = append(r.parameters, strs(x.Parameters))
	r.jurisdictions = append(r.jurisdictions, strs(x.Jurisdictions))
	r.drill = append(r.drill, boolByte(x.Drill))
	r.eventIDs = append(r.eventIDs, strs(x.EventIDs))
	r.steps = append(r.steps, string(steps))
	r.openedAt = append(r.openedAt, sec(x.OpenedAt))
	r.ackedAt = append(r.ackedAt, nullTime(x.AckedAt))
	r.resolvedAt = append(r.resolvedAt, nullTime(x.ResolvedAt))
	r.closedAt = append(r.closedAt, nullTime(x.ClosedAt))
	r.updatedAt = append(r.updatedAt, sec(x.UpdatedAt))
	r.doc = append(r.doc, string(doc))
	return nil
}

func (r *incidentRows) block() block {
	return block{table: TableIncidents, rows: len(r.id), cols: []blockCol{
		{"id", r.id}, {"version", r.version}, {"title", r.title}, {"status", r.status},
		{"level", r.level}, {"colour", r.colour}, {"playbook", r.playbook}, {"river", r.river},
		{"site", r.site}, {"sites", r.sites}, {"parameters", r.parameters},
		{"jurisdictions", r.jurisdictions}, {"drill", r.drill}, {"event_ids", r.eventIDs},
		{"steps", r.steps}, {"opened_at", r.openedAt}, {"acked_at", r.ackedAt},
		{"resolved_at", r.resolvedAt}, {"closed_at", r.closedAt}, {"updated_at", r.updatedAt},
		{"doc", r.doc},
	}}
}

type logRows struct {
	id, incidentID, actor, action, detail, commandID []string
	version                                          []uint64
	at                                               []time.Time
	atMs                                             []uint16
}

func (r *logRows) add(x *message.LogEntry) {
	at, ms := split(x.At)
	r.id = append(r.id, x.ID)
	r.incidentID = append(r.incidentID, x.IncidentID)
	r.version = append(r.version, x.Version)
	r.at = append(r.at, at)
	r.atMs = append(r.atMs, ms)
	r.actor = append(r.actor, x.Actor)
	r.action = append(r.action, x.Action)
	r.detail = append(r.detail, x.Detail)
	r.commandID = append(r.commandID, x.CommandID)
}

func (r *logRows) block() block {
	return block{table: TableIncidentLog, rows: len(r.id), cols: []blockCol{
		{"id", r.id}, {"incident_id", r.incidentID}, {"version", r.version}, {"at", r.at},
		{"at_ms", r.atMs}, {"actor", r.actor}, {"action", r.action}, {"detail", r.detail},
		{"command_id", r.commandID},
	}}
}

type notificationRows struct {
	id, key, incidentID, stepID, kind, channel, recipient, subject, body, status, errs []string
	attempt                                                                            []uint32
	drill                                                                              []uint8
	at                                                                                 []time.Time
	atMs                                                                               []uint16
}

func (r *notificationRows) add(x *message.Notification) {
	at, ms := split(x.At)
	r.id = append(r.id, x.ID)
	r.key = append(r.key, x.Key)
	r.incidentID = append(r.incidentID, x.IncidentID)
	r.stepID = append(r.stepID, x.StepID)
	r.kind = append(r.kind, x.Kind)
	r.channel = append(r.channel, x.Channel)
	r.recipient = append(r.recipient, x.Recipient)
	r.subject = append(r.subject, x.Subject)
	r.body = append(r.body, x.Body)
	r.attempt = append(r.attempt, uint32(max(x.Attempt, 0)))
	r.status = append(r.status, x.Status)
	r.errs = append(r.errs, x.Error)
	r.drill = append(r.drill, boolByte(x.Drill))
	r.at = append(r.at, at)
	r.atMs = append(r.atMs, ms)
}

func (r *notificationRows) block() block {
	return block{table: TableNotifications, rows: len(r.id), cols: []blockCol{
		{"id", r.id}, {"key", r.key}, {"incident_id", r.incidentID}, {"step_id", r.stepID},
		{"kind", r.kind}, {"channel", r.channel}, {"recipient", r.recipient},
		{"subject", r.subject}, {"body", r.body}, {"attempt", r.attempt}, {"status", r.status},
		{"error", r.errs}, {"drill", r.drill}, {"at", r.at}, {"at_ms", r.atMs},
	}}
}

type silenceRows struct {
	id, createdBy, comment, doc []string
	version                     []uint64
	startsAt, endsAt, updatedAt []time.Time
}

func (r *silenceRows) add(x *silence.Silence) error {
	doc, err := json.Marshal(x)
	if err != nil {
		return fmt.Errorf("silence %s: %w", x.ID, err)
	}
	r.id = append(r.id, x.ID)
	r.version = append(r.version, x.Version)
	r.startsAt = append(r.startsAt, sec(x.StartsAt))
	r.endsAt = append(r.endsAt, sec(x.EndsAt))
	r.createdBy = append(r.createdBy, x.CreatedBy)
	r.comment = append(r.comment, x.Comment)
	r.updatedAt = append(r.updatedAt, sec(x.UpdatedAt))
	r.doc = append(r.doc, string(doc))
	return nil
}

func (r *silenceRows) block() block {
	return block{table: TableSilences, rows: len(r.id), cols: []blockCol{
		{"id", r.id}, {"version", r.version}, {"starts_at", r.startsAt}, {"ends_at", r.endsAt},
		{"created_by", r.createdBy}, {"comment", r.comment}, {"updated_at", r.updatedAt}, {"doc", r.doc},
	}}
}

// decodeFailure is one message the archiver refused, with why.
type decodeFailure struct {
	msg kafka.Message
	err error
}

// batchRows is what one Kafka batch becomes: rows per table, the rollup keys the readings
// touch, and the messages that could not be archived (recorded in rejected).
type batchRows struct {
	readings      readingRows
	rejected      rejectedRows
	events        eventRows
	incidents     incidentRows
	logs          logRows
	notifications notificationRows
	corrections   correctionRows
	silences      silenceRows
	stationCmds   stationCommandRows
	rawFrames     rawFrameRows
	touched       touchedSet
	failures      []decodeFailure
	intern        message.Interner // the batch's distinct sites, units, flags …
}

// blocks returns the non-empty blocks in a fixed order (readings first: the rollups that
// follow read them).
func (b *batchRows) blocks() []block {
	var out []block
	for _, bl := range []block{b.readings.block(), b.events.block(), b.incidents.block(), b.logs.block(), b.notifications.block(), b.corrections.block(), b.silences.block(), b.stationCmds.block(), b.rawFrames.block(), b.rejected.block()} {
		if bl.rows > 0 {
			out = append(out, bl)
		}
	}
	return out
}

// decodeBatch turns a batch of one topic into rows. It never fails as a whole: a message
// that does not decode, or lacks what its table needs, becomes a rejected row with reason
// undecodable (message.UndecodableRejection). The rows depend only on the messages, so a
// replayed batch produces the same rows (same ids, same versions).
func decodeBatch(kind Kind, topic string, msgs []kafka.Message) *batchRows {
	b := &batchRows{touched: touchedSet{}, intern: message.Interner{}}
	if kind == KindReadings {
		b.readings.reserve(len(msgs))
	}
	for _, m := range msgs {
		if err := b.add(kind, m); err != nil {
			b.failures = append(b.failures, decodeFailure{msg: m, err: err})
			rej := failureRejection(kind, topic, m, err)
			b.rejected.add(&rej)
		}
	}
	return b
}

func (b *batchRows) add(kind Kind, m kafka.Message) error {
	switch kind {
	case KindReadings:
		var r message.Reading
		if err := message.DecodeReadingInterned(m.Value, b.intern, &r); err != nil {
			return fmt.Errorf("reading: %w", err)
		}
		if err := checkReading(&r); err != nil {
			return err
		}
		b.readings.add(&r)
		b.touched.add(r.Site, r.ObservedAt)
	case KindRejected:
		var r message.Rejection
		if err := json.Unmarshal(m.Value, &r); err != nil {
			return fmt.Errorf("rejection: %w", err)
		}
		if r.Reason == "" {
			return errors.New("rejection: no reason")
		}
		if r.ID == "" {
			r.ID = message.RejectionID(r.Source, r.Reason, r.ReceivedAt, r.Raw)
		}
		b.rejected.add(&r)
	case KindRawFrames:
		var f message.RawFrame
		if err := message.DecodeRawFrameInterned(m.Value, b.intern, &f); err != nil {
			return fmt.Errorf("raw frame: %w", err)
		}
		if f.Site == "" || f.MN == "" || f.Raw == "" {
			return errors.New("raw frame: site, mn and raw are required")
		}
		if !inRange(f.DataTime) {
			return fmt.Errorf("raw frame: data_time %s outside 1970–2105", f.DataTime.Format(time.RFC3339))
		}
		if f.ID == "" {
			f.ID = message.RawFrameID(f.MN, f.QN, f.CN, f.DataTime)
		}
		b.rawFrames.add(&f)
	case KindEvents:
		var e message.Event
		if err := json.Unmarshal(m.Value, &e); err != nil {
			return fmt.Errorf("event: %w", err)
		}
		if e.Type == "" || e.Site == "" {
			return errors.New("event: type and site are required")
		}
		if !inRange(e.ObservedAt) {
			return fmt.Errorf("event: observed_at %s outside 1970–2105", e.ObservedAt.Format(time.RFC3339))
		}
		if e.ID == "" {
			e.ID = message.EventID(e.Type, e.Site, e.Parameter, e.ObservedAt, e.OriginEventID)
		}
		b.events.add(&e)
	case KindIncidents:
		var u message.IncidentUpdate
		if err := json.Unmarshal(m.Value, &u); err != nil {
			return fmt.Errorf("incident update: %w", err)
		}
		return b.addUpdate(&u)
	case KindCorrections:
		var c message.Correction
		if err := json.Unmarshal(m.Value, &c); err != nil {
			return fmt.Errorf("correction: %w", err)
		}
		if err := c.Validate(); err != nil {
			return fmt.Errorf("correction: %w", err)
		}
		r := c.Reading
		r.Source, r.ReceivedAt = message.SourceCorrection, c.At
		if err := checkReading(&r); err != nil {
			return err
		}
		c.Reading = r
		if c.ID == "" {
			c.ID = message.CorrectionID(r.ID, c.Actor, c.At)
		}
		b.readings.addVersion(&r, CorrectionVersion(c.At))
		b.touched.add(r.Site, r.ObservedAt)
		b.corrections.add(&c)
	case KindStationCommands:
		var c message.StationCommand
		if err := json.Unmarshal(m.Value, &c); err != nil {
			return fmt.Errorf("station command: %w", err)
		}
		if err := c.Validate(); err != nil {
			return fmt.Errorf("station command: %w", err)
		}
		b.stationCmds.add(&c)
	default:
		return fmt.Errorf("unknown topic kind %q", kind)
	}
	return nil
}

func (b *batchRows) addUpdate(u *message.IncidentUpdate) error {
	switch u.Kind {
	case message.UpdateIncident:
		if u.Incident == nil || u.Incident.ID == "" {
			return errors.New("incident update: kind incident without an incident id")
		}
		return b.incidents.add(u.Incident)
	case message.UpdateLog:
		if u.Log == nil || u.Log.ID == "" || u.Log.IncidentID == "" {
			return errors.New("incident update: kind log without id or incident_id")
		}
		b.logs.add(u.Log)
	case message.UpdateNotification:
		if u.Notification == nil || u.Notification.IncidentID == "" || u.Notification.Key == "" {
			return errors.New("incident update: kind notification without incident_id or key")
		}
		b.notifications.add(u.Notification)
	case message.UpdateSilence:
		if u.Silence == nil || u.Silence.ID == "" {
			return errors.New("incident update: kind silence without a silence id")
		}
		return b.silences.add(u.Silence)
	default:
		return fmt.Errorf("incident update: unknown kind %q", u.Kind)
	}
	return nil
}

// checkReading refuses what the readings table cannot hold or the rollups must not count,
// and fills a missing id deterministically.
func checkReading(r *message.Reading) error {
	if r.Site == "" || r.Parameter == "" {
		return errors.New("reading: site and parameter are required")
	}
	if r.ObservedAt.IsZero() || !inRange(r.ObservedAt) {
		return fmt.Errorf("reading: observed_at %s outside 1970–2105", r.ObservedAt.Format(time.RFC3339))
	}
	if math.IsNaN(r.Value) || math.IsInf(r.Value, 0) {
		return fmt.Errorf("reading: value %v is not a number", r.Value)
	}
	if r.ID == "" {
		r.ID = message.ReadingID(r.Site, r.Parameter, r.Interval, r.ObservedAt)
	}
	return nil
}

// failureRejection records a message the archiver could not store
// (message.UndecodableRejection). Its id and time come from the Kafka message (topic,
// partition, offset, timestamp), so a replay records it once; a time outside what
// DateTime holds becomes the epoch.
func failureRejection(kind Kind, topic string, m kafka.Message, err error) message.Rejection {
	at := m.Time.UTC()
	if !inRange(at) {
		at = epoch
	}
	rej := message.UndecodableRejection(sourceArchiver, topic, m.Partition, m.Offset, at, m.Value, err)
	// Readings and events are keyed by site id; other topics by something else.
	if key := string(m.Key); (kind == KindReadings || kind == KindEvents) && utf8.ValidString(key) && len(key) <= 64 {
		rej.Site = key
	}
	return rej
}

// The versions of a readings row (ReplacingMergeTree keeps the highest; FINAL and argMax
// read it): receipts below correctionBase, corrections above it.
const correctionBase = uint64(1) << 63

// ReadingVersion is the ReplacingMergeTree version of a reading received at t: the earlier
// the receipt, the higher the version, so the first stored value of a reading id stands
// (FINAL and argMax keep the highest). A resend with another value, or an upload that
// produces a station's reading id, cannot rewrite history (security review M5); a replay
// of the same Kafka record carries the same receipt time and stays one row. ClickHouse:
// 9223372036854775807 - ms.
func ReadingVersion(t time.Time) uint64 {
	return correctionBase - 1 - uint64(max(t.UnixMilli(), 0))
}

// CorrectionVersion is the version of a reading corrected at t (message.Correction): above
// every receipt's, and the later correction above the earlier.
func CorrectionVersion(t time.Time) uint64 {
	return correctionBase + uint64(max(t.UnixMilli(), 0))
}

type correctionRows struct {
	id, readingID, site, parameter, interval, reason, actor, actorRole []string
	value                                                              []float64
	previous                                                           []*float64
	observedAt, at                                                     []time.Time
	observedMs, atMs                                                   []uint16
}

func (r *correctionRows) add(c *message.Correction) {
	obs, oms := split(c.Reading.ObservedAt)
	at, ams := split(c.At)
	r.id = append(r.id, c.ID)
	r.readingID = append(r.readingID, c.Reading.ID)
	r.site = append(r.site, c.Reading.Site)
	r.parameter = append(r.parameter, c.Reading.Parameter)
	r.interval = append(r.interval, c.Reading.Interval)
	r.value = append(r.value, c.Reading.Value)
	r.previous = append(r.previous, c.Previous)
	r.reason = append(r.reason, c.Reason)
	r.actor = append(r.actor, c.Actor)
	r.actorRole = append(r.actorRole, c.ActorRole)
	r.observedAt, r.observedMs = append(r.observedAt, obs), append(r.observedMs, oms)
	r.at, r.atMs = append(r.at, at), append(r.atMs, ams)
}

func (r *correctionRows) block() block {
	return block{table: TableCorrections, rows: len(r.id), cols: []blockCol{
		{"id", r.id}, {"reading_id", r.readingID}, {"site", r.site}, {"parameter", r.parameter},
		{"interval_kind", r.interval}, {"observed_at", r.observedAt}, {"observed_ms", r.observedMs},
		{"value", r.value}, {"previous", r.previous}, {"reason", r.reason}, {"actor", r.actor},
		{"actor_role", r.actorRole}, {"at", r.at}, {"at_ms", r.atMs},
	}}
}

type stationCommandRows struct {
	id, site, mn, command, requestedBy, requestedRole, reason, incident []string
	status, gateway, qn, qnRtn, exeRtn, detail                          []string
	polID, infoID, report                                               []string
	rtd, min, ttl, attempts                                             []uint32
	at, statusAt                                                        []time.Time
	atMs, statusMs                                                      []uint16
}

func (r *stationCommandRows) add(c *message.StationCommand) {
	at, ams := split(c.At)
	st, sms := split(c.StatusAt)
	if c.Status == message.StationRequested && c.StatusAt.IsZero() {
		st, sms = at, ams
	}
	r.id = append(r.id, c.ID)
	r.site = append(r.site, c.Site)
	r.mn = append(r.mn, c.MN)
	r.command = append(r.command, c.Command)
	r.rtd = append(r.rtd, uint32(max(c.RtdInterval, 0)))
	r.min = append(r.min, uint32(max(c.MinInterval, 0)))
	r.requestedBy = append(r.requestedBy, c.RequestedBy)
	r.requestedRole = append(r.requestedRole, c.RequestedRole)
	r.reason = append(r.reason, c.Reason)
	r.incident = append(r.incident, c.Incident)
	r.ttl = append(r.ttl, uint32(max(c.TTLSeconds, 0)))
	r.at, r.atMs = append(r.at, at), append(r.atMs, ams)
	r.status = append(r.status, c.Status)
	r.statusAt, r.statusMs = append(r.statusAt, st), append(r.statusMs, sms)
	r.gateway = append(r.gateway, c.Gateway)
	r.qn = append(r.qn, c.QN)
	r.qnRtn = append(r.qnRtn, c.QnRtn)
	r.exeRtn = append(r.exeRtn, c.ExeRtn)
	r.attempts = append(r.attempts, uint32(max(c.Attempts, 0)))
	r.detail = append(r.detail, c.Detail)
	r.polID = append(r.polID, c.PolID)
	r.infoID = append(r.infoID, c.InfoID)
	report := ""
	if c.Report != nil {
		if b, err := json.Marshal(c.Report); err == nil {
			report = string(b)
		}
	}
	r.report = append(r.report, report)
}

func (r *stationCommandRows) block() block {
	return block{table: TableStationCommands, rows: len(r.id), cols: []blockCol{
		{"id", r.id}, {"site", r.site}, {"mn", r.mn}, {"command", r.command}, {"rtd_interval_s", r.rtd},
		{"min_interval_min", r.min}, {"requested_by", r.requestedBy}, {"requested_role", r.requestedRole},
		{"reason", r.reason}, {"incident_id", r.incident}, {"ttl_s", r.ttl}, {"at", r.at}, {"at_ms", r.atMs},
		{"status", r.status}, {"status_at", r.statusAt}, {"status_ms", r.statusMs}, {"gateway", r.gateway},
		{"qn", r.qn}, {"qn_rtn", r.qnRtn}, {"exe_rtn", r.exeRtn}, {"attempts", r.attempts}, {"detail", r.detail},
		{"pol_id", r.polID}, {"info_id", r.infoID}, {"report", r.report},
	}}
}
