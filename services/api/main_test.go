package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/service/servicetest"
	"github.com/riverwatch/riverwatch/services/api/internal/evidence"
)

func TestCommonFlags(t *testing.T) { servicetest.CommonFlags(t, "api", run) }

func TestVerifyEvidenceRunsWithoutAConfiguration(t *testing.T) {
	// A configuration that cannot load: verify-evidence must not need it.
	t.Setenv("RIVERWATCH_CONFIG", filepath.Join(t.TempDir(), "missing.yaml"))
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var bundle bytes.Buffer
	if err := evidence.Write(&bundle, evidence.Manifest{IncidentID: "inc-1", GeneratedAt: time.Now()}, []evidence.File{{Name: "incident.json", Data: []byte("{}")}}, key); err != nil {
		t.Fatal(err)
	}
	pub, err := evidence.MarshalPublicKey(key.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bundlePath, pubPath := filepath.Join(dir, "b.zip"), filepath.Join(dir, "k.pub")
	if err := os.WriteFile(bundlePath, bundle.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pubPath, pub, 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if code := run([]string{"verify-evidence", bundlePath, "-pub", pubPath}, &out, &errOut); code != 0 || !strings.Contains(out.String(), "OK:") {
		t.Fatalf("exit %d\n%s%s", code, out.String(), errOut.String())
	}
}
