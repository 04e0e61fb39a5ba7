package message

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
)

// Commands are signed: the api computes an HMAC-SHA256 of each command's Kafka value with a
// key it shares with the responder only, and the responder applies nothing it cannot
// verify. Whoever can write to riverwatch.commands without the key (a client that got past
// the ACLs, a misconfigured tool) can resolve no incident (security review H4).
const (
	// HeaderCommandSignature is the Kafka header carrying "v1=<hex HMAC-SHA256(key, value)>".
	HeaderCommandSignature = "riverwatch-signature"
	// MinCommandKeyBytes is the shortest command key accepted: 256 bits.
	MinCommandKeyBytes = 32
	// ReasonUnsignedCommand and ReasonBadSignature are the rejections of a command the
	// responder refused to apply.
	ReasonUnsignedCommand = "unsigned_command"
	ReasonBadSignature    = "bad_signature"
)

// developmentCommandKeyDigest is the SHA-256 of configs/commands.key, the repository's
// public development key, which production mode refuses.
const developmentCommandKeyDigest = "1f57440462a5fc1b4aa37747a0fb5e25c295a3c9e13656e99fbbf31e137b5190"

// Errors of CommandKey.Verify.
var (
	ErrUnsignedCommand = errors.New("command carries no signature")
	ErrBadSignature    = errors.New("command signature does not match")
)

// CommandKey signs and verifies commands. Its String never prints the key.
type CommandKey struct{ key []byte }

// NewCommandKey returns the key of raw bytes, refusing one shorter than MinCommandKeyBytes.
func NewCommandKey(raw []byte) (CommandKey, error) {
	if len(raw) < MinCommandKeyBytes {
		return CommandKey{}, fmt.Errorf("command key has %d bytes, want at least %d (openssl rand -hex 32)", len(raw), MinCommandKeyBytes)
	}
	return CommandKey{key: bytes.Clone(raw)}, nil
}

// LoadCommandKey reads the key from a file (surrounding white space removed).
func LoadCommandKey(path string) (CommandKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return CommandKey{}, fmt.Errorf("command key: %w", err)
	}
	k, err := NewCommandKey(bytes.TrimSpace(b))
	if err != nil {
		return CommandKey{}, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// Development reports whether k is the repository's public development key.
func (k CommandKey) Development() bool {
	sum := sha256.Sum256(k.key)
	return hex.EncodeToString(sum[:]) == developmentCommandKeyDigest
}

// String hides the key.
func (k CommandKey) String() string { return "CommandKey(REDACTED)" }

// Sign returns the signature header value of a command's Kafka value.
func (k CommandKey) Sign(value []byte) string {
	return "v1=" + hex.EncodeToString(k.mac(value))
}

// Verify checks the signature header value sig against value.
func (k CommandKey) Verify(value []byte, sig string) error {
	if len(k.key) == 0 {
		return errors.New("no command key to verify with")
	}
	hexMAC, ok := strings.CutPrefix(strings.TrimSpace(sig), "v1=")
	if sig == "" {
		return ErrUnsignedCommand
	}
	got, err := hex.DecodeString(hexMAC)
	if !ok || err != nil {
		return ErrBadSignature
	}
	if !hmac.Equal(got, k.mac(value)) {
		return ErrBadSignature
	}
	return nil
}

func (k CommandKey) mac(value []byte) []byte {
	h := hmac.New(sha256.New, k.key)
	h.Write(value)
	return h.Sum(nil)
}
