// Package stream is riverwatch's one Kafka layer, on segmentio/kafka-go, with the delivery
// rules of DESIGN.md built in. Every service consumes and produces through it; no other
// package builds a kafka-go reader, consumer group or writer.
//
//   - Writer publishes synchronously with RequiredAcks=all, a millisecond batch timeout
//     (kafka-go's 1 s default would stall every small write) and the hash balancer on the
//     message key (the site id), so one site's history stays in order on one partition.
//     Sharded spreads one topic over several Writers (several produce requests in flight
//     per partition).
//
//   - Consumer consumes a topic in a consumer group and commits the offsets of a batch only
//     after the work it caused is durable.
//
//   - ReadPartition reads a range of one partition outside any group (the archiver's replay,
//     the simulator's narrator, the assessor's state tailers); ReadCompacted reads a
//     compacted topic to its end, newest value per key (the assessor's and the responder's
//     state restores). They commit nothing.
//
//   - Metrics are the one set of Kafka metrics of a service, shared by its consumers and
//     writers (see Metrics for the names).
//
// # Consuming: fetch → batch → handler (durable) → committer → commit
//
// A Consumer joins the group and, for every generation, starts one fetcher per assigned
// partition, reading from the group's committed offset. Batches are cut from what the
// fetchers deliver — what is queued, plus what arrives within MaxDelay of the first
// message, at most MaxRows messages or MaxBytes bytes — and handed, in order, to the
// generation's Session:
//
//	generation N (assigned partitions, committed offsets)
//	  │ OpenFunc: restore what the session needs (the assessor: its state topic)
//	  ▼
//	fetcher p0 ─┐
//	fetcher p1 ─┼─► batch ─► Session.Handle ─ durable ─► committer ─► Generation.Commit(last offset + 1 per partition)
//	fetcher p2 ─┘                 │
//	                               └─ error while stopping: nothing committed, the batch is replayed
//	  ▲
//	  └─ rebalance: the generation ends (fetchers stop, Session.Close drains its committer),
//	     the group rejoins, generation N+1 opens a new session from the committed offsets
//
// The committer is pluggable. Run(ctx, handler) is the simple form: the handler is the
// whole "durable" stage (the archiver: the ClickHouse insert and the rollups; the responder:
// the incident state published), and each batch is committed as soon as the handler
// returned nil. The assessor's session is the two-stage form: Handle judges a batch and
// publishes its events; a second goroutine publishes the state the batch changed and only
// then commits, taking every batch queued for it at once (see
// services/assessor/internal/assessor).
//
// A commit is synchronous and happens inside the generation, so a rebalance never commits
// offsets of a partition that has moved: the generation's functions (fetchers, session) are
// all waited for before the group rejoins. A failed commit is logged and counted, not
// retried: the work was durable, and whoever consumes next replays the batch. Every handler
// must therefore be idempotent; riverwatch's are, by deterministic ids.
//
// # Failing handlers
//
// In Run, a handler error is retried with jittered exponential backoff (100 ms doubling up
// to RetryMax), the same batch again, forever: nothing more is fetched into the handler
// meanwhile, so a store that is down pauses consumption with memory bounded by one batch
// plus the batch channel, and nothing is skipped. A handler marks an error that no retry
// can cure with backoff.Permanent; then the batch is not committed and Run returns the
// error, so the service stops, visibly, instead of spinning on it or dropping it. When the
// service is restarted the batch is delivered again: a permanently failing batch is never
// lost and never skipped silently — it stops its topic until an operator fixes the cause.
// Single bad messages are not a batch failure: handlers record them (riverwatch.rejected)
// and go on.
//
// On shutdown the handler's ctx is cancelled; a batch whose handler then fails is not
// committed, and the next consumer of the group re-reads it.
package stream
