package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/store"
	"github.com/riverwatch/riverwatch/pkg/stream"
	"github.com/segmentio/kafka-go"
)

// Figure keys of the peer step.
const (
	KeyPeerArchiverRate = "peer.archiver.rate"
	KeyPeerEngineRate   = "peer.engine.rate"
	keyPeerQueryable    = "peer.%s.queryable.%d.p%s" // system, rate, percentile
)

// peerSite is the site of the probe readings whose arrival is timed.
const peerSite = "PEERPROBE"

// Peer runs what a user would pick instead of the archiver beside it, on the same topic,
// server and table shape: ClickHouse's own Kafka table engine with materialized views, a
// readings table of the archive's schema and, as such setups have, an hourly rollup that
// a view sums as blocks arrive (SummingMergeTree). Both catch up on the same filled topic
// (rows/s), then take a live load with probe readings (reading → queryable, p50/p99:
// polled in ClickHouse), then replay the topic: the archiver with `archiver replay`, the
// engine as its users do, a consumer group reading from the start. The archiver's rows and
// rollups stay what they were; the engine's rollup counts every reading twice.
func Peer(ctx context.Context, e *Env, s *Step) error {
	bin, err := e.binary("archiver")
	if err != nil {
		return err
	}
	p := newPeerRun(e)
	conn, err := e.openCH(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	defer p.drop(context.WithoutCancel(ctx), conn)
	if err := p.prepare(ctx, conn); err != nil {
		return err
	}

	n := e.Settings.PeerRows
	e.Log.Info("peer: filling the topic", "readings", n, "topic", p.topic)
	fillStart := time.Now().UTC()
	if err := p.publish(ctx, n, 0); err != nil {
		return fmt.Errorf("fill %s: %w", p.topic, err)
	}
	s.Note("peer: both consume %s (%d partitions, lz4, %d readings, JSON as the gateway writes them) into a table of the archive's schema on the same server, one after the other while the rest of the bench stack idles", p.topic, e.Settings.Partitions, n)

	// 1. Catch-up: the archiver alone, then the engine alone.
	arch, err := p.startArchiver(ctx, bin)
	if err != nil {
		return notAvailable("archiver did not start for the peer run: %v", err)
	}
	defer arch.Stop()
	el, err := p.waitRows(ctx, conn, p.archDB, uint64(n), e.Settings.Drain)
	if err != nil {
		return fmt.Errorf("archiver catch-up: %w", err)
	}
	archRate := s.Add(KeyPeerArchiverRate, "archiver: filled topic → rows in ClickHouse", float64(n)/el.Seconds(), "rows/s").Vs(KeyKafkaProduceConsume)

	engineErr := p.createEngine(ctx, conn, "queue", "mv", p.group+"-engine")
	var engineRate float64
	if engineErr == nil {
		var el time.Duration
		if el, engineErr = p.waitRows(ctx, conn, p.peerDB, uint64(n), e.Settings.Drain); engineErr == nil {
			engineRate = float64(n) / el.Seconds()
			s.Add(KeyPeerEngineRate, "ClickHouse Kafka engine: filled topic → rows", engineRate, "rows/s").Vs(KeyKafkaProduceConsume)
		}
	}
	if engineErr != nil {
		s.Note("peer: ClickHouse's Kafka engine did not ingest the topic: %v%s", engineErr, p.engineLog())
		s.Add(KeyPeerEngineRate, "ClickHouse Kafka engine: not available (see notes)", 0, "rows/s")
	}
	if engineRate > 0 {
		archRate.WithGoal("archiver beats ClickHouse's Kafka engine on rows/s", archRate.Value > engineRate)
	}

	// 2. Reading → queryable under a live load, both consuming at once.
	live := 0
	for _, rate := range e.Settings.LatencyRates {
		e.Log.Info("peer: live load with probes", "rate", rate, "for", e.Settings.Latency)
		lat, sent, err := p.queryable(ctx, conn, rate, e.Settings.Latency, engineErr == nil, live+n)
		live += sent
		if err != nil {
			return fmt.Errorf("reading → queryable at %d/s: %w", rate, err)
		}
		for _, sys := range []string{"archiver", "engine"} {
			d := lat[sys]
			if len(d) == 0 {
				continue
			}
			name := map[string]string{"archiver": "archiver", "engine": "ClickHouse Kafka engine"}[sys]
			s.Add(fmt.Sprintf(keyPeerQueryable, sys, rate, "50"), fmt.Sprintf("%s: reading → queryable p50 at %d/s", name, rate), ms(Percentiles(d, 0.5)[0]), "ms")
			p99 := s.Add(fmt.Sprintf(keyPeerQueryable, sys, rate, "99"), fmt.Sprintf("%s: reading → queryable p99 at %d/s", name, rate), ms(Percentiles(d, 0.99)[0]), "ms")
			if sys == "archiver" && len(lat["engine"]) > 0 {
				p99.WithGoal("archiver beats the Kafka engine on reading → queryable p99", p99.Value < ms(Percentiles(lat["engine"], 0.99)[0]))
			}
		}
		s.Note("peer: at %d/s (achieved %.0f/s), %d probes among %d readings; %d of them seen by the archiver, %d by the engine (polled every %s, from Kafka's ack of the probe)",
			rate, float64(sent)/e.Settings.Latency.Seconds(), p.probesSent, sent, len(lat["archiver"]), len(lat["engine"]), peerPoll)
	}
	total := uint64(n + live)

	// 3. Replay: the whole topic again.
	e.Log.Info("peer: replaying the topic", "readings", total)
	arch.Stop()
	if err := p.replayArchiver(ctx, bin, fillStart.Add(-time.Minute)); err != nil {
		return fmt.Errorf("archiver replay: %w", err)
	}
	archRows, archSamples, err := p.counts(ctx, conn, p.archDB, store.TableReadingsHourly+" FINAL")
	if err != nil {
		return err
	}
	s.Add("peer.archiver.replay.rows", "archiver after a replay of the topic: readings FINAL ÷ readings sent", float64(archRows)/float64(total), "×")
	s.Add("peer.archiver.replay.rollup", "archiver after the replay: hourly samples ÷ readings sent", float64(archSamples)/float64(total), "×")
	if engineErr == nil {
		// Before its replay: an at-least-once consumer may have doubled blocks already.
		if _, samples, err := p.counts(ctx, conn, p.peerDB, "hourly"); err == nil {
			s.Add("peer.engine.before_replay.rollup", "Kafka engine before the replay: hourly samples ÷ readings sent", float64(samples)/float64(total), "×")
		}
		if err := p.createEngine(ctx, conn, "queue_replay", "mv_replay", p.group+"-engine-replay"); err != nil {
			return fmt.Errorf("engine replay: %w", err)
		}
		if err := p.waitSamples(ctx, conn, 2*total, e.Settings.Drain); err != nil {
			s.Note("peer: the engine's replay had not finished: %v", err)
		}
		rows, samples, err := p.counts(ctx, conn, p.peerDB, "hourly")
		if err != nil {
			return err
		}
		var physical uint64
		if err := conn.QueryRow(ctx, "SELECT count() FROM "+p.peerDB+"."+store.TableReadings).Scan(&physical); err != nil {
			return err
		}
		s.Add("peer.engine.replay.rows", "Kafka engine after the replay: readings FINAL ÷ readings sent", float64(rows)/float64(total), "×")
		s.Add("peer.engine.replay.rollup", "Kafka engine after the replay: hourly samples ÷ readings sent", float64(samples)/float64(total), "×")
		s.Note("peer: after the replay the engine's readings table holds %d rows for %d readings until merges collapse them (FINAL: %d); its rollup, summed by the view as blocks arrive, counts %d samples", physical, total, rows, samples)
	}
	if archRows == total && archSamples == total {
		s.Note("peer: the archiver's readings and rollups are unchanged by the replay (%d readings, %d samples)", archRows, archSamples)
	}
	return nil
}

// peerPoll is how often the reading → queryable probes are looked for.
const peerPoll = 50 * time.Millisecond

type peerRun struct {
	e              *Env
	topic, group   string
	archDB, peerDB string
	others         []string // the archiver's other topics, empty
	rng            *rand.Rand
	base           time.Time
	next           int // readings published so far: the next one's index
	probesSent     int
	probeSeq       int // probes made so far, for their distinct observation times
	w              *stream.Writer
}

func newPeerRun(e *Env) *peerRun {
	return &peerRun{
		e: e, topic: e.Topic("peer.readings"), group: e.Prefix + "-peer",
		archDB: e.Database + "_peer_archiver", peerDB: e.Database + "_peer_engine",
		others: []string{e.Topic("peer.rejected"), e.Topic("peer.events"), e.Topic("peer.incidents"), e.Topic("peer.commands"), e.Topic("peer.corrections")},
		rng:    rand.New(rand.NewPCG(5, 6)),
		// Readings of the last two days, so the hourly rollups of both hold a few dozen hours.
		base: time.Now().UTC().Add(-48 * time.Hour).Truncate(time.Minute),
	}
}

func (p *peerRun) prepare(ctx context.Context, conn driver.Conn) error {
	specs := []stream.TopicSpec{{Name: p.topic, Partitions: p.e.Settings.Partitions}}
	for _, t := range p.others {
		specs = append(specs, stream.TopicSpec{Name: t, Partitions: 1})
	}
	if err := stream.EnsureTopics(ctx, stream.Plain(p.e.Brokers...), specs...); err != nil {
		return err
	}
	p.w = stream.NewWriter(stream.WriterConfig{Cluster: stream.Plain(p.e.Brokers...), Topic: p.topic, Label: "peer"}, nil)
	stmts := []string{
		"DROP DATABASE IF EXISTS " + p.archDB,
		"DROP DATABASE IF EXISTS " + p.peerDB,
		"CREATE DATABASE " + p.peerDB,
		// The archive's own readings table, as migrations made it in the run's database.
		fmt.Sprintf("CREATE TABLE %s.%s AS %s.%s", p.peerDB, store.TableReadings, p.e.Database, store.TableReadings),
		// The rollup as a materialized view keeps it: summed block by block as rows arrive.
		fmt.Sprintf("CREATE TABLE %s.hourly (site String, parameter String, hour DateTime, samples UInt64, value_sum Float64) ENGINE = SummingMergeTree ORDER BY (site, parameter, hour)", p.peerDB),
	}
	for _, q := range stmts {
		if err := conn.Exec(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", firstLine(q), err)
		}
	}
	return nil
}

func (p *peerRun) drop(ctx context.Context, conn driver.Conn) {
	if p.w != nil {
		p.w.Close()
	}
	for _, db := range []string{p.peerDB, p.archDB} {
		if err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+db); err != nil {
			p.e.Log.Warn("peer: drop", "database", db, "err", err)
		}
	}
}

// publish sends n readings (every probeEvery-th one, when > 0, a probe) and returns when
// Kafka has them all.
func (p *peerRun) publish(ctx context.Context, n, probeEvery int) error {
	const batch = 2000
	msgs := make([]kafka.Message, 0, batch)
	for i := 0; i < n; i++ {
		r := sampleReading(p.next, p.e.Settings.Stations, p.base, p.rng)
		p.next++
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		msgs = append(msgs, kafka.Message{Key: []byte(r.Site), Value: b})
		if len(msgs) == batch || i == n-1 {
			if err := p.w.Publish(ctx, msgs...); err != nil {
				return err
			}
			msgs = msgs[:0]
		}
	}
	return nil
}

// startArchiver runs an archiver of its own on the peer topic, into a database of its own.
func (p *peerRun) startArchiver(ctx context.Context, bin string) (*Command, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	env := append(p.archiverEnv(), "RIVERWATCH_ARCHIVER_LISTEN="+addr)
	logPath := filepath.Join(p.e.LogDir(), "peer-archiver.log")
	cmd, err := p.e.startWithEnv(context.WithoutCancel(ctx), nil, env, bin, "-config", filepath.Join(p.e.Root, "configs", "riverwatch.yaml"))
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(90 * time.Second)
	for !ready(addr) {
		select {
		case <-cmd.done:
			return nil, fmt.Errorf("exited: %w", cmd.Wait())
		case <-ctx.Done():
			cmd.Stop()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cmd.Stop()
			return nil, fmt.Errorf("not ready on %s within 90 s (log %s)", addr, logPath)
		}
	}
	return cmd, nil
}

func (p *peerRun) archiverEnv() []string {
	return append(p.e.serviceEnv(),
		"RIVERWATCH_KAFKA_GROUP_PREFIX="+p.group+"-archiver",
		"RIVERWATCH_KAFKA_TOPICS_READINGS="+p.topic,
		"RIVERWATCH_KAFKA_TOPICS_REJECTED="+p.others[0],
		"RIVERWATCH_KAFKA_TOPICS_EVENTS="+p.others[1],
		"RIVERWATCH_KAFKA_TOPICS_INCIDENTS="+p.others[2],
		"RIVERWATCH_KAFKA_TOPICS_COMMANDS="+p.others[3],
		"RIVERWATCH_KAFKA_TOPICS_CORRECTIONS="+p.others[4],
		"RIVERWATCH_CLICKHOUSE_DATABASE="+p.archDB,
	)
}

func (p *peerRun) replayArchiver(ctx context.Context, bin string, from time.Time) error {
	cmd, err := p.e.startWithEnv(ctx, nil, p.archiverEnv(), bin, "-config", filepath.Join(p.e.Root, "configs", "riverwatch.yaml"),
		"replay", "-topic", p.topic, "-from", from.Format(time.RFC3339))
	if err != nil {
		return err
	}
	return cmd.Wait()
}

// createEngine attaches a Kafka engine table of the readings JSON and the two views that
// carry its blocks into readings and into the hourly rollup, its consumer group set to
// read the topic from the start.
func (p *peerRun) createEngine(ctx context.Context, conn driver.Conn, queue, mv, group string) error {
	db := p.peerDB
	// A new group starts at the end of the topic (librdkafka's default); users of the
	// engine set its offsets with Kafka's own tool to read what is there, as for a replay.
	tool, err := p.e.KafkaTool(ctx, nil, "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
		"--bootstrap-server", p.e.Brokers[0], "--reset-offsets", "--to-earliest", "--execute", "--group", group, "--topic", p.topic)
	if err != nil {
		return err
	}
	if err := tool.Wait(); err != nil {
		return fmt.Errorf("reset the offsets of %s: %w", group, err)
	}
	stmts := []string{
		fmt.Sprintf("CREATE TABLE %s.%s (id String, site String, station String, parameter String, value Float64, unit String, min Nullable(Float64), max Nullable(Float64), `interval` String, flag String, observed_at String, received_at String, source String) "+
			"ENGINE = Kafka('%s', '%s', '%s', 'JSONEachRow') SETTINGS kafka_num_consumers = %d",
			db, queue, strings.Join(p.e.Brokers, ","), p.topic, group, min(p.e.Settings.Partitions, 2)),
		// The times arrive as RFC 3339 strings. A converted column takes its source's name,
		// and 18.16 resolves the name to the alias everywhere in the query (a subquery or a
		// second view to rename first does not run under a Kafka table there), so the
		// milliseconds cannot be read from the string: observed_ms is 0, exact for this
		// load (whole minutes, probes whole seconds), and the version is whole seconds.
		fmt.Sprintf("CREATE MATERIALIZED VIEW %s.%s TO %s.%s AS SELECT id, site, station, parameter, value, unit, min AS value_min, max AS value_max, `interval` AS interval_kind, "+
			"if(flag = '', 'N', flag) AS flag, parseDateTimeBestEffort(observed_at) AS observed_at, toUInt16(0) AS observed_ms, parseDateTimeBestEffort(received_at) AS received_at, source, "+
			"(toUInt64(9223372036854775807) - toUInt64(toUnixTimestamp(received_at)) * 1000) AS version FROM %s.%s", // store.ReadingVersion
			db, mv, db, store.TableReadings, db, queue),
		fmt.Sprintf("CREATE MATERIALIZED VIEW %s.%s_hourly TO %s.hourly AS SELECT site, parameter, toStartOfHour(parseDateTimeBestEffort(observed_at)) AS hour, count() AS samples, sum(value) AS value_sum FROM %s.%s GROUP BY site, parameter, hour",
			db, mv, db, db, queue),
	}
	for _, q := range stmts {
		if err := conn.Exec(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", firstLine(q)[:min(len(firstLine(q)), 60)], err)
		}
	}
	return nil
}

// waitRows waits until db's readings hold want rows (FINAL) and returns how long that took.
func (p *peerRun) waitRows(ctx context.Context, conn driver.Conn, db string, want uint64, limit time.Duration) (time.Duration, error) {
	return waitCount(ctx, conn, "SELECT count() FROM "+db+"."+store.TableReadings+" FINAL", want, limit)
}

// waitSamples waits until the engine's hourly rollup has summed want samples: merges of
// its readings table collapse copies, its sums never shrink.
func (p *peerRun) waitSamples(ctx context.Context, conn driver.Conn, want uint64, limit time.Duration) error {
	_, err := waitCount(ctx, conn, "SELECT toUInt64(sum(samples)) FROM "+p.peerDB+".hourly", want, limit)
	return err
}

// waitCount polls a query of one UInt64 until it reaches want.
func waitCount(ctx context.Context, conn driver.Conn, q string, want uint64, limit time.Duration) (time.Duration, error) {
	start := time.Now()
	var got uint64
	for time.Since(start) < limit {
		if err := conn.QueryRow(ctx, q).Scan(&got); err == nil && got >= want {
			return time.Since(start), nil
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return 0, fmt.Errorf("%s: %d of %d after %s", q, got, want, limit)
}

// queryable publishes readings at rate for d, a probe every 50 ms among them, while
// polling both readings tables for the probes: the time from Kafka acknowledging a probe
// to its row answering a query. It returns the latencies per system and readings sent.
func (p *peerRun) queryable(ctx context.Context, conn driver.Conn, rate int, d time.Duration, engine bool, already int) (map[string][]time.Duration, int, error) {
	sentAt := map[string]time.Time{}
	var mu sync.Mutex
	seen := map[string]map[string]time.Duration{"archiver": {}, "engine": {}}
	pollCtx, stopPoll := context.WithCancel(ctx)
	defer stopPoll()
	var wg sync.WaitGroup
	dbs := map[string]string{"archiver": p.archDB}
	if engine {
		dbs["engine"] = p.peerDB
	}
	for sys, db := range dbs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(peerPoll)
			defer t.Stop()
			for {
				select {
				case <-pollCtx.Done():
					return
				case <-t.C:
				}
				rows, err := conn.Query(pollCtx, "SELECT id FROM "+db+"."+store.TableReadings+" WHERE site = ?", peerSite)
				if err != nil {
					continue
				}
				now := time.Now()
				for rows.Next() {
					var id string
					if rows.Scan(&id) != nil {
						continue
					}
					mu.Lock()
					if at, ok := sentAt[id]; ok {
						if _, dup := seen[sys][id]; !dup {
							seen[sys][id] = now.Sub(at)
						}
					}
					mu.Unlock()
				}
				rows.Close()
			}
		}()
	}
	// Load in 10 ms ticks; a probe every 5th tick.
	perTick := max(rate/100, 1)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	end := time.Now().Add(d)
	sent, ticks := 0, 0
	probes := 0
	for time.Now().Before(end) {
		select {
		case <-ctx.Done():
			return nil, sent, ctx.Err()
		case <-tick.C:
		}
		ticks++
		if err := p.publish(ctx, perTick, 0); err != nil {
			return nil, sent, err
		}
		sent += perTick
		if ticks%5 == 0 {
			// Each probe a whole second of its own before the load's readings: a distinct
			// id, and milliseconds the engine's view can keep (observed_ms 0).
			p.probeSeq++
			at := time.Now().UTC()
			r := message.Reading{Site: peerSite, Station: "PEER", Parameter: "nh3n", Value: 0.5, Unit: "mg/L",
				Interval: message.IntervalMinute, Flag: message.FlagNormal, ObservedAt: p.base.Add(-time.Duration(p.probeSeq) * time.Second), ReceivedAt: at, Source: message.SourceHJ212}
			r.ID = message.ReadingID(r.Site, r.Parameter, r.Interval, r.ObservedAt)
			b, err := json.Marshal(r)
			if err != nil {
				return nil, sent, err
			}
			if err := p.w.Publish(ctx, kafka.Message{Key: []byte(r.Site), Value: b}); err != nil {
				return nil, sent, err
			}
			acked := time.Now()
			mu.Lock()
			sentAt[r.ID] = acked
			mu.Unlock()
			sent++
			probes++
		}
	}
	// Let the last probes arrive (the engine flushes a block every 7.5 s by default).
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		done := len(seen["archiver"]) == probes && (!engine || len(seen["engine"]) == probes)
		mu.Unlock()
		if done {
			break
		}
		time.Sleep(peerPoll)
	}
	stopPoll()
	wg.Wait()
	p.probesSent = probes
	out := map[string][]time.Duration{}
	for sys, m := range seen {
		for _, v := range m {
			out[sys] = append(out[sys], v)
		}
	}
	if _, err := p.waitRows(ctx, conn, p.archDB, uint64(already+sent), 60*time.Second); err != nil {
		return out, sent, fmt.Errorf("archiver behind after the live load: %w", err)
	}
	return out, sent, nil
}

// counts returns readings FINAL and the sum of the hourly rollup's samples in db.
func (p *peerRun) counts(ctx context.Context, conn driver.Conn, db, hourly string) (rows, samples uint64, err error) {
	if err = conn.QueryRow(ctx, "SELECT count() FROM "+db+"."+store.TableReadings+" FINAL").Scan(&rows); err != nil {
		return 0, 0, err
	}
	if err = conn.QueryRow(ctx, "SELECT sum(samples) FROM "+db+"."+hourly).Scan(&samples); err != nil {
		return 0, 0, err
	}
	return rows, samples, nil
}

// engineLog returns the Kafka engine's last error from the server's log, for the notes.
func (p *peerRun) engineLog() string {
	b, err := os.ReadFile(filepath.Join(p.e.StateDir, "logs", "clickhouse-server.err.log"))
	if err != nil {
		return ""
	}
	lines := strings.Split(string(b), "\n")
	for i := len(lines) - 1; i >= 0 && i >= len(lines)-2000; i-- {
		if strings.Contains(lines[i], "StorageKafka") {
			return "; the server's log: " + strings.TrimSpace(lines[i])
		}
	}
	return ""
}
