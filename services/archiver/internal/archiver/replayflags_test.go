package archiver

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/config"
	"github.com/riverwatch/riverwatch/pkg/store"
)

func TestParseReplay(t *testing.T) {
	cfg := config.Default()
	from := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		args    string
		want    ReplayRequest
		wantErr string
	}{
		{"offset range of one partition", "-topic readings -partition 2 -from-offset 100 -to-offset 200",
			ReplayRequest{Kind: store.KindReadings, Topic: cfg.Kafka.Topics.Readings, Partition: 2, FromOffset: 100, ToOffset: 200}, ""},
		{"time range by topic name, every partition", "-topic riverwatch.incidents -from 2025-06-01T00:00:00Z",
			ReplayRequest{Kind: store.KindIncidents, Topic: cfg.Kafka.Topics.Incidents, Partition: -1, FromOffset: -1, ToOffset: -1, From: from}, ""},
		{"offset without partition", "-topic readings -from-offset 5", ReplayRequest{}, "-from-offset needs -partition"},
		{"offset and time", "-topic readings -partition 0 -from-offset 5 -from 2025-06-01T00:00:00Z", ReplayRequest{}, "not both"},
		{"no start", "-topic events", ReplayRequest{}, "give -partition"},
		{"bad time", "-topic events -from yesterday", ReplayRequest{}, "-from"},
		{"offset range backwards", "-topic readings -partition 0 -from-offset 5 -to-offset 5", ReplayRequest{}, "-to-offset must be after"},
		{"unknown topic", "-topic commands -from 2025-06-01T00:00:00Z", ReplayRequest{}, "unknown topic"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseReplay(&cfg, strings.Fields(tt.args), io.Discard)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.want.MaxRows, tt.want.MaxBytes = cfg.Archiver.MaxRows, cfg.Archiver.MaxBytes
			if got != tt.want {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}
