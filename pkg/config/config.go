// Package config loads riverwatch's configuration (configs/riverwatch.yaml) with viper.
//
// Every section has its defaults in one place (Default), a doc comment per field and a
// Validate that names the key of each value it refuses; Config.Validate joins them. A zero,
// negative or out-of-range value is refused, never silently replaced by a default: what a
// service runs with is what the file and the environment say, or the default.
//
// Decoding is strict: a key that no section knows (a misspelling) stops the service, naming
// the key and the file. Every key has a default registered with viper, so that an
// environment variable RIVERWATCH_<KEY> (dots as underscores: RIVERWATCH_KAFKA_BROKERS)
// overrides it even when the file does not mention the key — viper only lets the
// environment reach Unmarshal for keys it already knows.
//
// Relative paths in the file (sites_file, playbooks_file, contacts_file, auth.tokens_file,
// simulator.scenario_file), and the defaults of those keys, resolve against the directory
// of the configuration file; a path given in the environment is taken as given (relative to
// the working directory).
//
// Each service's section lives in a file of its own (services.go).
package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/spf13/viper"
)

// EnvPrefix is the prefix of environment overrides.
const EnvPrefix = "RIVERWATCH"

// PathEnv names the environment variable with the configuration file's path, honoured by
// every binary when -config is not given.
const PathEnv = "RIVERWATCH_CONFIG"

// DefaultPath is the configuration file used when neither -config nor RIVERWATCH_CONFIG
// says otherwise.
const DefaultPath = "configs/riverwatch.yaml"

// Config is the whole configuration. Services read the sections they need.
type Config struct {
	// Mode is "production" (the default) or "development". In production a service
	// refuses to start with a development default — a token of the repository's tokens
	// file, the development webhook secret, a factory or shared station password, an empty
	// ClickHouse password, a private port on all interfaces — naming the key (Production;
	// docs/security.md). The local scripts, the demo and the tests set development.
	Mode       string     `mapstructure:"mode"`
	Kafka      Kafka      `mapstructure:"kafka"`
	ClickHouse ClickHouse `mapstructure:"clickhouse"`
	// SitesFile is the river network: sites, stations, reaches (pkg/network).
	SitesFile string `mapstructure:"sites_file"`
	// PlaybooksFile holds the joint-response playbooks of the responder.
	PlaybooksFile string `mapstructure:"playbooks_file"`
	// ContactsFile is the contact directory the playbooks notify (pkg/notify).
	ContactsFile string    `mapstructure:"contacts_file"`
	Auth         Auth      `mapstructure:"auth"`
	Log          Log       `mapstructure:"log"`
	Ops          Ops       `mapstructure:"ops"`
	Gateway      Gateway   `mapstructure:"gateway"`
	Assessor     Assessor  `mapstructure:"assessor"`
	Responder    Responder `mapstructure:"responder"`
	Archiver     Archiver  `mapstructure:"archiver"`
	API          API       `mapstructure:"api"`
	Simulator    Simulator `mapstructure:"simulator"`
	// Drills are the recurring drills the api starts (DrillSchedule); none by default.
	Drills []DrillSchedule `mapstructure:"drills"`
}

// Kafka configures the brokers and the producer and consumer plumbing.
type Kafka struct {
	// Brokers are the bootstrap brokers (host:port); at least one.
	Brokers []string `mapstructure:"brokers"`
	// BatchTimeout bounds how long a producer waits to fill a batch; kafka-go's default of 1 s
	// would make every synchronous publish wait a second.
	BatchTimeout time.Duration `mapstructure:"batch_timeout"`
	// BatchSize is the most messages a producer sends in one request.
	BatchSize int `mapstructure:"batch_size"`
	// MaxWait bounds how long a consumer's fetch waits for data (kafka-go's default is 10 s).
	MaxWait time.Duration `mapstructure:"max_wait"`
	// Partitions of the topics a service creates when they are missing.
	Partitions int `mapstructure:"partitions"`
	// GroupPrefix prefixes every consumer group, so that tests can run isolated pipelines on
	// one broker.
	GroupPrefix string `mapstructure:"group_prefix"`
	Topics      Topics `mapstructure:"topics"`
	// CommandsKeyFile holds the key (at least 32 bytes, e.g. openssl rand -hex 32) of the
	// HMAC the api signs every command with and the responder verifies: a command written
	// to the topic by anyone without it changes nothing. Only the api and the responder
	// read it; production mode refuses the repository's development key.
	CommandsKeyFile string `mapstructure:"commands_key_file"`
	// TLS and SASL secure the connection to the brokers (docs/security.md, "Kafka").
	TLS  TLS       `mapstructure:"tls"`
	SASL KafkaSASL `mapstructure:"sasl"`
	// Unauthenticated tells production mode that a client without SASL and TLS is
	// intended: the brokers are reachable only by riverwatch.
	Unauthenticated bool `mapstructure:"unauthenticated"`
}

// Topics names the topics of the contract; tests point a pipeline at topics of its own.
type Topics struct {
	Readings  string `mapstructure:"readings"`  // accepted readings
	Rejected  string `mapstructure:"rejected"`  // refused input
	Events    string `mapstructure:"events"`    // the assessor's events
	Incidents string `mapstructure:"incidents"` // the responder's incident changes
	Commands  string `mapstructure:"commands"`  // operator commands to the responder
	// Corrections carries admins' explicit corrections of stored readings (api → archiver).
	Corrections string `mapstructure:"corrections"`
	// StationCommands carries host commands to stations and the gateways' records of them
	// (api, responder → gateway → archiver).
	StationCommands string `mapstructure:"station_commands"`
	// RawFrames carries the raw HJ 212 frames the gateway accepted, PW masked
	// (gateway → archiver → raw_frames).
	RawFrames string `mapstructure:"raw_frames"`
}

// All returns every topic name.
func (t Topics) All() []string {
	return []string{t.Readings, t.Rejected, t.Events, t.Incidents, t.Commands, t.Corrections, t.StationCommands, t.RawFrames}
}

// Validate refuses what no producer or consumer can work with.
func (k Kafka) Validate() error {
	var v validator
	if len(k.Brokers) == 0 || slices.ContainsFunc(k.Brokers, func(b string) bool { return strings.TrimSpace(b) == "" }) {
		v.add("kafka.brokers", "must list at least one broker, none empty")
	}
	v.positive("kafka.batch_timeout", k.BatchTimeout)
	v.positive("kafka.batch_size", k.BatchSize)
	v.positive("kafka.max_wait", k.MaxWait)
	v.positive("kafka.partitions", k.Partitions)
	v.nonEmpty("kafka.group_prefix", k.GroupPrefix)
	v.nonEmpty("kafka.commands_key_file", k.CommandsKeyFile)
	v.nonEmpty("kafka.topics.readings", k.Topics.Readings)
	v.nonEmpty("kafka.topics.rejected", k.Topics.Rejected)
	v.nonEmpty("kafka.topics.events", k.Topics.Events)
	v.nonEmpty("kafka.topics.incidents", k.Topics.Incidents)
	v.nonEmpty("kafka.topics.commands", k.Topics.Commands)
	v.nonEmpty("kafka.topics.corrections", k.Topics.Corrections)
	v.nonEmpty("kafka.topics.station_commands", k.Topics.StationCommands)
	v.nonEmpty("kafka.topics.raw_frames", k.Topics.RawFrames)
	k.TLS.validate(&v, "kafka.tls")
	k.SASL.validate(&v)
	return v.err()
}

// ClickHouse configures the native-protocol connection.
type ClickHouse struct {
	// Addr is the native protocol's host:port.
	Addr string `mapstructure:"addr"`
	// Database holds riverwatch's tables (the archiver creates it).
	Database string `mapstructure:"database"`
	// Username and Password authenticate the connection.
	Username string `mapstructure:"username"`
	Password string `mapstructure:"password"`
	// PasswordFile, when set, holds the password instead (one line), so that it reaches
	// neither the configuration file nor the process environment; Load reads it into
	// Password. Setting both is refused.
	PasswordFile string `mapstructure:"password_file"`
	// Cluster, when set, switches the schema to ReplicatedMergeTree + Distributed tables
	// created ON CLUSTER <name>.
	Cluster string `mapstructure:"cluster"`
	// DialTimeout bounds opening a connection.
	DialTimeout time.Duration `mapstructure:"dial_timeout"`
	// TLS, when enabled, speaks the native protocol over TLS (the server's
	// tcp_port_secure, 9440 by default): addr must name that port.
	TLS TLS `mapstructure:"tls"`
}

// Validate refuses an address, database or timeout that cannot work.
func (c ClickHouse) Validate() error {
	var v validator
	v.nonEmpty("clickhouse.addr", c.Addr)
	v.nonEmpty("clickhouse.database", c.Database)
	v.positive("clickhouse.dial_timeout", c.DialTimeout)
	if c.Password != "" && c.PasswordFile != "" {
		v.add("clickhouse.password_file", "and clickhouse.password are both set; keep one (the file)")
	}
	c.TLS.validate(&v, "clickhouse.tls")
	return v.err()
}

// Auth names the API token file.
type Auth struct {
	// TokensFile holds the bearer tokens of the api and the gateway's HTTP uploads.
	TokensFile string `mapstructure:"tokens_file"`
}

// Log configures log/slog.
type Log struct {
	Level  string `mapstructure:"level"`  // debug, info, warn, error
	Format string `mapstructure:"format"` // text or json
}

// Validate refuses an unknown level or format.
func (l Log) Validate() error {
	var v validator
	v.oneOf("log.level", strings.ToLower(l.Level), "debug", "info", "warn", "error")
	v.oneOf("log.format", l.Format, "text", "json")
	return v.err()
}

// Ops configures what every binary shares: its lifecycle and the limits of its HTTP
// servers.
type Ops struct {
	// ShutdownTimeout bounds a graceful stop, from SIGTERM until the ops server is down;
	// past it the process exits with what is still running.
	ShutdownTimeout time.Duration `mapstructure:"shutdown_timeout"`
	// The limits of every HTTP server (pkg/ops.Limits): reading a request's header
	// (default 10 s), a whole request with its body (1 min), writing a response (2 min; the
	// api's event stream lifts it), keeping an idle keep-alive connection (2 min), and the
	// size of a request's header (64 KiB).
	HTTPReadHeaderTimeout time.Duration `mapstructure:"http_read_header_timeout"`
	HTTPReadTimeout       time.Duration `mapstructure:"http_read_timeout"`
	HTTPWriteTimeout      time.Duration `mapstructure:"http_write_timeout"`
	HTTPIdleTimeout       time.Duration `mapstructure:"http_idle_timeout"`
	HTTPMaxHeaderBytes    int           `mapstructure:"http_max_header_bytes"`
}

// Validate refuses a timeout or limit ≤ 0.
func (o Ops) Validate() error {
	var v validator
	v.positive("ops.shutdown_timeout", o.ShutdownTimeout)
	v.positive("ops.http_read_header_timeout", o.HTTPReadHeaderTimeout)
	v.positive("ops.http_read_timeout", o.HTTPReadTimeout)
	v.positive("ops.http_write_timeout", o.HTTPWriteTimeout)
	v.positive("ops.http_idle_timeout", o.HTTPIdleTimeout)
	v.positive("ops.http_max_header_bytes", o.HTTPMaxHeaderBytes)
	return v.err()
}

// Default returns the configuration used when neither the file nor the environment says
// otherwise. Paths are relative to the configuration file's directory.
func Default() Config {
	return Config{
		Mode: ModeProduction,
		Kafka: Kafka{
			Brokers:         []string{"127.0.0.1:9092"},
			BatchTimeout:    2 * time.Millisecond,
			BatchSize:       1000,
			MaxWait:         100 * time.Millisecond,
			Partitions:      6,
			GroupPrefix:     "riverwatch",
			CommandsKeyFile: "commands.key",
			Topics: Topics{
				Readings: message.TopicReadings, Rejected: message.TopicRejected, Events: message.TopicEvents,
				Incidents: message.TopicIncidents, Commands: message.TopicCommands, Corrections: message.TopicCorrections,
				StationCommands: message.TopicStationCommands, RawFrames: message.TopicRawFrames,
			},
		},
		ClickHouse: ClickHouse{
			Addr:        "127.0.0.1:9000",
			Database:    "riverwatch",
			Username:    "default",
			DialTimeout: 5 * time.Second,
		},
		SitesFile:     "sites.yaml",
		PlaybooksFile: "playbooks.yaml",
		ContactsFile:  "contacts.yaml",
		Auth:          Auth{TokensFile: "tokens.yaml"},
		Log:           Log{Level: "info", Format: "text"},
		Ops: Ops{
			ShutdownTimeout: 10 * time.Second, HTTPReadHeaderTimeout: 10 * time.Second, HTTPReadTimeout: time.Minute,
			HTTPWriteTimeout: 2 * time.Minute, HTTPIdleTimeout: 2 * time.Minute, HTTPMaxHeaderBytes: 64 << 10,
		},
		Gateway:   defaultGateway(),
		Assessor:  defaultAssessor(),
		Responder: defaultResponder(),
		Archiver:  defaultArchiver(),
		API:       defaultAPI(),
		Simulator: defaultSimulator(),
	}
}

// pathKeys are the keys holding file paths, resolved against the configuration file's
// directory.
var pathKeys = []string{"sites_file", "playbooks_file", "contacts_file", "auth.tokens_file", "simulator.scenario_file", "kafka.commands_key_file", "api.clickhouse_password_file",
	"api.evidence_key_file", "kafka.tls.ca_file", "kafka.tls.cert_file", "kafka.tls.key_file", "kafka.sasl.password_file", "clickhouse.password_file",
	"api.backtest_dir", "responder.clickhouse_password_file"}

func (c *Config) paths() []*string {
	return []*string{&c.SitesFile, &c.PlaybooksFile, &c.ContactsFile, &c.Auth.TokensFile, &c.Simulator.ScenarioFile, &c.Kafka.CommandsKeyFile, &c.API.ClickHousePasswordFile,
		&c.API.EvidenceKeyFile, &c.Kafka.TLS.CAFile, &c.Kafka.TLS.CertFile, &c.Kafka.TLS.KeyFile, &c.Kafka.SASL.PasswordFile, &c.ClickHouse.PasswordFile,
		&c.API.BacktestDir, &c.Responder.ClickHousePasswordFile}
}

// Load reads the file at path (empty: defaults and environment only, paths relative to
// the working directory), applies RIVERWATCH_* overrides and validates the result.
func Load(path string) (*Config, error) {
	v := viper.New()
	v.SetEnvPrefix(EnvPrefix)
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_"))
	v.AutomaticEnv()
	defaults := flatten(Default())
	for key, val := range defaults {
		v.SetDefault(key, val)
	}
	var unknown error
	if path != "" {
		v.SetConfigFile(path)
		if err := v.ReadInConfig(); err != nil {
			return nil, fmt.Errorf("config file %s: %w", path, err)
		}
		unknown = unknownKeys(path, defaults)
	}
	var c Config
	hook := viper.DecodeHook(mapstructure.ComposeDecodeHookFunc(
		mapstructure.StringToTimeDurationHookFunc(),
		mapstructure.StringToSliceHookFunc(","),
	))
	// Unknown keys are refused either way; once named, the rest is still decoded and
	// validated, so that one run reports every problem of the file.
	decode := v.UnmarshalExact
	if unknown != nil {
		decode = v.Unmarshal
	}
	if err := decode(&c, hook); err != nil {
		return nil, errors.Join(unknown, fmt.Errorf("config file %s: %w", path, err))
	}
	if path != "" {
		dir := filepath.Dir(path)
		for i, p := range c.paths() {
			if fromEnv(pathKeys[i]) || *p == "" || filepath.IsAbs(*p) {
				continue
			}
			*p = filepath.Join(dir, *p)
		}
	}
	if err := errors.Join(unknown, c.Validate()); err != nil {
		if path != "" && unknown == nil {
			return nil, fmt.Errorf("config file %s:\n%w", path, err)
		}
		return nil, err
	}
	if c.ClickHouse.PasswordFile != "" {
		pw, err := ReadSecret(c.ClickHouse.PasswordFile)
		if err != nil {
			return nil, fmt.Errorf("config key clickhouse.password_file (env %s): %w", EnvName("clickhouse.password_file"), err)
		}
		c.ClickHouse.Password = pw
	}
	return &c, nil
}

// unknownKeys refuses keys of the file that no section has (except below a map-valued
// key such as assessor.decay_per_hour). It reads the file alone, without the defaults and
// the environment, so that only what the file says is judged.
func unknownKeys(path string, known map[string]any) error {
	f := viper.New()
	f.SetConfigFile(path)
	if err := f.ReadInConfig(); err != nil {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	var errs []error
	for _, key := range f.AllKeys() {
		if _, ok := known[key]; ok || underMap(key, known) {
			continue
		}
		errs = append(errs, fmt.Errorf("config file %s: unknown key %s", path, key))
	}
	return errors.Join(errs...)
}

// underMap reports whether key lies below a known key whose value is a map.
func underMap(key string, known map[string]any) bool {
	for i := strings.LastIndex(key, "."); i > 0; i = strings.LastIndex(key[:i], ".") {
		if val, ok := known[key[:i]]; ok {
			return reflect.ValueOf(val).Kind() == reflect.Map
		}
	}
	return false
}

// fromEnv reports whether the environment overrides key (viper treats empty as unset).
func fromEnv(key string) bool {
	val, ok := os.LookupEnv(EnvName(key))
	return ok && val != ""
}

// Validate checks every section; each error names its key.
func (c *Config) Validate() error {
	var v validator
	v.nonEmpty("sites_file", c.SitesFile)
	v.nonEmpty("playbooks_file", c.PlaybooksFile)
	v.nonEmpty("contacts_file", c.ContactsFile)
	v.nonEmpty("auth.tokens_file", c.Auth.TokensFile)
	v.oneOf("mode", c.Mode, ModeProduction, ModeDevelopment)
	if c.Ops.HTTPWriteTimeout > 0 && c.API.QueryTimeout > 0 && c.Ops.HTTPWriteTimeout <= c.API.QueryTimeout {
		v.add("ops.http_write_timeout", "%v must be > api.query_timeout (%v): a slow query's answer would be cut", c.Ops.HTTPWriteTimeout, c.API.QueryTimeout)
	}
	return errors.Join(c.Kafka.Validate(), c.ClickHouse.Validate(), v.err(), c.Log.Validate(), c.Ops.Validate(),
		c.Gateway.Validate(), c.Assessor.Validate(), c.Responder.Validate(), c.Archiver.Validate(),
		c.API.Validate(), c.Simulator.Validate(), validateDrills(c.Drills))
}

// EnvName returns the environment variable that overrides a key.
func EnvName(key string) string {
	return EnvPrefix + "_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// flatten turns a struct into dotted keys → values, following mapstructure tags.
func flatten(c Config) map[string]any {
	out := map[string]any{}
	var walk func(prefix string, v reflect.Value)
	walk = func(prefix string, v reflect.Value) {
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			tag := t.Field(i).Tag.Get("mapstructure")
			if tag == "" || tag == "-" {
				continue
			}
			key := tag
			if prefix != "" {
				key = prefix + "." + tag
			}
			f := v.Field(i)
			if f.Kind() == reflect.Struct && f.Type() != reflect.TypeOf(time.Duration(0)) {
				walk(key, f)
				continue
			}
			out[key] = f.Interface()
		}
	}
	walk("", reflect.ValueOf(c))
	return out
}
