package config

import (
	"slices"
	"strings"
	"testing"
)

// production is the default configuration as a production deployment would write it: every
// development default replaced.
func production() Config {
	c := Default()
	c.ClickHouse.Password = "ch-secret"
	c.Responder.WebhookSecret = "a-long-random-secret"
	c.API.MetricsListen = "127.0.0.1:9180"
	c.Gateway.MetricsListen = "10.0.0.5:9181"
	c.API.ClickHouseUsername, c.API.ClickHousePasswordFile = "riverwatch_api", "/etc/riverwatch/secrets/clickhouse-api-password"
	c.Responder.ClickHouseUsername, c.Responder.ClickHousePasswordFile = "riverwatch_api", "/etc/riverwatch/secrets/clickhouse-api-password"
	c.Kafka.TLS = TLS{Enabled: true, CAFile: "/etc/riverwatch/secrets/kafka-ca.pem"}
	c.Kafka.SASL = KafkaSASL{Mechanism: SASLScramSHA512, Username: "riverwatch", PasswordFile: "/etc/riverwatch/secrets/kafka-password"}
	return c
}

func TestModeIsProductionByDefault(t *testing.T) {
	t.Setenv("RIVERWATCH_MODE", "") // make test exports development; empty means unset to viper
	c, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	if c.Mode != ModeProduction {
		t.Fatalf("mode = %q, want production", c.Mode)
	}
	t.Setenv("RIVERWATCH_MODE", "development")
	if c, err = Load(""); err != nil || c.Mode != ModeDevelopment {
		t.Fatalf("RIVERWATCH_MODE=development: mode %v, err %v", c, err)
	}
	t.Setenv("RIVERWATCH_MODE", "staging")
	if _, err := Load(""); err == nil || !strings.Contains(err.Error(), "config key mode ") {
		t.Fatalf("mode staging: err %v, want it refused naming mode", err)
	}
}

func TestAProductionConfigurationPasses(t *testing.T) {
	c := production()
	if err := c.Production(""); err != nil {
		t.Fatal(err)
	}
}

// Production refuses each kind of development default, naming the key, and only in the
// services that use it.
func TestProductionRefusesEachDevelopmentDefaultNamingTheKey(t *testing.T) {
	tests := []struct {
		name     string
		change   func(*Config)
		key      string
		services []string // the services that refuse it
	}{
		{"the development webhook secret", func(c *Config) { c.Responder.WebhookSecret = DevelopmentWebhookSecret },
			"responder.webhook_secret", []string{"responder"}},
		{"an empty webhook secret", func(c *Config) { c.Responder.WebhookSecret = "" },
			"responder.webhook_secret", []string{"responder"}},
		{"an SMTP user without a password", func(c *Config) { c.Responder.SMTPUsername = "rw" },
			"responder.smtp_password", []string{"responder"}},
		{"an empty ClickHouse password", func(c *Config) { c.ClickHouse.Password = "" },
			"clickhouse.password", []string{"archiver"}},
		{"the example ClickHouse password of the Kubernetes secrets", func(c *Config) { c.ClickHouse.Password = "REPLACE-ME-clickhouse-password" },
			"clickhouse.password", []string{"archiver"}},
		{"the example webhook secret of compose's env.example", func(c *Config) { c.Responder.WebhookSecret = "change-me-webhook-hmac-secret" },
			"responder.webhook_secret", []string{"responder"}},
		{"the assessor's ops port on all interfaces", func(c *Config) { c.Assessor.Listen = ":8082" },
			"assessor.listen", []string{"assessor"}},
		{"the responder's ops port on 0.0.0.0", func(c *Config) { c.Responder.Listen = "0.0.0.0:8083" },
			"responder.listen", []string{"responder"}},
		{"the archiver's ops port on ::", func(c *Config) { c.Archiver.Listen = "[::]:8084" },
			"archiver.listen", []string{"archiver"}},
		{"the api's metrics on all interfaces", func(c *Config) { c.API.MetricsListen = ":9180" },
			"api.metrics_listen", []string{"api"}},
		{"the api's metrics on its public port", func(c *Config) { c.API.MetricsListen = "" },
			"api.metrics_listen", []string{"api"}},
		{"the gateway's metrics on its public port", func(c *Config) { c.Gateway.MetricsListen = "" },
			"gateway.metrics_listen", []string{"gateway"}},
		{"the responder reading ClickHouse without an account of its own", func(c *Config) { c.Responder.ClickHouseUsername = "" },
			"responder.clickhouse_username", []string{"responder"}},
		{"the responder's ClickHouse account without its password file", func(c *Config) { c.Responder.ClickHousePasswordFile = "" },
			"responder.clickhouse_password_file", []string{"responder"}},
		{"Kafka without a SASL user", func(c *Config) { c.Kafka.SASL = KafkaSASL{} },
			"kafka.sasl.mechanism", []string{"gateway", "assessor", "responder", "archiver", "api"}},
		{"Kafka without TLS", func(c *Config) { c.Kafka.TLS = TLS{} },
			"kafka.tls.enabled", []string{"gateway", "assessor", "responder", "archiver", "api"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := production()
			tt.change(&c)
			for _, svc := range Services() {
				err := c.Production(svc)
				refused := err != nil && strings.Contains(err.Error(), "config key "+tt.key+" ")
				if want := slices.Contains(tt.services, svc); refused != want {
					t.Errorf("%s: refused %v, want %v (err %v)", svc, refused, want, err)
				}
				if err != nil && !strings.Contains(err.Error(), EnvName(tt.key)) {
					t.Errorf("%s: %v does not name the environment variable %s", svc, err, EnvName(tt.key))
				}
			}
		})
	}
}

func TestPrivatePortsDefaultToLoopback(t *testing.T) {
	c := Default()
	for _, l := range c.Listeners() {
		if l.Public || l.Addr == "" {
			continue
		}
		if !strings.HasPrefix(l.Addr, "127.0.0.1:") {
			t.Errorf("%s defaults to %q, want loopback", l.Key, l.Addr)
		}
	}
	for _, key := range []string{"assessor.listen", "responder.listen", "archiver.listen"} {
		if !slices.ContainsFunc(c.Listeners(), func(l Listener) bool { return l.Key == key && !l.Public }) {
			t.Errorf("%s is not a private listener", key)
		}
	}
}

func TestAllInterfaces(t *testing.T) {
	for addr, want := range map[string]bool{
		":8080": true, "0.0.0.0:8080": true, "[::]:8080": true, "[0:0::0]:1": true, "": true,
		"127.0.0.1:8082": false, "[::1]:8082": false, "10.0.0.5:8082": false, "assessor:8082": false,
	} {
		if got := AllInterfaces(addr); got != want {
			t.Errorf("AllInterfaces(%q) = %v, want %v", addr, got, want)
		}
	}
}

// Every listen key of a production service's section is a Listener, and every private one
// is refused on all interfaces: a listen key added without its check fails here.
func TestEveryListenerIsJudgedInProduction(t *testing.T) {
	base := production()
	known := map[string]Listener{}
	for _, l := range base.Listeners() {
		known[l.Key] = l
	}
	for key := range flatten(Default()) {
		section, _, _ := strings.Cut(key, ".")
		if !strings.HasSuffix(key, "listen") || !slices.Contains(Services(), section) {
			continue
		}
		l, ok := known[key]
		if !ok {
			t.Errorf("%s is not in Config.Listeners: add it to its section's listeners", key)
			continue
		}
		if l.Public {
			continue
		}
		t.Setenv(EnvName(key), "0.0.0.0:1")
		c, err := Load("")
		if err != nil {
			t.Fatal(err)
		}
		c.ClickHouse.Password, c.Responder.WebhookSecret = "x", "y"
		if err := c.Production(section); err == nil || !strings.Contains(err.Error(), "config key "+key+" ") {
			t.Errorf("%s on all interfaces: Production(%s) = %v, want it refused", key, section, err)
		}
		t.Setenv(EnvName(key), base.Listeners()[slices.IndexFunc(base.Listeners(), func(x Listener) bool { return x.Key == key })].Addr)
	}
}

// Every key that holds a password or a secret is judged in production: a secret key added
// without its check fails here.
func TestEverySecretIsJudgedInProduction(t *testing.T) {
	// The keys Production judges, with a value that makes it refuse them. A file key whose
	// secret Load reads into another key is judged through that one (refusedAs).
	judged := map[string]func(*Config){
		"clickhouse.password":                func(c *Config) { c.ClickHouse.Password = "" },
		"clickhouse.password_file":           func(c *Config) { c.ClickHouse.Password, c.ClickHouse.PasswordFile = "", "" },
		"responder.webhook_secret":           func(c *Config) { c.Responder.WebhookSecret = "" },
		"responder.smtp_password":            func(c *Config) { c.Responder.SMTPUsername, c.Responder.SMTPPassword = "u", "" },
		"api.clickhouse_password_file":       func(c *Config) { c.API.ClickHousePasswordFile = "" },
		"responder.clickhouse_password_file": func(c *Config) { c.Responder.ClickHousePasswordFile = "" },
		"kafka.sasl.password_file":           func(c *Config) { c.Kafka.SASL = KafkaSASL{} },
	}
	refusedAs := map[string]string{"clickhouse.password_file": "clickhouse.password", "kafka.sasl.password_file": "kafka.sasl.mechanism"}
	for key := range flatten(Default()) {
		if strings.HasPrefix(key, "simulator.") || !(strings.Contains(key, "password") || strings.Contains(key, "secret")) {
			continue
		}
		change, ok := judged[key]
		if !ok {
			t.Errorf("%s holds a secret but Production does not judge it: add its check to its section's production", key)
			continue
		}
		c := production()
		change(&c)
		want := key
		if k, ok := refusedAs[key]; ok {
			want = k
		}
		if err := c.Production(""); err == nil || !strings.Contains(err.Error(), "config key "+want+" ") {
			t.Errorf("%s: Production = %v, want %s refused", key, err, want)
		}
	}
}

// kafka.unauthenticated is the one explicit way to run production on plaintext brokers.
func TestUnauthenticatedKafkaIsAcceptedOnlyWhenSaidExplicitly(t *testing.T) {
	c := production()
	c.Kafka.TLS, c.Kafka.SASL = TLS{}, KafkaSASL{}
	if err := c.Production("gateway"); err == nil {
		t.Fatal("plaintext Kafka accepted in production without kafka.unauthenticated")
	}
	c.Kafka.Unauthenticated = true
	if err := c.Production("gateway"); err != nil {
		t.Errorf("kafka.unauthenticated: true: %v", err)
	}
}
