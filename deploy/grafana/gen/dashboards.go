package main

// The dashboards. Every metric named here must exist in the code (services/, pkg/) or be a
// recording rule of deploy/prometheus/riverwatch.rules.yml: gen_test.go checks it.

// health is the first row of every dashboard: is the service up, how much it uses.
func health(job string) row {
	sel := `{job="` + job + `"}`
	return row{Title: "Service", Panels: []panel{
		{Title: "Instances up", Unit: "short", Stat: true, Queries: []query{q(`sum(up`+sel+`)`, "up")}},
		{Title: "Instances down", Unit: "short", Stat: true, Queries: []query{q(`count(up`+sel+` == 0) or vector(0)`, "down")}},
		{Title: "Resident memory", Unit: "bytes", Stat: true, Queries: []query{q(`max(process_resident_memory_bytes`+sel+`)`, "max")}},
		{Title: "Goroutines", Unit: "short", Stat: true, Queries: []query{q(`max(go_goroutines`+sel+`)`, "max")}},
		{Title: "CPU", Unit: "percentunit", Queries: []query{q(`rate(process_cpu_seconds_total`+sel+`[5m])`, "{{instance}}")}},
		{Title: "Memory", Unit: "bytes", Queries: []query{q(`process_resident_memory_bytes`+sel, "{{instance}}")}},
		{Title: "GC pause (max)", Unit: "s", Queries: []query{q(`max by (instance) (go_gc_duration_seconds{job="`+job+`", quantile="1"})`, "{{instance}}")}},
	}}
}

func dashboards() []dashboard {
	return []dashboard{
		{
			UID: "riverwatch-ingest", Title: "riverwatch / ingest (gateway)",
			Description: "Readings and HJ 212 frames arriving at the gateways, and their publishing to Kafka.",
			Rows: []row{
				{Title: "Readings", Panels: []panel{
					{Title: "Readings accepted", Unit: "reqps", Queries: []query{q(`sum by (source) (rate(riverwatch_gateway_readings_accepted_total[5m]))`, "{{source}}")}},
					{Title: "Readings refused, by reason", Unit: "reqps", Queries: []query{q(`sum by (source, reason) (rate(riverwatch_gateway_readings_refused_total[5m]))`, "{{source}} {{reason}}")}},
					{Title: "Refused share", Unit: "percentunit", Max: ptr(0.05), Description: "Alert RiverwatchReadingsRefused above 5 %.", Queries: []query{q(`riverwatch:gateway_readings_refused:ratio5m`, "refused")}},
				}},
				{Title: "HJ 212 frames", Panels: []panel{
					{Title: "Frames accepted and refused", Unit: "reqps", Queries: []query{
						q(`sum(rate(riverwatch_gateway_frames_accepted_total[5m]))`, "accepted"),
						q(`sum by (reason) (rate(riverwatch_gateway_frames_refused_total[5m]))`, "refused {{reason}}"),
					}},
					{Title: "Frames left unacknowledged", Unit: "reqps", Description: "Uploads that asked for 9014 and did not get it: the data loggers resend them.", Queries: []query{q(`riverwatch:gateway_frames_unacknowledged:rate5m`, "unacknowledged")}},
					{Title: "Answers sent, by CN", Unit: "reqps", Queries: []query{q(`sum by (cn) (rate(riverwatch_gateway_answers_total[5m]))`, "{{cn}}")}},
				}},
				{Title: "Connections and HTTP", Panels: []panel{
					{Title: "Station connections open", Unit: "short", Queries: []query{q(`sum by (instance) (riverwatch_gateway_connections_open)`, "{{instance}}")}},
					{Title: "Connections opened and refused", Unit: "reqps", Queries: []query{
						q(`sum(rate(riverwatch_gateway_connections_total[5m]))`, "opened"),
						q(`sum(rate(riverwatch_gateway_connections_refused_total[5m]))`, "refused"),
					}},
					{Title: "Connections refused and closed, by reason", Unit: "reqps", Queries: []query{
						q(`sum by (reason) (rate(riverwatch_gateway_connections_refused_total[5m]))`, "refused {{reason}}"),
						q(`sum by (reason) (rate(riverwatch_gateway_connections_closed_total[5m]))`, "closed {{reason}}"),
					}},
					{Title: "Authentication failures and suppressed records", Unit: "reqps", Queries: []query{
						q(`sum by (reason) (rate(riverwatch_gateway_auth_failures_total[5m]))`, "{{reason}}"),
						q(`sum by (reason) (rate(riverwatch_gateway_records_suppressed_total[5m]))`, "not recorded {{reason}}"),
					}},
					{Title: "Split reassembly held", Unit: "bytes", Queries: []query{q(`sum by (instance) (riverwatch_gateway_split_bytes)`, "{{instance}}")}},
					{Title: "HTTP uploads, by endpoint and code", Unit: "reqps", Queries: []query{q(`sum by (endpoint, code) (rate(riverwatch_gateway_http_requests_total[5m]))`, "{{endpoint}} {{code}}")}},
				}},
				{Title: "Kafka", Panels: []panel{
					{Title: "Publish p99, by topic", Unit: "s", Queries: []query{q(`histogram_quantile(0.99, sum by (topic, le) (rate(riverwatch_gateway_publish_duration_seconds_bucket[5m])))`, "{{topic}}")}},
					{Title: "Publish failures, by topic", Unit: "reqps", Queries: []query{q(`sum by (topic) (rate(riverwatch_gateway_publish_failures_total[5m]))`, "{{topic}}")}},
				}},
				health("riverwatch-gateway"),
			},
		},
		{
			UID: "riverwatch-assessor", Title: "riverwatch / assessor",
			Description: "Readings judged against GB 3838-2002, the events that come of it, and the assessor's Kafka loop.",
			Rows: []row{
				{Title: "Judgement", Panels: []panel{
					{Title: "Readings, by outcome", Unit: "reqps", Queries: []query{q(`sum by (outcome) (rate(riverwatch_assessor_readings_total[5m]))`, "{{outcome}}")}},
					{Title: "Events, by type", Unit: "reqps", Queries: []query{q(`sum by (type) (rate(riverwatch_assessor_events_total[5m]))`, "{{type}}")}},
					{Title: "Reading → event latency", Unit: "s", Max: ptr(0.05), Description: "Target: p99 ≤ 50 ms (alert RiverwatchEventLatencyHigh).", Queries: []query{
						q(`riverwatch:assessor_event_latency_seconds:p99_5m`, "p99"),
						q(`histogram_quantile(0.5, sum by (le) (rate(riverwatch_assessor_event_latency_seconds_bucket[5m])))`, "p50"),
					}},
				}},
				{Title: "State", Panels: []panel{
					{Title: "Series in memory", Unit: "short", Stat: true, Queries: []query{q(`sum(riverwatch_assessor_series)`, "series")}},
					{Title: "Stations watched", Unit: "short", Stat: true, Queries: []query{q(`sum(riverwatch_assessor_stations)`, "stations")}},
					{Title: "Open exceedances", Unit: "short", Stat: true, Queries: []query{q(`sum(riverwatch_assessor_open_exceedances)`, "open")}},
					{Title: "Active predictions", Unit: "short", Stat: true, Queries: []query{q(`sum(riverwatch_assessor_active_predictions)`, "active")}},
					{Title: "State restores", Unit: "short", Queries: []query{
						q(`sum(increase(riverwatch_assessor_restores_total[1h]))`, "restores"),
						q(`sum(increase(riverwatch_assessor_restored_records_total[1h]))`, "records restored"),
					}},
				}},
				{Title: "Kafka loop", Panels: []panel{
					{Title: "Lag, by topic", Unit: "short", Max: ptr(100000), Description: "As of the last commit.", Queries: []query{q(`riverwatch:kafka_lag_records:sum{job="riverwatch-assessor"}`, "{{topic}}")}},
					{Title: "Batch duration p99", Unit: "s", Queries: []query{q(`histogram_quantile(0.99, sum by (le) (rate(riverwatch_assessor_batch_duration_seconds_bucket[5m])))`, "p99")}},
					{Title: "Readings per batch (mean)", Unit: "short", Queries: []query{q(`sum(rate(riverwatch_assessor_batch_readings_sum[5m])) / sum(rate(riverwatch_assessor_batch_readings_count[5m]))`, "mean")}},
					{Title: "Publish p99, by topic", Unit: "s", Queries: []query{q(`histogram_quantile(0.99, sum by (topic, le) (rate(riverwatch_assessor_publish_duration_seconds_bucket[5m])))`, "{{topic}}")}},
					{Title: "Failures", Unit: "reqps", Queries: []query{
						q(`sum by (topic) (rate(riverwatch_assessor_publish_failures_total[5m]))`, "publish {{topic}}"),
						q(`sum(rate(riverwatch_assessor_kafka_commit_failures_total[5m]))`, "commit"),
						q(`sum(rate(riverwatch_assessor_decode_errors_total[5m]))`, "decode"),
					}},
				}},
				health("riverwatch-assessor"),
			},
		},
		{
			UID: "riverwatch-responder", Title: "riverwatch / responder",
			Description: "Incidents, notifications to the people on the rota, and operator commands.",
			Rows: []row{
				{Title: "Incidents", Panels: []panel{
					{Title: "Incidents held, by status", Unit: "short", Queries: []query{q(`sum by (status) (riverwatch_responder_incidents)`, "{{status}}")}},
					{Title: "Events, by outcome", Unit: "reqps", Queries: []query{q(`sum by (outcome) (rate(riverwatch_responder_events_total[5m]))`, "{{outcome}}")}},
					{Title: "Commands, by type and outcome", Unit: "reqps", Queries: []query{q(`sum by (type, outcome) (rate(riverwatch_responder_commands_total[5m]))`, "{{type}} {{outcome}}")}},
				}},
				{Title: "Notifications", Panels: []panel{
					{Title: "Deliveries, by channel and status", Unit: "reqps", Queries: []query{q(`sum by (channel, status) (rate(riverwatch_responder_notifications_total[5m]))`, "{{channel}} {{status}}")}},
					{Title: "Failed share", Unit: "percentunit", Max: ptr(0.2), Description: "Alert RiverwatchNotificationFailures above 20 %.", Queries: []query{q(`riverwatch:responder_notifications_failed:ratio15m`, "failed")}},
					{Title: "Queued", Unit: "short", Max: ptr(50), Description: "Alert RiverwatchNotificationBacklog above 50.", Queries: []query{q(`sum(riverwatch_responder_notifications_queued)`, "queued")}},
					{Title: "Delivery p99, by channel", Unit: "s", Queries: []query{q(`histogram_quantile(0.99, sum by (channel, le) (rate(riverwatch_responder_delivery_duration_seconds_bucket[5m])))`, "{{channel}}")}},
				}},
				{Title: "Kafka", Panels: []panel{
					{Title: "Lag, by topic", Unit: "short", Max: ptr(100000), Description: "As of the last commit.", Queries: []query{q(`riverwatch:kafka_lag_records:sum{job="riverwatch-responder"}`, "{{topic}}")}},
					{Title: "Publish p99, by topic", Unit: "s", Queries: []query{q(`histogram_quantile(0.99, sum by (topic, le) (rate(riverwatch_responder_publish_duration_seconds_bucket[5m])))`, "{{topic}}")}},
					{Title: "Persist errors and invalid records", Unit: "reqps", Queries: []query{
						q(`sum(rate(riverwatch_responder_persist_errors_total[5m]))`, "persist errors"),
						q(`sum by (source) (rate(riverwatch_responder_invalid_records_total[5m]))`, "invalid {{source}}"),
					}},
				}},
				health("riverwatch-responder"),
			},
		},
		{
			UID: "riverwatch-archiver", Title: "riverwatch / archiver",
			Description: "Kafka → ClickHouse: rows written, batches, insert and rollup times, lag and errors.",
			Rows: []row{
				{Title: "Throughput", Panels: []panel{
					{Title: "Rows written, by table", Unit: "rowsps", Queries: []query{q(`riverwatch:archiver_rows_written:rate5m`, "{{table}}")}},
					{Title: "Batches, by topic", Unit: "reqps", Queries: []query{q(`sum by (topic) (rate(riverwatch_archiver_batches_total[5m]))`, "{{topic}}")}},
					{Title: "Consumer lag, by topic", Unit: "short", Max: ptr(100000), Description: "As of the last commit. Alert RiverwatchConsumerLagHigh above 100,000.", Queries: []query{q(`riverwatch:kafka_lag_records:sum{job="riverwatch-archiver"}`, "{{topic}}")}},
				}},
				{Title: "Batches", Panels: []panel{
					{Title: "Rows per batch (mean), by topic", Unit: "short", Queries: []query{q(`sum by (topic) (rate(riverwatch_archiver_batch_size_rows_sum[5m])) / sum by (topic) (rate(riverwatch_archiver_batch_size_rows_count[5m]))`, "{{topic}}")}},
					{Title: "Bytes per batch (mean), by topic", Unit: "bytes", Queries: []query{q(`sum by (topic) (rate(riverwatch_archiver_batch_size_bytes_sum[5m])) / sum by (topic) (rate(riverwatch_archiver_batch_size_bytes_count[5m]))`, "{{topic}}")}},
					{Title: "Insert p99, by table", Unit: "s", Queries: []query{q(`histogram_quantile(0.99, sum by (table, le) (rate(riverwatch_archiver_insert_duration_seconds_bucket[5m])))`, "{{table}}")}},
					{Title: "Rollup rebuild p99", Unit: "s", Queries: []query{q(`histogram_quantile(0.99, sum by (rollup, le) (rate(riverwatch_archiver_rollup_duration_seconds_bucket[5m])))`, "{{rollup}}")}},
				}},
				{Title: "Errors", Panels: []panel{
					{Title: "Errors, by topic and stage", Unit: "reqps", Queries: []query{q(`sum by (topic, stage) (rate(riverwatch_archiver_errors_total[5m]))`, "{{topic}} {{stage}}")}},
				}},
				health("riverwatch-archiver"),
			},
		},
		{
			UID: "riverwatch-api", Title: "riverwatch / api",
			Description: "The REST API and the dashboard: requests, latency, errors, commands and live clients.",
			Rows: []row{
				{Title: "Requests", Panels: []panel{
					{Title: "Requests, by route and code", Unit: "reqps", Queries: []query{q(`sum by (route, code) (rate(riverwatch_api_requests_total[5m]))`, "{{route}} {{code}}")}},
					{Title: "Latency p99, by route", Unit: "s", Queries: []query{q(`riverwatch:api_request_duration_seconds:p99_5m`, "{{route}}")}},
					{Title: "Errors, by reason", Unit: "reqps", Queries: []query{q(`sum by (reason) (rate(riverwatch_api_errors_total[5m]))`, "{{reason}}")}},
				}},
				{Title: "Commands and live updates", Panels: []panel{
					{Title: "Commands, by type and outcome", Unit: "reqps", Queries: []query{q(`sum by (type, outcome) (rate(riverwatch_api_commands_total[5m]))`, "{{type}} {{outcome}}")}},
					{Title: "Command → applied p99", Unit: "s", Queries: []query{q(`histogram_quantile(0.99, sum by (le) (rate(riverwatch_api_command_wait_seconds_bucket[5m])))`, "p99")}},
					{Title: "Dashboards connected (SSE)", Unit: "short", Queries: []query{q(`sum(riverwatch_api_sse_clients)`, "clients")}},
					{Title: "Refresh notices", Unit: "reqps", Queries: []query{q(`sum(rate(riverwatch_api_refresh_notices_total[5m]))`, "notices")}},
				}},
				health("riverwatch-api"),
			},
		},
		{
			UID: "riverwatch-kafka", Title: "riverwatch / Kafka lag and publishing",
			Description: "How far the consumers are behind and how Kafka answers the producers, across services.",
			Rows: []row{
				{Title: "Consumers", Panels: []panel{
					{Title: "Lag, by consumer and topic", Unit: "short", Max: ptr(100000), Description: "Records behind the partitions' ends as of each consumer's last commit. Alert RiverwatchConsumerLagHigh above 100,000.", Queries: []query{q(`riverwatch:kafka_lag_records:sum`, "{{job}} {{topic}}")}},
					{Title: "Records consumed, by consumer", Unit: "reqps", Queries: []query{
						q(`sum by (topic) (rate(riverwatch_assessor_kafka_records_total[5m]))`, "assessor {{topic}}"),
						q(`sum by (topic) (rate(riverwatch_responder_kafka_records_total[5m]))`, "responder {{topic}}"),
						q(`sum by (topic) (rate(riverwatch_archiver_kafka_records_total[5m]))`, "archiver {{topic}}"),
					}},
					{Title: "Commit failures, by consumer", Unit: "reqps", Description: "Usually a rebalance; the batch is replayed by whoever consumes next.", Queries: []query{
						q(`sum by (topic) (rate(riverwatch_assessor_kafka_commit_failures_total[5m]))`, "assessor {{topic}}"),
						q(`sum by (topic) (rate(riverwatch_responder_kafka_commit_failures_total[5m]))`, "responder {{topic}}"),
						q(`sum by (topic) (rate(riverwatch_archiver_kafka_commit_failures_total[5m]))`, "archiver {{topic}}"),
					}},
					{Title: "Archiver progress", Unit: "reqps", Description: "Zero while readings arrive: alert RiverwatchArchiverStalled.", Queries: []query{
						q(`sum(rate(riverwatch_archiver_batches_total[5m]))`, "batches archived"),
						q(`riverwatch:gateway_readings_accepted:rate5m`, "readings accepted"),
					}},
				}},
				{Title: "Producers", Panels: []panel{
					{Title: "Publish p99, by service and topic", Unit: "s", Queries: []query{
						q(`histogram_quantile(0.99, sum by (topic, le) (rate(riverwatch_gateway_publish_duration_seconds_bucket[5m])))`, "gateway {{topic}}"),
						q(`histogram_quantile(0.99, sum by (topic, le) (rate(riverwatch_assessor_publish_duration_seconds_bucket[5m])))`, "assessor {{topic}}"),
						q(`histogram_quantile(0.99, sum by (topic, le) (rate(riverwatch_responder_publish_duration_seconds_bucket[5m])))`, "responder {{topic}}"),
					}},
					{Title: "Publish failures", Unit: "reqps", Description: "Alert RiverwatchKafkaUnreachable while any of these grows.", Queries: []query{
						q(`sum by (topic) (rate(riverwatch_gateway_publish_failures_total[5m]))`, "gateway {{topic}}"),
						q(`sum by (topic) (rate(riverwatch_assessor_publish_failures_total[5m]))`, "assessor {{topic}}"),
						q(`sum(rate(riverwatch_responder_persist_errors_total[5m]))`, "responder"),
					}},
				}},
			},
		},
	}
}
