package evidence

import (
	"archive/zip"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// maxManifestBytes bounds what Verify reads of manifest.json and manifest.sig.
const maxManifestBytes = 64 << 20

// Problem is one thing wrong with a bundle, naming the member concerned.
type Problem struct {
	File string `json:"file"`
	What string `json:"what"`
}

func (p Problem) String() string { return p.File + ": " + p.What }

// Report is what Verify found.
type Report struct {
	// Manifest is the bundle's manifest as read (trust it only when SignatureOK).
	Manifest Manifest
	// SignatureOK: manifest.sig is a valid signature of manifest.json by the key given.
	SignatureOK bool
	// Checked is the number of listed members whose hash matched.
	Checked  int
	Problems []Problem
}

// OK reports whether the bundle is intact: signed by the key, every listed member present
// with its hash, and nothing else in the archive.
func (r Report) OK() bool { return r.SignatureOK && len(r.Problems) == 0 }

func (r *Report) add(file, format string, args ...any) {
	r.Problems = append(r.Problems, Problem{File: file, What: fmt.Sprintf(format, args...)})
}

// Verify checks the bundle in ra (size bytes) against pub: the manifest's signature, the
// SHA-256 of every member it lists, and that no member is missing, added or doubled. A
// member that changed is named even when the manifest's signature fails (then the
// manifest itself was changed, or signed by another key, and its list is not to be
// trusted). The error is for an archive that cannot be read at all.
func Verify(ra io.ReaderAt, size int64, pub ed25519.PublicKey) (Report, error) {
	var rep Report
	zr, err := zip.NewReader(ra, size)
	if err != nil {
		return rep, fmt.Errorf("not a readable zip archive: %w", err)
	}
	members := map[string]*zip.File{}
	for _, f := range zr.File {
		if members[f.Name] != nil {
			rep.add(f.Name, "is in the archive more than once")
			continue
		}
		members[f.Name] = f
	}
	manifest, err := readMember(members[ManifestName], maxManifestBytes)
	if err != nil {
		rep.add(ManifestName, "%v", err)
		return rep, nil
	}
	sigText, err := readMember(members[SignatureName], maxManifestBytes)
	if err != nil {
		rep.add(SignatureName, "%v", err)
	} else if sig, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(sigText))); err != nil || len(sig) != ed25519.SignatureSize {
		rep.add(SignatureName, "not a base64 Ed25519 signature")
	} else if !ed25519.Verify(pub, manifest, sig) {
		rep.add(ManifestName, "signature does not verify with key %s: the manifest was changed, or another key signed it", KeyID(pub))
	} else {
		rep.SignatureOK = true
	}
	if err := json.Unmarshal(manifest, &rep.Manifest); err != nil {
		rep.add(ManifestName, "not a manifest: %v", err)
		return rep, nil
	}
	if rep.Manifest.Format != Format {
		rep.add(ManifestName, "format %q, want %q", rep.Manifest.Format, Format)
	}
	if rep.Manifest.KeyID != "" && rep.Manifest.KeyID != KeyID(pub) {
		rep.add(ManifestName, "says it was signed by key %s; verifying with key %s", rep.Manifest.KeyID, KeyID(pub))
	}
	listed := map[string]bool{ManifestName: true, SignatureName: true}
	for _, e := range rep.Manifest.Files {
		if listed[e.Name] {
			rep.add(e.Name, "is listed in the manifest more than once")
			continue
		}
		listed[e.Name] = true
		f := members[e.Name]
		if f == nil {
			rep.add(e.Name, "is missing from the archive")
			continue
		}
		sum, n, err := hashMember(f)
		switch {
		case err != nil:
			rep.add(e.Name, "cannot be read: %v", err)
		case sum != e.SHA256:
			rep.add(e.Name, "changed: sha256 %s, the manifest says %s", sum, e.SHA256)
		case n != int64(e.Size):
			rep.add(e.Name, "changed: %d bytes, the manifest says %d", n, e.Size)
		default:
			rep.Checked++
		}
	}
	for _, name := range sortedNames(members) {
		if !listed[name] {
			rep.add(name, "is in the archive but not in the manifest")
		}
	}
	return rep, nil
}

// VerifyBytes is Verify of a bundle held in memory.
func VerifyBytes(b []byte, pub ed25519.PublicKey) (Report, error) {
	r, n := bytesReader(b)
	return Verify(r, n, pub)
}

func readMember(f *zip.File, limit int64) ([]byte, error) {
	if f == nil {
		return nil, fmt.Errorf("is missing from the archive")
	}
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("cannot be opened: %w", err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, fmt.Errorf("cannot be read: %w", err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("is larger than %d bytes", limit)
	}
	return b, nil
}

func hashMember(f *zip.File) (string, int64, error) {
	rc, err := f.Open()
	if err != nil {
		return "", 0, err
	}
	defer rc.Close()
	h := sha256.New()
	n, err := io.Copy(h, rc)
	if err != nil {
		return "", n, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}
