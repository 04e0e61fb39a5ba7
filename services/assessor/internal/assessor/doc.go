// Package assessor runs a engine.Engine on Kafka: it consumes riverwatch.readings in a
// consumer group, judges each reading, publishes the events on riverwatch.events (keyed
// by site), and keeps the engine's state in a compacted state topic
// (assessor.state_topic) so that a crash or a rebalance neither opens an exceedance twice
// nor misses a transition.
//
// # Delivery
//
// For every batch, strictly in this order:
//
//	judge the batch ─► publish its events (acks=all) ─► publish the state it changed ─► commit its offsets
//
// Each state record (one per series or station) carries the Kafka partition and offset of
// the last reading applied to it. Judging and publishing events is one pipeline stage;
// publishing the state and committing is a second, so the next batch is judged while the
// previous one's state is written. The second stage takes every batch queued for it at
// once: one publish of the latest state per series, then one commit of the highest offset
// per partition. The order above holds for each batch.
//
// The Kafka mechanics are pkg/stream's: a stream.Consumer joins the group, fetches the
// assigned partitions and cuts the batches (assessor.max_rows, assessor.max_delay); the
// assessor is its stream.Session. Opening a session restores the state (below) and starts
// the tailers, the ticker and the second stage; Handle is the first stage; the second
// stage commits through stream.Generation.Commit, inside the generation, so a rebalance
// never commits for partitions that have moved. The consumer's metrics are
// riverwatch_assessor_kafka_* (commits, commit failures, last committed offset and lag per
// partition), the writers' riverwatch_assessor_publish_duration_seconds{topic}.
//
// On every partition assignment (start, rebalance) the engine is rebuilt from the state
// topic, read to its end, before any reading is consumed: the series and stations of the
// assigned partitions in full, the others as context (their latest values feed
// predictions). The group's committed offsets then replay at most the batches whose
// commit did not happen:
//
//   - a crash after the state was published: the replayed readings are at or before the
//     offsets in the state, and the engine skips them. Nothing is emitted twice.
//   - a crash after the events but before the state: the readings are judged again from
//     the older state and produce the same transitions with the same ids
//     (message.EventID is a function of type, site, parameter and observed time).
//     Consumers drop an event whose id they have seen; the responder and the archiver do.
//   - a crash before the events: nothing was published; the replay publishes it.
//
// Undecodable readings are counted and published to the rejected topic with the reason,
// and the rest of the batch goes on.
//
// # Time
//
// Silent stations and predictions are checked every assessor.tick_interval, but only
// once the assigned partitions have caught up with where they ended at the assignment:
// after a restart, the backlog holds the readings that prove the stations alive. The
// offline rule compares the wall clock with when each station was last heard (reception
// time). Predictions are withdrawn in observed time, by the engine's stream time (the
// newest observed time of the readings of the assigned partitions), which the station
// records of the state topic carry across restarts and rebalances: a simulation or a
// backfill, whose observed times lie behind the wall clock, keeps a prediction until its
// own readings say the clean water has arrived.
//
// # Scaling
//
// Partitions are split between instances by the consumer group. Readings are keyed by
// site, so a series, its station and its water temperature live on one partition; the
// state of other partitions is followed (tailed) from the state topic, so an outfall's
// prediction mixes with the latest upstream value even when another instance judges it.
package assessor
