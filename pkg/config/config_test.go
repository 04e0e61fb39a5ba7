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
	t.Setenv("RIVERWATCH_ARCHIVER_BATCH_INTERVAL", "250ms")
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
	if c.Archiver.BatchInterval != 250*time.Millisecond {
		t.Errorf("archiver.batch_interval = %v", c.Archiver.BatchInterval)
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
	if c.Gateway.HJ212Listen != ":9212" || c.API.Listen != ":8080" || c.Archiver.Listen != ":8084" {
		t.Errorf("default ports differ from the contract: %+v %+v", c.Gateway, c.API)
	}
}
