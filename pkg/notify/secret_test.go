package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

const robotKey = "693a91f6-SECRET-WECOM-KEY"

func TestSecretURLPrintsRedacted(t *testing.T) {
	s := SecretURL("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=" + robotKey)
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("x", "target", s)
	js, _ := json.Marshal(struct{ T SecretURL }{s})
	for name, text := range map[string]string{
		"%v": fmt.Sprintf("%v", s), "%s": fmt.Sprintf("%s", s), "slog JSON": logged.String(), "json.Marshal": string(js),
	} {
		if strings.Contains(text, robotKey) || strings.Contains(text, "webhook/send") {
			t.Errorf("%s: %s holds the key or path", name, text)
		}
	}
	if got, want := s.String(), "https://qyapi.weixin.qq.com/REDACTED?key=REDACTED"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
}

func TestDeliveryFailureErrorHoldsNoKey(t *testing.T) {
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
		io.WriteString(w, "upstream failed for "+r.URL.String())
	}))
	defer echo.Close()
	tests := []struct{ name, addr string }{
		{"connection refused", "http://127.0.0.1:1/cgi-bin/webhook/send?key=" + robotKey},
		{"HTTP 502 echoing the URL", echo.URL + "/cgi-bin/webhook/send?key=" + robotKey},
	}
	for _, tt := range tests {
		for _, ch := range []string{ChannelWeCom, ChannelDingTalk, ChannelWebhook} {
			t.Run(tt.name+" "+ch, func(t *testing.T) {
				err := NewChannels(time.Second, nil).Send(context.Background(), Target{Channel: ch, Address: tt.addr, Secret: "SEC-DING"}, msg)
				if err == nil {
					t.Fatal("delivered")
				}
				if strings.Contains(err.Error(), robotKey) || strings.Contains(err.Error(), "SEC-DING") {
					t.Errorf("error text holds the key: %v", err)
				}
			})
		}
	}
}

func TestRobotNonJSON2xxIsATransientFailure(t *testing.T) {
	for _, ch := range []string{ChannelWeCom, ChannelDingTalk} {
		srv, got := server(t, http.StatusOK, "<html>blocked by WAF</html>")
		err := NewChannels(time.Second, nil).Send(context.Background(), Target{Channel: ch, Address: srv.URL}, msg)
		<-got
		if err == nil || IsPermanent(err) || !strings.Contains(err.Error(), "not a robot's JSON answer") {
			t.Errorf("%s: err %v, want a transient non-JSON failure", ch, err)
		}
	}
}

func TestVerifyReplayWindow(t *testing.T) {
	now := time.Unix(1_780_000_000, 0)
	body := []byte(`{"key":"ntf-1"}`)
	sig := Sign("s3cret", now, body)
	tests := []struct {
		name   string
		secret string
		at     time.Time
		ok     bool
	}{
		{"+1m within the window", "s3cret", now.Add(time.Minute), true},
		{"-4m within the window", "s3cret", now.Add(-4 * time.Minute), true},
		{"+6m outside the window is refused", "s3cret", now.Add(6 * time.Minute), false},
		{"an empty secret is refused", "", now, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := Verify(tt.secret, sig, body, tt.at, 0); (err == nil) != tt.ok {
				t.Errorf("Verify: %v, want ok=%v", err, tt.ok)
			}
		})
	}
	if ReplayWindow != 5*time.Minute {
		t.Errorf("ReplayWindow = %v", ReplayWindow)
	}
}
