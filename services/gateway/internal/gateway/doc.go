// Package gateway is riverwatch's gateway: it receives readings from stations over HJ 212
// (TCP) and from people and tools over HTTP (JSON and CSV), authenticates, validates and
// normalises them, and publishes them to riverwatch.readings — or, refused, to
// riverwatch.rejected with a stable reason code.
//
//	station ──HJ 212/TCP──► Decoder ─► ParsePacket ─► MN/PW ─► split? ─► CN ─┐
//	lab, backfill ──HTTP──► token/role ─► JSON/CSV rows ─────────────────────┤
//	                                                                          ▼
//	              ParseData ─► per item: pollutant code → parameter, unit → canonical,
//	              plausible range, min ≤ value ≤ max, DataTime within skew/age, repeat
//	                                                                          │
//	          readings ──► riverwatch.readings (key: site id)                 │
//	          refusals ──► riverwatch.rejected (reason, station/token, remote, raw ≤ 2 KiB)
//	                                                                          ▼
//	          both acknowledged by Kafka (RequireAll) ──► only then 9014 to the station
//
// # When a station gets its data response (9014)
//
// A 9014 means: everything in the frame is now in Kafka, as readings or as rejections, and
// sending it again cannot change the outcome. Hence:
//
//   - Publishing failed (Kafka down, timeout): no answer. The station resends; the
//     deterministic reading ids (message.ReadingID) make the resend harmless downstream.
//   - Refused by the codec (framing, CRC, a malformed field or CP) or by authentication:
//     recorded, no answer. A resend may well succeed (the standard's CRC can take only 256
//     values, so corruption slips through it; a password may be corrected), and stations
//     give up after their retry count.
//   - Some items bad (unknown code, impossible value, bad flag, …): the good items are
//     published, each bad item is recorded as a Rejection, and the frame IS answered. A
//     resend would be refused the same way, and a station that never gets its answer would
//     resend its good data forever.
//   - The whole content refused for what it says (DataTime in the future or too old, a
//     non-water system code, an upload riverwatch does not turn into readings): recorded,
//     answered, for the same reason.
//   - A repeat of a frame already stored (same MN and QN within the dedup window):
//     recorded as duplicate, not published again, answered (the first answer was lost).
//
// Frames that arrived together on one connection are handled as one batch: one publish
// per topic, then the answers in order.
//
// # What a reading carries
//
// Value is -Rtd for real-time data (2011) and -Avg for minute, hour and day data (2051,
// 2061, 2031), with -Min and -Max when sent; all converted to the parameter's canonical unit
// (µg/L metals to mg/L, w00000 L/s to m³/s, …). The item's data flag is carried (N when the
// item has none). ObservedAt is DataTime, local time of the network's time zone, in UTC.
// -Cou (period totals, whose units the standard leaves to the pollutant) and the Zs
// (折算, flue-gas) values are parsed and checked but not carried: a reading is a
// concentration.
//
// # Split messages
//
// Packets with PNUM/PNO are held per connection until the set is complete, then handled as
// one frame and answered with one 9014 (for the QN they share) once stored: the gateway
// never acknowledges part of a message before the whole is safe. A set that does not
// complete within gateway.split_timeout is recorded as split_incomplete. A station that
// waits for an answer to each packet before sending the next is not served by this; none
// is known, and answering each packet on arrival would break the rule above.
//
// # Other commands
//
// Heartbeats (9015) are answered with 9014 when asked; responses (9011–9014) are never
// answered; a time-calibration request (1013) is answered and followed by 1012 setting the
// station's clock (gateway.time_sync); host-to-field requests (1062, 3011, …) sent to the
// gateway are answered 9011 with QnRtn 2 (rejected) and recorded; other uploads (status,
// run time, …) are recorded as unsupported_cn and answered.
//
// # Duplicates
//
// A bounded in-memory window (gateway.dedup_window, gateway.dedup_entries) remembers MN+QN
// of stored frames. It is lost on restart; replays after a restart produce the same reading
// ids and are dropped by the consumers.
package gateway
