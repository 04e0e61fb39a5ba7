package api_test

import (
	"archive/zip"
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/config"
	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/services/api/internal/api"
	"github.com/riverwatch/riverwatch/services/api/internal/evidence"
)

// testEvidence gives every test API a signing key generated for the run (no private key
// is committed) and the repository's configuration files.
func testEvidence(t testing.TB, now time.Time) api.EvidenceOptions {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ev := api.EvidenceOptions{Key: key, Margin: 6 * time.Hour, Build: "test"}
	for _, f := range []struct {
		key, file string
		dst       **api.ConfigSource
	}{{"sites_file", "sites.yaml", &ev.Sites}, {"playbooks_file", "playbooks.yaml", &ev.Playbooks}, {"contacts_file", "contacts.yaml", &ev.Contacts}} {
		path := repoFile(t, "configs", f.file)
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		*f.dst = &api.ConfigSource{Key: f.key, Path: path, Data: b, ReadAt: now}
	}
	return ev
}

// unzip returns a bundle's members by name.
func unzip(t testing.TB, b []byte) map[string][]byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("not a zip: %v", err)
	}
	out := map[string][]byte{}
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
		out[f.Name] = data
	}
	return out
}

// rezip writes members again, in the order given, with one changed by edit.
func rezip(t testing.TB, b []byte, edit func(name string, data []byte) []byte) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, f := range zr.File {
		rc, _ := f.Open()
		data, _ := io.ReadAll(rc)
		rc.Close()
		w, err := zw.Create(f.Name)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write(edit(f.Name, data))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// seedEvidenceIncident adds an incident at STH-S2 (changji) whose events are stored,
// plus one event of the same site long before it (outside the span).
func seedEvidenceIncident(e *env) (message.Incident, []message.Event) {
	opened := e.now.Truncate(time.Hour).Add(-5 * time.Hour)
	mk := func(typ string, at time.Time, v float64) message.Event {
		return message.Event{ID: message.EventID(typ, "STH-S2", "nh3n", at, "evidence"), Type: typ, Site: "STH-S2", Parameter: "nh3n",
			Value: v, Limit: 1, Multiple: v - 1, ObservedAt: at, EmittedAt: at.Add(time.Second)}
	}
	evs := []message.Event{
		mk(message.EventExceedanceOpened, opened.Add(-10*time.Minute), 2.4),
		mk(message.EventExceedanceUpdated, opened.Add(time.Hour), 2.7),
	}
	// The opening event's reading came in an HJ 212 frame the gateway kept; the update's
	// did not (an HTTP upload, say): the notes must name it.
	evs[0].ReadingID = message.ReadingID("STH-S2", "nh3n", message.IntervalHour, evs[0].ObservedAt)
	evs[1].ReadingID = message.ReadingID("STH-S2", "nh3n", message.IntervalHour, evs[1].ObservedAt)
	e.store.AddRawFrames(message.RawFrame{
		ID: message.RawFrameID("65230100000002", "20260615092000001", "2061", evs[0].ObservedAt), Site: "STH-S2", MN: "65230100000002",
		QN: "20260615092000001", CN: "2061", DataTime: evs[0].ObservedAt, ReceivedAt: evs[0].ObservedAt.Add(3 * time.Second),
		Raw:        "QN=20260615092000001;ST=21;CN=2061;PW=***;MN=65230100000002;Flag=5;CP=&&w21003-Avg=2.4,w21003-Flag=N&&",
		ReadingIDs: []string{evs[0].ReadingID},
	})
	old := mk(message.EventExceedanceOpened, opened.Add(-48*time.Hour), 1.5)
	e.store.AddEvents(append(slices.Clone(evs), old)...)
	resolved := opened.Add(3 * time.Hour)
	inc := message.Incident{
		ID: "inc-evidence", Version: 4, Title: "三屯河城区下游断面 氨氮超标", Status: message.IncidentResolved, Level: "IV",
		Playbook: "section_exceedance", River: "santun", Site: "STH-S2", Sites: []string{"STH-S2", "STH-S3"}, Parameters: []string{"nh3n"},
		Jurisdictions: []string{"changji", "xpcc6"}, EventIDs: []string{evs[0].ID, evs[1].ID, "ev-never-stored"},
		Steps:    []message.Step{{ID: "s1", Relation: "self", Jurisdiction: "changji", Role: "eeb", Action: "初报", Deadline: opened.Add(time.Hour), ReceiptAt: &resolved}},
		OpenedAt: opened, ResolvedAt: &resolved, UpdatedAt: resolved,
	}
	e.store.PutIncident(inc)
	e.store.AddLog(message.LogEntry{ID: "le1", IncidentID: inc.ID, Version: 1, At: opened, Actor: "responder", Action: "opened"},
		message.LogEntry{ID: "le2", IncidentID: inc.ID, Version: 2, At: opened.Add(30 * time.Minute), Actor: "昌吉市应急值班", Action: "acknowledged"})
	e.store.AddNotifications(message.Notification{ID: "ne1", Key: "k", IncidentID: inc.ID, StepID: "s1", Kind: "assign", Channel: "webhook",
		Recipient: "changji-duty", Attempt: 1, Status: "sent", At: opened.Add(time.Minute)})
	return inc, evs
}

func getBundle(t *testing.T, e *env, id, token string) []byte {
	t.Helper()
	res := e.do(t, "GET", "/api/v1/incidents/"+id+"/evidence", token, nil)
	if res.status != http.StatusOK {
		t.Fatalf("status %d: %s", res.status, res.body)
	}
	if ct := res.header.Get("Content-Type"); ct != "application/zip" {
		t.Fatalf("Content-Type %q", ct)
	}
	if cd := res.header.Get("Content-Disposition"); !strings.Contains(cd, `filename="evidence-`+id+`-`) {
		t.Errorf("Content-Disposition %q", cd)
	}
	return res.body
}

func TestEvidenceBundleHoldsTheIncidentsRecordAndVerifies(t *testing.T) {
	e := newEnv(t)
	inc, evs := seedEvidenceIncident(e)
	body := getBundle(t, e, inc.ID, responderChangji)
	pub := e.server.EvidenceKey()
	rep, err := evidence.VerifyBytes(body, pub)
	if err != nil || !rep.OK() {
		t.Fatalf("a fresh bundle does not verify: %v %v", err, rep.Problems)
	}
	files := unzip(t, body)
	m := rep.Manifest
	var names []string
	for _, f := range m.Files {
		names = append(names, f.Name)
	}
	want := []string{"incident.json", "log.json", "notifications.json", "station_commands.json", "events.json", "site_events.json", "readings/STH-S2.csv", "raw_frames/STH-S2.json", "config/sites.yaml", "config/playbooks.yaml"}
	if !slices.Equal(names, want) {
		t.Errorf("members %v, want %v", names, want)
	}
	if m.IncidentID != inc.ID || m.GeneratedFor != "昌吉市应急值班" || m.KeyID != evidence.KeyID(pub) {
		t.Errorf("manifest %+v", m)
	}
	// The span: opening − 6 h to resolution + 6 h, cut at now.
	if wantFrom := inc.OpenedAt.Add(-6 * time.Hour); !m.Span.From.Equal(wantFrom) || !m.Span.To.Equal(e.now) {
		t.Errorf("span %v–%v, want %v–%v", m.Span.From, m.Span.To, wantFrom, e.now)
	}

	var got message.Incident
	if err := json.Unmarshal(files["incident.json"], &got); err != nil || got.ID != inc.ID || len(got.Steps) != 1 || got.Steps[0].ReceiptAt == nil {
		t.Errorf("incident.json: %v %s", err, files["incident.json"])
	}
	var log []message.LogEntry
	if err := json.Unmarshal(files["log.json"], &log); err != nil || len(log) != 2 || log[1].Action != "acknowledged" {
		t.Errorf("log.json: %v %s", err, files["log.json"])
	}
	var notes []message.Notification
	if err := json.Unmarshal(files["notifications.json"], &notes); err != nil || len(notes) != 1 {
		t.Errorf("notifications.json: %v %s", err, files["notifications.json"])
	}
	var own, site []message.Event
	_ = json.Unmarshal(files["events.json"], &own)
	_ = json.Unmarshal(files["site_events.json"], &site)
	if len(own) != 2 || own[0].ID != evs[0].ID || own[1].ID != evs[1].ID {
		t.Errorf("events.json holds %d events, want the incident's two, oldest first", len(own))
	}
	for _, ev := range site {
		if ev.ObservedAt.Before(m.Span.From) || ev.Site != "STH-S2" {
			t.Errorf("site_events.json has %s at %s %v, outside the span or the sites", ev.ID, ev.Site, ev.ObservedAt)
		}
	}
	if len(site) < 2 {
		t.Errorf("site_events.json holds %d events", len(site))
	}

	rows, err := csv.NewReader(bytes.NewReader(files["readings/STH-S2.csv"])).ReadAll()
	if err != nil || len(rows) < 2 {
		t.Fatalf("readings: %v, %d rows", err, len(rows))
	}
	for _, row := range rows[1:] {
		at, err := time.Parse(time.RFC3339, row[3])
		if err != nil || row[1] != "nh3n" || at.Before(m.Span.From) || !at.Before(m.Span.To) {
			t.Errorf("reading %v is not nh3n in the span", row)
		}
	}
	// Seeded hourly up to 10:00; opened 05:00, so the span is 23:00 the day before to now
	// (10:30): 23:00, 00:00, …, 10:00 are 12 readings.
	if n := len(rows) - 1; n != 12 {
		t.Errorf("%d readings of STH-S2 nh3n in the span, want 12 (hourly from %s to %s)", n, m.Span.From, m.Span.To)
	}

	sitesYAML := files["config/sites.yaml"]
	if bytes.Contains(sitesYAML, []byte("123456")) || bytes.Contains(sitesYAML, []byte("TTH-S1")) || !bytes.Contains(sitesYAML, []byte("STH-S2")) {
		t.Errorf("config/sites.yaml keeps a password or a site outside changji:\n%s", sitesYAML)
	}
	pb, _ := os.ReadFile(repoFile(t, "configs", "playbooks.yaml"))
	if !bytes.Equal(files["config/playbooks.yaml"], pb) {
		t.Error("config/playbooks.yaml is not the file in force")
	}
	orig, _ := os.ReadFile(repoFile(t, "configs", "sites.yaml"))
	keys := map[string]evidence.ConfigFile{}
	for _, c := range m.Configuration {
		keys[c.Key] = c
	}
	if keys["sites_file"].SHA256 != evidence.Digest(orig) || keys["sites_file"].Member != "config/sites.yaml" {
		t.Errorf("sites_file: %+v, want the original's sha256 %s", keys["sites_file"], evidence.Digest(orig))
	}
	if c, ok := keys["contacts_file"]; !ok || c.Member != "" {
		t.Errorf("contacts_file: %+v, want its hash only", c)
	}
	var frames []message.RawFrame
	if err := json.Unmarshal(files["raw_frames/STH-S2.json"], &frames); err != nil || len(frames) != 1 ||
		!slices.Equal(frames[0].ReadingIDs, []string{evs[0].ReadingID}) || !strings.Contains(frames[0].Raw, "w21003-Avg=2.4") {
		t.Errorf("raw_frames/STH-S2.json: %v %s", err, files["raw_frames/STH-S2.json"])
	}
	for _, mark := range []string{"raw_frames/<site>.json", "events whose reading has no raw frame in this bundle", evs[1].ID, "ev-never-stored", "STH-S3"} {
		if !strings.Contains(strings.Join(m.Notes, "\n"), mark) {
			t.Errorf("notes lack %q: %v", mark, m.Notes)
		}
	}
	for name, data := range files {
		for _, mark := range append(slices.Clone(outsideMarks), "123456") {
			if bytes.Contains(data, []byte(mark)) {
				t.Errorf("%s mentions %q, outside changji or a secret", name, mark)
			}
		}
	}

	// One byte of one file changed: refused, naming that file.
	tampered := rezip(t, body, func(name string, data []byte) []byte {
		if name == "readings/STH-S2.csv" {
			data = slices.Clone(data)
			data[len(data)-3] ^= 1
		}
		return data
	})
	rep, err = evidence.VerifyBytes(tampered, pub)
	if err != nil || rep.OK() || len(rep.Problems) != 1 || rep.Problems[0].File != "readings/STH-S2.csv" || !rep.SignatureOK {
		t.Errorf("a changed reading: %v %+v", err, rep.Problems)
	}
	// One byte of a raw frame changed: refused, naming its file.
	tampered = rezip(t, body, func(name string, data []byte) []byte {
		if name == "raw_frames/STH-S2.json" {
			data = bytes.Replace(data, []byte("w21003-Avg=2.4"), []byte("w21003-Avg=1.4"), 1)
		}
		return data
	})
	rep, err = evidence.VerifyBytes(tampered, pub)
	if err != nil || rep.OK() || len(rep.Problems) != 1 || rep.Problems[0].File != "raw_frames/STH-S2.json" || !rep.SignatureOK {
		t.Errorf("a changed raw frame: %v %+v", err, rep.Problems)
	}
	// The manifest changed: its signature is refused.
	tampered = rezip(t, body, func(name string, data []byte) []byte {
		if name == evidence.ManifestName {
			data = bytes.Replace(data, []byte(inc.ID), []byte("inc-other"), 1)
		}
		return data
	})
	if rep, err = evidence.VerifyBytes(tampered, pub); err != nil || rep.SignatureOK || rep.OK() {
		t.Errorf("a changed manifest verified: %v %+v", err, rep.Problems)
	}
}

func TestEvidenceOfAnIncidentFromUpstreamLeavesOutTheSitesTheCallerDoesNotSee(t *testing.T) {
	e := newEnv(t)
	body := getBundle(t, e, e.fix.AckedIncident, responderChangji) // starts at TTH-S2 (urumqi), concerns changji
	files := unzip(t, body)
	if _, ok := files["readings/TTH-S2.csv"]; ok {
		t.Error("a changji desk got urumqi's readings")
	}
	if _, ok := files["readings/TTH-S3.csv"]; !ok {
		t.Error("no readings of changji's own TTH-S3")
	}
	rep, err := evidence.VerifyBytes(body, e.server.EvidenceKey())
	if err != nil || !rep.OK() {
		t.Fatalf("%v %v", err, rep.Problems)
	}
	if !strings.Contains(strings.Join(rep.Manifest.Notes, "\n"), "left out: TTH-S2") {
		t.Errorf("notes do not name the site left out: %v", rep.Manifest.Notes)
	}
	// The city's admin sees everything, the whole sites.yaml included (passwords still out).
	all := unzip(t, getBundle(t, e, e.fix.AckedIncident, admin))
	if _, ok := all["readings/TTH-S2.csv"]; !ok || !bytes.Contains(all["config/sites.yaml"], []byte("TTH-S1")) || bytes.Contains(all["config/sites.yaml"], []byte("123456")) {
		t.Error("the admin's bundle lacks TTH-S2's readings or a site, or keeps a password")
	}
}

func TestEvidenceRefusals(t *testing.T) {
	e := newEnv(t)
	noKey := newEnv(t, func(o *api.Options) { o.Evidence.Key = nil })
	cases := []struct {
		name  string
		e     *env
		id    string
		token string
		want  int
		code  string
	}{
		{"a viewer who sees it", e, e.fix.OpenIncident, viewerChangji, http.StatusForbidden, "forbidden"},
		{"a responder it does not concern", e, e.fix.ResolvedIncident, responderChangji, http.StatusNotFound, "not_found"},
		{"an unknown incident", e, "inc-none", responderChangji, http.StatusNotFound, "not_found"},
		{"no signing key configured", noKey, e.fix.OpenIncident, responderChangji, http.StatusServiceUnavailable, "no_signing_key"},
		{"no key, and an incident it does not see: still 404", noKey, e.fix.ResolvedIncident, responderChangji, http.StatusNotFound, "not_found"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := c.e.do(t, "GET", "/api/v1/incidents/"+c.id+"/evidence", c.token, nil)
			var body struct{ Code string }
			_ = json.Unmarshal(res.body, &body)
			if res.status != c.want || body.Code != c.code {
				t.Errorf("status %d code %q, want %d %q: %s", res.status, body.Code, c.want, c.code, res.body)
			}
		})
	}
}

func TestCheckLoadsTheEvidenceKeyWhenOneIsConfigured(t *testing.T) {
	cfg, err := config.Load(repoFile(t, "configs", "riverwatch.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := api.Check(cfg); err != nil {
		t.Fatalf("the repository's configuration (no evidence key) fails: %v", err)
	}
	dir := t.TempDir()
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	good := filepath.Join(dir, "evidence.key")
	if err := os.WriteFile(good, []byte(hex.EncodeToString(key.Seed())+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.key")
	if err := os.WriteFile(bad, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, keyFile, playbooks, want string
	}{
		{"a good key", good, cfg.PlaybooksFile, ""},
		{"a key file that is missing", filepath.Join(dir, "none"), cfg.PlaybooksFile, "api.evidence_key_file"},
		{"a file that is no key", bad, cfg.PlaybooksFile, "api.evidence_key_file"},
		{"a key, and a playbooks file that cannot be read", good, filepath.Join(dir, "none.yaml"), "playbooks_file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cc := *cfg
			cc.API.EvidenceKeyFile, cc.PlaybooksFile = c.keyFile, c.playbooks
			err := api.Check(&cc)
			if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
				t.Errorf("got %v, want an error naming %q", err, c.want)
			}
			if err != nil && strings.Contains(err.Error(), "not a key") {
				t.Errorf("the error shows the file's content: %v", err)
			}
		})
	}
}
