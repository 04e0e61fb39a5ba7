package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadAppliesEnvironmentOverridesToKeysTheFileDoesNotName(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(path, []byte("clickhouse:\n  addr: ch:9000\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("RIVERWATCH_CLICKHOUSE_ADDR", "") // make test exports it; empty means unset to viper
	t.Setenv("RIVERWATCH_KAFKA_BROKERS", "k1:9092,k2:9092")
	t.Setenv("RIVERWATCH_ARCHIVER_MAX_DELAY", "250ms")
	t.Setenv("RIVERWATCH_KAFKA_TOPICS_READINGS", "test.readings")
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.Kafka.Brokers, ","); got != "k1:9092,k2:9092" {
		t.Errorf("kafka.brokers = %q", got)
	}
	if c.ClickHouse.Addr != "ch:9000" {
		t.Errorf("clickhouse.addr = %q, want the file's value", c.ClickHouse.Addr)
	}
	if c.Archiver.MaxDelay != 250*time.Millisecond {
		t.Errorf("archiver.max_delay = %v", c.Archiver.MaxDelay)
	}
	if c.Kafka.Topics.Readings != "test.readings" || c.Kafka.Topics.Events != "riverwatch.events" {
		t.Errorf("topics = %+v", c.Kafka.Topics)
	}
}

func TestLoadNamesTheKeyThatIsWrong(t *testing.T) {
	tests := []struct{ env, val, want string }{
		{"RIVERWATCH_CLICKHOUSE_DATABASE", " ", "clickhouse.database"},
		{"RIVERWATCH_SITES_FILE", " ", "sites_file"},
		{"RIVERWATCH_GATEWAY_LISTEN", " ", "gateway.listen"},
		{"RIVERWATCH_KAFKA_PARTITIONS", "0", "kafka.partitions"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			t.Setenv(tt.env, tt.val)
			_, err := Load("")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want it to name %s", err, tt.want)
			}
		})
	}
}

func TestRepositoryConfigLoads(t *testing.T) {
	c, err := Load(filepath.Join("..", "..", "configs", "riverwatch.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Gateway.HJ212Listen != ":9212" || c.API.Listen != ":8080" || c.Archiver.Listen != "127.0.0.1:8084" {
		t.Errorf("default ports differ from the contract: %+v %+v", c.Gateway, c.API)
	}
}

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "riverwatch.yaml")
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadRefusesAKeyNoSectionKnowsNamingItAndTheFile(t *testing.T) {
	tests := []struct{ name, body, want string }{
		{"misspelt section key", "gateway:\n  max_conections: 10\n", "unknown key gateway.max_conections"},
		{"misspelt top-level key", "site_file: sites.yaml\n", "unknown key site_file"},
		{"misspelt section", "archivr:\n  max_rows: 10\n", "unknown key archivr.max_rows"},
		{"old batch knob name", "archiver:\n  batch_rows: 10\n", "unknown key archiver.batch_rows"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfig(t, tt.body)
			_, err := Load(path)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), path) {
				t.Fatalf("error = %v, want it to say %q and name %s", err, tt.want, path)
			}
		})
	}
}

func TestLoadAcceptsKeysBelowAMapValuedKey(t *testing.T) {
	c, err := Load(writeConfig(t, "assessor:\n  decay_per_hour:\n    nh3n: 0.1\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Assessor.DecayPerHour["nh3n"] != 0.1 {
		t.Errorf("decay_per_hour = %v", c.Assessor.DecayPerHour)
	}
}

func TestLoadRefusesOutOfRangeValuesNamingTheKey(t *testing.T) {
	tests := []struct{ body, want string }{
		{"gateway:\n  max_connections: -1\n", "gateway.max_connections"},
		{"gateway:\n  max_connections: 0\n", "gateway.max_connections"},
		{"gateway:\n  max_frame_bytes: 10000\n", "gateway.max_frame_bytes"},
		{"gateway:\n  kafka_writers: 0\n", "gateway.kafka_writers"},
		{"gateway:\n  publish_batch_size: 0\n", "gateway.publish_batch_size"},
		{"archiver:\n  max_rows: 0\n", "archiver.max_rows"},
		{"archiver:\n  rollup_timezone: Mars/Olympus\n", "archiver.rollup_timezone"},
		{"assessor:\n  max_rows: -5\n", "assessor.max_rows"},
		{"responder:\n  workers: 0\n", "responder.workers"},
		{"api:\n  query_timeout: -1s\n", "api.query_timeout"},
		{"kafka:\n  max_wait: 0s\n", "kafka.max_wait"},
		{"log:\n  level: loud\n", "log.level"},
		{"ops:\n  shutdown_timeout: 0s\n", "ops.shutdown_timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			_, err := Load(writeConfig(t, tt.body))
			if err == nil || !strings.Contains(err.Error(), "config key "+tt.want+" ") {
				t.Fatalf("error = %v, want it to name %s", err, tt.want)
			}
		})
	}
}

func TestLoadResolvesPathsAgainstTheConfigFilesDirectory(t *testing.T) {
	path := writeConfig(t, "sites_file: net/sites.yaml\nplaybooks_file: /abs/playbooks.yaml\n")
	dir := filepath.Dir(path)
	t.Setenv("RIVERWATCH_CONTACTS_FILE", "here/contacts.yaml")
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	for key, tt := range map[string]struct{ got, want string }{
		"sites_file (from the file)":        {c.SitesFile, filepath.Join(dir, "net/sites.yaml")},
		"playbooks_file (absolute)":         {c.PlaybooksFile, "/abs/playbooks.yaml"},
		"contacts_file (environment)":       {c.ContactsFile, "here/contacts.yaml"},
		"auth.tokens_file (default)":        {c.Auth.TokensFile, filepath.Join(dir, "tokens.yaml")},
		"simulator.scenario_file (default)": {c.Simulator.ScenarioFile, filepath.Join(dir, "scenarios/spill.yaml")},
	} {
		if tt.got != tt.want {
			t.Errorf("%s = %q, want %q", key, tt.got, tt.want)
		}
	}
}

func TestRepositoryConfigReferencesFilesThatExist(t *testing.T) {
	c, err := Load(filepath.Join("..", "..", "configs", "riverwatch.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{c.SitesFile, c.PlaybooksFile, c.ContactsFile, c.Auth.TokensFile, c.Simulator.ScenarioFile} {
		if _, err := os.Stat(p); err != nil {
			t.Error(err)
		}
	}
}

func TestEveryDefaultIsValid(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestLoadReportsEveryProblemOfTheFileAtOnce(t *testing.T) {
	path := writeConfig(t, "gateway:\n  max_conections: 10\n  max_connections: -1\napi:\n  query_timeout: 0s\n")
	_, err := Load(path)
	for _, want := range []string{"unknown key gateway.max_conections", "config key gateway.max_connections ", "config key api.query_timeout "} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error = %v, want it to say %q", err, want)
		}
	}
}
