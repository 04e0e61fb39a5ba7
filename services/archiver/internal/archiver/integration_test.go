package archiver

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/store"
	"github.com/riverwatch/riverwatch/pkg/store/storetest"
	"github.com/riverwatch/riverwatch/pkg/stream"
	"github.com/riverwatch/riverwatch/pkg/testinfra"
	"github.com/segmentio/kafka-go"
)

func TestArchiverCommitsOnlyArchivedBatchesAndSkipsBadMessages(t *testing.T) {
	e := newEnv(t)
	cfg := e.Config
	cfg.Archiver.MaxRows = 500
	cfg.Archiver.MaxDelay = 100 * time.Millisecond
	recs := storetest.Readings(2000, time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC))
	msgs := storetest.AsMessages(t, recs, storetest.ReadingKey, 0, 0)
	bad := kafka.Message{Key: []byte("STH-S1"), Value: []byte(`{"site": "STH-S1", "value": tru`)}
	msgs = slices.Insert(msgs, 700, bad)
	storetest.Publish(t, cfg, cfg.Kafka.Topics.Readings, msgs)
	storetest.Publish(t, cfg, cfg.Kafka.Topics.Events, storetest.AsMessages(t, []message.Event{{Type: message.EventStationOffline, Site: "STH-S1", ObservedAt: time.Now(), EmittedAt: time.Now()}},
		func(message.Event) string { return "STH-S1" }, 0, 0))

	run := func() (stop func()) { return e.runArchiver(t, cfg) }
	stop := run()
	group := GroupID(cfg.Kafka.GroupPrefix, store.KindReadings)
	hwm := storetest.HighWaterMarks(t, cfg, cfg.Kafka.Topics.Readings)
	testinfra.Eventually(t, 60*time.Second, "every readings offset committed", func() bool {
		c := storetest.Committed(t, cfg, group, cfg.Kafka.Topics.Readings)
		for p, end := range hwm {
			if c[p] != end {
				return false
			}
		}
		return true
	})
	testinfra.Eventually(t, 30*time.Second, "the event archived", func() bool {
		return e.Count(t, "SELECT count() FROM %s FINAL", e.Table(store.TableEvents)) == 1
	})
	stop()
	if n := e.Count(t, "SELECT count() FROM %s FINAL", e.Table(store.TableReadings)); n != 2000 {
		t.Errorf("readings = %d, want 2000", n)
	}
	if n := e.Count(t, "SELECT count() FROM %s FINAL WHERE reason = '%s' AND site = 'STH-S1' AND position(detail, 'offset') > 0", e.Table(store.TableRejected), store.ReasonDecode); n != 1 {
		t.Errorf("undecodable rejections = %d, want 1", n)
	}
	if got := storetest.MetricValue(e.Metrics.Errors.WithLabelValues(cfg.Kafka.Topics.Readings, "decode")); got != 1 {
		t.Errorf("decode errors metric = %v, want 1", got)
	}
	lags := e.gauges(t, "riverwatch_archiver_kafka_lag_records", map[string]string{"topic": cfg.Kafka.Topics.Readings})
	if len(lags) == 0 {
		t.Error("no lag reported for the readings topic")
	}
	for _, lag := range lags {
		if lag != 0 {
			t.Errorf("lag = %v, want 0 on every partition", lags)
			break
		}
	}
	if got := storetest.MetricValue(e.Metrics.Rows.WithLabelValues(store.TableReadings)); got < 2000 {
		t.Errorf("rows written metric = %v, want ≥ 2000", got)
	}

	// Restarted, the group resumes after its commits: one new reading adds one raw row.
	rawBefore := e.Count(t, "SELECT count() FROM %s", e.Table(store.TableReadings))
	extra := storetest.Readings(1, time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC))
	storetest.Publish(t, cfg, cfg.Kafka.Topics.Readings, storetest.AsMessages(t, extra, storetest.ReadingKey, 0, 0))
	stop = run()
	testinfra.Eventually(t, 60*time.Second, "the new reading archived", func() bool {
		return e.Count(t, "SELECT count() FROM %s FINAL WHERE id = '%s'", e.Table(store.TableReadings), extra[0].ID) == 1
	})
	stop()
	if raw := e.Count(t, "SELECT count() FROM %s", e.Table(store.TableReadings)); raw != rawBefore+1 {
		t.Errorf("raw readings %d after restart, want %d: committed batches were archived again", raw, rawBefore+1)
	}
}

func TestReplayRearchivesARangeWithoutCountingTwice(t *testing.T) {
	e := storetest.NewArchive(t)
	ctx := context.Background()
	cfg := e.Config
	start := time.Now().Add(-time.Minute)
	recs := storetest.Readings(3000, time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC))
	storetest.Publish(t, cfg, cfg.Kafka.Topics.Readings, storetest.AsMessages(t, recs, storetest.ReadingKey, 0, 0))
	topic := cfg.Kafka.Topics.Readings

	// By time, every partition: the backfill after an outage.
	stats, err := Replay(ctx, stream.Plain(cfg.Kafka.Brokers...), ReplayRequest{Kind: store.KindReadings, Topic: topic, Partition: -1, FromOffset: -1, ToOffset: -1, From: start, MaxRows: 700, MaxBytes: 16 << 20}, e.Writer, storetest.Quiet())
	if err != nil {
		t.Fatal(err)
	}
	if stats.Messages != 3000 || stats.Rows[store.TableReadings] != 3000 || stats.Partitions != 3 {
		t.Errorf("replay by time: %+v, want 3000 messages from 3 partitions", stats)
	}
	hourly, daily := e.RollupSnapshot(t)

	// By offset, one partition, a range already archived.
	stats, err = Replay(ctx, stream.Plain(cfg.Kafka.Brokers...), ReplayRequest{Kind: store.KindReadings, Topic: topic, Partition: 1, FromOffset: 10, ToOffset: 110, MaxRows: 50000, MaxBytes: 16 << 20}, e.Writer, storetest.Quiet())
	if err != nil {
		t.Fatal(err)
	}
	if stats.Messages != 100 {
		t.Errorf("replay by offset: %d messages, want 100", stats.Messages)
	}
	if n := e.Count(t, "SELECT count() FROM %s FINAL", e.Table(store.TableReadings)); n != 3000 {
		t.Errorf("readings FINAL = %d after replaying twice, want 3000", n)
	}
	h2, d2 := e.RollupSnapshot(t)
	if !slices.Equal(hourly, h2) || !slices.Equal(daily, d2) {
		t.Error("rollups changed after replaying an archived range")
	}
	// A range past the end replays nothing; an offset range without a partition is refused.
	if stats, err = Replay(ctx, stream.Plain(cfg.Kafka.Brokers...), ReplayRequest{Kind: store.KindReadings, Topic: topic, Partition: 0, FromOffset: 1 << 40, ToOffset: -1, MaxRows: 50000, MaxBytes: 16 << 20}, e.Writer, storetest.Quiet()); err != nil || stats.Messages != 0 {
		t.Errorf("replay past the end: %+v, %v", stats, err)
	}
	if _, err := Replay(ctx, stream.Plain(cfg.Kafka.Brokers...), ReplayRequest{Kind: store.KindReadings, Topic: topic, Partition: -1, FromOffset: 0, MaxRows: 50000, MaxBytes: 16 << 20}, e.Writer, storetest.Quiet()); err == nil || !strings.Contains(err.Error(), "-partition") {
		t.Error("an offset range without a partition was accepted")
	}
}

// TestACorrectionOnItsTopicReplacesTheArchivedValueOnce: a correction published after the
// reading is archived wins in FINAL, is recorded once in the
// corrections table, and a redelivery of it changes nothing.
func TestACorrectionOnItsTopicReplacesTheArchivedValueOnce(t *testing.T) {
	e := newEnv(t)
	cfg := e.Config
	cfg.Archiver.MaxDelay = 50 * time.Millisecond
	cfg.Archiver.RecordsMaxDelay = 50 * time.Millisecond
	recs := storetest.Readings(10, time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC))
	storetest.Publish(t, cfg, cfg.Kafka.Topics.Readings, storetest.AsMessages(t, recs, storetest.ReadingKey, 0, 0))

	defer e.runArchiver(t, cfg)()
	testinfra.Eventually(t, 60*time.Second, "the readings archived", func() bool {
		return e.Count(t, "SELECT count() FROM %s FINAL", e.Table(store.TableReadings)) == 10
	})

	target := recs[3]
	fixed := target
	fixed.Value, fixed.Source = target.Value+1000, message.SourceCorrection
	at := time.Now().UTC().Truncate(time.Millisecond)
	fixed.ReceivedAt = at
	prev := target.Value
	c := message.Correction{Reading: fixed, Previous: &prev, Reason: "lab comparison", Actor: "admin", ActorRole: "admin", At: at}
	c.ID = message.CorrectionID(fixed.ID, c.Actor, c.At)
	corr := storetest.AsMessages(t, []message.Correction{c}, func(message.Correction) string { return fixed.Site }, 0, 0)
	storetest.Publish(t, cfg, cfg.Kafka.Topics.Corrections, corr)
	storetest.Publish(t, cfg, cfg.Kafka.Topics.Corrections, corr) // a redelivery

	testinfra.Eventually(t, 60*time.Second, "the corrected value in readings", func() bool {
		return e.Count(t, "SELECT count() FROM %s FINAL WHERE id = '%s' AND value = %v", e.Table(store.TableReadings), fixed.ID, fixed.Value) == 1
	})
	if n := e.Count(t, "SELECT count() FROM %s FINAL", e.Table(store.TableReadings)); n != 10 {
		t.Errorf("readings = %d after the correction, want 10", n)
	}
	testinfra.Eventually(t, 30*time.Second, "the correction recorded once", func() bool {
		return e.Count(t, "SELECT count() FROM %s FINAL WHERE id = '%s' AND reason = 'lab comparison'", e.Table(store.TableCorrections), c.ID) == 1
	})
	if n := e.Count(t, "SELECT count() FROM %s FINAL", e.Table(store.TableCorrections)); n != 1 {
		t.Errorf("corrections = %d after a redelivery, want 1", n)
	}
}

// TestReadingsCommitBeforeTheirRollupsWhichFollowWithAWatermark: with the rollups off the
// commit path, the readings' offsets are committed, the rollup loop rebuilds what they
// marked and records how far it got, and a redelivered batch still counts once.
func TestReadingsCommitBeforeTheirRollupsWhichFollowWithAWatermark(t *testing.T) {
	e := newEnv(t)
	cfg := e.Config
	cfg.Archiver.MaxDelay = 100 * time.Millisecond
	cfg.Archiver.RollupDelay = 300 * time.Millisecond
	defer e.runArchiver(t, cfg)()

	const n = 2000
	published := time.Now()
	recs := storetest.Readings(n, time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC))
	msgs := storetest.AsMessages(t, recs, storetest.ReadingKey, 0, 0)
	storetest.Publish(t, cfg, cfg.Kafka.Topics.Readings, msgs)
	waitCommitted(t, cfg, time.Minute) // the readings group, then the rollup loop's
	samples := func(table string) uint64 {
		return e.Count(t, "SELECT toUInt64(sum(samples)) FROM %s FINAL", e.Table(table))
	}
	for _, table := range []string{store.TableReadings5Min, store.TableReadingsHourly, store.TableReadingsDaily} {
		if got := samples(table); got != n {
			t.Errorf("%s samples = %d once the rollup loop committed, want %d", table, got, n)
		}
	}
	through, ok, err := e.Reader.RollupsThrough(context.Background())
	if err != nil || !ok || through.Before(published.Add(-time.Second)) {
		t.Errorf("rollups through %v (ok %v, err %v), want a watermark after %v", through, ok, err, published)
	}
	if got := storetest.MetricValue(e.Metrics.Errors.WithLabelValues(cfg.Archiver.RollupTopic, "rollup")); got != 0 {
		t.Errorf("%v rollup errors", got)
	}

	// The same batch delivered again (a producer retry): the rows and the rollups hold it once.
	storetest.Publish(t, cfg, cfg.Kafka.Topics.Readings, msgs[:500])
	waitCommitted(t, cfg, time.Minute)
	if got := e.Count(t, "SELECT count() FROM %s FINAL", e.Table(store.TableReadings)); got != n {
		t.Errorf("readings FINAL = %d after a redelivery, want %d", got, n)
	}
	if got := samples(store.TableReadingsHourly); got != n {
		t.Errorf("hourly samples = %d after a redelivery, want %d", got, n)
	}
}

// TestStationCommandRecordsOnTheirTopicAreArchivedOnce: the request and the gateway's
// outcomes of a station command reach station_commands, a redelivery adding nothing.
func TestStationCommandRecordsOnTheirTopicAreArchivedOnce(t *testing.T) {
	e := newEnv(t)
	cfg := e.Config
	cfg.Archiver.RecordsMaxDelay = 50 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- NewArchiver(cfg, stream.Plain(cfg.Kafka.Brokers...), e.Writer, e.Metrics, e.km, storetest.Quiet()).Run(ctx)
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("archiver: %v", err)
		}
	}()
	at := time.Now().UTC().Truncate(time.Millisecond)
	req := message.StationCommand{Site: "STH-O1", MN: "65230100000101", Command: message.StationRetainSample, RequestedBy: "responder",
		Reason: "outfall over its permit", Incident: "inc-1", TTLSeconds: 600, At: at, Status: message.StationRequested}
	req.ID = message.StationCommandID(req.Site, req.Command, req.RequestedBy, at)
	executed := req.Outcome(message.StationExecuted, "gw-a", at.Add(time.Minute))
	executed.ExeRtn = "1"
	bottleAt := at.Add(50 * time.Second)
	executed.Report = &message.StationReport{DataTime: &bottleAt, VaseNo: "3"}
	bad := req
	bad.Command = "reboot" // refused, counted, not archived as a command
	recs := storetest.AsMessages(t, []message.StationCommand{req, req.Outcome(message.StationSent, "gw-a", at.Add(time.Second)), executed, bad},
		func(c message.StationCommand) string { return c.Site }, 0, 0)
	storetest.Publish(t, cfg, cfg.Kafka.Topics.StationCommands, recs)
	storetest.Publish(t, cfg, cfg.Kafka.Topics.StationCommands, recs) // a redelivery
	testinfra.Eventually(t, 60*time.Second, "the executed record archived", func() bool {
		return e.Count(t, "SELECT count() FROM %s FINAL WHERE id = '%s' AND status = 'executed' AND exe_rtn = '1'", e.Table(store.TableStationCommands), req.ID) == 1
	})
	if n := e.Count(t, "SELECT count() FROM %s FINAL", e.Table(store.TableStationCommands)); n != 3 {
		t.Errorf("station_commands = %d rows, want 3 (requested, sent, executed)", n)
	}
	got, err := e.Reader.StationCommands(context.Background(), store.StationCommandQuery{Site: req.Site, From: at.Add(-time.Hour), To: at.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	var report *message.StationReport
	for _, c := range got {
		if c.Status == message.StationExecuted {
			report = c.Report
		} else if c.Report != nil {
			t.Errorf("%s record read back with a report %+v", c.Status, c.Report)
		}
	}
	if report == nil || report.VaseNo != "3" || report.DataTime == nil || !report.DataTime.Equal(bottleAt) {
		t.Errorf("executed record's report read back as %+v, want bottle 3 at %v", report, bottleAt)
	}
}
