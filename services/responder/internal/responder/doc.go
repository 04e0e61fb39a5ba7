// Package responder runs the incident engine (services/responder/internal/incident) against Kafka and the
// notification channels (pkg/notify): it consumes riverwatch.events and riverwatch.commands,
// publishes every incident change on riverwatch.incidents (keyed by incident id), escalates
// on a ticker and delivers notifications with retries.
//
// Replicas. Responders form a consumer group on the events topic (generation.go). Events are
// keyed by site and placed by basin (stream.ByRoute with network.Basin, in the assessor), so
// every event that can join an incident arrives on one partition, and the replica that owns
// the partition owns its incidents. A generation restores the state partitions with the
// numbers of its events partitions, then applies their events; an incident lives in the
// state partition of the event that opened it. Commands are few and concern any partition:
// every replica reads the whole commands topic, applies a command where it belongs (the
// incident it holds; a drill where its site's basin is owned; a silence everywhere) and keeps
// the position it reached in each state partition it owns, so whoever owns the partition
// next resumes there. A generation ends only once its deliveries in flight are recorded and
// its state is written; the group gives the partitions to another replica after that, or,
// when a replica dies, after its session times out (10 s).
//
// Durability. For every batch of input the responder publishes the updates, then writes the
// state of each changed incident (keyed by incident id, in its partition), and only then
// lets the consumer commit the input offsets; a crash replays the batch, which the engine
// recognises by event and command ids.
//
// An event or command that does not decode is recorded on riverwatch.rejected
// (message.UndecodableRejection, source "responder") before anything of its batch is
// applied, and committed with the batch: nothing is dropped silently, and one bad message
// never blocks its topic.
//
// Notifications are write-ahead: an attempt is recorded as "sending" in the state topic
// before the HTTP request or mail leaves, and as sent (or failed, with a backoff) after.
// After a SIGKILL, a delivery recorded as sending but not finished is re-delivered with the
// SAME idempotency key (Idempotency-Key header, "key" in the webhook body, Message-ID of a
// mail): nothing is lost, and a receiver that honours the key processes nothing twice.
// A receiver that ignores the key (a WeCom or DingTalk group robot) may show that one
// message twice; exactly-once delivery to an external system needs the receiver's help.
package responder
