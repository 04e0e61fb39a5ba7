package archiver

import (
	"maps"
	"testing"

	"github.com/segmentio/kafka-go"
)

func TestLagOfIsHighWaterMarkMinusLastOffset(t *testing.T) {
	msgs := []kafka.Message{{Partition: 0, Offset: 5, HighWaterMark: 10}, {Partition: 0, Offset: 8, HighWaterMark: 10}, {Partition: 1, Offset: 3, HighWaterMark: 4}}
	if got, want := lagOf(msgs), map[int]int64{0: 1, 1: 0}; !maps.Equal(got, want) {
		t.Errorf("lag = %v, want %v", got, want)
	}
}
