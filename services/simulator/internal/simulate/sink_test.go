package simulate

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/notify"
)

// The sink receives what the responder's real senders send.
func TestSinkAcceptsEveryChannelOfTheResponderOnce(t *testing.T) {
	var out bytes.Buffer
	sink := &Sink{Secret: "s3cret", DingTalkSecret: "ding", Out: &out}
	srv := httptest.NewServer(sink)
	defer srv.Close()
	ctx := t.Context()
	ch := notify.NewChannels(5*time.Second, nil)
	msg := notify.Message{Key: "k-1", IncidentID: "inc-1", Kind: "warning", Recipient: "兵团第六师河长办值班室", Subject: "【预警】上游超标", Body: "请加密监测"}
	targets := []notify.Target{
		{Channel: "webhook", Address: srv.URL + "/hook", Secret: "s3cret"},
		{Channel: "wecom", Address: srv.URL + "/hook"},
		{Channel: "dingtalk", Address: srv.URL + "/hook", Secret: "ding"},
	}
	for i, tg := range targets {
		m := msg
		m.Key = tg.Channel + "-key"
		for attempt := range 2 { // the responder re-delivers after a crash: same key
			m.Attempt = attempt + 1
			if err := ch.Send(ctx, tg, m); err != nil {
				t.Fatalf("%s attempt %d: %v", tg.Channel, attempt+1, err)
			}
		}
		got := sink.Received()
		if len(got) != i+1 {
			t.Fatalf("after %s: %d received, want %d (a repeated key counts once)", tg.Channel, len(got), i+1)
		}
		r := got[i]
		if r.Channel != tg.Channel || r.Key != m.Key || r.Repeats != 1 || !strings.Contains(r.Subject, "上游超标") {
			t.Errorf("%s received as %+v", tg.Channel, r)
		}
	}
	if strings.Count(out.String(), "上游超标") != 3 {
		t.Errorf("printed:\n%s\nwant one line per notification", out.String())
	}
}

func TestSinkRefusesBadSignatures(t *testing.T) {
	sink := &Sink{Secret: "s3cret", DingTalkSecret: "ding"}
	srv := httptest.NewServer(sink)
	defer srv.Close()
	ch := notify.NewChannels(5*time.Second, nil)
	m := notify.Message{Key: "k", Subject: "x"}
	tests := []struct {
		name string
		tg   notify.Target
	}{
		{"webhook signed with another secret", notify.Target{Channel: "webhook", Address: srv.URL, Secret: "wrong"}},
		{"webhook unsigned", notify.Target{Channel: "webhook", Address: srv.URL}},
		{"dingtalk signed with another secret", notify.Target{Channel: "dingtalk", Address: srv.URL, Secret: "wrong"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ch.Send(t.Context(), tt.tg, m)
			if err == nil || !notify.IsPermanent(err) {
				t.Fatalf("err = %v, want a permanent refusal (401)", err)
			}
		})
	}
	if len(sink.Received()) != 0 || sink.Refused() != len(tests) {
		t.Errorf("received %d, refused %d", len(sink.Received()), sink.Refused())
	}
}

func TestSinkListsWhatItReceived(t *testing.T) {
	sink := &Sink{}
	srv := httptest.NewServer(sink)
	defer srv.Close()
	if err := notify.NewChannels(time.Second, nil).Send(t.Context(), notify.Target{Channel: "webhook", Address: srv.URL}, notify.Message{Key: "a", Kind: "end_of_alert", Subject: "解除预警"}); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(srv.URL + "/notifications")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list []Received
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Kind != "end_of_alert" {
		t.Errorf("list = %+v", list)
	}
}
