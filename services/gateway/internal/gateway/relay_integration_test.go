package gateway

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/riverwatch/riverwatch/pkg/config"
	"github.com/riverwatch/riverwatch/pkg/hj212"
	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/stream"
	"github.com/riverwatch/riverwatch/pkg/testinfra"
)

// startRelay runs a replica's relay and its consumer (a group of its own, from the topic's
// start: the test's topic is new) until the test ends.
func startRelay(t *testing.T, cfg *config.Config, gw *Gateway, instance string) *CommandRelay {
	t.Helper()
	r := NewCommandRelay(gw, newWriter(t, cfg.Kafka.Brokers, cfg.Kafka.Topics.StationCommands), instance)
	c := stream.NewConsumer(stream.ConsumerConfig{Cluster: stream.Plain(cfg.Kafka.Brokers...), Topic: cfg.Kafka.Topics.StationCommands,
		GroupID: CommandGroup(cfg.Kafka.GroupPrefix, instance), MaxRows: 100, MaxDelay: 5 * time.Millisecond, MaxWait: 100 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	go func() { _ = r.Run(ctx); done <- struct{}{} }()
	go func() { _ = c.Run(ctx, r.Handle); done <- struct{}{} }()
	t.Cleanup(func() { cancel(); <-done; <-done })
	return r
}

// records reads the topic until a record of every wanted (gateway, status) is there.
func records(t *testing.T, cfg *config.Config, want int) map[[2]string]message.StationCommand {
	t.Helper()
	out := map[[2]string]message.StationCommand{}
	for _, m := range readTopic(t, cfg.Kafka.Brokers, cfg.Kafka.Topics.StationCommands, want, 30*time.Second) {
		var c message.StationCommand
		if err := json.Unmarshal(m.Value, &c); err != nil {
			t.Fatal(err)
		}
		if _, dup := out[[2]string{c.Gateway, c.Status}]; dup {
			t.Errorf("two records of %s by %q", c.Status, c.Gateway)
		}
		out[[2]string{c.Gateway, c.Status}] = c
	}
	return out
}

// On the real broker, two gateway replicas: the station is connected to one. Both get the
// request; the other records not_connected, the one holding the station sends it, the
// simulated logger answers 9011 and 9012, and every step is recorded once on the topic,
// the other replica's waiting copy ending without an expiry record.
func TestIntegrationAStationCommandFromKafkaReachesTheLoggerAndItsOutcomeIsRecorded(t *testing.T) {
	cfg := itConfig(t)
	brokers := cfg.Kafka.Brokers
	gwA := startGateway(t, cfg, newWriter(t, brokers, cfg.Kafka.Topics.Readings), newWriter(t, brokers, cfg.Kafka.Topics.Rejected), nil)
	gwB := startGateway(t, cfg, newWriter(t, brokers, cfg.Kafka.Topics.Readings), newWriter(t, brokers, cfg.Kafka.Topics.Rejected), nil)
	startRelay(t, cfg, gwA, "gw-a")
	startRelay(t, cfg, gwB, "gw-b")

	logger, err := hj212.Dial(context.Background(), gwA.TCPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer logger.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	hb := hj212.Packet{QN: "20260310120000001", ST: hj212.STSurfaceWater, CN: hj212.CNHeartbeat, PW: itPW, MN: itMN, Flag: hj212.NewFlag(hj212.V2025, true, false)}
	if err := logger.Send(ctx, hb); err != nil {
		t.Fatal(err)
	}
	if a := receive(t, logger, 10*time.Second); a.CN != hj212.CNDataResponse {
		t.Fatalf("heartbeat answered %s", a.CN)
	}
	testinfra.Eventually(t, 10*time.Second, "the logger's session", func() bool { return gwA.connected(itMN) })

	at := time.Now()
	req := message.StationCommand{Site: "TTH-S2", MN: itMN, Command: message.StationRaiseFrequency, RtdInterval: 60,
		RequestedBy: "duty responder", RequestedRole: "responder", Reason: "joint monitoring (加密监测)", Incident: "inc-1",
		TTLSeconds: 5, At: at, Status: message.StationRequested}
	req.ID = message.StationCommandID(req.Site, req.Command, req.RequestedBy, at)
	b, _ := json.Marshal(req)
	if err := newWriter(t, brokers, cfg.Kafka.Topics.StationCommands).Publish(ctx, kafka.Message{Key: []byte(req.Site), Value: b}); err != nil {
		t.Fatal(err)
	}

	cmd := receive(t, logger, 20*time.Second)
	t.Logf("request published → 1062 at the logger: %v", time.Since(at).Round(time.Millisecond))
	if cmd.CN != hj212.CNSetRtdInterval || cmd.CP != "RtdInterval=60" || cmd.MN != itMN {
		t.Fatalf("the logger got %s CP=%q, want a 1062 RtdInterval=60", cmd.CN, cmd.CP)
	}
	if err := logger.Send(ctx, answerTo(cmd, hj212.CNRequestResponse, "QnRtn=1", false)); err != nil {
		t.Fatal(err)
	}
	if err := logger.Send(ctx, answerTo(cmd, hj212.CNExecutionResult, "ExeRtn=1", false)); err != nil {
		t.Fatal(err)
	}
	answered := time.Now()
	got := records(t, cfg, 5) // the request, not_connected (b), sent, acknowledged, executed (a)
	if e, ok := got[[2]string{"gw-a", message.StationExecuted}]; ok {
		t.Logf("executed record stamped %[2]v after the 9012 was sent (read back after %[1]v: readTopic polls each partition)", time.Since(answered).Round(time.Millisecond),
			e.StatusAt.Sub(answered).Round(time.Millisecond))
	}
	for _, k := range [][2]string{{"", message.StationRequested}, {"gw-b", message.StationNotConnected},
		{"gw-a", message.StationSent}, {"gw-a", message.StationAcknowledged}, {"gw-a", message.StationExecuted}} {
		c, ok := got[k]
		if !ok {
			t.Errorf("no %s record by %q; records %v", k[1], k[0], keys(got))
			continue
		}
		if c.ID != req.ID || c.Incident != "inc-1" || c.RequestedBy != req.RequestedBy {
			t.Errorf("%s record %+v does not carry the request", k[1], c)
		}
	}
	if e := got[[2]string{"gw-a", message.StationExecuted}]; e.ExeRtn != "1" || e.QN != cmd.QN {
		t.Errorf("executed record ExeRtn=%q QN=%q, want 1 and %s", e.ExeRtn, e.QN, cmd.QN)
	}
	if a := got[[2]string{"gw-a", message.StationAcknowledged}]; a.QnRtn != "1" {
		t.Errorf("acknowledged record QnRtn=%q", a.QnRtn)
	}

	// Past the TTL, the replica that waited records no expiry: the command was sent.
	time.Sleep(req.TTL() + 2*time.Second)
	late := records(t, cfg, 5)
	if len(late) != 5 {
		t.Errorf("records after the TTL %v, want the same 5", keys(late))
	}
	if v := metricValue(gwA.m.stationCommands.WithLabelValues(message.StationExecuted)); v != 1 {
		t.Errorf("gw-a executed records %v, want 1", v)
	}
}

// A command for a station connected nowhere expires at its TTL and is recorded expired.
func TestIntegrationAStationCommandForADisconnectedStationExpiresAndIsRecorded(t *testing.T) {
	cfg := itConfig(t)
	brokers := cfg.Kafka.Brokers
	gw := startGateway(t, cfg, newWriter(t, brokers, cfg.Kafka.Topics.Readings), newWriter(t, brokers, cfg.Kafka.Topics.Rejected), nil)
	startRelay(t, cfg, gw, "gw-a")
	at := time.Now()
	req := message.StationCommand{Site: "TTH-S2", MN: itMN, Command: message.StationRetainSample, RequestedBy: "duty",
		Reason: "over the permit", TTLSeconds: 2, At: at, Status: message.StationRequested}
	req.ID = message.StationCommandID(req.Site, req.Command, req.RequestedBy, at)
	wrong := req
	wrong.Site, wrong.ID = "STH-S2", "wrong-site" // the MN is not that site's station
	var msgs []kafka.Message
	for _, c := range []message.StationCommand{req, wrong} {
		b, _ := json.Marshal(c)
		msgs = append(msgs, kafka.Message{Key: []byte(c.Site), Value: b})
	}
	if err := newWriter(t, brokers, cfg.Kafka.Topics.StationCommands).Publish(context.Background(), msgs...); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, m := range readTopic(t, brokers, cfg.Kafka.Topics.StationCommands, 5, 30*time.Second) {
		var c message.StationCommand
		if err := json.Unmarshal(m.Value, &c); err != nil {
			t.Fatal(err)
		}
		got[c.ID+" "+c.Status] = c.Detail
	}
	for _, k := range []string{req.ID + " not_connected", req.ID + " expired", "wrong-site refused"} {
		if _, ok := got[k]; !ok {
			t.Errorf("no record %q in %v", k, got)
		}
	}
}

func keys(m map[[2]string]message.StationCommand) [][2]string {
	var out [][2]string
	for k := range m {
		out = append(out, k)
	}
	return out
}
