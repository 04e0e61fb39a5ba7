// Package stream is riverwatch's Kafka plumbing on segmentio/kafka-go, with the delivery
// rules of DESIGN.md built in:
//
//   - Writer publishes synchronously with RequiredAcks=all, a millisecond batch timeout
//     (kafka-go's 1 s default would stall every small write) and the hash balancer on the
//     message key (the site id), so one site's history stays in order on one partition.
//
//   - Consumer fetches a batch (cut by count, bytes or time), hands it to a handler, and
//     commits the last offset of each partition only after the handler returned nil — i.e.
//     after the work is durable. A failing handler is retried with backoff and nothing is
//     committed, so a crash re-delivers: every handler must be idempotent.
//
//     FetchMessage ─► batch ─► handler(ctx, batch) ─ok─► CommitMessages(last per partition)
//     └─error─► backoff, retry the same batch
package stream
