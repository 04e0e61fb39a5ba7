package evidence

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
)

// LoadPrivateKey reads the deployment's Ed25519 signing key (config key
// api.evidence_key_file): a PEM "PRIVATE KEY" block (PKCS #8, as `openssl genpkey
// -algorithm ed25519` writes it), or the raw 32-byte seed or 64-byte private key, as bytes or
// as hexadecimal text. The error names the file, never its content.
func LoadPrivateKey(path string) (ed25519.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("evidence key: %w", err)
	}
	k, err := ParsePrivateKey(b)
	if err != nil {
		return nil, fmt.Errorf("evidence key %s: %w", path, err)
	}
	return k, nil
}

// ParsePrivateKey decodes what LoadPrivateKey reads.
func ParsePrivateKey(b []byte) (ed25519.PrivateKey, error) {
	if blk, _ := pem.Decode(b); blk != nil {
		if blk.Type != "PRIVATE KEY" {
			return nil, fmt.Errorf("PEM block %q: want PRIVATE KEY (PKCS #8)", blk.Type)
		}
		k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("PKCS #8: %w", err)
		}
		ek, ok := k.(ed25519.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("PKCS #8 key is a %T, not Ed25519", k)
		}
		return ek, nil
	}
	raw := rawOrHex(b)
	switch len(raw) {
	case ed25519.SeedSize:
		return ed25519.NewKeyFromSeed(raw), nil
	case ed25519.PrivateKeySize:
		k := ed25519.PrivateKey(bytes.Clone(raw))
		// The second half of a private key is its public key: check it, so that a file of
		// 64 random bytes is not taken for a key that would sign for someone else's.
		if !bytes.Equal(ed25519.NewKeyFromSeed(k.Seed()).Public().(ed25519.PublicKey), k[32:]) {
			return nil, errors.New("64-byte key: its public half does not match its seed")
		}
		return k, nil
	}
	return nil, fmt.Errorf("not an Ed25519 private key: want PEM PRIVATE KEY, or a %d-byte seed or %d-byte key (raw or hex), got %d bytes",
		ed25519.SeedSize, ed25519.PrivateKeySize, len(raw))
}

// LoadPublicKey reads a verification key: a PEM "PUBLIC KEY" block (PKIX, as `openssl pkey
// -pubout` writes it), or the raw 32-byte key, as bytes or as hexadecimal text.
func LoadPublicKey(path string) (ed25519.PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("public key: %w", err)
	}
	k, err := ParsePublicKey(b)
	if err != nil {
		return nil, fmt.Errorf("public key %s: %w", path, err)
	}
	return k, nil
}

// ParsePublicKey decodes what LoadPublicKey reads.
func ParsePublicKey(b []byte) (ed25519.PublicKey, error) {
	if blk, _ := pem.Decode(b); blk != nil {
		if blk.Type != "PUBLIC KEY" {
			return nil, fmt.Errorf("PEM block %q: want PUBLIC KEY (PKIX)", blk.Type)
		}
		k, err := x509.ParsePKIXPublicKey(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("PKIX: %w", err)
		}
		ek, ok := k.(ed25519.PublicKey)
		if !ok {
			return nil, fmt.Errorf("PKIX key is a %T, not Ed25519", k)
		}
		return ek, nil
	}
	raw := rawOrHex(b)
	if len(raw) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("not an Ed25519 public key: want PEM PUBLIC KEY, or %d bytes (raw or hex), got %d bytes", ed25519.PublicKeySize, len(raw))
	}
	return ed25519.PublicKey(bytes.Clone(raw)), nil
}

// rawOrHex returns b decoded from hexadecimal when it is hex text (surrounding blanks
// ignored), else b as it is.
func rawOrHex(b []byte) []byte {
	t := bytes.TrimSpace(b)
	if len(t) == 2*ed25519.SeedSize || len(t) == 2*ed25519.PrivateKeySize {
		if h, err := hex.DecodeString(string(t)); err == nil {
			return h
		}
	}
	return b
}

// KeyID names a public key in a manifest: the first 16 hexadecimal digits of its SHA-256,
// so that a verifier holding several keys can tell which one signed.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// MarshalPublicKey returns pub as a PEM "PUBLIC KEY" block.
func MarshalPublicKey(pub ed25519.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("marshal public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}
