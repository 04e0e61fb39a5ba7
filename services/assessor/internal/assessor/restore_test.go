package assessor

import (
	"testing"

	"github.com/segmentio/kafka-go"
)

func TestTheTailerKnowsAStateRecordsReadingsPartitionFromItsHeader(t *testing.T) {
	tests := []struct {
		name    string
		headers []kafka.Header
		want    int32
		wantOK  bool
	}{
		{"written with the header", []kafka.Header{readingsPartitionHeader(4)}, 4, true},
		{"partition zero", []kafka.Header{{Key: "other", Value: []byte("9")}, readingsPartitionHeader(0)}, 0, true},
		{"written before the header existed: decoded instead", nil, 0, false},
		{"a malformed header: decoded instead", []kafka.Header{{Key: headerReadingsPartition, Value: []byte("x")}}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := readingsPartitionOf(kafka.Message{Headers: tt.headers})
			if ok != tt.wantOK || (ok && got != tt.want) {
				t.Fatalf("readingsPartitionOf = %d, %v; want %d, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}
