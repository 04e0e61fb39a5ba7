package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/riverwatch/riverwatch/pkg/auth"
	"github.com/riverwatch/riverwatch/pkg/config"
	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/network"
	"github.com/riverwatch/riverwatch/pkg/stream"
	"github.com/riverwatch/riverwatch/pkg/testinfra"
	"github.com/riverwatch/riverwatch/services/simulator/internal/simulate"
)

// The demo's acceleration and the responder's time scale. The responder's resolve hold
// (1 h ÷ timeScale of wall clock) must outlast the longest quiet stretch of the plume's trip
// — from the intake's recovery to its arrival at STH-S3, ≈ 8.3 simulated hours ÷
// acceleration — because the assessor clears a downstream prediction by the wall clock as
// soon as the upstream site recovers; otherwise End of Alert would go out while the plume
// is still on its way.
const (
	demoAcceleration = 900 // 19 simulated hours in about 76 s
	demoTimeScale    = 60  // hold 60 s; the quiet stretch ≈ 33 s
)

// service is one riverwatch binary running for the test.
type service struct {
	name   string
	cmd    *exec.Cmd
	log    *bytes.Buffer
	mu     *sync.Mutex
	exited chan struct{} // closed once the process ended (cmd.ProcessState set)
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (s *service) tail() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.log.String()
	if len(out) > 12000 {
		out = "…" + out[len(out)-12000:]
	}
	return out
}

// start runs a service binary from the module root with env, waiting for /readyz on
// httpAddr when given.
func start(t *testing.T, name, bin string, env []string, httpAddr string, args ...string) *service {
	t.Helper()
	s := &service{name: name, log: &bytes.Buffer{}, mu: &sync.Mutex{}, exited: make(chan struct{})}
	s.cmd = exec.Command(bin, args...)
	s.cmd.Dir = testinfra.ModuleRoot(t)
	s.cmd.Env = env
	s.cmd.Stdout = lockedWriter{s.mu, s.log}
	s.cmd.Stderr = lockedWriter{s.mu, s.log}
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { s.cmd.Wait(); close(s.exited) }()
	t.Cleanup(func() {
		s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(20 * time.Second):
			s.cmd.Process.Kill()
			<-s.exited
		}
		if t.Failed() {
			t.Logf("----- %s output -----\n%s", name, s.tail())
		}
	})
	if httpAddr == "" {
		return s
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		resp, err := http.Get("http://" + httpAddr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		select {
		case <-s.exited:
			t.Fatalf("%s exited while starting:\n%s", name, s.tail())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready on %s:\n%s", name, httpAddr, s.tail())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// serviceExists reports whether services/<name> has a main package yet.
func serviceExists(t *testing.T, name string) bool {
	_, err := os.Stat(filepath.Join(testinfra.ModuleRoot(t), "services", name, "main.go"))
	return err == nil
}

// TestDemoSpillStoryEndToEnd is `make demo`, accelerated: the whole pipeline on real Kafka
// and ClickHouse, ten simulated data loggers speaking HJ 212 to the gateway, the spill
// scenario, and the story's events asserted in causal order — the spill's reading at the
// outfall, STH-S2 over Class III, the plume predicted at the intake STH-D2, the joint
// response opened and notified downstream, an acknowledgement through the API, recovery,
// resolution and End of Alert.
func TestDemoSpillStoryEndToEnd(t *testing.T) {
	cfg := testinfra.Config(t)
	testinfra.ClickHouse(t, cfg) // drops the test's database afterwards
	root := testinfra.ModuleRoot(t)
	for _, name := range []string{"gateway", "assessor", "responder"} {
		if !serviceExists(t, name) {
			t.Fatalf("services/%s does not exist yet: the demo needs it", name)
		}
	}
	withAPI := serviceExists(t, "api") && serviceExists(t, "archiver")

	sink := &simulate.Sink{Secret: cfg.Responder.WebhookSecret}
	sinkSrv := httptest.NewServer(sink)
	defer sinkSrv.Close()

	addr := map[string]string{}
	for _, k := range []string{"gateway", "hj212", "assessor", "responder", "archiver", "api"} {
		addr[k] = testinfra.FreeAddr(t)
	}
	env := append(testinfra.Env(cfg),
		"RIVERWATCH_LOG_LEVEL=warn",
		"RIVERWATCH_GATEWAY_LISTEN="+addr["gateway"],
		"RIVERWATCH_GATEWAY_HJ212_LISTEN="+addr["hj212"],
		"RIVERWATCH_ASSESSOR_LISTEN="+addr["assessor"],
		"RIVERWATCH_RESPONDER_LISTEN="+addr["responder"],
		"RIVERWATCH_ARCHIVER_LISTEN="+addr["archiver"],
		"RIVERWATCH_API_LISTEN="+addr["api"],
		"RIVERWATCH_RESPONDER_WEBHOOK_URL="+sinkSrv.URL+"/hook",
		"RIVERWATCH_RESPONDER_TIME_SCALE="+strconv.Itoa(demoTimeScale),
		"RIVERWATCH_SIMULATOR_GATEWAY="+addr["hj212"],
		"RIVERWATCH_SIMULATOR_API_URL=http://"+addr["api"],
	)
	bins := map[string]string{}
	names := []string{"gateway", "assessor", "responder", "simulator"}
	if withAPI {
		names = append(names, "archiver", "api")
	}
	for _, name := range names {
		bins[name] = testinfra.BuildService(t, name)
	}
	if withAPI {
		start(t, "archiver", bins["archiver"], env, addr["archiver"])
	}
	start(t, "gateway", bins["gateway"], env, addr["gateway"])
	start(t, "assessor", bins["assessor"], env, addr["assessor"])
	start(t, "responder", bins["responder"], env, addr["responder"])
	if withAPI {
		start(t, "api", bins["api"], env, addr["api"])
	} else {
		t.Log("services/api or services/archiver missing: acknowledging through the commands topic instead of the API")
	}

	net, err := network.Load(cfg.SitesFile)
	if err != nil {
		t.Fatal(err)
	}
	scenarioPath := filepath.Join(root, "configs", "scenarios", "spill.yaml")
	sc, err := simulate.LoadScenario(scenarioPath, net)
	if err != nil {
		t.Fatal(err)
	}
	since := time.Now()
	story := &service{name: "narration", log: &bytes.Buffer{}, mu: &sync.Mutex{}}
	n := simulate.NewNarrator(sc.Story, net, lockedWriter{story.mu, story.log})
	t.Cleanup(func() {
		story.mu.Lock()
		defer story.mu.Unlock()
		t.Logf("narration (in the test):\n%s", story.log.String())
	})
	wall := time.Duration(float64(sc.Span)/demoAcceleration) + 4*time.Minute
	ctx, cancel := context.WithTimeout(context.Background(), wall)
	defer cancel()
	followed := make(chan error, 1)
	go func() {
		followed <- simulate.Follow(ctx, stream.Plain(cfg.Kafka.Brokers...), simulate.Topics{
			Readings: cfg.Kafka.Topics.Readings, Events: cfg.Kafka.Topics.Events, Incidents: cfg.Kafka.Topics.Incidents,
		}, since, n, slog.New(slog.DiscardHandler))
	}()

	// The narrator binary tells the same story, as make demo runs it.
	incidentFile := filepath.Join(t.TempDir(), "incident")
	narrator := start(t, "simulator narrate", bins["simulator"], env, "", "narrate", "-scenario", scenarioPath,
		"-since", strconv.FormatInt(since.Unix(), 10), "-timeout", wall.String(), "-incident-file", incidentFile)
	start(t, "simulator run", bins["simulator"], env, "", "run", "-scenario", scenarioPath,
		"-acceleration", strconv.Itoa(demoAcceleration))

	// The duty officer acknowledges as soon as the incident opens.
	acked := make(chan error, 1)
	go func() {
		for ctx.Err() == nil {
			if id := n.IncidentID(); id != "" {
				acked <- acknowledge(ctx, cfg, withAPI, addr["api"], id)
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		acked <- fmt.Errorf("no incident opened")
	}()

	for !n.Complete() && ctx.Err() == nil {
		select {
		case err := <-followed:
			if err != nil {
				t.Fatalf("following the topics: %v", err)
			}
		case <-time.After(200 * time.Millisecond):
		}
	}
	if !n.Complete() {
		t.Fatalf("the story stopped short after %v: missing %v", wall, n.Missing())
	}
	select {
	case err := <-acked:
		if err != nil {
			t.Fatalf("acknowledge: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("POST /api/v1/incidents/{id}/ack never answered 200 or 202, though the responder applied the acknowledgement (see the api output)")
	}

	beat := func(step string) simulate.Beat {
		t.Helper()
		b, ok := n.Beat(step)
		if !ok {
			t.Fatalf("no %s step", step)
		}
		return b
	}
	reading, exceed, predict := beat(simulate.StepReading), beat(simulate.StepExceedance), beat(simulate.StepPrediction)
	inc, ack, recovery := beat(simulate.StepIncident), beat(simulate.StepAcknowledge), beat(simulate.StepRecovery)
	resolved, eoa := beat(simulate.StepResolved), beat(simulate.StepEndOfAlert)

	// Simulated time: the spill shows at the outfall, reaches STH-S2 about 83 minutes
	// later, and STH-S2 recovers after the plume passed.
	if reading.Site != "STH-O1" || exceed.Site != "STH-S2" || predict.Site != "STH-D2" {
		t.Errorf("sites: reading %s, exceedance %s, prediction %s", reading.Site, exceed.Site, predict.Site)
	}
	if d := exceed.Sim.Sub(reading.Sim); d < 60*time.Minute || d > 2*time.Hour {
		t.Errorf("STH-S2 exceeded %v after the outfall's spill reading, want about 83 minutes of river travel", d)
	}
	if !recovery.Sim.After(exceed.Sim) {
		t.Errorf("recovery at %v is not after the exceedance at %v", recovery.Sim, exceed.Sim)
	}
	ev, _ := n.Seen(message.EventExceedanceOpened, "STH-S2")
	if ev.Parameter != "nh3n" || ev.Value <= 1.0 || ev.TargetClass != "III" {
		t.Errorf("STH-S2 exceedance: %+v", ev)
	}
	// The assessor warns the intake: from the outfall's exceedance already, and again
	// from the section's, with an arrival after the section's exceedance.
	pred, ok := n.SeenFrom(message.EventPredictionIssued, "STH-D2", "STH-S2")
	if !ok || pred.PredictedValue <= 0.5 || !pred.ArrivalAt.After(ev.ObservedAt) || pred.EmittedAt.Before(ev.EmittedAt.Add(-time.Second)) {
		t.Errorf("prediction at the intake from STH-S2 (seen %v): %+v", ok, pred)
	}
	// And says where to stop the plume: a space between STH-S2 (km 70) and the intake (km
	// 82) — the sluice STH-G1 (km 74) or, once the earliest edge passed it, the pond STH-P1
	// (km 78) — before the earliest edge reaches it (docs/plume.md, "Emergency spaces and
	// interception").
	ic := pred.Prediction.Interception
	t.Logf("the intake's prediction recommends %+v (%q)", ic, pred.Prediction.InterceptionNoneReason)
	if want := map[string]float64{"STH-G1": 8, "STH-P1": 4}; want[ic.Space] == 0 || ic.ToIntakeKm != want[ic.Space] ||
		ic.TimeLeftS <= 0 || !ic.ActBy.After(pred.ObservedAt) || ic.ActBy.After(pred.Prediction.Earliest) {
		t.Errorf("the intake's prediction recommends %+v (%q), want STH-G1 or STH-P1 ahead of the plume", ic, pred.Prediction.InterceptionNoneReason)
	}
	if _, ok := n.Seen(message.EventExceedanceOpened, "STH-O1"); !ok {
		t.Error("the outfall's own permit exceedance was never reported")
	}
	// Wall clock, as each record states it: cause before effect. (Kafka keeps no order
	// across topics and partitions, so the records' own times are compared, not arrival.)
	slack := 2 * time.Second // services on one machine share the clock; allow rounding
	for _, c := range []struct {
		before, after simulate.Beat
	}{
		{reading, exceed}, {reading, predict}, {reading, inc}, {inc, ack}, {exceed, recovery},
		{ack, resolved}, {recovery, resolved}, {resolved, eoa},
	} {
		if c.after.At.Before(c.before.At.Add(-slack)) {
			t.Errorf("%s (%v) before %s (%v)", c.after.Step, c.after.At, c.before.Step, c.before.At)
		}
	}
	final := n.Incident()
	// The acknowledgement expired with the resolution (docs/escalation.md): it is on the
	// record, no longer in force.
	if final.Status != message.IncidentResolved && final.Status != message.IncidentClosed || len(final.Acknowledgements) == 0 || final.Acknowledgements[0].ExpiredAt == nil {
		t.Errorf("the incident ends %s, acknowledgements %+v", final.Status, final.Acknowledgements)
	}
	// The search steps rank the upstream sources (溯源, docs/sources.md): the plant's outfall,
	// whose rise came at the lag of its 4 km, first.
	ranked := ""
	for _, st := range final.Steps {
		if i := strings.Index(st.Action, "溯源排序"); i >= 0 {
			ranked = st.Action[i:]
			t.Logf("step %s ranks: %s", st.ID, ranked)
			break
		}
	}
	if first, _, _ := strings.Cut(ranked, "; 2. "); !strings.Contains(first, "1. ") || !strings.Contains(first, "STH-O1") {
		t.Errorf("no step ranks STH-O1 first among the upstream sources: %q", ranked)
	}
	// The intake's window was checked against what it saw as the plume passed.
	if v, ok := n.Seen(message.EventPredictionVerified, "STH-D2"); ok {
		t.Logf("the intake's prediction verified: %+v", v.Verification)
	} else if r, ok := n.Seen(message.EventPredictionRefuted, "STH-D2"); ok {
		t.Errorf("the intake's prediction was refuted: %+v", r.Verification)
	} else {
		t.Error("the intake's prediction was neither verified nor refuted as the plume passed")
	}
	for _, site := range []string{"STH-S2", "STH-D2"} {
		if !slices.Contains(final.Sites, site) {
			t.Errorf("the joint response's sites %v lack %s", final.Sites, site)
		}
	}
	// The joint response: the downstream jurisdiction (兵团第六师, below the intake) was
	// warned, and everyone got End of Alert.
	// The intake's report up was never done: an hour on, the escalation climbed the
	// river-chief tree from 昌吉市 to its parent, 昌吉回族自治州 (configs/sites.yaml).
	var downstream, endOfAlert, climbed bool
	for _, no := range n.Notifications() {
		downstream = downstream || strings.Contains(no.Recipient, "第六师")
		endOfAlert = endOfAlert || no.Kind == "end_of_alert"
		climbed = climbed || no.Kind == "escalation" && strings.HasPrefix(no.Recipient, "changji_zhou/river_chief_office/")
	}
	if !downstream || !endOfAlert || !climbed {
		t.Errorf("notifications (downstream warned %v, End of Alert %v, escalated to the parent's river chief %v): %+v", downstream, endOfAlert, climbed, n.Notifications())
	}
	// The faulty sensor on the Toutun (spill.yaml): TTH-S2's incident is held — a
	// sensor-fault verdict once TTH-S3 stayed clean, or a suspect series — and the
	// maintenance unit told (docs/silences.md, Inhibition).
	var fault *message.Incident
	for _, h := range n.Held() {
		if h.Site == "TTH-S2" && len(h.InhibitedBy) > 0 {
			fault = &h
		}
	}
	if fault == nil {
		t.Errorf("the drifting TTH-S2 sensor's incident was never held; incidents judged or held: %+v", n.Held())
	} else {
		t.Logf("faulty sensor: %s %q held by %v, verdict %+v", fault.ID, fault.Title, fault.InhibitedBy, fault.Verdict)
	}
	var eoaDelivered bool
	for _, r := range sink.Received() {
		eoaDelivered = eoaDelivered || strings.Contains(r.Subject+r.Text, "解除预警")
	}
	if !eoaDelivered || sink.Refused() != 0 {
		t.Errorf("the sink received %d notifications (%d refused), End of Alert among them: %v", len(sink.Received()), sink.Refused(), eoaDelivered)
	}
	// The host talked back: the playbooks' station commands reached the simulated loggers,
	// which answered 9011/9012 — the raised frequency at STH-S2 on the incident's record,
	// the retained sample at the outfall on its station's list. The resolve asks for the
	// restore; by then the scenario is over and its loggers have hung up, so the restore
	// waits for their next connection (not_connected) until its TTL.
	if withAPI {
		executed := func(cmds []demoStationCommand, site, command string) bool {
			return slices.ContainsFunc(cmds, func(c demoStationCommand) bool {
				return c.Site == site && c.Command == command && c.Status == message.StationExecuted
			})
		}
		var detail struct {
			StationCommands []demoStationCommand `json:"station_commands"`
		}
		if err := pollAPI(ctx, addr["api"], "/api/v1/incidents/"+n.IncidentID(), &detail, func() bool {
			return executed(detail.StationCommands, "STH-S2", message.StationRaiseFrequency) &&
				slices.ContainsFunc(detail.StationCommands, func(c demoStationCommand) bool {
					return c.Site == "STH-S2" && c.Command == message.StationRestoreFrequency
				})
		}); err != nil {
			t.Errorf("the incident's station commands: %v: %+v", err, detail.StationCommands)
		}
		var outfall struct {
			Items []demoStationCommand `json:"items"`
		}
		if err := pollAPI(ctx, addr["api"], "/api/v1/sites/STH-O1/commands", &outfall, func() bool {
			return executed(outfall.Items, "STH-O1", message.StationRetainSample)
		}); err != nil {
			t.Errorf("the outfall's station commands: %v: %+v", err, outfall.Items)
		}
	}

	// The narrator binary told the story too, and said so with its exit status.
	waitExit(t, narrator, time.Minute)
	if code := narrator.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("simulator narrate exited %d:\n%s", code, narrator.tail())
	}
	if id, _ := os.ReadFile(incidentFile); strings.TrimSpace(string(id)) != n.IncidentID() {
		t.Errorf("incident file %q, want %s", id, n.IncidentID())
	}
	if out := narrator.tail(); !strings.Contains(out, "解除预警 End of Alert") || !strings.Contains(out, "story complete") {
		t.Errorf("narrator output:\n%s", out)
	}

	// A drill on the same pipeline: the drill incident opens, its messages go out marked as
	// a drill, and Changji's duty officer acknowledges it.
	drillPath := filepath.Join(root, "configs", "scenarios", "drill.yaml")
	drill, err := simulate.LoadScenario(drillPath, net)
	if err != nil {
		t.Fatal(err)
	}
	dn := simulate.NewNarrator(drill.Story, net, io.Discard)
	dctx, dcancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer dcancel()
	go simulate.Follow(dctx, stream.Plain(cfg.Kafka.Brokers...), simulate.Topics{Events: cfg.Kafka.Topics.Events, Incidents: cfg.Kafka.Topics.Incidents},
		time.Now(), dn, slog.New(slog.DiscardHandler))
	start(t, "simulator run drill", bins["simulator"], env, "", "run", "-scenario", drillPath, "-acceleration", strconv.Itoa(demoAcceleration))
	for dn.IncidentID() == "" && dctx.Err() == nil {
		time.Sleep(100 * time.Millisecond)
	}
	if dn.IncidentID() == "" {
		t.Fatalf("no drill incident opened: missing %v", dn.Missing())
	}
	if err := acknowledge(dctx, cfg, withAPI, addr["api"], dn.IncidentID()); err != nil {
		t.Errorf("acknowledge the drill: %v", err)
	}
	for !dn.Complete() && dctx.Err() == nil {
		time.Sleep(100 * time.Millisecond)
	}
	if !dn.Complete() {
		t.Fatalf("the drill's story stopped short: missing %v", dn.Missing())
	}
	if inc := dn.Incident(); !inc.Drill || !slices.Contains(inc.Sites, "STH-S2") {
		t.Errorf("drill incident %+v", inc)
	}
	for _, no := range dn.Notifications() {
		if !no.Drill {
			t.Errorf("a drill's notification is not marked as a drill: %+v", no)
		}
	}
}

// acknowledge acknowledges the incident as Changji's duty officer: through the API (which
// answers 404 until the archiver has stored the incident), or as the API would, with a
// command on the commands topic.
func acknowledge(ctx context.Context, cfg *config.Config, withAPI bool, apiAddr, id string) error {
	if !withAPI {
		w := stream.NewWriter(stream.WriterConfig{Cluster: stream.Plain(cfg.Kafka.Brokers...), Topic: cfg.Kafka.Topics.Commands}, nil)
		defer w.Close()
		key, err := message.LoadCommandKey(cfg.Kafka.CommandsKeyFile)
		if err != nil {
			return err
		}
		b, _ := json.Marshal(message.Command{ID: "demo-ack-" + id, Type: message.CommandAcknowledge, IncidentID: id, Actor: "昌吉市应急值班", ActorRole: auth.RoleResponder, ActorJurisdictions: []string{"changji"}, At: time.Now().UTC()})
		sig := kafka.Header{Key: message.HeaderCommandSignature, Value: []byte(key.Sign(b))}
		return w.Publish(ctx, kafka.Message{Key: []byte(id), Value: b, Headers: []kafka.Header{sig}})
	}
	var last string
	for ctx.Err() == nil {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+apiAddr+"/api/v1/incidents/"+id+"/ack", nil)
		req.Header.Set("Authorization", "Bearer dev-responder-changji")
		req.Header.Set("Idempotency-Key", "demo-ack-"+id)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			switch resp.StatusCode {
			case http.StatusOK, http.StatusAccepted:
				return nil
			}
			last = fmt.Sprintf("HTTP %d: %s", resp.StatusCode, body)
		} else {
			last = err.Error()
		}
		time.Sleep(250 * time.Millisecond)
	}
	return fmt.Errorf("POST /api/v1/incidents/%s/ack: %s", id, last)
}

// demoStationCommand is what the demo reads of a station command through the api.
type demoStationCommand struct {
	Site    string `json:"site"`
	Command string `json:"command"`
	Status  string `json:"status"`
	Detail  string `json:"detail"`
}

// pollAPI GETs path as the admin into v until done reports true, for up to 30 s.
func pollAPI(ctx context.Context, apiAddr, path string, v any, done func() bool) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+apiAddr+path, nil)
		req.Header.Set("Authorization", "Bearer dev-admin-token")
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			err = json.NewDecoder(resp.Body).Decode(v)
			resp.Body.Close()
			if err == nil && done() {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("GET %s: not there in time (last error %v)", path, err)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func waitExit(t *testing.T, s *service, d time.Duration) {
	t.Helper()
	select {
	case <-s.exited:
	case <-time.After(d):
		t.Fatalf("%s did not exit within %v:\n%s", s.name, d, s.tail())
	}
}
