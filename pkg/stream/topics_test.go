package stream

import (
	"testing"

	"github.com/segmentio/kafka-go"
)

func TestTopicConfigsSetMinInsyncReplicasWhereTheReplicationAllows(t *testing.T) {
	specs := []TopicSpec{{Name: "r", Partitions: 6}, {Name: "s", Partitions: 3, Compacted: true}}
	tests := []struct {
		name      string
		brokers   int
		wantRF    int
		wantISR   string // "" = not set, the broker's default
		wantClean string
	}{
		{"one broker: one copy, no min.insync.replicas", 1, 1, "", "compact"},
		{"two brokers: two copies, writes go on while one restarts", 2, 2, "", "compact"},
		{"three brokers: three copies, two must have a write", 3, 3, "2", "compact"},
		{"five brokers: still three copies, two must have a write", 5, 3, "2", "compact"},
		{"no broker listed: one copy rather than an invalid request", 0, 1, "", "compact"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfgs := topicConfigs(tt.brokers, specs)
			if len(cfgs) != len(specs) {
				t.Fatalf("got %d configs for %d specs", len(cfgs), len(specs))
			}
			for i, tc := range cfgs {
				if tc.Topic != specs[i].Name || tc.NumPartitions != specs[i].Partitions {
					t.Errorf("config %d is %s/%d, want %s/%d", i, tc.Topic, tc.NumPartitions, specs[i].Name, specs[i].Partitions)
				}
				if tc.ReplicationFactor != tt.wantRF {
					t.Errorf("%s: replication factor %d, want %d", tc.Topic, tc.ReplicationFactor, tt.wantRF)
				}
				if got := entry(tc.ConfigEntries, "min.insync.replicas"); got != tt.wantISR {
					t.Errorf("%s: min.insync.replicas %q, want %q", tc.Topic, got, tt.wantISR)
				}
				wantClean := ""
				if specs[i].Compacted {
					wantClean = tt.wantClean
				}
				if got := entry(tc.ConfigEntries, "cleanup.policy"); got != wantClean {
					t.Errorf("%s: cleanup.policy %q, want %q", tc.Topic, got, wantClean)
				}
			}
		})
	}
}

func entry(entries []kafka.ConfigEntry, name string) string {
	for _, e := range entries {
		if e.ConfigName == name {
			return e.ConfigValue
		}
	}
	return ""
}
