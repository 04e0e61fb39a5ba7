package notify

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/network"
)

var msg = Message{
	Key: "ntf-1", IncidentID: "inc-1", StepID: "s.verify.urumqi", Kind: "assign", Jurisdiction: "urumqi",
	Role: "eeb", Recipient: "值班室", Subject: "【IV级·蓝色预警】八钢断面氨氮超标", Body: "请立即核实", Attempt: 1,
}

type captured struct {
	header http.Header
	body   []byte
	query  string
}

func server(t *testing.T, status int, answer string) (*httptest.Server, chan captured) {
	t.Helper()
	got := make(chan captured, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- captured{r.Header.Clone(), b, r.URL.RawQuery}
		w.WriteHeader(status)
		io.WriteString(w, answer)
	}))
	t.Cleanup(srv.Close)
	return srv, got
}

func TestWebhookSignsJSONAndCarriesTheKey(t *testing.T) {
	srv, got := server(t, http.StatusOK, "")
	now := time.Unix(1_780_000_000, 0)
	w := &Webhook{Client: srv.Client(), Now: func() time.Time { return now }}
	if err := w.Send(context.Background(), Target{Channel: "webhook", Address: srv.URL, Secret: "s3cret"}, msg); err != nil {
		t.Fatal(err)
	}
	c := <-got
	if c.header.Get(HeaderIdempotencyKey) != "ntf-1" {
		t.Errorf("Idempotency-Key = %q", c.header.Get(HeaderIdempotencyKey))
	}
	var body Message
	if err := json.Unmarshal(c.body, &body); err != nil || body.Key != "ntf-1" || body.Body != "请立即核实" {
		t.Errorf("body %s (%v)", c.body, err)
	}
	sig := c.header.Get(HeaderSignature)
	if err := Verify("s3cret", sig, c.body, now, time.Minute); err != nil {
		t.Errorf("signature %q does not verify: %v", sig, err)
	}
	for name, check := range map[string]error{
		"wrong secret":   Verify("other", sig, c.body, now, time.Minute),
		"tampered body":  Verify("s3cret", sig, append(c.body, ' '), now, time.Minute),
		"replayed later": Verify("s3cret", sig, c.body, now.Add(time.Hour), time.Minute),
	} {
		if check == nil {
			t.Errorf("%s: verified", name)
		}
	}
}

func TestHTTPStatusDecidesWhetherToRetry(t *testing.T) {
	cases := []struct {
		status    int
		ok, perm  bool
		channel   string
		robotBody string
	}{
		{200, true, false, "webhook", ""},
		{500, false, false, "webhook", ""},
		{429, false, false, "webhook", ""},
		{404, false, true, "webhook", ""},
		{200, true, false, "wecom", `{"errcode":0,"errmsg":"ok"}`},
		{200, false, true, "wecom", `{"errcode":93000,"errmsg":"invalid webhook url"}`},
		{200, false, false, "wecom", `{"errcode":45009,"errmsg":"api freq out of limit"}`},
		{200, false, true, "dingtalk", `{"errcode":310000,"errmsg":"sign not match"}`},
		// L4: a proxy's or firewall's 2xx page is not the robot's answer: not sent, retried.
		{200, false, false, "wecom", `<html><body>Access blocked by policy</body></html>`},
		{200, false, false, "dingtalk", `blocked`},
	}
	for _, tc := range cases {
		srv, got := server(t, tc.status, tc.robotBody)
		err := NewChannels(time.Second, nil).Send(context.Background(), Target{Channel: tc.channel, Address: srv.URL}, msg)
		<-got
		if (err == nil) != tc.ok || IsPermanent(err) != tc.perm {
			t.Errorf("%s HTTP %d %s: err %v, permanent %v", tc.channel, tc.status, tc.robotBody, err, IsPermanent(err))
		}
	}
}

func TestRobotFormats(t *testing.T) {
	t.Run("wecom markdown", func(t *testing.T) {
		srv, got := server(t, 200, `{"errcode":0}`)
		if err := (&WeCom{Client: srv.Client()}).Send(context.Background(), Target{Address: srv.URL}, msg); err != nil {
			t.Fatal(err)
		}
		var m WeComMessage
		c := <-got
		if err := json.Unmarshal(c.body, &m); err != nil || m.MsgType != "markdown" || !strings.Contains(m.Markdown.Content, "请立即核实") {
			t.Fatalf("%s", c.body)
		}
		if c.header.Get(HeaderIdempotencyKey) != "ntf-1" {
			t.Error("no idempotency key")
		}
	})
	t.Run("dingtalk markdown with 加签", func(t *testing.T) {
		srv, got := server(t, 200, `{"errcode":0}`)
		now := time.UnixMilli(1_780_000_000_123)
		d := &DingTalk{Client: srv.Client(), Now: func() time.Time { return now }}
		if err := d.Send(context.Background(), Target{Address: srv.URL + "/robot/send?access_token=abc", Secret: "SEC1"}, msg); err != nil {
			t.Fatal(err)
		}
		c := <-got
		var m DingTalkMessage
		if err := json.Unmarshal(c.body, &m); err != nil || m.MsgType != "markdown" || m.Markdown.Title != msg.Subject {
			t.Fatalf("%s", c.body)
		}
		want, _ := DingTalkSignURL(srv.URL+"/robot/send?access_token=abc", "SEC1", now)
		if !strings.HasSuffix(want, "?"+c.query) || !strings.Contains(c.query, "timestamp=1780000000123") || !strings.Contains(c.query, "access_token=abc") {
			t.Fatalf("query %q, want the signed URL %q", c.query, want)
		}
	})
}

func TestSMTPMailUsesTheKeyAsMessageID(t *testing.T) {
	addr, data := scriptedSMTP(t, "", "", false)
	s := &SMTP{Addr: addr, From: "riverwatch@localhost"}
	if err := NewChannels(time.Second, s).Send(context.Background(), Target{Channel: "smtp", Address: "duty@example.org"}, msg); err != nil {
		t.Fatal(err)
	}
	got := <-data
	for _, want := range []string{"Message-ID: <ntf-1@riverwatch>", "To: duty@example.org", "Subject: =?UTF-8?b?", "charset=UTF-8"} {
		if !strings.Contains(got, want) {
			t.Errorf("mail lacks %q:\n%s", want, got)
		}
	}
	_, b64, _ := strings.Cut(got, "\r\n\r\n")
	body, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(strings.TrimSpace(b64), "\r\n", ""))
	if err != nil || !strings.Contains(string(body), "请立即核实") {
		t.Errorf("body %q (%v)", body, err)
	}
	if err := NewChannels(time.Second, nil).Send(context.Background(), Target{Channel: "smtp", Address: "x@y"}, msg); !IsPermanent(err) {
		t.Errorf("smtp without a server: %v, want a permanent error", err)
	}
}

func TestChannelsLookSecretsUpAtDeliveryTime(t *testing.T) {
	srv, got := server(t, http.StatusOK, `{"errcode":0}`)
	n, err := network.Load("../../configs/sites.yaml")
	if err != nil {
		t.Fatal(err)
	}
	contacts, err := ParseContacts(fmt.Appendf(nil, `
roles: {eeb: 生态环境局, emergency: 应急管理局}
contacts:
  - {jurisdiction: urumqi, role: eeb, people: [{name: 值班室, channel: webhook, target: %[1]q, secret: own}]}
  - {jurisdiction: urumqi, role: emergency, people: [{name: 值班室, channel: webhook, target: %[1]q}, {name: 群, channel: dingtalk, target: %[1]q}]}
`, srv.URL), n, "")
	if err != nil {
		t.Fatal(err)
	}
	ch := NewChannels(time.Second, nil, WithSecrets(contacts, "fallback"))
	to := func(role, recipient string) Message { m := msg; m.Role, m.Recipient = role, recipient; return m }
	tests := []struct {
		name       string
		target     Target
		m          Message
		wantSecret string // the webhook key that verifies; "" for the robot: no 加签
	}{
		{"the contact's own secret", Target{Channel: ChannelWebhook, Address: srv.URL}, to("eeb", "值班室"), "own"},
		{"a webhook contact without one falls back", Target{Channel: ChannelWebhook, Address: srv.URL}, to("emergency", "值班室"), "fallback"},
		{"an unknown recipient falls back", Target{Channel: ChannelWebhook, Address: srv.URL}, to("emergency", "nobody"), "fallback"},
		{"the target's secret wins", Target{Channel: ChannelWebhook, Address: srv.URL, Secret: "given"}, to("eeb", "值班室"), "given"},
		{"a robot gets no webhook fallback", Target{Channel: ChannelDingTalk, Address: srv.URL}, to("emergency", "群"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := ch.Send(context.Background(), tt.target, tt.m); err != nil {
				t.Fatal(err)
			}
			c := <-got
			if tt.target.Channel == ChannelDingTalk {
				if strings.Contains(c.query, "sign=") {
					t.Errorf("robot URL signed without a secret: %q", c.query)
				}
				return
			}
			if err := Verify(tt.wantSecret, c.header.Get(HeaderSignature), c.body, time.Now(), time.Minute); err != nil {
				t.Errorf("signature does not verify with %q: %v", tt.wantSecret, err)
			}
		})
	}
}

func TestEveryChannelCarriesTheIncidentLink(t *testing.T) {
	const link = "https://rw.example.gov.cn/#/incidents/inc-1"
	linked := msg
	linked.Link = link
	tests := []struct {
		name string
		send func(t *testing.T, m Message) string // what the receiver got, as text
	}{
		{"wecom markdown links it", func(t *testing.T, m Message) string {
			srv, got := server(t, 200, `{"errcode":0}`)
			if err := (&WeCom{Client: srv.Client()}).Send(context.Background(), Target{Address: srv.URL}, m); err != nil {
				t.Fatal(err)
			}
			var w WeComMessage
			_ = json.Unmarshal((<-got).body, &w)
			return w.Markdown.Content
		}},
		{"dingtalk markdown links it", func(t *testing.T, m Message) string {
			srv, got := server(t, 200, `{"errcode":0}`)
			if err := (&DingTalk{Client: srv.Client()}).Send(context.Background(), Target{Address: srv.URL}, m); err != nil {
				t.Fatal(err)
			}
			var d DingTalkMessage
			_ = json.Unmarshal((<-got).body, &d)
			return d.Markdown.Text
		}},
		{"the webhook's JSON has it", func(t *testing.T, m Message) string {
			srv, got := server(t, 200, `{}`)
			if err := (&Webhook{Client: srv.Client()}).Send(context.Background(), Target{Address: srv.URL, Secret: "s"}, m); err != nil {
				t.Fatal(err)
			}
			var w struct {
				Link string `json:"link"`
			}
			_ = json.Unmarshal((<-got).body, &w)
			return w.Link
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.send(t, linked); !strings.Contains(got, link) {
				t.Errorf("the receiver got %q, without the link %s", got, link)
			}
			if got := tt.send(t, msg); strings.Contains(got, "/#/incidents/") || strings.Contains(got, "详情与签收") {
				t.Errorf("without a link the receiver got %q", got)
			}
		})
	}
}

func TestCheckOperatorsNamesSpacesWhoseRoleIsNotDeclared(t *testing.T) {
	n, err := network.Parse([]byte(`
jurisdictions: [{id: a, name: A}]
rivers:
  - id: r
    velocity_mps: 1
    emergency_spaces:
      - {id: G1, kind: sluice, km: 1, operated_by: {jurisdiction: a, role: sluice_keeper}}
      - {id: G2, kind: sluice, km: 2, operated_by: {jurisdiction: a, role: eeb}}
      - {id: P1, kind: pond, km: 3}
`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, roles, want string }{
		{"an undeclared role", "{eeb: 生态环境局}", `emergency space "G1": operated_by role "sluice_keeper" is not declared`},
		{"every role declared", "{eeb: 生态环境局, sluice_keeper: 闸管所}", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseContacts([]byte("roles: "+tt.roles+"\ncontacts: []\n"), n, "http://127.0.0.1:8085/hook")
			if err != nil {
				t.Fatal(err)
			}
			err = c.CheckOperators(n)
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Fatalf("CheckOperators = %v, want %q", err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), `"G2"`) {
				t.Errorf("G2's role is declared, yet %v", err)
			}
		})
	}
}
