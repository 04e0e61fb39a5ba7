// Package responder runs the incident engine (services/responder/internal/incident) against Kafka and the
// notification channels (pkg/notify): it consumes riverwatch.events and riverwatch.commands,
// publishes every incident change on riverwatch.incidents (keyed by incident id), escalates
// on a ticker and delivers notifications with retries.
//
// Durability. The responder owns incident state, and keeps it in a compacted state topic
// (responder.state_topic) keyed by incident id. For every batch of input it publishes the
// updates, then writes the state of each changed incident, and only then lets the consumer
// commit the input offsets; a crash replays the batch, which the engine recognises by event
// and command ids. On start it reads the state topic back before consuming anything.
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
//
// One responder instance owns the state: run a single replica (a second one would restore
// the same incidents and act on them twice).
package responder
