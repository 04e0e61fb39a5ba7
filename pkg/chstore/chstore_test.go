package chstore

import (
	"strings"
	"testing"

	"github.com/riverwatch/riverwatch/pkg/config"
)

func TestParseVersion(t *testing.T) {
	tests := []struct {
		in      string
		want    Version
		wantErr bool
	}{
		{"18.16.1", Version{18, 16}, false},
		{"24.8.4.13", Version{24, 8}, false},
		{"25", Version{}, true},
		{"x.y", Version{}, true},
	}
	for _, tt := range tests {
		got, err := ParseVersion(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseVersion(%q) = %v, %v", tt.in, got, err)
		}
	}
	if !(Version{19, 6}).AtLeast(19, 6) || (Version{18, 16}).AtLeast(19, 3) || !(Version{22, 2}).AtLeast(19, 3) {
		t.Error("AtLeast compares major, then minor")
	}
}

func TestConfigFromTheClickHouseSection(t *testing.T) {
	c := config.Default().ClickHouse
	cc, err := ConfigFrom(c)
	if err != nil || cc.TLS != nil || cc.Addr != c.Addr || cc.Database != c.Database {
		t.Fatalf("plaintext: %+v, %v", cc, err)
	}
	c.TLS = config.TLS{Enabled: true, ServerName: "ch.example"}
	if cc, err = ConfigFrom(c); err != nil || cc.TLS == nil || cc.TLS.ServerName != "ch.example" {
		t.Fatalf("clickhouse.tls.enabled: %+v, %v", cc.TLS, err)
	}
	c.TLS.CAFile = "/nonexistent/ca.pem"
	if _, err := ConfigFrom(c); err == nil || !strings.Contains(err.Error(), "config key clickhouse.tls") {
		t.Errorf("a missing CA file: %v", err)
	}
}
