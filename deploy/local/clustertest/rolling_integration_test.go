package clustertest

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/riverwatch/riverwatch/pkg/hj212"
	"github.com/riverwatch/riverwatch/pkg/network"
	"github.com/riverwatch/riverwatch/pkg/testinfra"
)

// stations is how many simulated data loggers send during the restarts, half to each gateway.
const stations = 10

// codes are the items of every frame: COD, ammonia, pH (three readings per frame).
var codes = []string{"w01018", "w21003", "w01001"}

// service is one replica of a riverwatch service started by the test.
type service struct {
	name, id string
	env      []string
	ready    string // its /readyz URL
	log      string
	cmd      *exec.Cmd
}

func (s *service) start(t *testing.T, bin string) {
	t.Helper()
	f, err := os.OpenFile(s.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-config", filepath.Join(testinfra.ModuleRoot(t), "configs", "riverwatch.yaml"))
	cmd.Env, cmd.Stdout, cmd.Stderr = s.env, f, f
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.cmd = cmd
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait(); f.Close() })
	testinfra.Eventually(t, 90*time.Second, s.id+" ready", func() bool {
		resp, err := http.Get(s.ready)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// stop ends the replica as an orchestrator does (SIGTERM, then waiting for it to exit).
func (s *service) stop(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatalf("%s did not stop within 60 s of SIGTERM", s.id)
	}
}

// loadNetwork writes a network of outfalls, each with a station, and returns its path.
func loadNetwork(t *testing.T) (string, *network.Network) {
	t.Helper()
	var b strings.Builder
	b.WriteString("timezone: Asia/Shanghai\njurisdictions: [{id: changji, name: 昌吉市}]\n" +
		"rivers: [{id: santun, name: 三屯河, velocity_mps: 0.8, flow_m3s: 5}]\nsites:\n")
	for i := range stations {
		fmt.Fprintf(&b, "  - {id: ROLL-%d, name: rolling %d, kind: outfall, river: santun, km: %d, jurisdiction: changji, limits: GB18918-1A, station: {mn: \"ROLL%010d\", password: \"123456\"}}\n", i, i, i, i)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "sites.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	nw, err := network.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, nw
}

// writeContacts declares the roles the playbooks name, with one desk of each in the test
// network's one jurisdiction (the responder refuses a directory that lacks them).
func writeContacts(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("roles:\n")
	roles := []string{"river_chief_office", "eeb", "emergency", "water_plant", "source_monitor", "maintenance", "discharger_supervisor"}
	for _, r := range roles {
		fmt.Fprintf(&b, "  %s: %s\n", r, r)
	}
	b.WriteString("contacts:\n")
	for _, r := range roles {
		fmt.Fprintf(&b, "  - {jurisdiction: changji, role: %s, people: [{name: %s, channel: webhook}]}\n", r, r)
	}
	path := filepath.Join(t.TempDir(), "contacts.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestClusterRollingRestartLosesNoReading runs two replicas of every service on the cluster
// (issue 15, fault test 4) while ten data loggers send minute data through both gateways,
// each resending a frame until it is answered, as loggers do. Every service replica is
// restarted in turn (SIGTERM, start, ready), then every broker (stopped, started, back in
// every ISR before the next). Afterwards ClickHouse holds exactly the readings of the
// answered frames: none lost, none doubled in query results.
func TestClusterRollingRestartLosesNoReading(t *testing.T) {
	testinfra.UseCluster(t)
	script := os.Getenv("RIVERWATCH_TEST_CLUSTER_SCRIPT")
	if script == "" {
		t.Skip("RIVERWATCH_TEST_CLUSTER_SCRIPT is not set: cluster.sh test sets it")
	}
	cfg := testinfra.Config(t)
	sites, nw := loadNetwork(t)
	cfg.SitesFile, cfg.ContactsFile = sites, writeContacts(t)
	logs := t.TempDir()
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		paths, _ := filepath.Glob(filepath.Join(logs, "*.log"))
		for _, p := range paths {
			b, _ := os.ReadFile(p)
			if len(b) > 6000 {
				b = b[len(b)-6000:]
			}
			t.Logf("----- %s (last lines) -----\n%s", filepath.Base(p), b)
		}
	})
	base := testinfra.Env(cfg)
	var all []*service
	bins := map[string]string{}
	var gateways []string
	for _, name := range []string{"archiver", "gateway", "assessor", "responder", "api"} {
		bins[name] = testinfra.BuildService(t, name)
		for r := 1; r <= 2; r++ {
			listen := testinfra.FreeAddr(t)
			upper := strings.ToUpper(name)
			s := &service{name: name, id: fmt.Sprintf("%s-%d", name, r), ready: "http://" + listen + "/readyz",
				env: append(append([]string{}, base...), "RIVERWATCH_"+upper+"_LISTEN="+listen)}
			if name == "gateway" {
				hj := testinfra.FreeAddr(t)
				s.env = append(s.env, "RIVERWATCH_GATEWAY_HJ212_LISTEN="+hj, "RIVERWATCH_GATEWAY_MAX_CONNECTIONS_PER_ADDRESS=100")
				gateways = append(gateways, hj)
			}
			s.log = filepath.Join(logs, s.id+".log")
			s.start(t, bins[name])
			all = append(all, s)
		}
	}

	// The loggers: station i sends to gateway i%2, one frame after the other, each resent
	// (over a new connection when the old one broke) until it is answered.
	start := time.Now().Add(-24 * time.Hour).Truncate(time.Minute)
	frame := func(i, round int) hj212.Packet {
		at := start.Add(time.Duration(round) * time.Minute)
		items := make([]hj212.Item, len(codes))
		for k, code := range codes {
			// Well within the permit (COD ~20, ammonia ~1 mg/L, pH ~7): no incident, only data.
			v := []float64{20, 1, 7}[k] + float64((i+round)%10)/20
			items[k] = hj212.Period(code, v*0.95, v, v*1.05, "N")
		}
		cp, err := hj212.DataCP(at, nw.Location, hj212.V2017, items)
		if err != nil {
			t.Error(err)
		}
		return hj212.Packet{QN: hj212.NewQN(at, nw.Location), ST: hj212.STWaterPollution, CN: hj212.CNMinute, PW: "123456",
			MN: fmt.Sprintf("ROLL%010d", i), Flag: hj212.NewFlag(hj212.V2017, true, false), CP: cp}
	}
	stop := make(chan struct{})
	var answered, resends atomic.Int64
	var loggers sync.WaitGroup
	for i := range stations {
		addr := gateways[i%2]
		loggers.Go(func() {
			var c *hj212.Client
			defer func() {
				if c != nil {
					c.Close()
				}
			}()
			for round := 0; round < 1400; round++ {
				select {
				case <-stop:
					return
				default:
				}
				p := frame(i, round)
				for attempt := 0; ; attempt++ {
					if attempt > 0 {
						resends.Add(1)
						time.Sleep(200 * time.Millisecond)
					}
					if c == nil {
						ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
						var err error
						c, err = hj212.Dial(ctx, addr)
						cancel()
						if err != nil {
							c = nil
							continue
						}
					}
					ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
					err := c.Upload(ctx, p)
					cancel()
					if err == nil {
						break
					}
					c.Close()
					c = nil
				}
				answered.Add(1)
				time.Sleep(150 * time.Millisecond)
			}
		})
	}

	// The rolling restart: every service replica in turn, then every broker.
	time.Sleep(3 * time.Second)
	var took []string
	for _, s := range all {
		t0 := time.Now()
		s.stop(t)
		s.start(t, bins[s.name])
		took = append(took, fmt.Sprintf("%s %s", s.id, time.Since(t0).Round(100*time.Millisecond)))
	}
	brokers := strings.Split(os.Getenv("RIVERWATCH_TEST_CLUSTER_KAFKA"), ",")
	for n := 1; n <= 3; n++ {
		node := fmt.Sprintf("kafka-%d", n)
		t0 := time.Now()
		for _, verb := range []string{"stop", "start"} {
			if out, err := exec.Command(script, verb, node).CombinedOutput(); err != nil {
				t.Fatalf("cluster.sh %s %s: %v\n%s", verb, node, err, out)
			}
		}
		testinfra.Eventually(t, 120*time.Second, node+" back in every ISR", func() bool { return fullyReplicated(brokers) })
		took = append(took, fmt.Sprintf("%s %s", node, time.Since(t0).Round(100*time.Millisecond)))
	}
	time.Sleep(3 * time.Second)
	close(stop)
	loggers.Wait()

	want := uint64(answered.Load()) * uint64(len(codes))
	ch := testinfra.ClickHouse(t, cfg)
	table := cfg.ClickHouse.Database + ".readings"
	count := func(q string) uint64 {
		var n uint64
		if err := ch.QueryRow(context.Background(), q).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return n
	}
	var got uint64
	testinfra.Eventually(t, 120*time.Second, "every answered reading archived", func() bool {
		got = count("SELECT count() FROM " + table + " FINAL")
		return got >= want
	})
	time.Sleep(2 * time.Second) // anything more would show now
	if got, ids := count("SELECT count() FROM "+table+" FINAL"), count("SELECT uniqExact(id) FROM "+table); got != want || ids != want {
		t.Errorf("ClickHouse holds %d readings (FINAL), %d distinct ids; the loggers' %d answered frames make %d", got, ids, answered.Load(), want)
	}
	t.Logf("rolling restart of %d service replicas and 3 brokers (each: %s) while %d loggers sent: %d frames answered after %d resends, %d readings in ClickHouse exactly once",
		len(all), strings.Join(took, ", "), stations, answered.Load(), resends.Load(), want)
}

// fullyReplicated reports whether every partition of every topic has all its replicas in
// its ISR.
func fullyReplicated(brokers []string) bool {
	for _, b := range brokers {
		conn, err := kafka.Dial("tcp", b)
		if err != nil {
			continue
		}
		parts, err := conn.ReadPartitions()
		conn.Close()
		if err != nil {
			continue
		}
		for _, p := range parts {
			if len(p.Isr) < len(p.Replicas) || p.Leader.ID == 0 && p.Leader.Host == "" {
				return false
			}
		}
		return true
	}
	return false
}
