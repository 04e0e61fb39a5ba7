package simulate

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/network"
	"github.com/riverwatch/riverwatch/pkg/standard"
)

// stepTitles are the narrated names of the steps, Chinese and English.
var stepTitles = map[string][2]string{
	StepReading:      {"读数", "Reading"},
	StepExceedance:   {"超标", "Exceedance"},
	StepPrediction:   {"预测", "Prediction"},
	StepQuality:      {"数据存疑", "Data suspect"},
	StepOffline:      {"站点离线", "Station offline"},
	StepOnline:       {"站点恢复", "Station online"},
	StepIncident:     {"启动事件", "Incident"},
	StepNotified:     {"通知", "Notified"},
	StepAcknowledge:  {"确认", "Acknowledged"},
	StepRecovery:     {"水质恢复", "Recovery"},
	StepResolved:     {"事件解除", "Resolved"},
	StepEndOfAlert:   {"解除预警", "End of Alert"},
	NoteInhibited:    {"抑制", "Inhibited"},
	NoteVerdict:      {"研判", "Verdict"},
	NoteVerification: {"验证", "Verification"},
	NoteSources:      {"溯源", "Sources"},
}

// Beat is one narrated step of the story, with the times it happened.
type Beat struct {
	Step string
	// Wall is when the narrator saw it.
	Wall time.Time
	// Sim is the simulated time it concerns (the observed time of the reading or event; for
	// incident records, the latest simulated time of a reading seen so far). Zero when
	// unknown.
	Sim  time.Time
	Line string
	// IncidentID, Site and Parameter, when the step concerns them.
	IncidentID string
	Site       string
	Parameter  string
	// At is the time the record itself states (event emitted, incident opened, acked, …),
	// for checking causality across topics, whose relative order Kafka does not keep.
	At time.Time
}

// Narrator follows readings, events and incident updates and tells the scenario's story as
// it happens, one line per step, in Chinese and English. It is safe for concurrent use.
type Narrator struct {
	mu    sync.Mutex
	story Story
	net   *network.Network
	loc   *time.Location
	out   io.Writer
	now   func() time.Time
	steps []string
	done  map[string]Beat
	order []Beat
	// simNow is the latest simulated time seen on a reading: the simulated clock, as far as
	// the pipeline shows it. (Events can carry later times: a prediction's clearing names
	// when clean water is due downstream.)
	simNow time.Time
	// incidents maps an incident id to the latest version seen, and whether it is the
	// story's incident (the first that opened, of the right kind).
	incidentID string
	versions   map[string]uint64
	notified   map[string]bool
	extra      map[string]bool
	// seen keeps the first event of each type at each site; sent the notifications sent
	// for the story's incident.
	seen map[string]message.Event
	sent []message.Notification
	last message.Incident // the story's incident, latest version
	// held are the incidents seen inhibited or with a verdict, any incident, latest
	// version each (Held).
	held map[string]message.Incident
	// group is a notification told aside, collecting its recipients.
	group *noteGroup
	// OnIncident, when set, is called once with the story's incident id when it opens.
	OnIncident func(id string)
}

// NewNarrator returns a narrator for a story, writing to out.
func NewNarrator(story Story, net *network.Network, out io.Writer) *Narrator {
	loc := net.Location
	if loc == nil {
		loc = time.UTC
	}
	return &Narrator{
		story: story, net: net, loc: loc, out: out, now: time.Now,
		steps: story.ordered(), done: map[string]Beat{},
		versions: map[string]uint64{}, notified: map[string]bool{}, extra: map[string]bool{},
		seen: map[string]message.Event{},
	}
}

// Complete reports whether every step of the story has happened.
func (n *Narrator) Complete() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.missing()) == 0
}

// Missing returns the steps that have not happened yet, in story order.
func (n *Narrator) Missing() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.missing()
}

func (n *Narrator) missing() []string {
	var out []string
	for _, s := range n.steps {
		if _, ok := n.done[s]; !ok {
			out = append(out, s)
		}
	}
	return out
}

// Beats returns the steps that happened, in the order the narrator saw them.
func (n *Narrator) Beats() []Beat {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.order)
}

// Beat returns the beat of a step, if it happened.
func (n *Narrator) Beat(step string) (Beat, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	b, ok := n.done[step]
	return b, ok
}

// Incident returns the latest version of the story's incident seen.
func (n *Narrator) Incident() message.Incident {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.last
}

// IncidentID returns the story's incident id once it opened.
func (n *Narrator) IncidentID() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.incidentID
}

// Seen returns the first event of a type at a site, if one was published.
func (n *Narrator) Seen(eventType, site string) (message.Event, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	e, ok := n.seen[eventType+"|"+site]
	return e, ok
}

// SeenFrom returns the first prediction (issued or cleared) for a site that originated at
// another, if one was published.
func (n *Narrator) SeenFrom(eventType, site, origin string) (message.Event, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	e, ok := n.seen[eventType+"|"+site+"|"+origin]
	return e, ok
}

// Notifications returns the notifications sent for the story's incident, in the order
// they were published.
func (n *Narrator) Notifications() []message.Notification {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.sent)
}

// Reading takes one reading from the readings topic.
func (n *Narrator) Reading(r message.Reading) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.seeSim(r.ObservedAt)
	if !n.wants(StepReading) {
		return
	}
	if n.story.ReadingSite != "" && r.Site != n.story.ReadingSite {
		return
	}
	if n.story.ReadingParameter != "" && r.Parameter != n.story.ReadingParameter {
		return
	}
	if r.Value < n.story.ReadingMin {
		return
	}
	n.beat(Beat{Step: StepReading, Sim: r.ObservedAt, Site: r.Site, Parameter: r.Parameter, At: r.ReceivedAt,
		Line: fmt.Sprintf("%s: %s = %s %s (%s, %s)", n.siteName(r.Site), paramName(r.Parameter),
			num(r.Value), r.Unit, r.Source, r.Interval)})
}

// Event takes one event from the events topic.
func (n *Narrator) Event(e message.Event) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, k := range []string{e.Type + "|" + e.Site, e.Type + "|" + e.Site + "|" + e.OriginSite} {
		if _, ok := n.seen[k]; !ok {
			n.seen[k] = e
		}
	}
	site := n.siteName(e.Site)
	b := Beat{Sim: e.ObservedAt, Site: e.Site, Parameter: e.Parameter, At: e.EmittedAt}
	switch e.Type {
	case message.EventExceedanceOpened:
		b.Step = StepExceedance
		b.Line = fmt.Sprintf("%s: %s %s %s, %s%s%s", site, paramName(e.Parameter), num(e.Value), unitOf(e.Parameter),
			classText(e), multipleText(e), latency(e))
		if e.Site != n.story.Site || !n.wants(StepExceedance) {
			n.aside(e.ID, b)
			return
		}
	case message.EventPredictionIssued:
		b.Step = StepPrediction
		b.Line = fmt.Sprintf("%s: %s ≈%s %s expected %s (from %s, %s km upstream)%s", site, paramName(e.Parameter),
			num(e.PredictedValue), unitOf(e.Parameter), n.simText(e.ArrivalAt), e.OriginSite, num(e.DistanceKm), latency(e))
		b.Line += n.interceptText(e.Prediction)
		if e.Site != n.story.PredictionSite || !n.wants(StepPrediction) {
			n.aside(e.ID, b)
			return
		}
	case message.EventExceedanceCleared:
		b.Step = StepRecovery
		b.Line = fmt.Sprintf("%s: %s back to %s %s, %s", site, paramName(e.Parameter), num(e.Value), unitOf(e.Parameter), classText(e))
		if e.Site != n.story.Site || !n.wants(StepRecovery) || !n.has(StepExceedance) {
			n.aside(e.ID, b)
			return
		}
	case message.EventPredictionCleared:
		b.Step = StepPrediction
		b.Line = fmt.Sprintf("%s: %s prediction withdrawn — %s", site, paramName(e.Parameter), e.Reason)
		n.aside(e.ID, b)
		return
	case message.EventPredictionVerified, message.EventPredictionRefuted:
		b.Step = NoteVerification
		b.Line = fmt.Sprintf("%s: %s %s (from %s)%s", site, paramName(e.Parameter), strings.TrimPrefix(e.Type, "prediction."),
			e.OriginSite, verificationText(e.Verification, n.simText))
		n.aside(e.ID, b)
		return
	case message.EventQualitySuspect:
		b.Step = StepQuality
		b.Line = fmt.Sprintf("%s: %s %s — %s", site, paramName(e.Parameter), num(e.Value), e.Reason)
		if e.Site != n.story.Site || !n.wants(StepQuality) {
			n.aside(e.ID, b)
			return
		}
	case message.EventStationOffline:
		b.Step = StepOffline
		b.Line = fmt.Sprintf("%s: silent — %s", site, e.Reason)
		if e.Site != n.story.Site || !n.wants(StepOffline) {
			n.aside(e.ID, b)
			return
		}
	case message.EventStationOnline:
		b.Step = StepOnline
		b.Line = fmt.Sprintf("%s: reporting again", site)
		if e.Site != n.story.Site || !n.wants(StepOnline) || !n.has(StepOffline) {
			n.aside(e.ID, b)
			return
		}
	default:
		return
	}
	n.beat(b)
}

// Update takes one record from the incidents topic.
func (n *Narrator) Update(u message.IncidentUpdate) {
	n.mu.Lock()
	defer n.mu.Unlock()
	switch {
	case u.Incident != nil:
		n.incident(*u.Incident)
	case u.Notification != nil:
		n.notification(*u.Notification)
	case u.Log != nil:
		n.logEntry(*u.Log)
	}
}

// logEntry tells the audit-trail entries that matter to the story: who acknowledged, and
// the incident's turns (a level change, a playbook joining, an escalation, a reopening).
func (n *Narrator) logEntry(l message.LogEntry) {
	if n.incidentID == "" || l.IncidentID != n.incidentID {
		return
	}
	switch l.Action {
	case "acknowledged":
		if n.wants(StepAcknowledge) {
			n.beat(Beat{Step: StepAcknowledge, Sim: n.simNow, IncidentID: l.IncidentID, At: l.At,
				Line: fmt.Sprintf("%s acknowledged by %s", l.IncidentID, l.Actor)})
		}
	case "level_changed", "playbook_added", "escalated", "reopened":
		n.aside(l.ID, Beat{Step: StepIncident, Sim: n.simNow, Line: fmt.Sprintf("%s: %s", strings.ReplaceAll(l.Action, "_", " "), shorten(l.Detail, 100))})
	}
}

func (n *Narrator) incident(inc message.Incident) {
	if v, ok := n.versions[inc.ID]; ok && inc.Version <= v {
		return // a replay or an older snapshot
	}
	n.versions[inc.ID] = inc.Version
	n.judged(inc)
	if n.incidentID == "" {
		if n.story.Drill != inc.Drill || inc.Status != message.IncidentOpen && inc.Status != message.IncidentAcknowledged {
			return
		}
		if n.story.Site != "" && !n.related(inc) {
			return
		}
		n.incidentID = inc.ID
		n.beat(Beat{Step: StepIncident, Sim: n.simNow, IncidentID: inc.ID, Site: inc.Site, At: inc.UpdatedAt,
			Line: fmt.Sprintf("%s %q — level %s, %s warning, playbook %s, sites %s, jurisdictions %s",
				inc.ID, inc.Title, inc.Level, inc.Colour, inc.Playbook, strings.Join(inc.Sites, ", "), strings.Join(inc.Jurisdictions, ", "))})
		if n.OnIncident != nil {
			go n.OnIncident(inc.ID)
		}
	}
	if inc.ID != n.incidentID {
		return
	}
	n.last = inc
	for _, st := range inc.Steps {
		if i := strings.Index(st.Action, rankingMark); i >= 0 {
			n.aside("sources:"+inc.ID+":"+st.ID, Beat{Step: NoteSources, Sim: n.simNow, IncidentID: inc.ID, Site: inc.Site,
				Line: fmt.Sprintf("%s step %s (%s/%s): %s", inc.ID, st.ID, st.Jurisdiction, st.Role, shorten(st.Action[i:], 220))})
		}
	}
	if inc.AckedAt != nil && !n.has(StepAcknowledge) {
		n.beat(Beat{Step: StepAcknowledge, Sim: n.simNow, IncidentID: inc.ID, At: *inc.AckedAt,
			Line: fmt.Sprintf("%s acknowledged at %s (status %s)", inc.ID, inc.AckedAt.In(n.loc).Format("15:04:05"), inc.Status)})
	}
	if (inc.Status == message.IncidentResolved || inc.Status == message.IncidentClosed) && !n.has(StepResolved) {
		at := inc.UpdatedAt
		if inc.ResolvedAt != nil {
			at = *inc.ResolvedAt
		}
		n.beat(Beat{Step: StepResolved, Sim: n.simNow, IncidentID: inc.ID, At: at,
			Line: fmt.Sprintf("%s %s", inc.ID, inc.Status)})
	}
}

// judged tells, once each, that an incident's alarms are held and what the responder's
// verdict on it is, whichever incident it is: a faulty sensor beside the story's spill is
// part of what the demo shows.
func (n *Narrator) judged(inc message.Incident) {
	if len(inc.InhibitedBy) == 0 && inc.Verdict == nil {
		return
	}
	if n.held == nil {
		n.held = map[string]message.Incident{}
	}
	n.held[inc.ID] = inc
	if len(inc.InhibitedBy) > 0 {
		n.aside("inhibited:"+inc.ID, Beat{Step: NoteInhibited, Sim: n.simNow, IncidentID: inc.ID, Site: inc.Site,
			Line: fmt.Sprintf("%s %q held (%s): the maintenance unit is told, the river chief not paged", inc.ID, inc.Title, strings.Join(inc.InhibitedBy, "; "))})
	}
	if v := inc.Verdict; v != nil {
		why := ""
		if len(v.Evidence) > 0 {
			why = ": " + strings.Join(v.Evidence, "; ")
		}
		n.aside("verdict:"+inc.ID+":"+v.Kind, Beat{Step: NoteVerdict, Sim: n.simNow, IncidentID: inc.ID, Site: inc.Site,
			Line: fmt.Sprintf("%s %q — %s (confidence %.1f)%s", inc.ID, inc.Title, v.Kind, v.Confidence, shorten(why, 160))})
	}
}

// rankingMark starts the upstream ranking in the repository's step texts (the {sources}
// of configs/playbooks.yaml, docs/sources.md): a deployment's own wording goes untold.
const rankingMark = "溯源排序"

// verificationText says when the plume rose and peaked at the site against the window:
// the errors are observed − predicted.
func verificationText(v message.Verification, at func(time.Time) string) string {
	if v.RiseAt.IsZero() {
		return ": no rise above " + num(v.Threshold) + " within the band"
	}
	return fmt.Sprintf(": rose %s (%+.0f min against the expected leading edge), peak %s at %s (%+.0f min)",
		at(v.RiseAt), v.RiseErrorS/60, num(v.Peak), at(v.PeakAt), v.PeakTimeErrorS/60)
}

// Held returns the incidents seen inhibited or judged by the responder, latest version
// each, in no order.
func (n *Narrator) Held() []message.Incident {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]message.Incident, 0, len(n.held))
	for _, inc := range n.held {
		out = append(out, inc)
	}
	return out
}

// related reports whether an incident concerns the story's site or its prediction site.
// An incident opened by the outfall's own exceedance becomes the story's once the section
// joins it: the joint response is what the story is about.
func (n *Narrator) related(inc message.Incident) bool {
	for _, s := range append([]string{inc.Site}, inc.Sites...) {
		if s == n.story.Site || s == n.story.PredictionSite {
			return true
		}
	}
	return false
}

func (n *Narrator) notification(no message.Notification) {
	if no.Status != "sent" || n.notified[no.Key] {
		return
	}
	n.notified[no.Key] = true
	b := Beat{Step: StepNotified, Sim: n.simNow, IncidentID: no.IncidentID, At: no.At,
		Line: fmt.Sprintf("%s → %s via %s: %s", no.Kind, no.Recipient, no.Channel, shorten(firstNonEmpty(no.Subject, no.Body), 60))}
	ours := no.IncidentID == n.incidentID && n.incidentID != ""
	if ours {
		n.sent = append(n.sent, no)
		if no.Kind == "end_of_alert" {
			b.Step = StepEndOfAlert
			if n.wants(StepEndOfAlert) {
				n.beat(b)
				return
			}
		} else if n.wants(StepNotified) {
			n.beat(b)
			return
		}
	}
	// One message usually goes to many recipients at once: tell it once, with all of them.
	if b.Step == StepNotified && no.Kind == "end_of_alert" {
		b.Step = StepEndOfAlert
	}
	subject := shorten(firstNonEmpty(no.Subject, no.Body), 60)
	if g := n.group; g != nil && g.kind == no.Kind && g.subject == subject && g.step == b.Step {
		g.to = append(g.to, recipientName(no.Recipient))
		return
	}
	n.flush()
	n.group = &noteGroup{step: b.Step, kind: no.Kind, subject: subject, sim: b.Sim, started: n.now(), to: []string{recipientName(no.Recipient)}}
}

// noteGroup is a notification told aside, still collecting the recipients of the same
// message.
type noteGroup struct {
	step, kind, subject string
	sim, started        time.Time
	to                  []string
}

// recipientName shortens "jurisdiction/role/name" to the name.
func recipientName(r string) string {
	if i := strings.LastIndexByte(r, '/'); i >= 0 {
		return r[i+1:]
	}
	return r
}

// Flush prints a notification still collecting recipients once it has collected them for
// at least age. The narrator prints it by itself when anything else happens; call Flush
// now and then so that the last one does not wait for that.
func (n *Narrator) Flush(age time.Duration) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.group != nil && n.now().Sub(n.group.started) >= age {
		n.flush()
	}
}

func (n *Narrator) flush() {
	g := n.group
	if g == nil {
		return
	}
	n.group = nil
	t := stepTitles[g.step]
	// The same recipient can get one message for several steps (two escalations to the
	// emergency office): name it once, with the count.
	var names []string
	count := map[string]int{}
	for _, r := range g.to {
		if count[r] == 0 {
			names = append(names, r)
		}
		count[r]++
	}
	for i, r := range names {
		if count[r] > 1 {
			names[i] = fmt.Sprintf("%s ×%d", r, count[r])
		}
	}
	fmt.Fprintf(n.out, "%s │ sim %s │   · %s %s: %s %s → %s\n", n.now().In(n.loc).Format("15:04:05"), n.simText(g.sim),
		t[0], t[1], g.kind, g.subject, strings.Join(names, ", "))
}

// wants reports whether step belongs to the story and has not happened yet.
func (n *Narrator) wants(step string) bool {
	if !slices.Contains(n.steps, step) {
		return false
	}
	_, done := n.done[step]
	return !done
}

func (n *Narrator) has(step string) bool { _, ok := n.done[step]; return ok }

// beat records and prints a story step.
func (n *Narrator) beat(b Beat) {
	n.flush()
	b.Wall = n.now()
	n.done[b.Step] = b
	n.order = append(n.order, b)
	t := stepTitles[b.Step]
	// Steps are numbered as they happen: the pipeline's order is part of the story (an
	// outfall's exceedance can warn the intake before the section downstream exceeds).
	fmt.Fprintf(n.out, "%s │ sim %s │ %s %s %-13s %s\n", b.Wall.In(n.loc).Format("15:04:05"), n.simText(b.Sim),
		circled(len(n.order)), padZH(t[0], 8), t[1], b.Line)
}

// aside prints something that happened around the story (another site's exceedance, a
// further notification) once, indented under the steps.
func (n *Narrator) aside(key string, b Beat) {
	if n.extra[key] {
		return
	}
	n.extra[key] = true
	n.flush()
	t := stepTitles[b.Step]
	fmt.Fprintf(n.out, "%s │ sim %s │   · %s %s: %s\n", n.now().In(n.loc).Format("15:04:05"), n.simText(b.Sim), t[0], t[1], b.Line)
}

// Summary prints the outcome: every step with its time, or what is missing.
func (n *Narrator) Summary(w io.Writer) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.flush()
	if m := n.missing(); len(m) > 0 {
		fmt.Fprintf(w, "story incomplete: missing %s\n", strings.Join(m, ", "))
		return
	}
	first := n.order[0].Wall
	fmt.Fprintf(w, "story complete: %d steps in %s (wall clock)\n", len(n.order), n.order[len(n.order)-1].Wall.Sub(first).Round(time.Second))
}

func (n *Narrator) seeSim(t time.Time) {
	if t.After(n.simNow) {
		n.simNow = t
	}
}

func (n *Narrator) simText(t time.Time) string {
	if t.IsZero() {
		return "--     --:--"
	}
	return t.In(n.loc).Format("01-02 15:04")
}

// interceptText is the interception a prediction at an intake recommends (docs/plume.md,
// "Emergency spaces and interception"), appended to its line; "" for a
// prediction that carries none.
func (n *Narrator) interceptText(p message.Prediction) string {
	ic := p.Interception
	if ic.IsZero() {
		if p.InterceptionNoneReason == "" {
			return ""
		}
		return "; intercept: none — " + p.InterceptionNoneReason
	}
	left := time.Duration(ic.TimeLeftS) * time.Second
	return fmt.Sprintf("; intercept at %s %s (%s, %s km %s, %s km above the intake) by %s, %dh%02dm left",
		ic.Space, ic.Name, ic.Kind, ic.River, num(ic.Km), num(ic.ToIntakeKm), n.simText(ic.ActBy), int(left.Hours()), int(left.Minutes())%60)
}

func (n *Narrator) siteName(id string) string {
	if s, ok := n.net.Site(id); ok && s.Name != "" {
		return id + " " + s.Name
	}
	return id
}

func paramName(code string) string {
	zh, en := standard.Describe(code)
	switch {
	case zh == "" && en == "":
		return code
	case zh == "":
		return en
	}
	return zh + " " + en
}

func unitOf(param string) string {
	if u := standard.CanonicalUnit(param); u != "" && u != "1" {
		return u
	}
	return ""
}

func classText(e message.Event) string {
	switch {
	case e.Class != "" && e.TargetClass != "" && e.Limit > 0:
		return fmt.Sprintf("class %s (target %s, limit %s)", e.Class, e.TargetClass, num(e.Limit))
	case e.Class != "" && e.TargetClass != "":
		return fmt.Sprintf("class %s (target %s)", e.Class, e.TargetClass)
	case e.Class != "":
		return "class " + e.Class
	case e.Limit > 0:
		return "limit " + num(e.Limit)
	}
	return "within limits"
}

// latency says how long after the gateway received the reading the event was emitted.
func latency(e message.Event) string {
	if e.ReadingReceivedAt.IsZero() || e.EmittedAt.IsZero() || e.EmittedAt.Before(e.ReadingReceivedAt) {
		return ""
	}
	return fmt.Sprintf(" [%s after the reading]", e.EmittedAt.Sub(e.ReadingReceivedAt).Round(time.Millisecond))
}

func multipleText(e message.Event) string {
	if e.Multiple <= 0 {
		return ""
	}
	return fmt.Sprintf(", %s× over", num(e.Multiple))
}

// num prints a value with three significant digits, without trailing zeros.
func num(v float64) string {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	digits := max(0, 2-int(math.Floor(math.Log10(math.Abs(v)))))
	s := strconv.FormatFloat(v, 'f', digits, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

func circled(i int) string {
	const c = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫"
	r := []rune(c)
	if i >= 1 && i <= len(r) {
		return string(r[i-1])
	}
	return strconv.Itoa(i) + "."
}

// padZH pads a Chinese label to width columns (CJK characters are two columns wide).
func padZH(s string, width int) string {
	w := 0
	for _, r := range s {
		if r > 0x2E80 {
			w += 2
		} else {
			w++
		}
	}
	if w >= width {
		return s
	}
	return s + strings.Repeat(" ", width-w)
}

func shorten(s string, n int) string {
	r := []rune(strings.ReplaceAll(s, "\n", " "))
	if len(r) <= n {
		return string(r)
	}
	return string(r[:n]) + "…"
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
