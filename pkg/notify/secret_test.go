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
