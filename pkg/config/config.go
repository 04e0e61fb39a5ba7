// Package config loads riverwatch's configuration (configs/riverwatch.yaml) with viper.
//
// Every key has a default registered with viper, so that an environment variable
// RIVERWATCH_<KEY> (dots as underscores: RIVERWATCH_KAFKA_BROKERS) overrides it even when
// the file does not mention the key — viper only lets the environment reach Unmarshal for
// keys it already knows. Each service's section lives in a file of its own.
package config

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/spf13/viper"
)

// EnvPrefix is the prefix of environment overrides.
const EnvPrefix = "RIVERWATCH"

// Config is the whole configuration. Services read the sections they need.
type Config struct {
	Kafka         Kafka      `mapstructure:"kafka"`
	ClickHouse    ClickHouse `mapstructure:"clickhouse"`
	SitesFile     string     `mapstructure:"sites_file"`
	PlaybooksFile string     `mapstructure:"playbooks_file"`
	ContactsFile  string     `mapstructure:"contacts_file"`
	Auth          Auth       `mapstructure:"auth"`
	Log           Log        `mapstructure:"log"`
	Gateway       Gateway    `mapstructure:"gateway"`
	Assessor      Assessor   `mapstructure:"assessor"`
	Responder     Responder  `mapstructure:"responder"`
	Archiver      Archiver   `mapstructure:"archiver"`
	API           API        `mapstructure:"api"`
	Simulator     Simulator  `mapstructure:"simulator"`
}

// Kafka configures the brokers and the producer and consumer plumbing.
type Kafka struct {
	Brokers []string `mapstructure:"brokers"`
	// BatchTimeout bounds how long a producer waits to fill a batch; kafka-go's default of 1 s
	// would make every synchronous publish wait a second.
	BatchTimeout time.Duration `mapstructure:"batch_timeout"`
	BatchSize    int           `mapstructure:"batch_size"`
	// MaxWait bounds how long a consumer's fetch waits for data (kafka-go's default is 10 s).
	MaxWait    time.Duration `mapstructure:"max_wait"`
	Partitions int           `mapstructure:"partitions"`
	// GroupPrefix prefixes every consumer group, so that tests can run isolated pipelines on
	// one broker.
	GroupPrefix string `mapstructure:"group_prefix"`
	Topics      Topics `mapstructure:"topics"`
}

// Topics names the topics of the contract; tests point a pipeline at topics of its own.
type Topics struct {
	Readings  string `mapstructure:"readings"`
	Rejected  string `mapstructure:"rejected"`
	Events    string `mapstructure:"events"`
	Incidents string `mapstructure:"incidents"`
	Commands  string `mapstructure:"commands"`
}

// All returns every topic name.
func (t Topics) All() []string {
	return []string{t.Readings, t.Rejected, t.Events, t.Incidents, t.Commands}
}

// ClickHouse configures the native-protocol connection.
type ClickHouse struct {
	Addr     string `mapstructure:"addr"`
	Database string `mapstructure:"database"`
	Username string `mapstructure:"username"`
	Password string `mapstructure:"password"`
	// Cluster, when set, switches the schema to ReplicatedMergeTree + Distributed tables
	// created ON CLUSTER <name>.
	Cluster     string        `mapstructure:"cluster"`
	DialTimeout time.Duration `mapstructure:"dial_timeout"`
}

// Auth names the API token file.
type Auth struct {
	TokensFile string `mapstructure:"tokens_file"`
}

// Log configures log/slog.
type Log struct {
	Level  string `mapstructure:"level"`  // debug, info, warn, error
	Format string `mapstructure:"format"` // text or json
}

// Default returns the configuration used when neither the file nor the environment says
// otherwise.
func Default() Config {
	return Config{
		Kafka: Kafka{
			Brokers:      []string{"127.0.0.1:9092"},
			BatchTimeout: 2 * time.Millisecond,
			BatchSize:    1000,
			MaxWait:      100 * time.Millisecond,
			Partitions:   6,
			GroupPrefix:  "riverwatch",
			Topics: Topics{
				Readings: message.TopicReadings, Rejected: message.TopicRejected, Events: message.TopicEvents,
				Incidents: message.TopicIncidents, Commands: message.TopicCommands,
			},
		},
		ClickHouse: ClickHouse{
			Addr:        "127.0.0.1:9000",
			Database:    "riverwatch",
			Username:    "default",
			DialTimeout: 5 * time.Second,
		},
		SitesFile:     "configs/sites.yaml",
		PlaybooksFile: "configs/playbooks.yaml",
		ContactsFile:  "configs/contacts.yaml",
		Auth:          Auth{TokensFile: "configs/tokens.yaml"},
		Log:           Log{Level: "info", Format: "text"},
		Gateway:       defaultGateway(),
		Assessor:      defaultAssessor(),
		Responder:     defaultResponder(),
		Archiver:      defaultArchiver(),
		API:           defaultAPI(),
		Simulator:     defaultSimulator(),
	}
}

// Load reads the file at path (empty: defaults and environment only), applies
// RIVERWATCH_* overrides and validates the result.
func Load(path string) (*Config, error) {
	v := viper.New()
	v.SetEnvPrefix(EnvPrefix)
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_"))
	v.AutomaticEnv()
	for key, val := range flatten(Default()) {
		v.SetDefault(key, val)
	}
	if path != "" {
		v.SetConfigFile(path)
		if err := v.ReadInConfig(); err != nil {
			return nil, fmt.Errorf("config file %s: %w", path, err)
		}
	}
	var c Config
	hook := mapstructure.ComposeDecodeHookFunc(
		mapstructure.StringToTimeDurationHookFunc(),
		mapstructure.StringToSliceHookFunc(","),
	)
	if err := v.Unmarshal(&c, viper.DecodeHook(hook)); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// Validate checks the keys every service relies on; each error names its key.
func (c *Config) Validate() error {
	var errs []error
	need := func(key, val string) {
		if strings.TrimSpace(val) == "" {
			errs = append(errs, fmt.Errorf("config key %s (env %s): must not be empty", key, EnvName(key)))
		}
	}
	if len(c.Kafka.Brokers) == 0 || strings.TrimSpace(c.Kafka.Brokers[0]) == "" {
		errs = append(errs, fmt.Errorf("config key kafka.brokers (env %s): must list at least one broker", EnvName("kafka.brokers")))
	}
	need("clickhouse.addr", c.ClickHouse.Addr)
	need("clickhouse.database", c.ClickHouse.Database)
	need("sites_file", c.SitesFile)
	need("playbooks_file", c.PlaybooksFile)
	need("auth.tokens_file", c.Auth.TokensFile)
	for key, addr := range map[string]string{
		"gateway.listen": c.Gateway.Listen, "gateway.hj212_listen": c.Gateway.HJ212Listen,
		"assessor.listen": c.Assessor.Listen, "responder.listen": c.Responder.Listen,
		"archiver.listen": c.Archiver.Listen, "api.listen": c.API.Listen,
	} {
		need(key, addr)
	}
	if c.Kafka.BatchTimeout <= 0 {
		errs = append(errs, fmt.Errorf("config key kafka.batch_timeout: must be > 0"))
	}
	if c.Kafka.Partitions <= 0 {
		errs = append(errs, fmt.Errorf("config key kafka.partitions: must be > 0"))
	}
	return errors.Join(errs...)
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
