package stream

import (
	"hash/fnv"
	"slices"
	"strconv"

	"github.com/segmentio/kafka-go"
)

// Shard is the partition, of n, that a routing key belongs to: FNV-1a of the key modulo n
// (unsigned; kafka-go's Hash balancer takes the same hash signed). A producer that places messages with
// ByRoute and a consumer that asks Shard for the same key agree on the partition, so a
// consumer can tell which of its partitions owns a key it did not read from one (the
// responder's drills and commands).
func Shard(key string, n int) int {
	if n <= 0 {
		return 0
	}
	h := fnv.New32a()
	h.Write([]byte(key))
	return int(h.Sum32() % uint32(n))
}

// Partitioner chooses a message's partition among the topic's partitions (sorted, as
// kafka-go lists them).
type Partitioner func(msg kafka.Message, partitions []int) int

// ByRoute places a message by the routing key route derives from it (hashed with Shard),
// instead of by its Kafka key: the assessor keys events by site and routes them by basin.
func ByRoute(route func(kafka.Message) string) Partitioner {
	return func(msg kafka.Message, partitions []int) int {
		return partitions[Shard(route(msg), len(partitions))]
	}
}

// HeaderPartition is the header ByHeader reads: the partition number, in decimal.
const HeaderPartition = "riverwatch-partition"

// ByHeader places a message in the partition its HeaderPartition header names (the
// responder writes each shard's state to the shard's own partition), and a message without
// a valid one by its key's Shard.
func ByHeader(msg kafka.Message, partitions []int) int {
	for _, h := range msg.Headers {
		if h.Key != HeaderPartition {
			continue
		}
		if p, err := strconv.Atoi(string(h.Value)); err == nil && slices.Contains(partitions, p) {
			return p
		}
	}
	return partitions[Shard(string(msg.Key), len(partitions))]
}

// PartitionHeader is the header that makes ByHeader place a message in partition p.
func PartitionHeader(p int) kafka.Header {
	return kafka.Header{Key: HeaderPartition, Value: []byte(strconv.Itoa(p))}
}

// balancer adapts a Partitioner to kafka-go.
type balancer Partitioner

func (b balancer) Balance(msg kafka.Message, partitions ...int) int { return b(msg, partitions) }
