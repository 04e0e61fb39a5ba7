package cli

import (
	"testing"
	"time"
)

func TestParseSince(t *testing.T) {
	at := time.Date(2026, 11, 29, 1, 2, 3, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time
		err  bool
	}{
		{"1795914123", time.Unix(1795914123, 0), false},
		{at.Format(time.RFC3339), at, false},
		{"yesterday", time.Time{}, true},
	}
	for _, tt := range tests {
		got, err := parseSince(tt.in)
		if (err != nil) != tt.err || (!tt.err && !got.Equal(tt.want)) {
			t.Errorf("parseSince(%q) = %v, %v", tt.in, got, err)
		}
	}
	if now, err := parseSince("now"); err != nil || time.Since(now) > time.Second {
		t.Errorf("now = %v, %v", now, err)
	}
}
