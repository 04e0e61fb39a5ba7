package archiver

import (
	"context"
	"maps"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/chstore"
	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/store"
	"github.com/riverwatch/riverwatch/pkg/store/storetest"
	"github.com/riverwatch/riverwatch/pkg/testinfra"
)

// committedOffsets is the running archiver's committed offsets of topic, by partition (see
// testinfra.LastCommittedOffsets).
func (p *archiverProc) committedOffsets(topic string) (map[int]float64, error) {
	return testinfra.LastCommittedOffsets(p.listen, "archiver", topic)
}

// TestClusterArchiverReplicaKilledTheOtherTakesOverItsPartitions runs two archiver processes
// in one consumer group on deploy/local/cluster.sh's three brokers and two ClickHouse
// replicas (issue 15, fault test 3): one is SIGKILLed while readings stream in, the other
// takes over its partitions, and every reading is in riverwatch.readings exactly once, as
// both replicas answer.
func TestClusterArchiverReplicaKilledTheOtherTakesOverItsPartitions(t *testing.T) {
	replicas := testinfra.UseCluster(t)
	e := storetest.NewArchive(t)
	cfg := e.Config
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	second, err := chstore.Open(ctx, chstore.Config{Addr: replicas[1], DialTimeout: 5 * time.Second})
	cancel()
	if err != nil {
		t.Fatalf("replica %s: %v", replicas[1], err)
	}
	t.Cleanup(func() {
		// testinfra drops the database on the first replica; the second's replicated
		// tables (and their replicas in ZooKeeper) go here.
		if os.Getenv("RIVERWATCH_KEEP_TEST_DATA") == "" {
			_ = second.Exec(context.Background(), "DROP DATABASE IF EXISTS "+cfg.ClickHouse.Database)
		}
		second.Close()
	})

	env := []string{"RIVERWATCH_ARCHIVER_MAX_ROWS=1000", "RIVERWATCH_ARCHIVER_MAX_DELAY=200ms", "RIVERWATCH_ARCHIVER_RETRY_MAX=1s"}
	procs := []*archiverProc{newArchiverProc(t, cfg, env...), newArchiverProc(t, cfg, env...)}
	for _, p := range procs {
		p.start()
	}
	topic := cfg.Kafka.Topics.Readings
	parts := len(storetest.HighWaterMarks(t, cfg, topic))
	// Both in the group before anything is published: the partitions split between them.
	assigned := make([]map[int]float64, len(procs))
	testinfra.Eventually(t, 60*time.Second, "the partitions of "+topic+" split between the two archivers", func() bool {
		seen := map[int]int{}
		for i, p := range procs {
			o, err := p.committedOffsets(topic)
			if err != nil || len(o) == 0 {
				return false
			}
			assigned[i] = o
			for part := range o {
				seen[part]++
			}
		}
		if len(seen) != parts {
			return false
		}
		for _, n := range seen {
			if n != 1 {
				return false
			}
		}
		return true
	})

	// Keyed by id rather than site: the five sites of storetest.Readings could hash to fewer
	// partitions than the topic has, and each archiver must have readings to archive.
	const total = 20000
	recs := storetest.Readings(total, time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC))
	msgs := storetest.AsMessages(t, recs, func(r message.Reading) string { return r.ID }, 0, 0)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // published while one archiver runs and dies
		defer wg.Done()
		for i := 0; i < len(msgs); i += 1000 {
			storetest.Publish(t, cfg, topic, msgs[i:i+1000])
			time.Sleep(150 * time.Millisecond)
		}
	}()
	raw := func() uint64 { return e.Count(t, "SELECT count() FROM %s", e.Table(store.TableReadings)) }
	testinfra.Eventually(t, 60*time.Second, "a third of the readings archived", func() bool { return raw() >= total/3 })

	// The victim is the replica with more partitions, so that most of the stream moves.
	victim, survivor := procs[0], procs[1]
	if len(assigned[1]) > len(assigned[0]) {
		victim, survivor = procs[1], procs[0]
	}
	theirs, err := victim.committedOffsets(topic)
	if err != nil {
		t.Fatal(err)
	}
	before := raw()
	victim.kill()
	killed := time.Now()
	// Failover: until the survivor has committed a batch on every partition of the dead
	// replica (its gauge is -1 from the new generation until its first commit there).
	testinfra.Eventually(t, 60*time.Second, "the survivor committing on the killed archiver's partitions", func() bool {
		o, err := survivor.committedOffsets(topic)
		if err != nil {
			return false
		}
		for part := range theirs {
			if v, ok := o[part]; !ok || v < 0 {
				return false
			}
		}
		return true
	})
	failover := time.Since(killed)
	t.Logf("archiver SIGKILLed with %d of %d readings stored, partitions %v committed at %v; the survivor committed on all of them %s after the kill",
		before, total, slices.Sorted(maps.Keys(theirs)), theirs, failover.Round(10*time.Millisecond))

	wg.Wait()
	waitCommitted(t, cfg, 90*time.Second)
	testinfra.Eventually(t, 30*time.Second, "every reading archived", func() bool {
		return e.Count(t, "SELECT count() FROM %s FINAL", e.Table(store.TableReadings)) == total
	})
	checkExactlyOnce(t, e, recs)
	// The other replica answers with the same: its own copy and the Distributed table.
	count := func(q string) uint64 {
		var n uint64
		if err := second.QueryRow(context.Background(), q).Scan(&n); err != nil {
			t.Fatalf("%s on %s: %v", q, replicas[1], err)
		}
		return n
	}
	testinfra.Eventually(t, 30*time.Second, "the second replica holding every reading", func() bool {
		return count("SELECT count() FROM "+e.Table(store.TableReadings+"_local")+" FINAL") == total
	})
	if n := count("SELECT uniqExact(id) FROM " + e.Table(store.TableReadings)); n != total {
		t.Errorf("uniqExact(id) through %s = %d, want %d", replicas[1], n, total)
	}
	n := raw()
	t.Logf("%d readings in %s exactly once (FINAL and uniqExact(id) on both replicas); %d physical rows: %d repeats of readings the killed archiver stored after its last commit, archived again by the survivor (merges may have removed more)",
		total, e.Table(store.TableReadings), n, n-total)
	survivor.kill()
}
