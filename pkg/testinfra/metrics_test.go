package testinfra

import (
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestLastCommittedOffsetsReadsTheServiceTopicsPartitions(t *testing.T) {
	const page = `# HELP riverwatch_archiver_kafka_last_committed_offset The last offset committed.
# TYPE riverwatch_archiver_kafka_last_committed_offset gauge
riverwatch_archiver_kafka_last_committed_offset{partition="0",topic="t.readings"} 1994
riverwatch_archiver_kafka_last_committed_offset{partition="2",topic="t.readings"} -1
riverwatch_archiver_kafka_last_committed_offset{partition="1",topic="t.readings-rollups"} 7
riverwatch_assessor_kafka_last_committed_offset{partition="1",topic="t.readings"} 9
riverwatch_archiver_kafka_lag_records{partition="1",topic="t.readings"} 3
`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metrics" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprint(w, page)
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	tests := []struct {
		name, service, topic string
		want                 map[int]float64
	}{
		{"committed and not yet committed partitions", "archiver", "t.readings", map[int]float64{0: 1994, 2: -1}},
		{"another service's gauge", "assessor", "t.readings", map[int]float64{1: 9}},
		{"a topic the service does not consume", "archiver", "t.events", map[int]float64{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := LastCommittedOffsets(addr, tc.service, tc.topic)
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(got, tc.want) {
				t.Errorf("LastCommittedOffsets(%s, %s) = %v, want %v", tc.service, tc.topic, got, tc.want)
			}
		})
	}
	if _, err := LastCommittedOffsets(addr+"0", "archiver", "t.readings"); err == nil {
		t.Error("no error from an address nothing listens on")
	}
}
