package config

import "time"

// Gateway configures ingestion.
type Gateway struct {
	Listen      string `mapstructure:"listen"`       // HTTP: API, /metrics, /healthz
	HJ212Listen string `mapstructure:"hj212_listen"` // HJ 212 TCP
	// MaxBodyBytes bounds an HTTP upload (413 beyond it).
	MaxBodyBytes int64 `mapstructure:"max_body_bytes"`
	// MaxFrameBytes bounds an HJ 212 frame's data segment.
	MaxFrameBytes int           `mapstructure:"max_frame_bytes"`
	IdleTimeout   time.Duration `mapstructure:"idle_timeout"`
	// ClockSkew is how far in the future a reading's time may be.
	ClockSkew time.Duration `mapstructure:"clock_skew"`
	// MaxAge is how old a reading may be (backfills older than this are refused).
	MaxAge time.Duration `mapstructure:"max_age"`
}

func defaultGateway() Gateway {
	return Gateway{
		Listen: ":8081", HJ212Listen: ":9212",
		MaxBodyBytes: 8 << 20, MaxFrameBytes: 9999,
		IdleTimeout: 15 * time.Minute, ClockSkew: 10 * time.Minute, MaxAge: 400 * 24 * time.Hour,
	}
}

// Assessor configures detection.
type Assessor struct {
	Listen string `mapstructure:"listen"`
	// ConfirmReadings is how many consecutive readings over the target confirm an
	// exceedance; ConfirmDuration confirms it when it lasts this long, whichever comes first.
	ConfirmReadings int           `mapstructure:"confirm_readings"`
	ConfirmDuration time.Duration `mapstructure:"confirm_duration"`
	// SevereMultiple: an over-standard multiple at or above this opens at once.
	SevereMultiple float64 `mapstructure:"severe_multiple"`
	// ClearReadings consecutive compliant readings clear an exceedance (hysteresis).
	ClearReadings int `mapstructure:"clear_readings"`
	// Grace is how late a reading may arrive and still change what is open.
	Grace time.Duration `mapstructure:"grace"`
	// OfflineFactor: a station silent for interval × factor is offline.
	OfflineFactor float64 `mapstructure:"offline_factor"`
	// FlatLineReadings identical consecutive values mark a stuck sensor.
	FlatLineReadings int `mapstructure:"flat_line_readings"`
	// StateTopic holds the compacted per-series state used to recover after a crash.
	StateTopic string `mapstructure:"state_topic"`
}

func defaultAssessor() Assessor {
	return Assessor{
		Listen: ":8082", ConfirmReadings: 3, ConfirmDuration: 30 * time.Minute, SevereMultiple: 1.0,
		ClearReadings: 3, Grace: 2 * time.Hour, OfflineFactor: 3, FlatLineReadings: 12,
		StateTopic: "riverwatch.assessor-state",
	}
}

// Responder configures incidents and notifications.
type Responder struct {
	Listen string `mapstructure:"listen"`
	// GroupWindow: related events within this window join one incident.
	GroupWindow time.Duration `mapstructure:"group_window"`
	// TimeScale divides playbook deadlines and escalation delays (1 in production; the
	// demo and tests run faster).
	TimeScale  float64 `mapstructure:"time_scale"`
	WebhookURL string  `mapstructure:"webhook_url"`
	WebhookKey string  `mapstructure:"webhook_secret"`
	SMTPAddr   string  `mapstructure:"smtp_addr"`
	SMTPFrom   string  `mapstructure:"smtp_from"`
	StateTopic string  `mapstructure:"state_topic"`
}

func defaultResponder() Responder {
	return Responder{
		Listen: ":8083", GroupWindow: 6 * time.Hour, TimeScale: 1,
		SMTPFrom: "riverwatch@localhost", StateTopic: "riverwatch.responder-state",
	}
}

// Archiver configures the Kafka → ClickHouse writer.
type Archiver struct {
	Listen        string        `mapstructure:"listen"`
	BatchRows     int           `mapstructure:"batch_rows"`
	BatchBytes    int           `mapstructure:"batch_bytes"`
	BatchInterval time.Duration `mapstructure:"batch_interval"`
	// RetryMax caps the backoff between failed inserts.
	RetryMax time.Duration `mapstructure:"retry_max"`
	// RetentionDays of raw readings on servers that support TTL (0 keeps them forever).
	RetentionDays int `mapstructure:"retention_days"`
}

func defaultArchiver() Archiver {
	return Archiver{
		Listen: ":8084", BatchRows: 50000, BatchBytes: 16 << 20, BatchInterval: time.Second,
		RetryMax: 10 * time.Second,
	}
}

// API configures the REST API and dashboard.
type API struct {
	Listen string `mapstructure:"listen"`
	// CommandTimeout is how long the API waits for the responder to apply a command
	// before answering that it is pending.
	CommandTimeout time.Duration `mapstructure:"command_timeout"`
}

func defaultAPI() API {
	return API{Listen: ":8080", CommandTimeout: 5 * time.Second}
}

// Simulator configures the station fleet.
type Simulator struct {
	Gateway      string  `mapstructure:"gateway"` // HJ 212 address of the gateway
	Acceleration float64 `mapstructure:"acceleration"`
	ScenarioFile string  `mapstructure:"scenario_file"`
}

func defaultSimulator() Simulator {
	return Simulator{Gateway: "127.0.0.1:9212", Acceleration: 60, ScenarioFile: "configs/scenarios/spill.yaml"}
}
