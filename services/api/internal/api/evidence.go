package api

import (
	"bytes"
	"crypto/ed25519"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/riverwatch/riverwatch/pkg/auth"
	"github.com/riverwatch/riverwatch/pkg/authz"
	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/standard"
	"github.com/riverwatch/riverwatch/services/api/internal/evidence"
)

// EvidenceOptions configure GET /api/v1/incidents/{id}/evidence (docs/evidence.md).
type EvidenceOptions struct {
	// Key signs every bundle's manifest (config key api.evidence_key_file); nil: the route
	// answers 503 "no signing key configured".
	Key ed25519.PrivateKey
	// Sites, Playbooks and Contacts are the configuration files in force, as the api read
	// them when it started; nil when not read. A bundle carries a redacted copy of Sites
	// and Playbooks as they are, and of Contacts only its SHA-256.
	Sites, Playbooks, Contacts *ConfigSource
	// Margin widens the incident's span on both sides (config key api.evidence_margin).
	// Default 24 h.
	Margin time.Duration
	// Build names the api binary in the manifest.
	Build string
}

// ConfigSource is one configuration file as the api read it.
type ConfigSource struct {
	Key    string // the config key naming it: sites_file, playbooks_file, contacts_file
	Path   string
	Data   []byte
	ReadAt time.Time
}

// evidenceEventsPage is the page size of the events a bundle collects; maxOffset bounds them.
const evidenceEventsPage = 1000

// rawFramesNote is the bundle's note on HJ 212 frames (docs/evidence.md).
const rawFramesNote = "raw HJ 212 frames: raw_frames/<site>.json holds the accepted frames of each site over the span (PW masked, cut at 2048 bytes), each with the ids of the readings made of it (an event's reading_id names its reading); readings uploaded over HTTP have no frame, and frames older than archiver.raw_frames_retention_days are gone"

func (s *Server) handleEvidence(w http.ResponseWriter, r *http.Request) {
	inc, ok := s.incidentFor(w, r)
	if !ok {
		return
	}
	p := principal(r)
	if err := authz.Evidence(authz.FromPrincipal(p), inc); err != nil {
		switch {
		case errors.Is(err, authz.ErrNotVisible):
			s.fail(w, r, http.StatusNotFound, "not_found", "incident %s not found", inc.ID)
		default:
			s.fail(w, r, http.StatusForbidden, "forbidden", "%v", err)
		}
		return
	}
	ev := s.opt.Evidence
	if len(ev.Key) != ed25519.PrivateKeySize {
		s.fail(w, r, http.StatusServiceUnavailable, "no_signing_key", "no signing key configured (config key api.evidence_key_file): evidence bundles are not available")
		return
	}
	b, err := s.buildEvidence(r, p, inc)
	if err != nil {
		s.storeFail(w, r, "evidence of incident "+inc.ID, err)
		return
	}
	var buf bytes.Buffer
	if err := evidence.Write(&buf, b.manifest, b.files, ev.Key); err != nil {
		s.internalFail(w, r, http.StatusInternalServerError, "evidence", "evidence of incident "+inc.ID, err)
		return
	}
	name := "evidence-" + unsafeName.ReplaceAllString(inc.ID, "_") + "-" + b.manifest.GeneratedAt.Format("20060102T150405Z") + ".zip"
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
	s.log.Info("evidence bundle", "incident", inc.ID, "for", p.Name, "files", len(b.files), "bytes", buf.Len(), "request_id", requestID(r))
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]`)

type bundle struct {
	manifest evidence.Manifest
	files    []evidence.File
}

// evidenceSpan is the incident's span widened by the margin: from its opening to its
// closing (else resolution, else now), never beyond now.
func (s *Server) evidenceSpan(inc message.Incident, now time.Time) evidence.Span {
	margin := s.opt.Evidence.Margin
	if margin <= 0 {
		margin = 24 * time.Hour
	}
	end := now
	switch {
	case inc.ClosedAt != nil:
		end = *inc.ClosedAt
	case inc.ResolvedAt != nil:
		end = *inc.ResolvedAt
	}
	to := end.Add(margin)
	if to.After(now) {
		to = now
	}
	from := inc.OpenedAt.Add(-margin)
	if !from.Before(to) {
		from = to.Add(-margin)
	}
	return evidence.Span{From: from.UTC(), To: to.UTC()}
}

// buildEvidence gathers an incident's bundle: what the store returns of it, the events and
// readings of its sites that p sees over the span, and the configuration in force.
func (s *Server) buildEvidence(r *http.Request, p *auth.Principal, inc message.Incident) (bundle, error) {
	ctx := r.Context()
	now := s.now().UTC()
	span := s.evidenceSpan(inc, now)
	m := evidence.Manifest{
		IncidentID: inc.ID, GeneratedAt: now.Truncate(time.Second), GeneratedFor: p.Name, Build: s.opt.Evidence.Build, Span: span,
	}
	var files []evidence.File
	addJSON := func(name string, v any) error {
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return fmt.Errorf("encode %s: %w", name, err)
		}
		files = append(files, evidence.File{Name: name, Data: append(b, '\n')})
		return nil
	}
	if inc.Drill {
		m.Notes = append(m.Notes, "this incident is a drill (【演练】)")
	}

	d, err := s.detail(r, inc)
	if err != nil {
		return bundle{}, err
	}
	// The incident's steps carry their deadlines and the times of notification, receipt,
	// completion and escalation; the log has every acknowledgement, receipt, step done and
	// escalation with its actor; notifications every delivery attempt.
	if err := addJSON("incident.json", inc); err != nil {
		return bundle{}, err
	}
	if err := addJSON("log.json", d.Log); err != nil {
		return bundle{}, err
	}
	if err := addJSON("notifications.json", d.Notifications); err != nil {
		return bundle{}, err
	}
	if err := addJSON("station_commands.json", d.StationCommands); err != nil {
		return bundle{}, err
	}

	// Sites: where it started and every site concerned; those the caller does not see are
	// left out, as GET /sites/{id}/readings and /events would (L9).
	var sites, withheld []string
	for _, id := range append([]string{inc.Site}, inc.Sites...) {
		if id == "" || slices.Contains(sites, id) || slices.Contains(withheld, id) {
			continue
		}
		if site, ok := s.net.Site(id); ok && p.Sees(site.Jurisdiction) {
			sites = append(sites, id)
		} else {
			withheld = append(withheld, id)
		}
	}
	if len(withheld) > 0 {
		m.Notes = append(m.Notes, fmt.Sprintf("sites outside the jurisdictions of %s, whose readings and events are left out: %s", p.Name, strings.Join(withheld, ", ")))
	}

	// Events of those sites over the span; the incident's own (by id) apart.
	var siteEvents []message.Event
	if len(sites) > 0 {
		for offset := 0; ; offset += evidenceEventsPage {
			page, err := s.store.Events(ctx, EventQuery{Sites: sites, From: span.From, To: span.To, Limit: evidenceEventsPage, Offset: offset})
			if err != nil {
				return bundle{}, err
			}
			siteEvents = append(siteEvents, page...)
			if len(page) < evidenceEventsPage {
				break
			}
			if offset+evidenceEventsPage >= maxOffset {
				m.Notes = append(m.Notes, fmt.Sprintf("site_events.json is cut at %d events; narrow the margin (api.evidence_margin)", len(siteEvents)))
				break
			}
		}
	}
	slices.Reverse(siteEvents) // oldest first, as the log
	incidentEvents := []message.Event{}
	found := map[string]bool{}
	for _, e := range siteEvents {
		if slices.Contains(inc.EventIDs, e.ID) && !found[e.ID] {
			found[e.ID] = true
			incidentEvents = append(incidentEvents, e)
		}
	}
	var missing []string
	for _, id := range inc.EventIDs {
		if !found[id] {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		m.Notes = append(m.Notes, fmt.Sprintf("events of the incident not in this bundle (at a site left out, or outside the span): %s", strings.Join(missing, ", ")))
	}
	if siteEvents == nil {
		siteEvents = []message.Event{}
	}
	if err := addJSON("events.json", incidentEvents); err != nil {
		return bundle{}, err
	}
	if err := addJSON("site_events.json", siteEvents); err != nil {
		return bundle{}, err
	}

	// Readings: raw, the incident's parameters, one CSV per site; at most ExportMaxRows in all.
	rows := 0
	for _, id := range sites {
		var buf bytes.Buffer
		cw := csv.NewWriter(&buf)
		_ = cw.Write([]string{"site", "parameter", "unit", "observed_at", "value", "min", "max", "flag", "below_dl"})
		q := SeriesQuery{Site: id, Parameters: inc.Parameters, From: span.From, To: span.To, Resolution: ResolutionRaw,
			MaxRows: s.opt.ExportMaxRows - rows + 1, Location: s.net.Location}
		cut := false
		err := s.store.SeriesEach(ctx, q, func(param, unit string, pt Point) error {
			if rows >= s.opt.ExportMaxRows {
				cut = true
				return errExportTooLarge
			}
			rows++
			if unit == "" {
				unit = standard.CanonicalUnit(param)
			}
			return cw.Write([]string{id, param, unit, pt.T.UTC().Format(time.RFC3339Nano), fmtFloat(pt.Value), fmtFloat(pt.Min), fmtFloat(pt.Max), pt.Flag,
				belowDLText(pt.BelowDL)})
		})
		if err != nil && !errors.Is(err, errExportTooLarge) {
			return bundle{}, err
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			return bundle{}, fmt.Errorf("readings of %s: %w", id, err)
		}
		files = append(files, evidence.File{Name: "readings/" + id + ".csv", Data: buf.Bytes()})
		if cut {
			m.Notes = append(m.Notes, fmt.Sprintf("readings are cut at %d rows (api.export_max_rows): readings/%s.csv and the sites after it are incomplete", s.opt.ExportMaxRows, id))
			break
		}
	}
	// The raw frames behind those readings: the accepted frames of each site over the span.
	frameOf := map[string]bool{} // reading ids that have their frame in the bundle
	for _, id := range sites {
		frames, err := s.store.RawFrames(ctx, RawFrameQuery{Site: id, From: span.From, To: span.To, Limit: s.opt.ExportMaxRows + 1})
		if err != nil {
			return bundle{}, err
		}
		if len(frames) > s.opt.ExportMaxRows {
			frames = frames[:s.opt.ExportMaxRows]
			m.Notes = append(m.Notes, fmt.Sprintf("raw_frames/%s.json is cut at %d frames (api.export_max_rows)", id, s.opt.ExportMaxRows))
		}
		if frames == nil {
			frames = []message.RawFrame{}
		}
		for _, f := range frames {
			for _, rid := range f.ReadingIDs {
				frameOf[rid] = true
			}
		}
		if err := addJSON("raw_frames/"+id+".json", frames); err != nil {
			return bundle{}, err
		}
	}
	var frameless []string
	for _, e := range incidentEvents {
		if e.ReadingID != "" && !frameOf[e.ReadingID] {
			frameless = append(frameless, e.ID)
		}
	}
	if len(frameless) > 0 {
		m.Notes = append(m.Notes, fmt.Sprintf("events whose reading has no raw frame in this bundle (uploaded over HTTP, or past the frames' retention): %s", strings.Join(frameless, ", ")))
	}
	m.Notes = append(m.Notes, rawFramesNote)

	// The configuration in force.
	ev := s.opt.Evidence
	for _, src := range []*ConfigSource{ev.Sites, ev.Playbooks, ev.Contacts} {
		if src == nil {
			continue
		}
		// The file's name only: the server's directories are nobody's business (L7).
		cf := evidence.ConfigFile{Key: src.Key, Path: filepath.Base(src.Path), SHA256: evidence.Digest(src.Data), ReadAt: src.ReadAt.UTC()}
		switch src.Key {
		case "sites_file":
			var sees func(string) bool
			if scope(p) != nil {
				sees = p.Sees
			}
			data, removed, err := evidence.RedactSites(src.Data, sees)
			if err != nil {
				return bundle{}, err
			}
			cf.Member = "config/sites.yaml"
			cf.Redacted = "station passwords replaced by " + evidence.Redacted + "; re-encoded (the sha256 is the original's)"
			// Only how many: their ids would tell the caller what it may not see (L9).
			if len(removed) > 0 {
				cf.Redacted += fmt.Sprintf("; %d sites outside the caller's jurisdictions left out", len(removed))
			}
			files = append(files, evidence.File{Name: cf.Member, Data: data})
		case "playbooks_file":
			cf.Member = "config/playbooks.yaml"
			files = append(files, evidence.File{Name: cf.Member, Data: src.Data})
		default:
			cf.Redacted = "omitted: it holds people's names, phone numbers, addresses and channel secrets; compare the sha256 with the deployment's file"
		}
		m.Configuration = append(m.Configuration, cf)
	}
	if ev.Sites == nil || ev.Playbooks == nil {
		m.Notes = append(m.Notes, "the api was started without reading sites_file and playbooks_file for evidence: no configuration copy")
	}
	return bundle{manifest: m, files: files}, nil
}

// EvidenceKey returns the public half of the evidence signing key, nil without one.
func (s *Server) EvidenceKey() ed25519.PublicKey {
	if len(s.opt.Evidence.Key) != ed25519.PrivateKeySize {
		return nil
	}
	return s.opt.Evidence.Key.Public().(ed25519.PublicKey)
}
