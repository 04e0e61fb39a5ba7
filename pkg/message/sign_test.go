package message

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCommandSignatureVerifiesOnlyTheSignedBytesWithTheKey(t *testing.T) {
	key, err := NewCommandKey([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	other, _ := NewCommandKey([]byte("fedcba9876543210fedcba9876543210"))
	value := []byte(`{"id":"c1","type":"resolve","incident_id":"inc-1"}`)
	sig := key.Sign(value)
	tests := []struct {
		name  string
		key   CommandKey
		value []byte
		sig   string
		want  error
	}{
		{"the signed command", key, value, sig, nil},
		{"no signature", key, value, "", ErrUnsignedCommand},
		{"another key's signature", key, value, other.Sign(value), ErrBadSignature},
		{"the command altered after signing", key, []byte(strings.Replace(string(value), "inc-1", "inc-2", 1)), sig, ErrBadSignature},
		{"a signature without its version", key, value, strings.TrimPrefix(sig, "v1="), ErrBadSignature},
		{"a signature that is not hex", key, value, "v1=not-hex", ErrBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.key.Verify(tt.value, tt.sig); !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Errorf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
	if err := (CommandKey{}).Verify(value, sig); err == nil {
		t.Error("a zero key verified a signature")
	}
}

func TestCommandKeyIsLongAndNeverPrinted(t *testing.T) {
	if _, err := NewCommandKey([]byte("short")); err == nil {
		t.Error("a 5-byte key was accepted")
	}
	raw := "0123456789abcdef0123456789abcdef"
	key, err := NewCommandKey([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	if s := key.String(); strings.Contains(s, raw) {
		t.Errorf("String() = %q prints the key", s)
	}
}

func TestDevelopmentCommandKeyIsTheRepositoryFile(t *testing.T) {
	path := filepath.Join("..", "..", "configs", "commands.key")
	key, err := LoadCommandKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if !key.Development() {
		t.Errorf("%s is not recognised as the development key: update developmentCommandKeyDigest", path)
	}
	own := filepath.Join(t.TempDir(), "commands.key")
	if err := os.WriteFile(own, []byte("b3f1c0a9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if k, err := LoadCommandKey(own); err != nil || k.Development() {
		t.Errorf("a key of one's own: %v, development %v", err, k.Development())
	}
}
