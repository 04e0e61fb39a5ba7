package message

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"
)

// Topic names of the contract (DESIGN.md).
const (
	TopicReadings  = "riverwatch.readings"
	TopicRejected  = "riverwatch.rejected"
	TopicEvents    = "riverwatch.events"
	TopicIncidents = "riverwatch.incidents"
	TopicCommands  = "riverwatch.commands"
	// TopicCorrections carries the explicit corrections of stored readings (Correction),
	// published by the api only and archived; nothing else consumes it.
	TopicCorrections = "riverwatch.corrections"
	// TopicStationCommands carries host commands to stations (StationCommand): the
	// requests of the api and the responder, and the gateways' records of what became of
	// each; archived into station_commands.
	TopicStationCommands = "riverwatch.station-commands"
)

// Topics lists every topic of the contract, in pipeline order.
var Topics = []string{TopicReadings, TopicRejected, TopicEvents, TopicIncidents, TopicCommands, TopicCorrections,
	TopicStationCommands, TopicRawFrames}

// Source says how a reading reached riverwatch.
const (
	SourceHJ212 = "hj212"
	SourceHTTP  = "http"
	SourceCSV   = "csv"
	// SourceCorrection marks a stored reading whose value an operator corrected
	// (Correction); the first receipt is kept beside it in the corrections table.
	SourceCorrection = "correction"
)

// Interval kinds of a reading: which HJ 212 data type it came from.
const (
	IntervalRealtime = "rtd"  // CN 2011
	IntervalMinute   = "min"  // CN 2051
	IntervalHour     = "hour" // CN 2061
	IntervalDay      = "day"  // CN 2031
	IntervalSample   = "lab"  // a laboratory or manual sample
)

// FlagNormal is the HJ 212 data flag of a reading from an instrument working normally.
// Only readings with this flag are judged as water quality (facts.md §3.7).
const FlagNormal = "N"

// NormalizeFlag returns the data flag a reading means: an empty flag is FlagNormal. The
// standard's examples always flag their items, but an item without -Flag, a JSON or CSV
// upload without a flag column, and a record written straight to the readings topic all
// mean "the instrument was working normally". The gateway writes the normalised flag, so
// its readings never carry an empty one; consumers still go through NormalizeFlag (or
// Reading.NormalFlag) so that records from elsewhere get the same meaning.
func NormalizeFlag(flag string) string {
	if flag == "" {
		return FlagNormal
	}
	return flag
}

// Reading is one value of one parameter at one site at one time, already converted to the
// parameter's canonical unit.
type Reading struct {
	ID         string    `json:"id"`
	Site       string    `json:"site"`
	Station    string    `json:"station,omitempty"` // HJ 212 MN, or the name of the HTTP token
	Parameter  string    `json:"parameter"`
	Value      float64   `json:"value"`
	Unit       string    `json:"unit"`
	Min        *float64  `json:"min,omitempty"` // period minimum (minute, hour, day data)
	Max        *float64  `json:"max,omitempty"` // period maximum
	Interval   string    `json:"interval"`
	Flag       string    `json:"flag"` // HJ 212 data flag; empty means FlagNormal (NormalizeFlag)
	ObservedAt time.Time `json:"observed_at"`
	ReceivedAt time.Time `json:"received_at"`
	Source     string    `json:"source"`
	// Backfill marks a reading the station stored while it could not send and sent later
	// (HJ 212-2025 RF=1, 补传). It is stored and counted in the period evaluation like any
	// reading, but the assessor does not judge it as live water: it opens, updates and
	// clears no exceedance and pages nobody (docs/protocol.md). Absent (false) in the JSON
	// of every live reading, so older consumers and records read the same.
	Backfill bool `json:"backfill,omitempty"`
	// BelowDL marks a non-detect (未检出): the analyte was below the method's detection
	// limit, and Value is that limit (HJ/T 91-2002 writes it "0.01L"). Statistics count it
	// as half the limit (环办监测函〔2020〕82号, point 7; StatValue); reports show it as a
	// non-detect. Absent (false) in the JSON of every detected value.
	BelowDL bool `json:"below_dl,omitempty"`
}

// StatValue is the value a reading enters means and sums with: the value, or half the
// detection limit for a non-detect (环办监测函〔2020〕82号, point 7; facts.md §2.6).
func (r *Reading) StatValue() float64 {
	if r.BelowDL {
		return r.Value / 2
	}
	return r.Value
}

// Manual reports whether a reading is a manual or laboratory sample (interval "lab"), as
// against an automatic station's: where both exist, the method lets automatic data take
// precedence for the automatically measured items (环办监测函〔2020〕82号; facts.md §2.1).
func (r *Reading) Manual() bool { return r.Interval == IntervalSample }

// NormalFlag reports whether r comes from an instrument working normally (its flag,
// normalised, is FlagNormal): only such readings are judged as water quality.
func (r *Reading) NormalFlag() bool { return NormalizeFlag(r.Flag) == FlagNormal }

// ReadingID is the deterministic id of a reading: a station that resends a frame, or a lab
// that uploads the same CSV twice, produces the same id.
func ReadingID(site, parameter, interval string, observedAt time.Time) string {
	var out [ReadingIDLen]byte
	return string(AppendReadingID(out[:0], site, parameter, interval, observedAt))
}

// ReadingIDLen is the length of a reading id (32 hex digits).
const ReadingIDLen = 32

// AppendReadingID appends ReadingID's id to dst: a caller that ids many readings at once
// (the gateway, a frame's items) makes one string of them rather than one each.
func AppendReadingID(dst []byte, site, parameter, interval string, observedAt time.Time) []byte {
	// hashID(site, parameter, interval, ms) over one buffer on the stack: the same bytes and
	// so the same id, without the allocations of the general form (every reading has one).
	var buf [96]byte
	b := append(buf[:0], site...)
	b = append(append(b, 0), parameter...)
	b = append(append(b, 0), interval...)
	b = strconv.AppendInt(append(b, 0), observedAt.UnixMilli(), 10)
	sum := sha256.Sum256(append(b, 0))
	return hex.AppendEncode(dst, sum[:16])
}

// Rejection records input that riverwatch refused, with the reason, so nothing is dropped
// silently.
type Rejection struct {
	ID         string    `json:"id"`
	Reason     string    `json:"reason"` // a stable code such as "crc", "auth", "range"
	Detail     string    `json:"detail"` // what exactly was wrong, for a person
	Station    string    `json:"station,omitempty"`
	Site       string    `json:"site,omitempty"`
	Parameter  string    `json:"parameter,omitempty"`
	Source     string    `json:"source"`
	Remote     string    `json:"remote,omitempty"`
	Raw        string    `json:"raw"` // the refused input, bounded by MaxRawBytes
	ReceivedAt time.Time `json:"received_at"`
}

// MaxRawBytes bounds the raw input kept in a Rejection.
const MaxRawBytes = 2048

// TruncateRaw bounds raw input for a Rejection.
func TruncateRaw(raw string) string {
	if len(raw) <= MaxRawBytes {
		return raw
	}
	return raw[:MaxRawBytes]
}

// RejectionID is the deterministic id of a rejection.
func RejectionID(source, reason string, receivedAt time.Time, raw string) string {
	return hashID(source, reason, strconv.FormatInt(receivedAt.UnixNano(), 10), raw)
}

// ReasonUndecodable is the Rejection.Reason of a Kafka message that a consumer could not
// decode, or that lacks what the consumer needs. The consumer records it on the rejected
// topic (or table) and commits past it, so that one bad message never blocks a partition.
const ReasonUndecodable = "undecodable"

// UndecodableRejection records a Kafka message that the consumer source ("assessor",
// "archiver", "responder") could not use because of err. Its id, Remote
// ("topic/partition/offset") and ReceivedAt come from the message alone, so a replay of
// the message records it once, and two consumers that refuse the same message record it
// once each. A timestamp outside the years 0–9999, which JSON cannot carry, becomes the
// Unix epoch.
func UndecodableRejection(source, topic string, partition int, offset int64, at time.Time, value []byte, err error) Rejection {
	if y := at.UTC().Year(); y < 0 || y > 9999 {
		at = time.Unix(0, 0) // a broken producer's timestamp; JSON cannot carry it
	}
	where := topic + "/" + strconv.Itoa(partition) + "/" + strconv.FormatInt(offset, 10)
	raw := TruncateRaw(string(value))
	detail := topic + " partition " + strconv.Itoa(partition) + " offset " + strconv.FormatInt(offset, 10)
	if err != nil {
		detail += ": " + err.Error()
	}
	return Rejection{
		ID:         RejectionID(source, ReasonUndecodable, at, where+"\x00"+raw),
		Reason:     ReasonUndecodable,
		Detail:     detail,
		Source:     source,
		Remote:     where,
		Raw:        raw,
		ReceivedAt: at.UTC(),
	}
}

// Event types of the contract.
const (
	EventExceedanceOpened  = "exceedance.opened"
	EventExceedanceUpdated = "exceedance.updated"
	EventExceedanceCleared = "exceedance.cleared"
	EventPredictionIssued  = "prediction.issued"
	EventPredictionCleared = "prediction.cleared"
	// EventPredictionVerified and EventPredictionRefuted judge a prediction's window
	// against what its site saw (docs/plume.md, "Predictions that check themselves").
	EventPredictionVerified = "prediction.verified"
	EventPredictionRefuted  = "prediction.refuted"
	EventQualitySuspect     = "quality.suspect"
	EventStationOffline     = "station.offline"
	EventStationOnline      = "station.online"
)

// Event is a judgement the assessor made about a site.
type Event struct {
	ID          string    `json:"id"`
	Type        string    `json:"type"`
	Site        string    `json:"site"`
	River       string    `json:"river,omitempty"`
	Parameter   string    `json:"parameter,omitempty"`
	Value       float64   `json:"value"`
	Limit       float64   `json:"limit"`
	TargetClass string    `json:"target_class,omitempty"`
	Class       string    `json:"class,omitempty"`    // class of the reading, "劣V" included
	Multiple    float64   `json:"multiple"`           // over-standard multiple, 0 when not applicable
	Severity    string    `json:"severity,omitempty"` // "warning" or "severe"
	Reason      string    `json:"reason,omitempty"`   // why: quality rule, confirmation rule
	ObservedAt  time.Time `json:"observed_at"`
	EmittedAt   time.Time `json:"emitted_at"`
	ReadingID   string    `json:"reading_id,omitempty"`
	// ReadingReceivedAt is when the gateway accepted the reading that caused the event; it
	// lets benchmarks measure reading → event latency.
	ReadingReceivedAt time.Time `json:"reading_received_at,omitempty"`

	// Prediction fields (prediction.issued / prediction.cleared).
	OriginSite     string    `json:"origin_site,omitempty"` // the upstream site that exceeded
	OriginEventID  string    `json:"origin_event_id,omitempty"`
	ArrivalAt      time.Time `json:"arrival_at,omitempty"`
	PredictedValue float64   `json:"predicted_value,omitempty"`
	DistanceKm     float64   `json:"distance_km,omitempty"`
	// Prediction is the structured forecast of a prediction.issued: the plume's window at
	// Site (docs/plume.md). Absent (the zero value) in events from before it existed and on
	// other types. A value, not a pointer, so that events stay comparable.
	Prediction Prediction `json:"prediction,omitzero"`
	// Verification is what a prediction.verified or prediction.refuted found.
	Verification Verification `json:"verification,omitzero"`
}

// Verification compares a prediction's window with the plume its site saw. Errors are
// observed − predicted, in seconds for times; they are set when the plume was seen.
type Verification struct {
	Outcome   string    `json:"outcome"`   // verified or refuted
	Threshold float64   `json:"threshold"` // a reading at or above it showed the plume
	RiseAt    time.Time `json:"rise_at,omitzero"`
	PeakAt    time.Time `json:"peak_at,omitzero"`
	Peak      float64   `json:"peak,omitempty"`
	FallAt    time.Time `json:"fall_at,omitzero"`
	// RiseErrorS: the rise against the expected leading edge; PeakTimeErrorS and
	// PeakError: the peak's time and height; DurationErrorS: time above the threshold
	// against trailing − leading (0 when the fall was not seen).
	RiseErrorS     float64 `json:"rise_error_s,omitempty"`
	PeakTimeErrorS float64 `json:"peak_time_error_s,omitempty"`
	PeakError      float64 `json:"peak_error,omitempty"`
	DurationErrorS float64 `json:"duration_error_s,omitempty"`
}

// IsZero reports whether v is absent.
func (v Verification) IsZero() bool { return v.Outcome == "" }

// Prediction is the arrival window of a plume at a downstream site, from the plume model
// (pkg/plume, docs/plume.md). Times are RFC 3339; Trailing and Latest are absent when the
// release's end is not known. IsZero reports an event without one.
type Prediction struct {
	Site      string `json:"site"`      // the downstream site the window is for
	Origin    string `json:"origin"`    // the upstream site that exceeded
	Parameter string `json:"parameter"` // what travels
	// ReleaseStart is when the origin's exceedance began, the window's time zero.
	ReleaseStart time.Time `json:"release_start"`
	Earliest     time.Time `json:"earliest"`          // earliest the leading edge can arrive (the band's low edge)
	Leading      time.Time `json:"leading"`           // expected leading edge
	Peak         time.Time `json:"peak"`              // expected peak
	Trailing     time.Time `json:"trailing,omitzero"` // expected back below
	Latest       time.Time `json:"latest,omitzero"`   // latest fall back (the band's high edge)
	// PeakConcentration is the expected peak at Site, after dilution, decay and dispersion.
	PeakConcentration float64 `json:"peak_concentration"`
	Unit              string  `json:"unit,omitempty"`
	// Confidence: "high" when the reach's velocity is re-tuned from verified arrivals
	// (docs/plume.md, "Re-tuning"), else "medium" when every leg's velocity came from a live
	// discharge, else "low".
	Confidence  string  `json:"confidence"`
	VelocityMPS float64 `json:"velocity_mps"` // mean over the way: distance ÷ travel time
	DistanceKm  float64 `json:"distance_km"`
	// Interception is, for a prediction at a drinking-water source, the emergency space
	// (sites.yaml emergency_spaces) where the plume can still be stopped before the intake
	// (docs/plume.md, "Emergency spaces and interception"); absent elsewhere and when
	// there is none, and InterceptionNoneReason then says why at a source.
	Interception           Interception `json:"interception,omitzero"`
	InterceptionNoneReason string       `json:"interception_none_reason,omitempty"`
}

// Interception recommends where to stop a plume on its way to an intake: the nearest
// emergency space on the way that the band's earliest leading edge has not reached.
type Interception struct {
	Space      string  `json:"space"` // the space's id
	Name       string  `json:"name"`
	Kind       string  `json:"kind"` // reservoir, sluice, diversion or pond
	Km         float64 `json:"km"`   // on River
	River      string  `json:"river"`
	ToIntakeKm float64 `json:"to_intake_km"` // along the flow from the space to the intake
	// ActBy is when the earliest leading edge reaches the space: what is to be done there
	// must be done before.
	ActBy time.Time `json:"act_by"`
	// TimeLeftS is ActBy − the time of the prediction's issue, in whole seconds.
	TimeLeftS int64 `json:"time_left_s"`
	// Jurisdiction and Role name the contact who operates the space (contacts.yaml);
	// empty when sites.yaml names none.
	Jurisdiction string `json:"jurisdiction,omitempty"`
	Role         string `json:"role,omitempty"`
}

// IsZero reports whether i is absent: no space.
func (i Interception) IsZero() bool { return i.Space == "" }

// IsZero reports whether p is absent: no site.
func (p Prediction) IsZero() bool { return p.Site == "" }

// EventID is the deterministic id of an event: the same transition of the same series at the
// same observed time always has the same id.
func EventID(eventType, site, parameter string, observedAt time.Time, extra string) string {
	return hashID(eventType, site, parameter, strconv.FormatInt(observedAt.UnixMilli(), 10), extra)
}

func hashID(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	var sum [32]byte
	return hex.EncodeToString(h.Sum(sum[:0])[:16])
}
