package gateway

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics of the gateway; its Kafka writers' (publish latency and failures, by topic:
// readings, rejected) are stream.Metrics, registered by services/gateway. Label values come from fixed sets: reason codes, site ids of sites.yaml, editions, command states, sources
// (hj212, http, csv), topics (readings, rejected), answer CNs, HTTP endpoints and codes.
type metrics struct {
	framesAccepted   prometheus.Counter     // riverwatch_gateway_frames_accepted_total
	framesRefused    *prometheus.CounterVec // riverwatch_gateway_frames_refused_total{reason}
	framesUnacked    prometheus.Counter     // riverwatch_gateway_frames_unacknowledged_total
	readingsAccepted *prometheus.CounterVec // riverwatch_gateway_readings_accepted_total{source}
	readingsRefused  *prometheus.CounterVec // riverwatch_gateway_readings_refused_total{source,reason}
	backfill         prometheus.Counter     // riverwatch_gateway_backfill_readings_total
	editionMismatch  *prometheus.CounterVec // riverwatch_gateway_edition_mismatch_total{site,configured,flag}
	deviations       *prometheus.CounterVec // riverwatch_gateway_deviations_total{site,deviation}
	encrypted        *prometheus.CounterVec // riverwatch_gateway_encrypted_frames_total{site}
	keyRotations     *prometheus.CounterVec // riverwatch_gateway_sm4_key_rotations_total{site,how}
	commandsSent     *prometheus.CounterVec // riverwatch_gateway_commands_sent_total{cn}
	commands         *prometheus.CounterVec // riverwatch_gateway_commands_total{cn,state}
	stationCommands  *prometheus.CounterVec // riverwatch_gateway_station_command_records_total{status}
	connsOpen        prometheus.Gauge       // riverwatch_gateway_connections_open
	connsTotal       prometheus.Counter     // riverwatch_gateway_connections_total
	connsRefused     *prometheus.CounterVec // riverwatch_gateway_connections_refused_total{reason}
	connsClosed      *prometheus.CounterVec // riverwatch_gateway_connections_closed_total{reason}
	authFailures     *prometheus.CounterVec // riverwatch_gateway_auth_failures_total{reason}
	suppressed       *prometheus.CounterVec // riverwatch_gateway_records_suppressed_total{reason}
	splitBytes       prometheus.GaugeFunc   // riverwatch_gateway_split_bytes
	answers          *prometheus.CounterVec // riverwatch_gateway_answers_total{cn}
	httpRequests     *prometheus.CounterVec // riverwatch_gateway_http_requests_total{endpoint,code}
}

func newMetrics(reg prometheus.Registerer, splitBytes func() float64) (*metrics, error) {
	m := &metrics{
		framesAccepted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "riverwatch_gateway_frames_accepted_total",
			Help: "HJ 212 frames (and split messages) whose content is stored in Kafka; answered when asked.",
		}),
		framesRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "riverwatch_gateway_frames_refused_total",
			Help: "HJ 212 frames and HTTP requests refused as a whole, by reason (recorded on the rejected topic).",
		}, []string{"reason"}),
		framesUnacked: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "riverwatch_gateway_frames_unacknowledged_total",
			Help: "HJ 212 frames left unanswered because Kafka did not acknowledge them; the station resends.",
		}),
		readingsAccepted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "riverwatch_gateway_readings_accepted_total",
			Help: "Readings published to the readings topic, by source (hj212, http, csv).",
		}, []string{"source"}),
		readingsRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "riverwatch_gateway_readings_refused_total",
			Help: "Single readings (items, rows) refused, by source and reason (recorded on the rejected topic).",
		}, []string{"source", "reason"}),
		backfill: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "riverwatch_gateway_backfill_readings_total",
			Help: "Readings published marked as back-fill (HJ 212-2025 RF=1: stored by the station during an outage, sent later); also counted in readings_accepted_total.",
		}),
		editionMismatch: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "riverwatch_gateway_edition_mismatch_total",
			Help: "Authenticated HJ 212 packets whose Flag version bits name another edition than the station's sites.yaml station.protocol (the configured edition is used), by site, configured edition and Flag edition.",
		}, []string{"site", "configured", "flag"}),
		deviations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "riverwatch_gateway_deviations_total",
			Help: "Authenticated HJ 212 frames accepted with a deviation from the standard their station is allowed (sites.yaml station.compat), by site and deviation (modbus_crc, lowercase_hex, no_cp_end): loggers to fix.",
		}, []string{"site", "deviation"}),
		keyRotations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "riverwatch_gateway_sm4_key_rotations_total",
			Help: "Stations that took their next SM4 key (sites.yaml sm4_next_key), by site and how the gateway learnt it: executed (the rotate_key's 9012 ExeRtn=1) or seen (a frame encrypted with it).",
		}, []string{"site", "how"}),
		encrypted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "riverwatch_gateway_encrypted_frames_total",
			Help: "Authenticated HJ 212 frames whose CP arrived SM4-encrypted (HJ 212-2025 §6.4) and was decrypted with the station's key, by site.",
		}, []string{"site"}),
		commandsSent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "riverwatch_gateway_commands_sent_total",
			Help: "Host commands written to stations (first sends, not resends), by command code.",
		}, []string{"cn"}),
		commands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "riverwatch_gateway_commands_total",
			Help: "Host commands ended, by command code and final state: done (9012 ExeRtn=1), rejected (9011 QnRtn other than 1), failed (9012 other than 1, or not sent), timed_out (no 9011 after the resends, no 9012 in time, connection closed), expired (cn empty: the station did not connect within the TTL).",
		}, []string{"cn", "state"}),
		stationCommands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "riverwatch_gateway_station_command_records_total",
			Help: "Records of riverwatch.station-commands: requests received (received), refused as undecodable (invalid), and the outcomes this gateway recorded, by status (sent, acknowledged, executed, failed, refused, timed_out, expired, not_connected) and unpublished (lost).",
		}, []string{"status"}),
		connsOpen: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "riverwatch_gateway_connections_open",
			Help: "Open HJ 212 station connections.",
		}),
		connsTotal: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "riverwatch_gateway_connections_total",
			Help: "HJ 212 station connections accepted.",
		}),
		connsRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "riverwatch_gateway_connections_refused_total",
			Help: "HJ 212 connections closed at once when accepted, by reason: too_many_connections (gateway.max_connections), address_connections (gateway.max_connections_per_address), auth_locked (the address is locked out).",
		}, []string{"reason"}),
		connsClosed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "riverwatch_gateway_connections_closed_total",
			Help: "HJ 212 connections closed by the gateway, by reason: auth_timeout (no valid frame within gateway.auth_timeout), auth_locked, frame_errors (gateway.max_frame_errors).",
		}, []string{"reason"}),
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "riverwatch_gateway_auth_failures_total",
			Help: "HJ 212 frames refused by authentication, by reason: auth_mn, auth_pw, auth_locked (MN or address locked out after gateway.auth_max_failures).",
		}, []string{"reason"}),
		suppressed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "riverwatch_gateway_records_suppressed_total",
			Help: "Refusals of unauthenticated input not recorded on the rejected topic because gateway.unauth_records_per_second was exceeded, by reason (still refused and counted).",
		}, []string{"reason"}),
		splitBytes: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "riverwatch_gateway_split_bytes",
			Help: "Bytes of CP held by split-message reassembly on all connections (bounded by gateway.max_split_bytes_total).",
		}, splitBytes),
		answers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "riverwatch_gateway_answers_total",
			Help: "HJ 212 packets sent to stations, by command code (9014, 9011, 1012).",
		}, []string{"cn"}),
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "riverwatch_gateway_http_requests_total",
			Help: "HTTP uploads by endpoint (json, csv) and status code.",
		}, []string{"endpoint", "code"}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.framesAccepted, m.framesRefused, m.framesUnacked, m.readingsAccepted,
		m.readingsRefused, m.backfill, m.editionMismatch, m.deviations, m.encrypted, m.keyRotations, m.commandsSent, m.commands, m.stationCommands, m.connsOpen, m.connsTotal, m.connsRefused, m.connsClosed, m.authFailures, m.suppressed, m.splitBytes,
		m.answers, m.httpRequests} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("ingest: register metrics: %w", err)
		}
	}
	return m, nil
}
