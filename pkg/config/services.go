package config

import (
	"net/url"
	"time"
)

// Gateway configures ingestion (pkg/hj212, services/gateway/internal/gateway, services/gateway).
type Gateway struct {
	// Listen is the HTTP address: uploads, /healthz, /readyz, and /metrics unless
	// MetricsListen is set. Public (labs upload here). Default :8081.
	Listen string `mapstructure:"listen"`
	// MetricsListen, when set, serves /metrics (and /healthz, /readyz) on a private address
	// of its own, and Listen no longer serves /metrics. Production mode requires it, on
	// loopback or a private address (docs/security.md). Default empty.
	MetricsListen string `mapstructure:"metrics_listen"`
	// HJ212Listen is the HJ 212 TCP address stations connect to. Public. Default :9212.
	HJ212Listen string `mapstructure:"hj212_listen"`
	// MaxBodyBytes bounds an HTTP upload (413 beyond it).
	MaxBodyBytes int64 `mapstructure:"max_body_bytes"`
	// MaxFrameBytes bounds an HJ 212 frame's data segment (the 4-digit length allows 9999,
	// the most accepted).
	MaxFrameBytes int `mapstructure:"max_frame_bytes"`
	// IdleTimeout closes a station connection silent this long. Default 65 min, so that a
	// station that sends only hourly data keeps its connection between reports.
	IdleTimeout time.Duration `mapstructure:"idle_timeout"`
	// FrameTimeout bounds how long the rest of a frame may take once its first bytes came.
	FrameTimeout time.Duration `mapstructure:"frame_timeout"`
	// WriteTimeout bounds writing an answer to a station.
	WriteTimeout time.Duration `mapstructure:"write_timeout"`
	// PublishTimeout bounds waiting for Kafka's acknowledgement of one batch of frames (or
	// one HTTP upload); past it the station gets no answer and resends.
	PublishTimeout time.Duration `mapstructure:"publish_timeout"`
	// MaxConnections caps concurrent station connections; more are refused.
	MaxConnections int `mapstructure:"max_connections"`
	// MaxFrameErrors consecutive refused frames (junk, CRC, authentication) close the
	// connection.
	MaxFrameErrors int `mapstructure:"max_frame_errors"`
	// BatchFrames: frames that arrived together on one connection are published together,
	// up to this many.
	BatchFrames int `mapstructure:"batch_frames"`
	// SplitTimeout drops a split message (PNUM/PNO) whose packets did not all arrive in it;
	// MaxSplitBytes bounds the CP of one split message, MaxSplitSets the split messages in
	// progress on one connection.
	SplitTimeout  time.Duration `mapstructure:"split_timeout"`
	MaxSplitBytes int           `mapstructure:"max_split_bytes"`
	MaxSplitSets  int           `mapstructure:"max_split_sets"`
	// DedupWindow and DedupEntries bound the memory of frames already stored (MN + QN): a
	// repeat within them is not published again.
	DedupWindow  time.Duration `mapstructure:"dedup_window"`
	DedupEntries int           `mapstructure:"dedup_entries"`
	// ClockSkew is how far in the future a reading's time may be.
	ClockSkew time.Duration `mapstructure:"clock_skew"`
	// MaxAge is how old a reading may be: older ones are refused (reason too_old). A week
	// covers the buffers data loggers resend after an outage; a longer window would let a
	// station's password rewrite history far back (security review M5). Older backfills
	// go through an operator, not a station.
	MaxAge time.Duration `mapstructure:"max_age"`
	// TimeSync answers a station's time-calibration request (CN 1013) by setting its clock
	// (CN 1012).
	TimeSync bool `mapstructure:"time_sync"`
	// SM4KeyGrace is how long after a station took its next SM4 key (rotate_key, CN 1014,
	// answered 9012 ExeRtn=1) frames encrypted with its old keys are still decrypted: what
	// it had queued under the old key (docs/protocol.md, Key rotation).
	SM4KeyGrace time.Duration `mapstructure:"sm4_key_grace"`
	// KafkaWriters is how many Kafka writers publish readings (a site always uses the same
	// one): kafka-go keeps one produce request in flight per partition and writer. Raise it
	// when batches reach kafka.batch_size and publish latency grows (stream.Sharded).
	KafkaWriters int `mapstructure:"kafka_writers"`
	// PublishBatchSize is the most readings one produce request of the gateway carries per
	// partition, in place of kafka.batch_size: kafka-go allocates a slice of this many
	// messages for every batch it opens, and the gateway's many small publishes (one
	// station's upload each) open one per partition every kafka.batch_timeout with a few
	// dozen readings in it. At 100 the small publishes of BenchmarkPublish ran 383–444 k
	// msgs/s with 6.7–7.3 MB allocated per 10,000, against 305–403 k and 10.7–12.8 MB at
	// 1000. Default 100.
	PublishBatchSize int `mapstructure:"publish_batch_size"`
	// Instance names this gateway replica: its consumer group of station commands
	// (<group_prefix>.gateway.station-commands.<instance>, one per replica, so that every
	// replica sees every command and sends those of the stations it holds) and the gateway
	// field of the outcomes it records. Default empty: the host name. Two replicas must
	// not share one.
	Instance string `mapstructure:"instance"`

	// Abuse limits (docs/security.md, "Gateway").

	// AuthTimeout closes a station connection that has not sent a frame with a valid MN and
	// PW within it of connecting. Default 30 s.
	AuthTimeout time.Duration `mapstructure:"auth_timeout"`
	// MaxConnectionsPerAddress caps the concurrent station connections from one address
	// (IPv4 address, IPv6 /64); more are closed at once. Default 64.
	MaxConnectionsPerAddress int `mapstructure:"max_connections_per_address"`
	// AuthMaxFailures wrong passwords (or unknown MNs, for an address) within
	// AuthFailureWindow lock the address, the MN and the (MN, address) pair out for
	// AuthLockout: their frames are refused (auth_locked) without checking the PW, and the
	// connection is closed. An address that authenticated as an MN before stays open for
	// that MN unless the pair is locked, so that guessing cannot lock a station out
	// (docs/security.md, Gateway). Defaults 10, 15 min, 15 min.
	AuthMaxFailures   int           `mapstructure:"auth_max_failures"`
	AuthFailureWindow time.Duration `mapstructure:"auth_failure_window"`
	AuthLockout       time.Duration `mapstructure:"auth_lockout"`
	// AuthBackoff is how long a connection waits before its next frame is read after an
	// authentication failure, doubling with each failure of its MN or address, up to
	// AuthBackoffMax. Defaults 1 s and 30 s.
	AuthBackoff    time.Duration `mapstructure:"auth_backoff"`
	AuthBackoffMax time.Duration `mapstructure:"auth_backoff_max"`
	// UnauthRecordsPerSecond and UnauthRecordsBurst rate-limit the rejection records of
	// unauthenticated input (refused connections, authentication failures, HTTP requests
	// without a valid token): beyond them input is still refused and counted
	// (riverwatch_gateway_records_suppressed_total), not recorded. Defaults 10/s, burst 100.
	UnauthRecordsPerSecond float64 `mapstructure:"unauth_records_per_second"`
	UnauthRecordsBurst     int     `mapstructure:"unauth_records_burst"`
	// MaxSplitBytesTotal bounds the CP bytes held by split-message reassembly across all
	// connections; a packet beyond it is refused (split). Default 64 MiB.
	MaxSplitBytesTotal int64 `mapstructure:"max_split_bytes_total"`
	// MaxRows caps the rows of one HTTP upload (413, too_many_rows, beyond it). Default 10000.
	MaxRows int `mapstructure:"max_rows"`
	// MaxConcurrentUploads caps the HTTP uploads parsed at once (each holds at most about
	// 2 × max_body_bytes); an upload that finds no slot within 5 s is answered 503 with
	// Retry-After. Default 4.
	MaxConcurrentUploads int `mapstructure:"max_concurrent_uploads"`
	// MaxRowResults caps the per-row results in an upload's answer; the rest are summarised
	// by reason. Default 1000.
	MaxRowResults int `mapstructure:"max_row_results"`
	// DedupEntriesPerStation bounds the frames remembered for one station (MN), within
	// dedup_entries in all. Default 10000.
	DedupEntriesPerStation int `mapstructure:"dedup_entries_per_station"`
}

func defaultGateway() Gateway {
	return Gateway{
		Listen: ":8081", HJ212Listen: ":9212",
		MaxBodyBytes: 8 << 20, MaxFrameBytes: 9999,
		IdleTimeout: 65 * time.Minute, FrameTimeout: 30 * time.Second, WriteTimeout: 10 * time.Second,
		PublishTimeout: 30 * time.Second, MaxConnections: 10000, MaxFrameErrors: 16, BatchFrames: 64,
		SplitTimeout: 2 * time.Minute, MaxSplitBytes: 1 << 20, MaxSplitSets: 16,
		DedupWindow: 24 * time.Hour, DedupEntries: 200000,
		ClockSkew: 10 * time.Minute, MaxAge: 7 * 24 * time.Hour, TimeSync: true, SM4KeyGrace: 24 * time.Hour, KafkaWriters: 1,
		PublishBatchSize: 100,
		AuthTimeout:      30 * time.Second, MaxConnectionsPerAddress: 64,
		AuthMaxFailures: 10, AuthFailureWindow: 15 * time.Minute, AuthLockout: 15 * time.Minute,
		AuthBackoff: time.Second, AuthBackoffMax: 30 * time.Second,
		UnauthRecordsPerSecond: 10, UnauthRecordsBurst: 100,
		MaxSplitBytesTotal: 64 << 20, MaxRows: 10000, MaxConcurrentUploads: 4, MaxRowResults: 1000, DedupEntriesPerStation: 10000,
	}
}

// Assessor configures detection (services/assessor/internal/engine, services/assessor/internal/assessor, services/assessor).
//
// The detection rules' keys (confirm_readings … decay_per_hour) are checked by the rules
// themselves (the assessor's engine), which name the key of what they refuse; Validate
// checks the rest.
type Assessor struct {
	// Listen is the address of /metrics, /healthz and /readyz. Not public: default
	// 127.0.0.1:8082 (docs/security.md).
	Listen string `mapstructure:"listen"`
	// ConfirmReadings is how many consecutive readings over the target confirm an
	// exceedance; ConfirmDuration confirms it when it lasts this long, whichever comes first.
	ConfirmReadings int           `mapstructure:"confirm_readings"`
	ConfirmDuration time.Duration `mapstructure:"confirm_duration"`
	// SevereMultiple: an over-standard multiple at or above this opens at once.
	SevereMultiple float64 `mapstructure:"severe_multiple"`
	// ClearReadings consecutive compliant readings clear an exceedance (hysteresis).
	ClearReadings int `mapstructure:"clear_readings"`
	// ClearRatio is the hysteresis band: a reading counts towards clearing only when it is
	// within ClearRatio × the limit (upper limits; lower limits: the limit ÷ ClearRatio).
	// Default 0.9.
	ClearRatio float64 `mapstructure:"clear_ratio"`
	// UpdateRatio: an open exceedance is updated when it gets this many times worse than
	// last reported (relative to the limit), besides every change of class. Default 1.5.
	UpdateRatio float64 `mapstructure:"update_ratio"`
	// Grace is how late a reading may arrive and still change what is open.
	Grace time.Duration `mapstructure:"grace"`
	// OfflineFactor: a station silent for interval × factor is offline.
	OfflineFactor float64 `mapstructure:"offline_factor"`
	// FlatLineReadings identical consecutive values mark a stuck sensor.
	FlatLineReadings int `mapstructure:"flat_line_readings"`
	// JumpFactor: a value further than JumpFactor × max(recent median, Class III limit)
	// from the recent median is an implausible jump (flagged, still judged). Default 20.
	JumpFactor float64 `mapstructure:"jump_factor"`
	// PredictionWindow: after a predicted arrival, downstream readings have this long to
	// show the plume before a compliant reading refutes the prediction. Default 2 h.
	PredictionWindow time.Duration `mapstructure:"prediction_window"`
	// DecayPerHour is an optional first-order decay rate k (1/h) per parameter, applied
	// along the travel time of a prediction: C·e^(−k·t). Default: none.
	DecayPerHour map[string]float64 `mapstructure:"decay_per_hour"`
	// TickInterval is how often silent stations and prediction windows are checked.
	TickInterval time.Duration `mapstructure:"tick_interval"`
	// MaxDelay: after taking what is already queued, a batch waits this long after its
	// first reading for more (0: no wait); it bounds the latency that batching adds.
	// MaxRows cuts a batch at this many readings. Defaults 1 ms and 5000.
	MaxDelay time.Duration `mapstructure:"max_delay"`
	MaxRows  int           `mapstructure:"max_rows"`
	// PublishBatchTimeout is the producer's batch timeout for events and state. The
	// assessor writes a whole batch per synchronous call, so waiting to fill a producer
	// batch only adds latency; kafka.batch_timeout (2 ms) is for other writers. Default
	// 200 µs.
	PublishBatchTimeout time.Duration `mapstructure:"publish_batch_timeout"`
	// StateTopic holds the compacted per-series state used to recover after a crash.
	StateTopic string `mapstructure:"state_topic"`
}

// Validate refuses what the gateway cannot run with, naming each key.
func (g Gateway) Validate() error {
	var v validator
	v.nonEmpty("gateway.listen", g.Listen)
	v.nonEmpty("gateway.hj212_listen", g.HJ212Listen)
	v.positive("gateway.max_body_bytes", g.MaxBodyBytes)
	v.positive("gateway.max_frame_bytes", g.MaxFrameBytes)
	v.atMost("gateway.max_frame_bytes", g.MaxFrameBytes, 9999)
	v.positive("gateway.idle_timeout", g.IdleTimeout)
	v.positive("gateway.frame_timeout", g.FrameTimeout)
	v.positive("gateway.write_timeout", g.WriteTimeout)
	v.positive("gateway.publish_timeout", g.PublishTimeout)
	v.positive("gateway.max_connections", g.MaxConnections)
	v.positive("gateway.max_frame_errors", g.MaxFrameErrors)
	v.positive("gateway.batch_frames", g.BatchFrames)
	v.positive("gateway.split_timeout", g.SplitTimeout)
	v.positive("gateway.max_split_bytes", g.MaxSplitBytes)
	v.positive("gateway.max_split_sets", g.MaxSplitSets)
	v.positive("gateway.dedup_window", g.DedupWindow)
	v.positive("gateway.dedup_entries", g.DedupEntries)
	v.positive("gateway.clock_skew", g.ClockSkew)
	v.positive("gateway.max_age", g.MaxAge)
	v.positive("gateway.sm4_key_grace", g.SM4KeyGrace)
	v.positive("gateway.kafka_writers", g.KafkaWriters)
	v.positive("gateway.publish_batch_size", g.PublishBatchSize)
	v.positive("gateway.auth_timeout", g.AuthTimeout)
	v.positive("gateway.max_connections_per_address", g.MaxConnectionsPerAddress)
	v.positive("gateway.auth_max_failures", g.AuthMaxFailures)
	v.positive("gateway.auth_failure_window", g.AuthFailureWindow)
	v.positive("gateway.auth_lockout", g.AuthLockout)
	v.positive("gateway.auth_backoff", g.AuthBackoff)
	v.positive("gateway.auth_backoff_max", g.AuthBackoffMax)
	v.positive("gateway.unauth_records_per_second", g.UnauthRecordsPerSecond)
	v.positive("gateway.unauth_records_burst", g.UnauthRecordsBurst)
	v.positive("gateway.max_split_bytes_total", g.MaxSplitBytesTotal)
	v.positive("gateway.max_rows", g.MaxRows)
	v.positive("gateway.max_concurrent_uploads", g.MaxConcurrentUploads)
	v.positive("gateway.max_row_results", g.MaxRowResults)
	v.positive("gateway.dedup_entries_per_station", g.DedupEntriesPerStation)
	return v.err()
}

func defaultAssessor() Assessor {
	return Assessor{
		Listen: "127.0.0.1:8082", ConfirmReadings: 3, ConfirmDuration: 30 * time.Minute, SevereMultiple: 1.0,
		ClearReadings: 3, ClearRatio: 0.9, UpdateRatio: 1.5, Grace: 2 * time.Hour, OfflineFactor: 3,
		FlatLineReadings: 12, JumpFactor: 20, PredictionWindow: 2 * time.Hour,
		DecayPerHour: map[string]float64{}, TickInterval: 5 * time.Second,
		MaxDelay: time.Millisecond, MaxRows: 5000, PublishBatchTimeout: 200 * time.Microsecond,
		StateTopic: "riverwatch.assessor-state",
	}
}

// Responder configures incidents and notifications.
type Responder struct {
	// Listen is the address of /metrics, /healthz and /readyz (it serves nothing else:
	// operators read incidents through the api). Not public: default 127.0.0.1:8083.
	Listen string `mapstructure:"listen"`
	// GroupWindow: related events within this window (event time) join one incident.
	GroupWindow time.Duration `mapstructure:"group_window"`
	// TimeScale divides playbook deadlines, escalation delays and resolve/close holds (1 in
	// production; the demo and tests run faster: 60 makes an hour last a minute).
	TimeScale float64 `mapstructure:"time_scale"`
	// WebhookURL is where contacts with an empty target are sent (the local sink in
	// development).
	WebhookURL string `mapstructure:"webhook_url"`
	// DashboardURL is the dashboard's address as the people notified reach it: every
	// notification links to <DashboardURL>/#/incidents/<id>, where a duty officer confirms
	// receipt and acknowledges (from the phone, in the robot's message). Empty: no link.
	DashboardURL string `mapstructure:"dashboard_url"`
	// WebhookSecret is the HMAC-SHA256 key of generic webhooks whose contact has no secret.
	// The default is the public development secret (DevelopmentWebhookSecret), which
	// production mode refuses, as it refuses an empty one.
	WebhookSecret string `mapstructure:"webhook_secret"`
	// SMTPAddr is the mail relay (host:port) of e-mail contacts; empty: e-mail is not sent.
	SMTPAddr string `mapstructure:"smtp_addr"`
	// SMTPFrom is the sender address of notification mail.
	SMTPFrom string `mapstructure:"smtp_from"`
	// SMTPUsername and SMTPPassword authenticate at the relay (PLAIN), when set.
	SMTPUsername string `mapstructure:"smtp_username"`
	SMTPPassword string `mapstructure:"smtp_password"`
	// StateTopic is the compacted topic of incident states (keyed by incident id) from
	// which a restarted responder recovers.
	StateTopic string `mapstructure:"state_topic"`
	// TickInterval is how often escalations, resolutions and due notifications are checked.
	TickInterval time.Duration `mapstructure:"tick_interval"`
	// MaxEventAge: older events do not open incidents and older commands are not applied
	// (a consumer group replaying an old topic must not page anyone).
	MaxEventAge time.Duration `mapstructure:"max_event_age"`
	// Retain keeps closed incidents (and their event ids, for deduplication) this long.
	Retain time.Duration `mapstructure:"retain"`
	// DeliveryTimeout bounds one delivery attempt; Workers deliver in parallel.
	DeliveryTimeout time.Duration `mapstructure:"delivery_timeout"`
	Workers         int           `mapstructure:"workers"`
	// MaxAttempts, RetryBase and RetryMax shape the retries of a failed delivery.
	MaxAttempts int           `mapstructure:"max_attempts"`
	RetryBase   time.Duration `mapstructure:"retry_base"`
	RetryMax    time.Duration `mapstructure:"retry_max"`
	// ClickHouseUsername is the account the responder reads the archive with, to rank the
	// upstream sources in the search step (docs/sources.md): the api's read-only one
	// (riverwatch_api) serves; empty: the shared clickhouse section's account
	// (development; production mode refuses it, as it does the api's).
	ClickHouseUsername string `mapstructure:"clickhouse_username"`
	// ClickHousePasswordFile holds that account's password (only the first line is used);
	// required with ClickHouseUsername. Relative to the configuration file's directory.
	ClickHousePasswordFile string `mapstructure:"clickhouse_password_file"`
	// SourcesTimeout bounds the rankings of one batch of events, which run at once: the
	// batch's first pages wait for them no longer. Past it the step says the ranking is
	// unavailable and names the api route. 0 ranks nothing. Default 250 ms: the demo's ranking
	// comes within it, and a page must not wait on a loaded archive.
	SourcesTimeout time.Duration `mapstructure:"sources_timeout"`
}

// Validate refuses the assessor's plumbing values it cannot run with.
func (a Assessor) Validate() error {
	var v validator
	v.nonEmpty("assessor.listen", a.Listen)
	v.positive("assessor.tick_interval", a.TickInterval)
	v.notNegative("assessor.max_delay", a.MaxDelay)
	v.positive("assessor.max_rows", a.MaxRows)
	v.positive("assessor.publish_batch_timeout", a.PublishBatchTimeout)
	v.nonEmpty("assessor.state_topic", a.StateTopic)
	return v.err()
}

func defaultResponder() Responder {
	return Responder{
		Listen: "127.0.0.1:8083", GroupWindow: 6 * time.Hour, TimeScale: 1,
		WebhookURL: "http://127.0.0.1:8085/hook", WebhookSecret: DevelopmentWebhookSecret,
		DashboardURL: "http://127.0.0.1:8080",
		SMTPFrom:     "riverwatch@localhost", StateTopic: "riverwatch.responder-state",
		TickInterval: time.Second, MaxEventAge: 24 * time.Hour, Retain: 7 * 24 * time.Hour,
		DeliveryTimeout: 10 * time.Second, Workers: 4,
		MaxAttempts: 8, RetryBase: 2 * time.Second, RetryMax: 5 * time.Minute,
		SourcesTimeout: 250 * time.Millisecond,
	}
}

// Validate refuses what the responder cannot run with, naming each key.
func (r Responder) Validate() error {
	var v validator
	v.nonEmpty("responder.listen", r.Listen)
	v.positive("responder.group_window", r.GroupWindow)
	v.positive("responder.time_scale", r.TimeScale)
	v.nonEmpty("responder.state_topic", r.StateTopic)
	v.positive("responder.tick_interval", r.TickInterval)
	v.positive("responder.max_event_age", r.MaxEventAge)
	v.positive("responder.retain", r.Retain)
	v.positive("responder.delivery_timeout", r.DeliveryTimeout)
	v.positive("responder.workers", r.Workers)
	v.positive("responder.max_attempts", r.MaxAttempts)
	v.positive("responder.retry_base", r.RetryBase)
	v.positive("responder.retry_max", r.RetryMax)
	if r.RetryMax < r.RetryBase {
		v.add("responder.retry_max", "%v must be ≥ responder.retry_base (%v)", r.RetryMax, r.RetryBase)
	}
	v.notNegative("responder.sources_timeout", r.SourcesTimeout)
	if r.ClickHouseUsername != "" {
		v.nonEmpty("responder.clickhouse_password_file", r.ClickHousePasswordFile)
	}
	if r.DashboardURL != "" {
		if u, err := url.Parse(r.DashboardURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			v.add("responder.dashboard_url", "%q is not an http(s) URL", r.DashboardURL)
		}
	}
	return v.err()
}

// Archiver configures the Kafka → ClickHouse writer (pkg/store, services/archiver).
type Archiver struct {
	// Listen is the address of /metrics, /healthz and /readyz. Not public: default
	// 127.0.0.1:8084.
	Listen string `mapstructure:"listen"`
	// A batch is cut at MaxRows messages, MaxBytes bytes of message values, or MaxDelay
	// after its first message, whichever comes first; it becomes one INSERT
	// per table. Memory is bounded by about two batches per topic (the one being written and
	// the reader's queue), also while ClickHouse is down.
	//
	// These cut batches of readings. A batch's offsets are committed once its rows are
	// inserted and the rollup buckets it touched are recorded on RollupTopic; the rollups
	// are rebuilt apart from that (RollupDelay), so a batch's cost no longer grows with the
	// rows already in its hours and the delay can stay short: 200 ms by default, which
	// makes a reading queryable through the api within about a quarter of a second at
	// 1,000 and 10,000 readings/s and costs no throughput, since under load batches
	// grow to MaxRows while the previous one is inserted (make bench, issue #17 note).
	// Replay cuts its batches at MaxRows and MaxBytes too.
	MaxRows  int           `mapstructure:"max_rows"`
	MaxBytes int           `mapstructure:"max_bytes"`
	MaxDelay time.Duration `mapstructure:"max_delay"`
	// RecordsMaxDelay cuts batches of the other topics (rejected, events, incidents):
	// few messages, and people wait for them — the api answers a command once the
	// responder's log entry is in ClickHouse.
	RecordsMaxDelay time.Duration `mapstructure:"records_max_delay"`
	// RollupTopic is the archiver's own topic of dirty rollup buckets (one partition): the
	// readings path records there which five-minute buckets a batch touched before it
	// commits, and the rollup loop rebuilds them and commits after (store/doc.go).
	RollupTopic string `mapstructure:"rollup_topic"`
	// RollupDelay gathers the dirty buckets of this long into one rebuild: the bound on how
	// far the hourly and daily rollups trail the raw readings while the loop keeps up.
	// 0 rebuilds inside every batch before its commit, as before (no RollupTopic).
	RollupDelay time.Duration `mapstructure:"rollup_delay"`
	// RetryMax caps the backoff between failed inserts (ClickHouse down: nothing is
	// committed, consumption pauses and resumes at most RetryMax after it is back).
	RetryMax time.Duration `mapstructure:"retry_max"`
	// RetentionDays of raw readings on servers that support TTL (ClickHouse ≥ 19.6; 0 keeps
	// them forever). Rollups are kept forever. Applied at start with ALTER … MODIFY TTL when
	// it differs from the table's.
	RetentionDays int `mapstructure:"retention_days"`
	// RawFramesRetentionDays is how long the accepted HJ 212 frames are kept in raw_frames
	// (0: forever): by TTL where the server has it, else by dropping the monthly partitions
	// wholly older than that, hourly (a month may so outlive it by up to a month).
	RawFramesRetentionDays int `mapstructure:"raw_frames_retention_days"`
	// RollupTimezone is the time zone of the daily rollup's calendar day (compliance reports
	// use local days).
	RollupTimezone string `mapstructure:"rollup_timezone"`
	// ConnectTimeout bounds how long the archiver waits for ClickHouse at start before it
	// gives up (0: wait until stopped).
	ConnectTimeout time.Duration `mapstructure:"connect_timeout"`
}

func defaultArchiver() Archiver {
	return Archiver{
		Listen: "127.0.0.1:8084", MaxRows: 200000, MaxBytes: 64 << 20, MaxDelay: 200 * time.Millisecond,
		RecordsMaxDelay: 200 * time.Millisecond, RollupTopic: "riverwatch.archiver-rollups", RollupDelay: 2 * time.Second,
		RetryMax: 10 * time.Second, RawFramesRetentionDays: 400, RollupTimezone: "Asia/Shanghai", ConnectTimeout: 2 * time.Minute,
	}
}

// Validate refuses what the archiver cannot run with, naming each key.
func (a Archiver) Validate() error {
	var v validator
	v.nonEmpty("archiver.listen", a.Listen)
	v.positive("archiver.max_rows", a.MaxRows)
	v.positive("archiver.max_bytes", a.MaxBytes)
	v.positive("archiver.max_delay", a.MaxDelay)
	v.positive("archiver.records_max_delay", a.RecordsMaxDelay)
	v.notNegative("archiver.rollup_delay", a.RollupDelay)
	if a.RollupDelay > 0 {
		v.nonEmpty("archiver.rollup_topic", a.RollupTopic)
	}
	v.positive("archiver.retry_max", a.RetryMax)
	v.notNegative("archiver.retention_days", a.RetentionDays)
	v.notNegative("archiver.raw_frames_retention_days", a.RawFramesRetentionDays)
	v.nonEmpty("archiver.rollup_timezone", a.RollupTimezone)
	if a.RollupTimezone != "" {
		if _, err := time.LoadLocation(a.RollupTimezone); err != nil {
			v.add("archiver.rollup_timezone", "%v", err)
		}
	}
	v.notNegative("archiver.connect_timeout", a.ConnectTimeout)
	return v.err()
}

// API configures the REST API and dashboard (services/api/internal/api, services/api/internal/dashboard, services/api).
type API struct {
	// Listen is the address of the API, the dashboard, /healthz, /readyz, and /metrics
	// unless MetricsListen is set. Public. Default :8080.
	Listen string `mapstructure:"listen"`
	// MetricsListen, when set, serves /metrics (and /healthz, /readyz) on a private address
	// of its own, and Listen no longer serves /metrics. Production mode requires it, on
	// loopback or a private address (docs/security.md). Default empty.
	MetricsListen string `mapstructure:"metrics_listen"`
	// ClickHouseUsername is the api's own ClickHouse account, read-only with query limits
	// (deploy/local/clickhouse.sh creates riverwatch_api); empty: the shared clickhouse
	// section's account, which production mode refuses, since it may write and drop.
	ClickHouseUsername string `mapstructure:"clickhouse_username"`
	// ClickHousePasswordFile holds that account's password (only the first line is used);
	// required with ClickHouseUsername. Relative to the configuration file's directory.
	ClickHousePasswordFile string `mapstructure:"clickhouse_password_file"`
	// CommandTimeout is how long the API waits for the responder to apply a command
	// before answering that it is pending (202). Default 5 s.
	CommandTimeout time.Duration `mapstructure:"command_timeout"`
	// CommandPoll is how often, while waiting, the API looks in incident_log for the
	// responder's entry of the command. Default 100 ms.
	CommandPoll time.Duration `mapstructure:"command_poll"`
	// RefreshInterval is how often the API polls ClickHouse for new events and incident
	// changes to tell connected dashboards (Server-Sent Events) to refresh. Default 2 s.
	RefreshInterval time.Duration `mapstructure:"refresh_interval"`
	// LatestLookback bounds how far back a site's latest readings are looked for; a site
	// without readings in it has no current class. Default 720 h (30 days).
	LatestLookback time.Duration `mapstructure:"latest_lookback"`
	// RawMaxSpan and HourMaxSpan pick a series' resolution when the caller does not: raw
	// readings up to RawMaxSpan (default 48 h), the hourly rollup up to HourMaxSpan
	// (default 2208 h, 92 days), the daily rollup beyond.
	RawMaxSpan  time.Duration `mapstructure:"raw_max_span"`
	HourMaxSpan time.Duration `mapstructure:"hour_max_span"`
	// QueryTimeout bounds each read request's ClickHouse queries. Default 30 s.
	QueryTimeout time.Duration `mapstructure:"query_timeout"`
	// RateLimit is the sustained requests per second one token name may make (a token
	// bucket per name); beyond it the API answers 429 with Retry-After. Default 50.
	RateLimit float64 `mapstructure:"rate_limit"`
	// RateBurst is the bucket's size: how many requests a token may make at once (a
	// dashboard page loads several). Default 200.
	RateBurst int `mapstructure:"rate_burst"`
	// MaxInflightPerToken bounds the requests of one token name being answered at once
	// (the event stream excepted), so that one user cannot hold the whole ClickHouse pool
	// (8 connections): a request over it waits up to 2 s for a slot, then gets 429. Default 4.
	MaxInflightPerToken int `mapstructure:"max_inflight_per_token"`
	// ExportMaxRows bounds the rows of one CSV export of readings (streamed as they are
	// read); an export that would exceed it is cut off and the download fails, so a file
	// is never silently short. Narrow the range, pick an hourly or daily resolution, or
	// page with limit and offset. Default 500000.
	ExportMaxRows int `mapstructure:"export_max_rows"`
	// ReportMinMonthly, ReportMinQuarterly and ReportMinAnnual are the data an item needs
	// to enter the compliance report's class of a period (环办〔2011〕22号 month, quarter
	// and year assessment): readings in a month (default 1), months with data in a
	// quarter (default 2) and months with data in a year (default 8, scaled to periods of
	// other lengths). A site whose items all fall short is shown as insufficient_data
	// (数据不足), not as a class. 22号's quarterly and annual counts are unverified (facts
	// §2.6, §7): the defaults are the usual figures.
	ReportMinMonthly   int `mapstructure:"report_min_monthly"`
	ReportMinQuarterly int `mapstructure:"report_min_quarterly"`
	ReportMinAnnual    int `mapstructure:"report_min_annual"`
	// ReportSourceClassIII shows, beside a drinking-water source's compliance with its
	// target (the plan's Class Ⅱ plus GB 3838 Tables 2 and 3), its compliance with Class Ⅲ
	// plus Tables 2 and 3: a rule commonly used for source statistics but not verified
	// against an official text (docs/reports.md). Default true.
	ReportSourceClassIII bool `mapstructure:"report_source_class_iii"`
	// BacktestDir is where `assessor backtest -format json -out DIR/NAME.json` stores the
	// backtests the dashboard shows (GET /api/v1/backtests, #/backtest), each cut to the
	// sites of the caller. Empty (default): none are listed. Relative to the configuration
	// file's directory.
	BacktestDir string `mapstructure:"backtest_dir"`
	// EvidenceKeyFile is the deployment's Ed25519 key that signs evidence bundles (GET
	// /api/v1/incidents/{id}/evidence): a PEM PRIVATE KEY (openssl genpkey -algorithm
	// ed25519), or a 32-byte seed or 64-byte key, raw or hex. Empty: the route answers 503
	// "no signing key configured". Relative to the configuration file's directory.
	EvidenceKeyFile string `mapstructure:"evidence_key_file"`
	// EvidenceMargin widens an incident's span on both sides for the readings and events of
	// its evidence bundle. Default 24 h.
	EvidenceMargin time.Duration `mapstructure:"evidence_margin"`
}

func defaultAPI() API {
	return API{
		Listen: ":8080", CommandTimeout: 5 * time.Second, CommandPoll: 100 * time.Millisecond,
		RefreshInterval: 2 * time.Second, LatestLookback: 30 * 24 * time.Hour,
		RawMaxSpan: 48 * time.Hour, HourMaxSpan: 92 * 24 * time.Hour, QueryTimeout: 30 * time.Second,
		RateLimit: 50, RateBurst: 200, MaxInflightPerToken: 4, ExportMaxRows: 500000,
		ReportMinMonthly: 1, ReportMinQuarterly: 2, ReportMinAnnual: 8, ReportSourceClassIII: true,
		EvidenceMargin: 24 * time.Hour,
	}
}

// Validate refuses what the api cannot run with, naming each key.
func (a API) Validate() error {
	var v validator
	v.nonEmpty("api.listen", a.Listen)
	if a.ClickHouseUsername != "" {
		v.nonEmpty("api.clickhouse_password_file", a.ClickHousePasswordFile)
	}
	v.positive("api.command_timeout", a.CommandTimeout)
	v.positive("api.command_poll", a.CommandPoll)
	v.positive("api.refresh_interval", a.RefreshInterval)
	v.positive("api.latest_lookback", a.LatestLookback)
	v.positive("api.raw_max_span", a.RawMaxSpan)
	v.positive("api.hour_max_span", a.HourMaxSpan)
	if a.HourMaxSpan < a.RawMaxSpan {
		v.add("api.hour_max_span", "%v must be ≥ api.raw_max_span (%v)", a.HourMaxSpan, a.RawMaxSpan)
	}
	v.positive("api.query_timeout", a.QueryTimeout)
	v.positive("api.rate_limit", a.RateLimit)
	v.positive("api.rate_burst", a.RateBurst)
	v.positive("api.max_inflight_per_token", a.MaxInflightPerToken)
	v.positive("api.export_max_rows", a.ExportMaxRows)
	v.positive("api.report_min_monthly", a.ReportMinMonthly)
	v.positive("api.report_min_quarterly", a.ReportMinQuarterly)
	v.positive("api.report_min_annual", a.ReportMinAnnual)
	if a.ReportMinQuarterly > 3 {
		v.add("api.report_min_quarterly", "%d months: a quarter has 3", a.ReportMinQuarterly)
	}
	if a.ReportMinAnnual > 12 {
		v.add("api.report_min_annual", "%d months: a year has 12", a.ReportMinAnnual)
	}
	v.positive("api.evidence_margin", a.EvidenceMargin)
	return v.err()
}

// Simulator configures the simulated station fleet, the webhook sink, the narrator and the
// load generator (services/simulator/internal/simulate, services/simulator).
type Simulator struct {
	// Gateway is the HJ 212 address of the gateway the data loggers connect to.
	Gateway string `mapstructure:"gateway"`
	// Acceleration of simulated over wall-clock time; 0 takes the scenario's own.
	Acceleration float64 `mapstructure:"acceleration"`
	// ScenarioFile is the scenario `simulator run` plays by default.
	ScenarioFile string `mapstructure:"scenario_file"`
	// Listen, when set, serves /metrics, /healthz and /readyz of `simulator run`.
	Listen string `mapstructure:"listen"`
	// SinkListen is where `simulator sink` receives notifications (responder.webhook_url
	// points there in development).
	SinkListen string `mapstructure:"sink_listen"`
	// APIURL is the riverwatch API that `simulator run` starts drills through.
	APIURL string `mapstructure:"api_url"`
	// DrillToken is the admin token drills are started with (empty: the drill command is
	// published straight to the commands topic).
	DrillToken string `mapstructure:"drill_token"`
	// AckTimeout is how long a data logger waits for a 9014 before resending (wall clock).
	AckTimeout time.Duration `mapstructure:"ack_timeout"`
	// MaxAttempts sends of one upload before a data logger gives it up as refused.
	MaxAttempts int `mapstructure:"max_attempts"`
	// SplitAt is the largest data segment of one packet; longer uploads are split.
	SplitAt int `mapstructure:"split_at"`
}

func defaultSimulator() Simulator {
	return Simulator{
		Gateway: "127.0.0.1:9212", ScenarioFile: "scenarios/spill.yaml",
		SinkListen: "127.0.0.1:8085", APIURL: "http://127.0.0.1:8080",
		AckTimeout: 5 * time.Second, MaxAttempts: 5, SplitAt: 1024,
	}
}

// Validate refuses what the simulator cannot run with, naming each key.
func (s Simulator) Validate() error {
	var v validator
	v.nonEmpty("simulator.gateway", s.Gateway)
	v.notNegative("simulator.acceleration", s.Acceleration)
	v.nonEmpty("simulator.scenario_file", s.ScenarioFile)
	v.nonEmpty("simulator.sink_listen", s.SinkListen)
	v.positive("simulator.ack_timeout", s.AckTimeout)
	v.positive("simulator.max_attempts", s.MaxAttempts)
	v.positive("simulator.split_at", s.SplitAt)
	return v.err()
}
