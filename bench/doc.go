// Package bench is riverwatch's benchmark harness behind `make bench` (bench/cmd/rwbench,
// started by deploy/local/bench.sh): it measures the machine's own limits and the pipeline
// side by side, in one run, so that every figure can be read as a ratio that holds on a
// noisy shared machine.
//
// # Steps
//
//  1. raw Kafka: Kafka's own ProducerPerformance, ConsumerPerformance and EndToEndLatency
//     (the broker's jars, through deploy/local/kafka.sh tool) on records with the size and
//     content of a riverwatch reading (acks=all, lz4, as the services): produce alone,
//     consume alone, produce and consume together, one record at a time.
//  2. raw ClickHouse: clickhouse-client inserting the same rows into a copy of readings, in
//     one INSERT and in blocks of the archiver's batch size.
//  3. riverwatch end to end: the simulator's load mode as fast as the pipeline takes it,
//     straight to Kafka and over HJ 212 through the gateway; readings per second until the
//     last one is a row in ClickHouse and judged by the assessor. Raw produce→consume is
//     measured again right after, and the rates are compared with the mean of the two
//     measurements. Each service's CPU per reading (process_cpu_seconds_total) is given
//     too: unlike rates, it changes little with what else runs on the machine.
//  4. latency at fixed rates (1,000 and 10,000 readings/s): beside the load, probe readings
//     that each open an exceedance, and an incident, at a site of their own; from the
//     gateway accepting the reading (received_at) to the event reaching a consumer, and to
//     the first notification of its incident reaching the bench's webhook sink.
//  5. peer: what a user would pick instead of the archiver, ClickHouse's own Kafka table
//     engine with materialized views into a table of the archive's schema and an hourly
//     rollup summed by a view, beside an archiver of its own, on one topic filled with the
//     same readings: rows/s catching up (each alone), reading → queryable at the latency
//     rates (both at once, probes polled in ClickHouse), and a replay of the whole topic
//     (`archiver replay`; the engine: a consumer group reset to the start), after which the
//     archiver's rows and rollups are unchanged and the engine's rollup counts twice.
//  6. assessor memory per series: the engine's BenchmarkEngineHeapPerSeries
//     (services/assessor/internal/engine) run once with 100,000 series, live heap after a GC.
//  7. api: GET /api/v1/sites/{id}/readings for 30 days on a year of data written through
//     store.Writer, against the same rollup query sent straight to ClickHouse.
//
// A step whose component is missing (not built yet, or failing to start) is reported as
// "not available: <why>" and the run goes on. The table printed at the end gives each
// figure, the raw baseline it is compared with and the ratio, and marks the goals of issue
// 10 as met or not; the run is written as JSON under bench/results/ so that runs can be
// compared (rwbench -compare old.json new.json). Every step records the machine's load
// average at its start and end: on a shared machine that says what else was running.
//
// Everything a run creates is its own: topics prefixed rwbench-<run id>, consumer groups
// of the same prefix, the ClickHouse database rwbench (dropped at the end unless -keep),
// and service processes on free ports with a generated network (load stations and probe
// sites), contact directory and token file; the default data and a running `make up`
// stack are left alone. Each load runs on stations of its own, so no run's series collide
// with an earlier run's.
//
// # Experiments and profiles
//
//	rwbench -profile          services rebuilt with net/http/pprof (go build -overlay: the
//	                          tree is untouched); CPU and heap profiles of every service
//	                          during each load under $RIVERWATCH_STATE_DIR/rwbench/profiles
//	rwbench -service-env K=V  extra settings for every service (RIVERWATCH_ARCHIVER_...)
//	rwbench -without archiver services left out, e.g. latency without the archiver's load
//	rwbench -steps latency    some steps only; -h lists sizes and durations
package bench
