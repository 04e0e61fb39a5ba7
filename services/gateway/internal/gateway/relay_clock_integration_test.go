package gateway

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/riverwatch/riverwatch/pkg/hj212"
	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/network"
	"github.com/riverwatch/riverwatch/pkg/testinfra"
)

// fieldLogger answers host commands over c as HJ 212 has a data logger do (and as the
// simulator's loggers do): 9011 QnRtn=1, the report under the command's QN, 9012
// ExeRtn=1. Its clock runs offset from the wall clock; a 1012 sets it to the host's time.
// It returns the CNs it obeyed on cns until ctx ends.
func fieldLogger(ctx context.Context, t *testing.T, c *hj212.Client, offset *atomic.Int64, cns chan<- string) {
	loc, _ := time.LoadLocation("Asia/Shanghai")
	for ctx.Err() == nil {
		cmd, err := c.Receive(ctx)
		if err != nil {
			continue
		}
		if cmd.CN == hj212.CNDataResponse {
			continue
		}
		now := time.Now().Add(time.Duration(offset.Load()))
		answers := []hj212.Packet{answerTo(cmd, hj212.CNRequestResponse, "QnRtn=1", false)}
		switch cmd.CN {
		case hj212.CNSetTime:
			fields, _ := hj212.ParseCP(cmd.CP)
			v, _ := hj212.Lookup(fields, "SystemTime")
			host, err := hj212.ParseTime(v, loc)
			if err != nil {
				t.Errorf("1012 SystemTime %q: %v", v, err)
				return
			}
			offset.Store(int64(host.Sub(time.Now().Truncate(time.Second))))
		case hj212.CNGetTime:
			answers = append(answers, answerTo(cmd, hj212.CNGetTime, "SystemTime="+hj212.FormatTime(now, loc), true))
		case hj212.CNGetInfo:
			fields, _ := hj212.ParseCP(cmd.CP)
			pol, _ := hj212.Lookup(fields, "PolId")
			id, _ := hj212.Lookup(fields, "InfoId")
			answers = append(answers, answerTo(cmd, hj212.CNGetInfo, hj212.InfoCP(hj212.Info{DataTime: now,
				Items: []hj212.InfoItem{{PolID: pol, InfoID: id, Value: "0"}}}, loc), true))
		}
		answers = append(answers, answerTo(cmd, hj212.CNExecutionResult, "ExeRtn=1", false))
		if err := c.Send(ctx, answers...); err != nil {
			return
		}
		cns <- cmd.CN
	}
}

// On the real broker: the logger's clock is two hours behind. read_clock records that
// (clock_offset_s ≈ −7200), sync_clock sends it a 1012 with the gateway's time, the next
// read_clock records it right (≈ 0), and a query_info's 3020 answer is on its executed
// record — each command through requested, sent, acknowledged, executed.
func TestIntegrationClockAndInfoCommandsReachTheLoggerAndWhatItReportsIsRecorded(t *testing.T) {
	cfg := itConfig(t)
	brokers := cfg.Kafka.Brokers
	gw := startGateway(t, cfg, newWriter(t, brokers, cfg.Kafka.Topics.Readings), newWriter(t, brokers, cfg.Kafka.Topics.Rejected), nil)
	startRelay(t, cfg, gw, "gw-a")
	logger, err := hj212.Dial(context.Background(), gw.TCPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer logger.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	hb := hj212.Packet{QN: "20260310120000002", ST: hj212.STSurfaceWater, CN: hj212.CNHeartbeat, PW: itPW, MN: itMN, Flag: hj212.NewFlag(hj212.V2025, true, false)}
	if err := logger.Send(ctx, hb); err != nil {
		t.Fatal(err)
	}
	if a := receive(t, logger, 10*time.Second); a.CN != hj212.CNDataResponse {
		t.Fatalf("heartbeat answered %s", a.CN)
	}
	testinfra.Eventually(t, 10*time.Second, "the logger's session", func() bool { return gw.connected(itMN) })
	var offset atomic.Int64
	offset.Store(int64(-2 * time.Hour))
	obeyed := make(chan string, 8)
	lctx, stop := context.WithCancel(ctx)
	defer stop()
	go fieldLogger(lctx, t, logger, &offset, obeyed)

	w := newWriter(t, brokers, cfg.Kafka.Topics.StationCommands)
	total := 0
	// ask publishes one request, waits for the logger to obey it and returns the
	// command's records once its executed one is on the topic.
	ask := func(c message.StationCommand, cn string) map[string]message.StationCommand {
		t.Helper()
		c.Site, c.MN, c.RequestedBy, c.RequestedRole, c.TTLSeconds, c.Status = "TTH-S2", itMN, "duty admin", "admin", 60, message.StationRequested
		c.At = time.Now().UTC().Truncate(time.Millisecond)
		c.ID = message.StationCommandID(c.Site, c.Command, c.RequestedBy, c.At)
		b, _ := json.Marshal(c)
		if err := w.Publish(ctx, kafka.Message{Key: []byte(c.Site), Value: b}); err != nil {
			t.Fatal(err)
		}
		select {
		case got := <-obeyed:
			if got != cn {
				t.Fatalf("%s reached the logger as CN %s, want %s", c.Command, got, cn)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("%s never reached the logger", c.Command)
		}
		total += 4 // requested, sent, acknowledged, executed
		recs := map[string]message.StationCommand{}
		for _, m := range readTopic(t, brokers, cfg.Kafka.Topics.StationCommands, total, 30*time.Second) {
			var r message.StationCommand
			if err := json.Unmarshal(m.Value, &r); err != nil {
				t.Fatal(err)
			}
			if r.ID == c.ID {
				recs[r.Status] = r
			}
		}
		for _, st := range []string{message.StationRequested, message.StationSent, message.StationAcknowledged, message.StationExecuted} {
			if _, ok := recs[st]; !ok {
				t.Fatalf("%s: no %s record; have %v", c.Command, st, recs)
			}
		}
		return recs
	}
	offsetOf := func(recs map[string]message.StationCommand) float64 {
		t.Helper()
		r := recs[message.StationExecuted].Report
		if r == nil || r.ClockOffsetS == nil || r.SystemTime == nil {
			t.Fatalf("read_clock executed without the logger's clock: %+v", r)
		}
		return *r.ClockOffsetS
	}

	before := offsetOf(ask(message.StationCommand{Command: message.StationReadClock, Reason: "drift check"}, hj212.CNGetTime))
	if math.Abs(before+7200) > 3 {
		t.Errorf("clock offset before the 1012: %v s, want about -7200", before)
	}
	set := ask(message.StationCommand{Command: message.StationSyncClock, Reason: "the logger is two hours behind"}, hj212.CNSetTime)
	if r := set[message.StationExecuted]; r.ExeRtn != "1" || r.Report != nil {
		t.Errorf("sync_clock executed record %+v", r)
	}
	after := offsetOf(ask(message.StationCommand{Command: message.StationReadClock, Reason: "after the calibration"}, hj212.CNGetTime))
	if math.Abs(after) > 3 {
		t.Errorf("clock offset after the 1012: %v s, want about 0", after)
	}
	info := ask(message.StationCommand{Command: message.StationQueryInfo, PolID: "w01018", InfoID: "i12001", Reason: "is the COD analyser running?"}, hj212.CNGetInfo)
	r := info[message.StationExecuted]
	if r.PolID != "w01018" || r.InfoID != "i12001" || r.Report == nil || len(r.Report.Info) != 1 ||
		r.Report.Info[0] != (message.StationInfo{PolID: "w01018", InfoID: "i12001", Value: "0"}) || r.Report.DataTime == nil {
		t.Errorf("query_info executed record %+v report %+v", r, r.Report)
	}
	t.Logf("clock offset %v s → %v s after sync_clock; 3020 reported %+v", before, after, r.Report.Info)
	rec, _ := json.Marshal(r)
	t.Logf("query_info's executed record: %s", rec)
}

// On the real broker: a rotate_key request names no key; the gateway sends the 1014 with
// sites.yaml's sm4_next_key encrypted under the current key, the logger (holding only the
// current key) reads it, answers 9011/9012 and encrypts from then on with the new key,
// which the gateway decrypts; the records on the topic hold no key.
func TestIntegrationARotateKeyFromKafkaGivesTheLoggerItsNextKey(t *testing.T) {
	cfg := itConfig(t)
	brokers := cfg.Kafka.Brokers
	const curHex, nextHex = "8f3ae1c9027b44d5a6e0193c7d2b5f18", "5a1c7e93b2d04f68a9e3c1b7d5f20846"
	raw, err := os.ReadFile(cfg.SitesFile)
	if err != nil {
		t.Fatal(err)
	}
	plain := `station: {mn: "` + itMN + `", password: "` + itPW + `"}`
	if !strings.Contains(string(raw), plain) {
		t.Fatalf("sites file has no line %s", plain)
	}
	nw, err := network.Parse([]byte(strings.Replace(string(raw), plain,
		`station: {mn: "`+itMN+`", password: "`+itPW+`", sm4_keys: ["`+curHex+`"], sm4_next_key: "`+nextHex+`"}`, 1)))
	if err != nil {
		t.Fatal(err)
	}
	readings := newWriter(t, brokers, cfg.Kafka.Topics.Readings)
	gw := startGatewayOn(t, cfg, nw, readings, newWriter(t, brokers, cfg.Kafka.Topics.Rejected), nil)
	startRelay(t, cfg, gw, "gw-a")
	cur, _ := hj212.ParseSM4Key(curHex)
	next, _ := hj212.ParseSM4Key(nextHex)
	logger, err := hj212.Dial(context.Background(), gw.TCPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer logger.Close()
	logger.SetKeys(cur)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	hb := hj212.Packet{QN: "20260310120000003", ST: hj212.STSurfaceWater, CN: hj212.CNHeartbeat, PW: itPW, MN: itMN, Flag: hj212.NewFlag(hj212.V2025, true, false)}
	if err := logger.Send(ctx, hb); err != nil {
		t.Fatal(err)
	}
	if a := receive(t, logger, 10*time.Second); a.CN != hj212.CNDataResponse {
		t.Fatalf("heartbeat answered %s", a.CN)
	}
	testinfra.Eventually(t, 10*time.Second, "the logger's session", func() bool { return gw.connected(itMN) })

	c := message.StationCommand{Site: "TTH-S2", MN: itMN, Command: message.StationRotateKey, RequestedBy: "duty admin", RequestedRole: "admin",
		Reason: "90-day rotation", TTLSeconds: 60, At: time.Now().UTC().Truncate(time.Millisecond), Status: message.StationRequested}
	c.ID = message.StationCommandID(c.Site, c.Command, c.RequestedBy, c.At)
	b, _ := json.Marshal(c)
	if err := newWriter(t, brokers, cfg.Kafka.Topics.StationCommands).Publish(ctx, kafka.Message{Key: []byte(c.Site), Value: b}); err != nil {
		t.Fatal(err)
	}
	cmd := receive(t, logger, 20*time.Second) // decrypted with the current key
	k, err := hj212.ParseSetKey(cmd.CP)
	if cmd.CN != hj212.CNSetKey || err != nil || !k.Equal(next) {
		t.Fatalf("the logger got CN %s (%v), want a 1014 with the next key", cmd.CN, err)
	}
	if err := logger.Send(ctx, answerTo(cmd, hj212.CNRequestResponse, "QnRtn=1", false), answerTo(cmd, hj212.CNExecutionResult, "ExeRtn=1", false)); err != nil {
		t.Fatal(err)
	}
	logger.SetKeys(next) // the logger uses the new key from its 9012 on
	recs := readTopic(t, brokers, cfg.Kafka.Topics.StationCommands, 4, 30*time.Second)
	executed := false
	for _, m := range recs {
		if strings.Contains(strings.ToUpper(string(m.Value)), strings.ToUpper(nextHex)) || strings.Contains(string(m.Value), curHex) {
			t.Fatalf("a station-command record holds a key: %s", m.Value)
		}
		var r message.StationCommand
		if err := json.Unmarshal(m.Value, &r); err == nil && r.ID == c.ID && r.Status == message.StationExecuted {
			executed = true
		}
	}
	if !executed {
		t.Fatalf("no executed record among %d", len(recs))
	}
	testinfra.Eventually(t, 10*time.Second, "the gateway on the next key", func() bool {
		k, _ := gw.keysOf(itMN, time.Now())
		return k.Equal(next)
	})
	// Data encrypted with the new key are stored.
	at := time.Now().Add(-time.Hour).Truncate(time.Hour)
	up := stationHour(t, "20260310120000004", at, hj212.Period("w01009", 8, 8, 8, "N"))
	if err := logger.Send(ctx, up); err != nil {
		t.Fatal(err)
	}
	if a := receive(t, logger, 10*time.Second); a.CN != hj212.CNDataResponse || a.QN != up.QN {
		t.Fatalf("the upload under the new key was answered %+v", a)
	}
}
