package evidence

import (
	"archive/zip"
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/testinfra"
)

// testKey is generated per test run: no private key is committed.
func testKey(t testing.TB) ed25519.PrivateKey {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func sampleFiles() []File {
	return []File{
		{Name: "incident.json", Data: []byte(`{"id":"inc-1"}` + "\n")},
		{Name: "events.json", Data: []byte(`[{"id":"e1"}]` + "\n")},
		{Name: "readings/STH-S2.csv", Data: []byte("site,parameter,time,value\nSTH-S2,nh3n,2026-06-15T05:00:00Z,2.4\n")},
	}
}

func build(t testing.TB, key ed25519.PrivateKey) []byte {
	t.Helper()
	var buf bytes.Buffer
	m := Manifest{IncidentID: "inc-1", GeneratedAt: time.Date(2026, 6, 15, 10, 30, 0, 0, time.UTC), GeneratedFor: "desk"}
	if err := Write(&buf, m, sampleFiles(), key); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// rewrite copies a bundle member by member through edit, which returns the new content
// and whether to keep the member; add members appended at the end.
func rewrite(t testing.TB, b []byte, edit func(name string, data []byte) ([]byte, bool), add ...File) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	put := func(name string, data []byte) {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if data, keep := edit(f.Name, data); keep {
			put(f.Name, data)
		}
	}
	for _, f := range add {
		put(f.Name, f.Data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func TestVerifyAcceptsAnIntactBundleAndNamesWhatWasTampered(t *testing.T) {
	key := testKey(t)
	pub := key.Public().(ed25519.PublicKey)
	bundle := build(t, key)
	otherKey := testKey(t).Public().(ed25519.PublicKey)
	keep := func(name string, data []byte) ([]byte, bool) { return data, true }
	cases := []struct {
		name   string
		bundle []byte
		pub    ed25519.PublicKey
		sigOK  bool
		files  []string // the files the problems must name, in order
	}{
		{"an intact bundle verifies", bundle, pub, true, nil},
		{"one byte changed in one file is refused naming that file", rewrite(t, bundle, func(name string, data []byte) ([]byte, bool) {
			if name == "readings/STH-S2.csv" {
				data = bytes.Replace(data, []byte("2.4"), []byte("2.3"), 1)
			}
			return data, true
		}), pub, true, []string{"readings/STH-S2.csv"}},
		{"a tampered manifest fails its signature", rewrite(t, bundle, func(name string, data []byte) ([]byte, bool) {
			if name == ManifestName {
				data = bytes.Replace(data, []byte(`"generated_for": "desk"`), []byte(`"generated_for": "deks"`), 1)
			}
			return data, true
		}), pub, false, []string{ManifestName}},
		{"a file and its manifest hash both changed still fail the signature", rewrite(t, bundle, func(name string, data []byte) ([]byte, bool) {
			switch name {
			case "events.json":
				data = []byte(`[]` + "\n")
			case ManifestName:
				data = bytes.Replace(data, []byte(Digest([]byte(`[{"id":"e1"}]`+"\n"))), []byte(Digest([]byte(`[]`+"\n"))), 1)
			}
			return data, true
		}), pub, false, []string{ManifestName, "events.json"}},
		{"a missing file is named", rewrite(t, bundle, func(name string, data []byte) ([]byte, bool) { return data, name != "events.json" }), pub, true, []string{"events.json"}},
		{"an added file is named", rewrite(t, bundle, keep, File{Name: "note.txt", Data: []byte("planted")}), pub, true, []string{"note.txt"}},
		{"a doubled file is named", rewrite(t, bundle, keep, File{Name: "incident.json", Data: []byte("{}")}), pub, true, []string{"incident.json"}},
		{"another deployment's key is refused", bundle, otherKey, false, []string{ManifestName, ManifestName}},
		{"a bundle without its signature is refused", rewrite(t, bundle, func(name string, data []byte) ([]byte, bool) { return data, name != SignatureName }), pub, false, []string{SignatureName}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rep, err := VerifyBytes(c.bundle, c.pub)
			if err != nil {
				t.Fatal(err)
			}
			if rep.SignatureOK != c.sigOK {
				t.Errorf("SignatureOK = %v, want %v (%v)", rep.SignatureOK, c.sigOK, rep.Problems)
			}
			var got []string
			for _, p := range rep.Problems {
				got = append(got, p.File)
			}
			if strings.Join(got, ",") != strings.Join(c.files, ",") {
				t.Errorf("problems name %v, want %v: %v", got, c.files, rep.Problems)
			}
			if want := c.sigOK && len(c.files) == 0; rep.OK() != want {
				t.Errorf("OK() = %v, want %v", rep.OK(), want)
			}
		})
	}
}

func TestVerifyRefusesWhatIsNotAZip(t *testing.T) {
	if _, err := VerifyBytes([]byte("not a zip"), testKey(t).Public().(ed25519.PublicKey)); err == nil {
		t.Fatal("a non-zip verified")
	}
}

func TestWriteRefusesUnsafeOrDoubledNames(t *testing.T) {
	key := testKey(t)
	for _, name := range []string{"../x", "/etc/passwd", "a/../b", "", ManifestName, "a\\b"} {
		if err := Write(io.Discard, Manifest{}, []File{{Name: name}}, key); err == nil {
			t.Errorf("member %q accepted", name)
		}
	}
	if err := Write(io.Discard, Manifest{}, []File{{Name: "a"}, {Name: "a"}}, key); err == nil {
		t.Error("a doubled member accepted")
	}
	if err := Write(io.Discard, Manifest{}, nil, nil); err == nil {
		t.Error("written without a key")
	}
}

func TestKeysLoadFromEveryDocumentedForm(t *testing.T) {
	key := testKey(t)
	pub := key.Public().(ed25519.PublicKey)
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM, err := MarshalPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	private := map[string][]byte{
		"pem":      pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}),
		"seed":     key.Seed(),
		"key":      key,
		"seed hex": []byte(hex.EncodeToString(key.Seed()) + "\n"),
		"key hex":  []byte(hex.EncodeToString(key)),
	}
	for name, b := range private {
		got, err := LoadPrivateKey(write("k", b))
		if err != nil {
			t.Errorf("%s: %v", name, err)
		} else if !got.Equal(key) {
			t.Errorf("%s: another key", name)
		}
	}
	public := map[string][]byte{"pem": pubPEM, "raw": pub, "hex": []byte(hex.EncodeToString(pub) + "\n")}
	for name, b := range public {
		got, err := LoadPublicKey(write("p", b))
		if err != nil {
			t.Errorf("%s: %v", name, err)
		} else if !got.Equal(pub) {
			t.Errorf("%s: another key", name)
		}
	}
	bad := map[string][]byte{
		"short":             []byte("0123"),
		"public as secret":  pubPEM,
		"mismatched halves": append(append([]byte{}, key.Seed()...), make([]byte, 32)...),
	}
	for name, b := range bad {
		if _, err := LoadPrivateKey(write("b", b)); err == nil {
			t.Errorf("%s: accepted as a private key", name)
		} else if strings.Contains(err.Error(), hex.EncodeToString(key.Seed())) {
			t.Errorf("%s: the error shows the key", name)
		}
	}
	if _, err := LoadPublicKey(write("b", private["pem"])); err == nil {
		t.Error("a private key PEM accepted as a public key")
	}
}

func TestRedactSitesRemovesPasswordsAndSitesOutsideTheCaller(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(testinfra.ModuleRoot(t), "configs", "sites.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(data, []byte("password")) || !bytes.Contains(data, []byte("TTH-S1")) {
		t.Fatal("configs/sites.yaml no longer has what this test redacts")
	}
	out, removed, err := RedactSites(data, func(j string) bool { return j == "changji" })
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(out, []byte("123456")) {
		t.Error("a station password survived")
	}
	if !bytes.Contains(out, []byte("password: "+Redacted)) {
		t.Errorf("no REDACTED password in\n%s", out)
	}
	if bytes.Contains(out, []byte("TTH-S1")) || !strings.Contains(strings.Join(removed, ","), "TTH-S1") {
		t.Errorf("TTH-S1 (xpcc12) kept for a changji caller; removed %v", removed)
	}
	if !bytes.Contains(out, []byte("STH-S2")) {
		t.Error("changji's own STH-S2 removed")
	}
	all, removed, err := RedactSites(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != 0 || !bytes.Contains(all, []byte("TTH-S1")) || bytes.Contains(all, []byte("123456")) {
		t.Errorf("without a scope: removed %v, TTH-S1 kept %v", removed, bytes.Contains(all, []byte("TTH-S1")))
	}
}

func TestVerifyCommandExitCodesAndOutput(t *testing.T) {
	key := testKey(t)
	dir := t.TempDir()
	pubPEM, err := MarshalPublicKey(key.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	pubFile := filepath.Join(dir, "evidence.pub")
	good := filepath.Join(dir, "good.zip")
	bad := filepath.Join(dir, "bad.zip")
	bundle := build(t, key)
	tampered := rewrite(t, bundle, func(name string, data []byte) ([]byte, bool) {
		if name == "incident.json" {
			data[len(data)-2] ^= 1
		}
		return data, true
	})
	for p, b := range map[string][]byte{pubFile: pubPEM, good: bundle, bad: tampered} {
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name string
		args []string
		code int
		out  string
	}{
		{"an intact bundle, key after the file", []string{good, "-pub", pubFile}, 0, "OK: signature valid, 3 files"},
		{"an intact bundle, key before the file", []string{"-pub", pubFile, good}, 0, "OK:"},
		{"a changed file is named", []string{bad, "-pub", pubFile}, 1, "FAILED incident.json: changed"},
		{"no key", []string{good}, 2, ""},
		{"no bundle", []string{"-pub", pubFile}, 2, ""},
		{"a missing bundle", []string{filepath.Join(dir, "none.zip"), "-pub", pubFile}, 1, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			if code := VerifyCommand(c.args, &out, &errOut); code != c.code {
				t.Errorf("exit %d, want %d\n%s%s", code, c.code, out.String(), errOut.String())
			}
			if !strings.Contains(out.String(), c.out) {
				t.Errorf("output lacks %q:\n%s", c.out, out.String())
			}
		})
	}
}
