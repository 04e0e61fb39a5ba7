package responder_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/stream"
	"github.com/riverwatch/riverwatch/pkg/testinfra"
)

// TestUnacknowledgedStepClimbsTwoLevelsOnTheRotaOfThatHour runs the responder binary on
// the real broker over a river-chief tree (village → town → county → city): nobody
// confirms the village's step, so after two reminders it climbs to the town's river chief
// and then the county's. Both have a rota whose shift of this hour names someone other
// than the desk: the escalations reach those on duty now.
func TestUnacknowledgedStepClimbsTwoLevelsOnTheRotaOfThatHour(t *testing.T) {
	cfg := testinfra.Config(t)
	bin := testinfra.BuildService(t, "responder")
	rcv := newReceiver(t, -1)
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cfg.SitesFile = write("sites.yaml", `timezone: Asia/Shanghai
jurisdictions:
  - {id: city, name: 市}
  - {id: county, name: 县, parent: city}
  - {id: town, name: 镇, parent: county}
  - {id: village, name: 村, parent: town}
rivers:
  - {id: r, name: 河, velocity_mps: 1.0, flow_m3s: 5}
sites:
  - {id: V1, name: 村断面, kind: section, river: r, km: 10, jurisdiction: village, target_class: III}
`)
	// The shift of this hour (from an hour ago to two hours on, in Changji's time) names
	// 当班; the rest of the day 另班; the desk (值班室) is the default nobody should need.
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	h := time.Now().In(loc).Hour()
	now := fmt.Sprintf("%02d:00-%02d:00", (h+23)%24, (h+2)%24)
	rest := fmt.Sprintf("%02d:00-%02d:00", (h+2)%24, (h+23)%24)
	var b strings.Builder
	b.WriteString("roles: {river_chief_office: 河长办}\ncontacts:\n")
	for _, j := range []string{"village", "town", "county", "city"} {
		to := func(who string) string {
			return fmt.Sprintf("%q", srv.URL+"/"+j+"/river_chief_office/webhook?who="+who)
		}
		fmt.Fprintf(&b, "  - jurisdiction: %s\n    role: river_chief_office\n    people: [{name: %s值班室, channel: webhook, target: %s}]\n", j, j, to("值班室"))
		if j == "town" || j == "county" {
			fmt.Fprintf(&b, "    rota:\n      shifts:\n        - {days: [weekdays, weekend, holiday], hours: %q, people: [{name: %s当班, channel: webhook, target: %s}]}\n        - {days: [weekdays, weekend, holiday], hours: %q, people: [{name: %s另班, channel: webhook, target: %s}]}\n",
				now, j, to("当班"), rest, j, to("另班"))
		}
	}
	cfg.ContactsFile = write("contacts.yaml", b.String())
	cfg.PlaybooksFile = write("playbooks.yaml", `messages:
  receipt_request: "请确认（{incident}）"
  level_changed: "{title} {level}"
  reopened: "{title} 重新启动"
  escalation: "【督办】{jurisdiction_name}{role_name}未{reason}：{step_action}"
  end_of_alert: "{title} 解除"
playbooks:
  - id: climb
    trigger: {events: [exceedance.opened], site_kinds: [section]}
    level: IV
    steps:
      - id: verify
        actor: {relation: self, role: river_chief_office}
        action: "{site_name}{parameter_name}超标，请核实"
        deadline: 1h
        confirm_receipt: true
        escalation_policy:
          repeat: 2
          every: 10m
          levels:
            - {role: river_chief_office, level: parent}
            - {role: river_chief_office, level: grandparent}
    resolve: {auto: false, close_after: 24h}
`)
	listen := testinfra.FreeAddr(t)
	env := append(testinfra.Env(cfg), "RIVERWATCH_RESPONDER_LISTEN="+listen, "RIVERWATCH_RESPONDER_WEBHOOK_SECRET="+webhookSecret,
		"RIVERWATCH_RESPONDER_TIME_SCALE=600", // 10 min → 1 s
		"RIVERWATCH_RESPONDER_TICK_INTERVAL=50ms")
	logPath := filepath.Join(dir, "responder.log")
	defer func() {
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("responder log:\n%s", b)
		}
	}()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ups := &updates{}
	go ups.run(ctx, cfg, cfg.Kafka.GroupPrefix+".test-reader")
	events := stream.NewWriter(stream.WriterConfig{Cluster: stream.Plain(cfg.Kafka.Brokers...), Topic: cfg.Kafka.Topics.Events}, nil)
	defer events.Close()
	start(t, bin, env, listen, logPath)

	at := time.Now().UTC()
	publish(t, events, "V1", message.Event{
		ID: message.EventID(message.EventExceedanceOpened, "V1", "nh3n", at, ""), Type: message.EventExceedanceOpened,
		Site: "V1", River: "r", Parameter: "nh3n", Value: 3.2, Limit: 1.0, TargetClass: "III", Class: "劣V",
		Multiple: 2.2, Severity: "severe", ObservedAt: at, EmittedAt: at,
	})
	seen := func() []string {
		var out []string
		for _, m := range rcv.find(func(received) bool { return true }) {
			out = append(out, m.Kind+"→"+m.Jurisdiction+"/"+m.Who)
		}
		return out
	}
	want := []string{"assign→village/值班室", "reminder→village/值班室", "reminder→village/值班室", "escalation→town/当班", "escalation→county/当班"}
	testinfra.Eventually(t, 60*time.Second, "the step, two reminders, then the town's and the county's river chiefs on duty", func() bool {
		return len(seen()) >= len(want)
	})
	time.Sleep(time.Second) // a further rung (the city, a desk off duty) would arrive by now
	if got := seen(); !slices.Equal(got, want) {
		t.Fatalf("received %v\nwant %v", got, want)
	}
	testinfra.Eventually(t, 30*time.Second, "the incident records the climb", func() bool {
		inc := ups.latest()
		return inc != nil && len(inc.Steps) == 1 && inc.Steps[0].EscalatedTo == "county/river_chief_office"
	})
	for _, m := range rcv.find(func(m received) bool { return m.Kind == "escalation" }) {
		if !strings.Contains(m.Text, "【督办】村河长办未确认收到") {
			t.Errorf("escalation to %s/%s: %q", m.Jurisdiction, m.Who, m.Text)
		}
	}
}
