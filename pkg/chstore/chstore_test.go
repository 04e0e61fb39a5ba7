package chstore

import "testing"

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
