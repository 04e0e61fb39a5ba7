// Package evidence builds and verifies riverwatch's evidence bundles: one zip archive per
// incident holding what was known about it (the incident, its audit trail, notifications,
// events, readings and the configuration in force) and a manifest of every file's SHA-256,
// signed with the deployment's Ed25519 key, so that a bundle checked offline (Verify, `api
// verify-evidence`) shows whether anything in it was changed, and which file.
//
// A bundle is a zip (stored and deflated entries) whose members are the files the manifest
// lists, plus manifest.json and manifest.sig (the base64 Ed25519 signature of
// manifest.json's exact bytes). docs/evidence.md describes the contents.
package evidence

import (
	"archive/zip"
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
	"time"
)

// Format is the manifest's format name; Verify refuses another.
const Format = "riverwatch-evidence/1"

// The two members of a bundle that the manifest does not list.
const (
	ManifestName  = "manifest.json"
	SignatureName = "manifest.sig"
)

// File is one member of a bundle.
type File struct {
	Name string
	Data []byte
}

// FileEntry is a member as the manifest lists it.
type FileEntry struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
	Size   int    `json:"size"`
}

// ConfigFile records one configuration file in force: the SHA-256 of the file as the api
// read it (compare it with the deployment's copy) and, when the bundle carries a copy, its
// member name and what was removed from it.
type ConfigFile struct {
	Key    string    `json:"key"`  // the config key naming the file (sites_file, ...)
	Path   string    `json:"path"` // the file's name
	SHA256 string    `json:"sha256"`
	ReadAt time.Time `json:"read_at"`
	// Member is the bundle member holding the copy; empty when the file is omitted.
	Member string `json:"member,omitempty"`
	// Redacted says what the copy lacks of the original ("" when it is the file itself).
	Redacted string `json:"redacted,omitempty"`
}

// Span is the time range the bundle's readings and events cover.
type Span struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// Manifest is manifest.json.
type Manifest struct {
	Format      string    `json:"format"`
	IncidentID  string    `json:"incident_id"`
	GeneratedAt time.Time `json:"generated_at"`
	// GeneratedFor is the name of the token that asked for the bundle.
	GeneratedFor string `json:"generated_for"`
	// Build is the api binary's version and commit.
	Build string `json:"build,omitempty"`
	// KeyID names the signing key (KeyID).
	KeyID         string       `json:"key_id"`
	Span          Span         `json:"span"`
	Configuration []ConfigFile `json:"configuration"`
	// Notes say what the bundle does not hold and why (omitted files, sites outside the
	// caller's jurisdictions, events not found, readings cut off).
	Notes []string    `json:"notes"`
	Files []FileEntry `json:"files"`
}

// Write writes the bundle of files and m to w, filling m's Format, KeyID and Files, and
// signs the manifest with key. Member names must be unique, relative and clean.
func Write(w io.Writer, m Manifest, files []File, key ed25519.PrivateKey) error {
	if len(key) != ed25519.PrivateKeySize {
		return errors.New("evidence: no signing key")
	}
	m.Format = Format
	m.KeyID = KeyID(key.Public().(ed25519.PublicKey))
	m.Files = make([]FileEntry, 0, len(files))
	seen := map[string]bool{ManifestName: true, SignatureName: true}
	for _, f := range files {
		if err := checkName(f.Name); err != nil {
			return err
		}
		if seen[f.Name] {
			return fmt.Errorf("evidence: member %s twice (or a reserved name)", f.Name)
		}
		seen[f.Name] = true
		m.Files = append(m.Files, FileEntry{Name: f.Name, SHA256: digest(f.Data), Size: len(f.Data)})
	}
	if m.Notes == nil {
		m.Notes = []string{}
	}
	if m.Configuration == nil {
		m.Configuration = []ConfigFile{}
	}
	manifest, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("evidence: encode manifest: %w", err)
	}
	manifest = append(manifest, '\n')
	sig := base64.StdEncoding.EncodeToString(ed25519.Sign(key, manifest)) + "\n"

	zw := zip.NewWriter(w)
	add := func(name string, data []byte) error {
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: m.GeneratedAt})
		if err != nil {
			return fmt.Errorf("evidence: add %s: %w", name, err)
		}
		if _, err := fw.Write(data); err != nil {
			return fmt.Errorf("evidence: write %s: %w", name, err)
		}
		return nil
	}
	// The manifest first: a reader of a truncated download still learns what it lacks.
	if err := add(ManifestName, manifest); err != nil {
		return err
	}
	if err := add(SignatureName, []byte(sig)); err != nil {
		return err
	}
	for _, f := range files {
		if err := add(f.Name, f.Data); err != nil {
			return err
		}
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("evidence: close archive: %w", err)
	}
	return nil
}

func checkName(name string) error {
	if name == "" || path.Clean(name) != name || path.IsAbs(name) || strings.HasPrefix(name, "../") || name == ".." || strings.Contains(name, "\\") {
		return fmt.Errorf("evidence: member name %q must be a clean relative path", name)
	}
	return nil
}

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Digest returns the hexadecimal SHA-256 of b, as manifests write it.
func Digest(b []byte) string { return digest(b) }

// sortedNames returns the names of m, sorted.
func sortedNames[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// bytesReader adapts a byte slice for zip.NewReader.
func bytesReader(b []byte) (*bytes.Reader, int64) { return bytes.NewReader(b), int64(len(b)) }
