package notify

import (
	"testing"
	"time"
)

func TestWebhookSignatureReplayWindow(t *testing.T) {
	body := []byte(`{"key":"k1"}`)
	signed := time.Date(2026, 6, 15, 10, 0, 0, 0, time.UTC)
	sig := Sign("s3cret", signed, body)
	tests := []struct {
		name      string
		secret    string
		at        time.Duration // receiver's clock after the signature's timestamp
		tolerance time.Duration
		ok        bool
	}{
		{"at once", "s3cret", 0, 0, true},
		{"a minute later, within the default window", "s3cret", time.Minute, 0, true},
		{"four minutes early (clock skew)", "s3cret", -4 * time.Minute, 0, true},
		{"six minutes later, outside the default window", "s3cret", 6 * time.Minute, 0, false},
		{"six minutes later, within a wider tolerance", "s3cret", 6 * time.Minute, 10 * time.Minute, true},
		{"an empty secret verifies nothing", "", 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Verify(tt.secret, sig, body, signed.Add(tt.at), tt.tolerance)
			if (err == nil) != tt.ok {
				t.Errorf("Verify: %v, want ok %v", err, tt.ok)
			}
		})
	}
}
