package store_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverwatch/riverwatch/pkg/chstore"
	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/store"
	"github.com/riverwatch/riverwatch/pkg/store/storetest"
	"github.com/riverwatch/riverwatch/pkg/testinfra"
)

// The cluster tests run on deploy/local/cluster.sh's two ClickHouse replicas of one shard
// (cluster `riverwatch`), which `make test` starts with RIVERWATCH_CLUSTER_TESTS=1:
//
//	RIVERWATCH_TEST_CLUSTER_CLICKHOUSE=127.0.0.1:9100,127.0.0.1:9200
//	RIVERWATCH_TEST_CLUSTER_SCRIPT=deploy/local/cluster.sh   (kills and restarts a replica)

// clusterReplica is one replica of the test cluster: its connection and cluster.sh's name.
type clusterReplica struct {
	node string
	addr string
	conn driver.Conn
}

func clusterReplicas(t *testing.T) (script string, reps []*clusterReplica) {
	t.Helper()
	addrs := os.Getenv("RIVERWATCH_TEST_CLUSTER_CLICKHOUSE")
	if addrs == "" {
		t.Skip("RIVERWATCH_TEST_CLUSTER_CLICKHOUSE is not set: the two replicas of deploy/local/cluster.sh (make test with RIVERWATCH_CLUSTER_TESTS=1)")
	}
	script = os.Getenv("RIVERWATCH_TEST_CLUSTER_SCRIPT")
	if script == "" {
		script = filepath.Join(testinfra.ModuleRoot(t), "deploy", "local", "cluster.sh")
	}
	for i, addr := range strings.Split(addrs, ",") {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		conn, err := chstore.Open(ctx, chstore.Config{Addr: addr, DialTimeout: 5 * time.Second})
		cancel()
		if err != nil {
			t.Fatalf("replica %s: %v", addr, err)
		}
		t.Cleanup(func() { conn.Close() })
		reps = append(reps, &clusterReplica{node: fmt.Sprintf("clickhouse-%d", i+1), addr: addr, conn: conn})
	}
	if len(reps) != 2 {
		t.Fatalf("RIVERWATCH_TEST_CLUSTER_CLICKHOUSE=%s: want the two replicas' addresses", addrs)
	}
	return script, reps
}

func runScript(t *testing.T, script string, args ...string) {
	t.Helper()
	out, err := exec.Command(script, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", script, strings.Join(args, " "), err, out)
	}
}

func countOn(t *testing.T, conn driver.Conn, query string) (uint64, error) {
	t.Helper()
	var n uint64
	err := conn.QueryRow(context.Background(), query).Scan(&n)
	return n, err
}

func mustCount(t *testing.T, conn driver.Conn, query string) uint64 {
	t.Helper()
	n, err := countOn(t, conn, query)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// TestClusterReplicaKilledDuringInsertsCatchesUp migrates the cluster schema through one
// replica, writes readings through it with the archiver's Writer, reads them through the
// other with the Reader (raw FINAL and rollups), then SIGKILLs the second replica while
// inserts go on through the first, restarts it and checks it caught up.
func TestClusterReplicaKilledDuringInsertsCatchesUp(t *testing.T) {
	script, reps := clusterReplicas(t)
	a, b := reps[0], reps[1]
	ctx := context.Background()
	db := fmt.Sprintf("rwcluster_%d", time.Now().UnixNano())
	v, err := chstore.ServerVersion(ctx, a.conn)
	if err != nil {
		t.Fatal(err)
	}
	s := store.Schema{Database: db, Features: store.FeaturesFor(v), Cluster: "riverwatch"}
	t.Cleanup(func() {
		if os.Getenv("RIVERWATCH_KEEP_TEST_DATA") != "" {
			return
		}
		for _, r := range reps {
			// Each replica drops its own tables, and with them its replica in ZooKeeper.
			if err := r.conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+db); err != nil {
				t.Logf("drop %s on %s: %v", db, r.addr, err)
			}
		}
	})
	if _, err := store.Migrate(ctx, a.conn, s, storetest.Quiet()); err != nil {
		t.Fatalf("migrate ON CLUSTER through %s: %v", a.addr, err)
	}
	// The migration created every table on both replicas (ON CLUSTER), and the record is
	// replicated: migrating through the other replica runs nothing.
	ran, err := store.Migrate(ctx, b.conn, s, storetest.Quiet())
	if err != nil {
		t.Fatalf("migrate through %s: %v", b.addr, err)
	}
	if len(ran) != 0 {
		t.Errorf("migrating through the second replica ran %d migrations, want none", len(ran))
	}
	for _, r := range reps {
		// Every Distributed table <t> stands over a replicated <t>_local, and every <t>_local
		// has its Distributed <t>; the replicated tables without one are cluster-wide.
		tablesOf := func(engine string) string {
			return fmt.Sprintf("SELECT name FROM system.tables WHERE database = '%s' AND engine = '%s'", db, engine)
		}
		d := mustCount(t, r.conn, "SELECT count() FROM ("+tablesOf("Distributed")+")")
		orphans := mustCount(t, r.conn, "SELECT count() FROM ("+tablesOf("Distributed")+") WHERE concat(name, '_local') NOT IN ("+tablesOf("ReplicatedReplacingMergeTree")+")")
		bare := mustCount(t, r.conn, "SELECT count() FROM ("+tablesOf("ReplicatedReplacingMergeTree")+") WHERE endsWith(name, '_local') AND substring(name, 1, length(name) - 6) NOT IN ("+tablesOf("Distributed")+")")
		if d < 9 || orphans != 0 || bare != 0 {
			t.Errorf("%s: %d Distributed tables (%d without a replicated _local table), %d _local tables without a Distributed one", r.addr, d, orphans, bare)
		}
	}

	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	w := store.NewWriter(a.conn, s, loc, store.NewMetrics(prometheus.NewRegistry()), storetest.Quiet())
	reader := store.NewReader(b.conn, db)
	var offset int64
	write := func(rs []message.Reading) error {
		msgs := storetest.AsMessages(t, rs, storetest.ReadingKey, 0, offset)
		offset += int64(len(rs))
		for i := range msgs {
			msgs[i].Topic = "t.readings"
		}
		_, err := w.Write(ctx, store.KindReadings, "t.readings", msgs)
		return err
	}
	base := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	perMinute := len(storetest.Sites) * len(storetest.Params)
	first := storetest.Readings(perMinute*60, base) // one hour of every series
	if err := write(first[:perMinute*30]); err != nil {
		t.Fatal(err)
	}
	if err := write(first[perMinute*30:]); err != nil {
		t.Fatal(err)
	}
	// A replayed batch: FINAL still counts each reading once.
	if err := write(first[:perMinute]); err != nil {
		t.Fatal(err)
	}
	readings := s.Table(store.TableReadings)
	local := s.Table(store.TableReadings + "_local")
	want := uint64(len(first))
	testinfra.Eventually(t, 30*time.Second, "the second replica has every reading", func() bool {
		n, err := countOn(t, b.conn, "SELECT count() FROM "+readings+" FINAL")
		return err == nil && n == want
	})
	// Through the other replica's Reader: raw points and hourly rollups of one series.
	site := storetest.Sites[0]
	q := store.SeriesQuery{Site: site, From: base, To: base.Add(time.Hour), Resolution: store.ResolutionRaw, Location: loc}
	raw, err := reader.Series(ctx, q)
	if err != nil {
		t.Fatalf("raw series through %s: %v", b.addr, err)
	}
	q.Resolution = store.ResolutionHour
	hourly, err := reader.Series(ctx, q)
	if err != nil {
		t.Fatalf("hourly series through %s: %v", b.addr, err)
	}
	if len(raw) != len(storetest.Params) || len(hourly) != len(storetest.Params) {
		t.Fatalf("series of %s through %s: %d raw and %d hourly parameters, want %d", site, b.addr, len(raw), len(hourly), len(storetest.Params))
	}
	// The rollups count the valid readings (flag N): Readings flags one in seven D.
	valid := func(rs []message.Reading, param string) (n uint64) {
		for _, r := range rs {
			if r.Site == site && r.Parameter == param && r.Flag == message.FlagNormal {
				n++
			}
		}
		return n
	}
	for i := range raw {
		var inHour uint64
		for _, p := range hourly[i].Points {
			inHour += p.Count
		}
		if wantValid := valid(first, raw[i].Parameter); len(raw[i].Points) != 60 || inHour != wantValid {
			t.Errorf("%s/%s through %s: %d raw points and %d valid readings in the hourly rollup, want 60 and %d", site, raw[i].Parameter, b.addr, len(raw[i].Points), inHour, wantValid)
		}
	}

	// The second replica SIGKILLed while inserts go on through the first.
	down := 20 * time.Second
	if d, err := time.ParseDuration(os.Getenv("RIVERWATCH_TEST_CLUSTER_DOWN")); err == nil && d > 0 {
		down = d
	}
	runScript(t, script, "kill", b.node)
	killed := time.Now()
	restarted := false
	t.Cleanup(func() {
		if !restarted {
			runScript(t, script, "start", b.node)
		}
	})
	more := storetest.Readings(perMinute*60, base.Add(time.Hour)) // the hour after
	batch := perMinute * 5
	batches := 0
	for i := 0; i < len(more); i += batch {
		if err := write(more[i:min(i+batch, len(more))]); err != nil {
			t.Fatalf("write through %s with %s down (batch %d): %v", a.addr, b.addr, batches, err)
		}
		batches++
		time.Sleep(down / time.Duration(len(more)/batch+1))
	}
	want += uint64(len(more))
	// The surviving replica answers queries meanwhile.
	if n := mustCount(t, a.conn, "SELECT count() FROM "+readings+" FINAL"); n != want {
		t.Errorf("with %s down, %s counts %d readings, want %d", b.addr, a.addr, n, want)
	}
	time.Sleep(time.Until(killed.Add(down)))
	runScript(t, script, "start", b.node)
	restarted = true
	t0 := time.Now()
	tables := []string{store.TableReadings, store.TableReadingsHourly, store.TableReadingsDaily, store.TableReadings5Min}
	testinfra.Eventually(t, 60*time.Second, "the restarted replica caught up", func() bool {
		for _, tb := range tables {
			q := "SELECT count() FROM " + s.Table(tb+"_local") + " FINAL"
			na, erra := countOn(t, a.conn, q)
			nb, errb := countOn(t, b.conn, q)
			if erra != nil || errb != nil || na != nb {
				return false
			}
		}
		return true
	})
	t.Logf("%d batches written through %s during %s down; %s caught up %s after its restart",
		batches, a.addr, down, b.addr, time.Since(t0).Round(100*time.Millisecond))
	for _, r := range reps {
		if n := mustCount(t, r.conn, "SELECT count() FROM "+local+" FINAL"); n != want {
			t.Errorf("%s: %d readings in %s, want %d", r.addr, n, local, want)
		}
		if n := mustCount(t, r.conn, "SELECT count() FROM "+readings+" FINAL"); n != want {
			t.Errorf("%s: %d readings through %s, want %d", r.addr, n, readings, want)
		}
	}
	// The hourly rollup of the second hour, read on the restarted replica, holds every reading.
	q = store.SeriesQuery{Site: site, From: base, To: base.Add(2 * time.Hour), Resolution: store.ResolutionHour, Location: loc}
	hourly, err = reader.Series(ctx, q)
	if err != nil {
		t.Fatalf("hourly series through %s after its restart: %v", b.addr, err)
	}
	for _, ser := range hourly {
		var n uint64
		for _, p := range ser.Points {
			n += p.Count
		}
		if wantValid := valid(first, ser.Parameter) + valid(more, ser.Parameter); n != wantValid {
			t.Errorf("%s/%s hourly rollups through %s after its restart: %d valid readings, want %d", site, ser.Parameter, b.addr, n, wantValid)
		}
	}
}
