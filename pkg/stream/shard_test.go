package stream

import (
	"testing"

	"github.com/segmentio/kafka-go"
)

func TestShardIsStableAndInRange(t *testing.T) {
	for _, n := range []int{1, 3, 6, 12} {
		seen := map[int]bool{}
		for _, key := range []string{"toutun", "santun", "manas", "a", "", "头屯河"} {
			p := Shard(key, n)
			if p < 0 || p >= n {
				t.Fatalf("Shard(%q, %d) = %d, out of range", key, n, p)
			}
			if Shard(key, n) != p {
				t.Fatalf("Shard(%q, %d) changed between calls", key, n)
			}
			seen[p] = true
		}
		if n > 1 && len(seen) < 2 {
			t.Errorf("six keys over %d partitions all landed on one: %v", n, seen)
		}
	}
	if Shard("x", 0) != 0 {
		t.Error("Shard with no partitions should be 0")
	}
}

func TestPartitionersPlaceMessages(t *testing.T) {
	parts := []int{0, 1, 2, 3, 4, 5}
	basin := func(m kafka.Message) string { return "basin-of-" + string(m.Key)[:1] }
	tests := []struct {
		name string
		p    Partitioner
		msg  kafka.Message
		want int
	}{
		{"ByRoute hashes the route, not the key", ByRoute(basin), kafka.Message{Key: []byte("a-site-1")}, Shard("basin-of-a", 6)},
		{"ByRoute puts two keys of one route together", ByRoute(basin), kafka.Message{Key: []byte("a-site-2")}, Shard("basin-of-a", 6)},
		{"ByHeader obeys the header", ByHeader, kafka.Message{Key: []byte("k"), Headers: []kafka.Header{PartitionHeader(4)}}, 4},
		{"ByHeader ignores a partition the topic lacks", ByHeader, kafka.Message{Key: []byte("k"), Headers: []kafka.Header{PartitionHeader(9)}}, Shard("k", 6)},
		{"ByHeader without the header hashes the key", ByHeader, kafka.Message{Key: []byte("k")}, Shard("k", 6)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p(tt.msg, parts); got != tt.want {
				t.Errorf("partition %d, want %d", got, tt.want)
			}
			if got := balancer(tt.p).Balance(tt.msg, parts...); got != tt.want {
				t.Errorf("through kafka-go's Balancer: %d, want %d", got, tt.want)
			}
		})
	}
}
