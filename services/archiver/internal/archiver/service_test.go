package archiver

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/config"
	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/store"
	"github.com/riverwatch/riverwatch/pkg/store/storetest"
	"github.com/riverwatch/riverwatch/pkg/testinfra"
)

// archiverProc is the archiver binary under test.
type archiverProc struct {
	t       *testing.T
	bin     string
	env     []string
	listen  string
	logPath string
	cmd     *exec.Cmd
	done    chan error
}

func newArchiverProc(t *testing.T, cfg *config.Config, extraEnv ...string) *archiverProc {
	t.Helper()
	p := &archiverProc{
		t:       t,
		bin:     testinfra.BuildService(t, "archiver"),
		listen:  testinfra.FreeAddr(t),
		logPath: filepath.Join(t.TempDir(), "archiver.log"),
	}
	p.env = append(testinfra.Env(cfg), "RIVERWATCH_ARCHIVER_LISTEN="+p.listen, "RIVERWATCH_LOG_LEVEL=info")
	p.env = append(p.env, extraEnv...)
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			if b, err := os.ReadFile(p.logPath); err == nil {
				t.Logf("archiver log (tail):\n%s", tail(string(b), 4000))
			}
		}
	})
	return p
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// exec runs a one-shot subcommand (migrate) and returns its exit error.
func (p *archiverProc) exec(args ...string) error {
	cmd := exec.Command(p.bin, append([]string{"-config", filepath.Join(testinfra.ModuleRoot(p.t), "configs/riverwatch.yaml")}, args...)...)
	cmd.Env = p.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("archiver %v: %w\n%s", args, err, out)
	}
	return nil
}

// start runs the archiver and waits until /readyz answers.
func (p *archiverProc) start() {
	p.t.Helper()
	log, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		p.t.Fatal(err)
	}
	defer log.Close()
	p.cmd = exec.Command(p.bin, "-config", filepath.Join(testinfra.ModuleRoot(p.t), "configs/riverwatch.yaml"))
	p.cmd.Env, p.cmd.Stdout, p.cmd.Stderr = p.env, log, log
	if err := p.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	p.done = make(chan error, 1)
	go func(cmd *exec.Cmd, done chan error) { done <- cmd.Wait() }(p.cmd, p.done)
	testinfra.Eventually(p.t, 60*time.Second, "archiver ready", func() bool {
		select {
		case err := <-p.done:
			p.t.Fatalf("archiver exited during start: %v", err)
		default:
		}
		resp, err := http.Get("http://" + p.listen + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// kill sends SIGKILL: no shutdown, no last commit.
func (p *archiverProc) kill() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
	p.cmd = nil
}

// alive reports whether the running archiver has not exited.
func (p *archiverProc) alive() bool {
	select {
	case err := <-p.done:
		p.done <- err
		return false
	default:
		return p.cmd != nil
	}
}

// rssKiB reads the resident set size of the running archiver.
func (p *archiverProc) rssKiB() int {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			return n
		}
	}
	return 0
}

// metric returns the sum of a metric's samples whose line contains every filter.
func (p *archiverProc) metric(name string, filters ...string) float64 {
	resp, err := http.Get("http://" + p.listen + "/metrics")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var sum float64
next:
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, name) {
			continue
		}
		for _, f := range filters {
			if !strings.Contains(line, f) {
				continue next
			}
		}
		if v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64); err == nil {
			sum += v
		}
	}
	return sum
}

// checkExactlyOnce asserts that the archive holds exactly the records, each once, as every
// reader path sees it: FINAL, the store.Reader the api uses, and the rollups the reports use.
func checkExactlyOnce(t *testing.T, e *storetest.Archive, recs []message.Reading) {
	t.Helper()
	ctx := context.Background()
	n := uint64(len(recs))
	if got := e.Count(t, "SELECT count() FROM %s FINAL", e.Table(store.TableReadings)); got != n {
		t.Errorf("count() FINAL = %d, want %d", got, n)
	}
	if got := e.Count(t, "SELECT uniqExact(id) FROM %s", e.Table(store.TableReadings)); got != n {
		t.Errorf("uniqExact(id) = %d, want %d", got, n)
	}
	// Every raw point the api would serve, over the records' whole time range.
	from, to := recs[0].ObservedAt, recs[0].ObservedAt
	for _, r := range recs {
		from, to = minTime(from, r.ObservedAt), maxTime(to, r.ObservedAt)
	}
	var points uint64
	for _, site := range storetest.Sites {
		series, err := e.Reader.Series(ctx, store.SeriesQuery{Site: site, From: from, To: to.Add(time.Second), Resolution: store.ResolutionRaw})
		if err != nil {
			t.Fatal(err)
		}
		for _, sr := range series {
			points += uint64(len(sr.Points))
		}
	}
	if points != n {
		t.Errorf("Reader.Series raw points of every site = %d, want %d", points, n)
	}
	if got := e.Count(t, "SELECT toUInt64(sum(samples)) FROM %s FINAL", e.Table(store.TableReadingsHourly)); got != n {
		t.Errorf("hourly rollup samples = %d, want %d", got, n)
	}
	if got := e.Count(t, "SELECT toUInt64(sum(samples)) FROM %s FINAL", e.Table(store.TableReadingsDaily)); got != n {
		t.Errorf("daily rollup samples = %d, want %d", got, n)
	}
	// The very ids published, none missing, none foreign.
	want := make(map[string]bool, len(recs))
	for _, r := range recs {
		want[r.ID] = true
	}
	rows, err := e.Conn.Query(ctx, "SELECT id FROM "+e.Table(store.TableReadings)+" FINAL")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	seen := 0
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		if !want[id] {
			t.Fatalf("unexpected reading id %s", id)
		}
		seen++
	}
	if seen != len(recs) {
		t.Errorf("%d ids read, want %d", seen, len(recs))
	}
	// Per series through the api's path: a sample of series, each reading once.
	series, err := e.Reader.Series(ctx, store.SeriesQuery{Site: recs[0].Site, Parameters: []string{recs[0].Parameter},
		From: from, To: to.Add(time.Second), Resolution: store.ResolutionRaw})
	if err != nil {
		t.Fatal(err)
	}
	var got []store.Point
	for _, sr := range series {
		got = append(got, sr.Points...)
	}
	wantSeries := 0
	for _, r := range recs {
		if r.Site == recs[0].Site && r.Parameter == recs[0].Parameter {
			wantSeries++
		}
	}
	if len(got) != wantSeries {
		t.Errorf("Reader.Series(%s, %s) = %d readings, want %d", recs[0].Site, recs[0].Parameter, len(got), wantSeries)
	}
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func waitCommitted(t *testing.T, cfg *config.Config, timeout time.Duration) {
	t.Helper()
	waitGroupCommitted(t, cfg, GroupID(cfg.Kafka.GroupPrefix, store.KindReadings), cfg.Kafka.Topics.Readings, timeout)
	// Then the rollup loop: its offsets are committed once the buckets the readings
	// marked are rebuilt (rollups.go).
	if cfg.Archiver.RollupDelay > 0 {
		waitGroupCommitted(t, cfg, RollupGroupID(cfg.Kafka.GroupPrefix), cfg.Archiver.RollupTopic, timeout)
	}
}

// waitGroupCommitted waits until group has committed the end of every partition of topic.
func waitGroupCommitted(t *testing.T, cfg *config.Config, group, topic string, timeout time.Duration) {
	t.Helper()
	hwm := storetest.HighWaterMarks(t, cfg, topic)
	testinfra.Eventually(t, timeout, "every offset of "+topic+" committed by "+group, func() bool {
		c := storetest.Committed(t, cfg, group, topic)
		for p, end := range hwm {
			if c[p] != end {
				return false
			}
		}
		return true
	})
}

func TestArchiverKilledTwiceMidStreamArchivesEveryReadingExactlyOnce(t *testing.T) {
	e := storetest.NewArchive(t) // the test's database, migrated here as well: the binary must cope
	cfg := e.Config
	p := newArchiverProc(t, cfg,
		"RIVERWATCH_ARCHIVER_MAX_ROWS=2000", "RIVERWATCH_ARCHIVER_MAX_DELAY=200ms", "RIVERWATCH_ARCHIVER_RETRY_MAX=1s")
	// The migrate command twice: a no-op the second time.
	for range 2 {
		if err := p.exec("migrate"); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.Count(t, "SELECT count() FROM %s", e.Table(store.TableMigrations)); n != uint64(len(store.Migrations())) {
		t.Errorf("schema_migrations has %d rows after migrating three times, want %d", n, len(store.Migrations()))
	}

	const total = 50000
	recs := storetest.Readings(total, time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC))
	msgs := storetest.AsMessages(t, recs, storetest.ReadingKey, 0, 0)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // published while the archiver runs and dies
		defer wg.Done()
		for i := 0; i < len(msgs); i += 5000 {
			storetest.Publish(t, cfg, cfg.Kafka.Topics.Readings, msgs[i:i+5000])
			time.Sleep(200 * time.Millisecond)
		}
	}()
	raw := func() uint64 { return e.Count(t, "SELECT count() FROM %s", e.Table(store.TableReadings)) }
	p.start()
	for i, at := range []uint64{12000, 30000} {
		// Polled tightly, so that the kill tends to land right after an insert returned —
		// while the rollups are rebuilt and before the offsets are committed — the window
		// where a crash makes Kafka deliver stored messages again.
		deadline := time.Now().Add(2 * time.Minute)
		for raw() < at {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %d rows before kill %d", at, i+1)
			}
			time.Sleep(time.Millisecond)
		}
		p.kill()
		var sum int64
		for _, off := range storetest.Committed(t, cfg, GroupID(cfg.Kafka.GroupPrefix, store.KindReadings), cfg.Kafka.Topics.Readings) {
			sum += max(off, 0)
		}
		// Rows stored beyond the committed offsets are delivered again after the restart.
		t.Logf("SIGKILL %d: %d rows stored, %d offsets committed", i+1, raw(), sum)
		p.start()
	}
	wg.Wait()
	waitCommitted(t, cfg, 3*time.Minute)
	testinfra.Eventually(t, time.Minute, "every reading archived", func() bool {
		return e.Count(t, "SELECT count() FROM %s FINAL", e.Table(store.TableReadings)) == total
	})
	p.kill()
	checkExactlyOnce(t, e, recs)
	t.Logf("%d readings archived exactly once; %d physical rows now (merges remove repeats on disk too)", total, raw())

	// The replay command over what is archived already (a backfill run twice) changes
	// nothing that readers see.
	if err := p.exec("replay", "-topic", "readings", "-partition", "1", "-from-offset", "0"); err != nil {
		t.Fatal(err)
	}
	if err := p.exec("replay", "-topic", cfg.Kafka.Topics.Readings, "-from", time.Now().Add(-time.Hour).Format(time.RFC3339)); err != nil {
		t.Fatal(err)
	}
	checkExactlyOnce(t, e, recs)
}

// tcpProxy forwards a port to ClickHouse and can cut it, to take ClickHouse away from the
// archiver without stopping the server other tests share.
type tcpProxy struct {
	addr, target string
	mu           sync.Mutex
	ln           net.Listener
	conns        map[net.Conn]bool
}

func newTCPProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	p := &tcpProxy{addr: testinfra.FreeAddr(t), target: target, conns: map[net.Conn]bool{}}
	if err := p.up(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.down)
	return p
}

func (p *tcpProxy) up() error {
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.pipe(c)
		}
	}()
	return nil
}

func (p *tcpProxy) pipe(c net.Conn) {
	s, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	if p.ln == nil { // cut meanwhile
		p.mu.Unlock()
		c.Close()
		s.Close()
		return
	}
	p.conns[c], p.conns[s] = true, true
	p.mu.Unlock()
	go func() { io.Copy(s, c); s.Close(); c.Close() }()
	io.Copy(c, s)
	c.Close()
	s.Close()
}

// down refuses new connections and cuts the open ones.
func (p *tcpProxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

func TestArchiverPausesWhileClickHouseIsDownAndLosesNothing(t *testing.T) {
	e := storetest.NewArchive(t)
	cfg := e.Config
	proxy := newTCPProxy(t, cfg.ClickHouse.Addr)
	proxied := *cfg
	proxied.ClickHouse.Addr = proxy.addr
	// Batches of 5,000: the 30,000 readings published during the outage are far more than
	// one batch plus the reader's queue, so a bounded RSS shows that consumption paused.
	p := newArchiverProc(t, &proxied, "RIVERWATCH_ARCHIVER_MAX_ROWS=5000", "RIVERWATCH_ARCHIVER_MAX_DELAY=200ms", "RIVERWATCH_ARCHIVER_RETRY_MAX=2s")
	p.start()

	// 20,000 readings before the outage, 150,000 during it, 10,000 after.
	const before, during, after = 20000, 150000, 10000
	recs := storetest.Readings(before+during+after, time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC))
	msgs := storetest.AsMessages(t, recs, storetest.ReadingKey, 0, 0)
	final := func() uint64 { return e.Count(t, "SELECT count() FROM %s FINAL", e.Table(store.TableReadings)) }
	storetest.Publish(t, cfg, cfg.Kafka.Topics.Readings, msgs[:before])
	testinfra.Eventually(t, time.Minute, "the readings before the outage", func() bool { return final() == before })
	baseline := p.rssKiB()

	proxy.down()
	outage := time.Now()
	published := make(chan struct{})
	outageBytes := 0
	for _, m := range msgs[before : before+during] {
		outageBytes += len(m.Value)
	}
	go func() { // arrives while ClickHouse is away: far more than one batch and the queue
		defer close(published)
		for i := before; i < before+during; i += 10000 {
			storetest.Publish(t, cfg, cfg.Kafka.Topics.Readings, msgs[i:i+10000])
			time.Sleep(500 * time.Millisecond)
		}
	}()
	maxRSS := baseline
	for time.Since(outage) < 30*time.Second {
		if !p.alive() {
			t.Fatal("archiver exited while ClickHouse was away")
		}
		maxRSS = max(maxRSS, p.rssKiB())
		time.Sleep(250 * time.Millisecond)
	}
	<-published
	atEnd := final()
	insertErrors := p.metric("riverwatch_archiver_errors_total", `stage="insert"`)
	if err := proxy.up(); err != nil {
		t.Fatalf("proxy back up: %v", err)
	}
	storetest.Publish(t, cfg, cfg.Kafka.Topics.Readings, msgs[before+during:])
	waitCommitted(t, cfg, 3*time.Minute)
	testinfra.Eventually(t, time.Minute, "every reading archived", func() bool { return final() == uint64(len(recs)) })
	if !p.alive() {
		t.Error("archiver exited")
	}
	p.kill()

	if atEnd != before {
		t.Errorf("%d readings in ClickHouse at the end of the outage, want the %d from before", atEnd, before)
	}
	if insertErrors == 0 {
		t.Error("no insert error counted during the outage: was ClickHouse really away?")
	}
	// Holding the outage's messages would take more than their JSON; one batch of 5,000
	// plus the reader's queue takes a small part of it.
	growth, outageKiB := maxRSS-baseline, outageBytes/1024
	if growth > outageKiB/2 || maxRSS > 200<<10 {
		t.Errorf("archiver RSS grew %d KiB (to %d KiB) during the outage while %d KiB of messages arrived: not bounded", growth, maxRSS, outageKiB)
	}
	t.Logf("RSS %d KiB before the outage, at most %d KiB during 30 s without ClickHouse while %d KiB of messages arrived; %d insert attempts failed and were retried",
		baseline, maxRSS, outageKiB, int(insertErrors))
	checkExactlyOnce(t, e, recs)
}
