package dashboard_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/riverwatch/riverwatch/pkg/auth"
	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/network"
	"github.com/riverwatch/riverwatch/pkg/standard"
	"github.com/riverwatch/riverwatch/pkg/testinfra"
	"github.com/riverwatch/riverwatch/services/api/internal/api"
	"github.com/riverwatch/riverwatch/services/api/internal/api/apitest"
	"github.com/riverwatch/riverwatch/services/api/internal/dashboard"
)

// These are browser tests of the real dashboard in a real headless Chromium (Debian's
// chromium package), served by the real api handler over an in-memory store seeded with a
// picture of the configured network, and a command applier that plays the responder.
// Screenshots go to artifacts/screenshots/.

// chromium finds the browser: $RIVERWATCH_CHROMIUM, else Debian's chromium on the PATH.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("RIVERWATCH_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("RIVERWATCH_INTEGRATION") == "1" {
		t.Fatal("no chromium binary on the PATH (apt-get install -y chromium); make test needs it for the browser tests")
	}
	t.Skip("browser test: no chromium binary on the PATH (apt-get install -y chromium, or set RIVERWATCH_CHROMIUM); make test installs it")
	return ""
}

type harness struct {
	t       *testing.T
	srv     *httptest.Server
	store   *apitest.MemStore
	applier *apitest.Applier
	fix     apitest.Fixture
	net     *network.Network
	ctx     context.Context
	shots   string
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	exe := chromium(t)
	root := testinfra.ModuleRoot(t)
	net, err := network.Load(filepath.Join(root, "configs", "sites.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := auth.Load(filepath.Join(root, "configs", "tokens.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	store := apitest.NewMemStore()
	fix := apitest.Seed(store, net, time.Now())
	applier := &apitest.Applier{Store: store, Delay: 300 * time.Millisecond}
	s, err := api.NewServer(api.Options{
		Network: net, Tokens: tokens, Store: store, Commander: applier, Corrector: applier, Assets: dashboard.Assets(),
		CommandTimeout: 5 * time.Second, CommandPoll: 20 * time.Millisecond, RefreshInterval: 200 * time.Millisecond,
		// The stored backtest of the api's tests (#/backtest).
		BacktestDir: filepath.Join(root, "services", "api", "internal", "api", "testdata", "backtests"),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	watchCtx, stopWatch := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = s.NewWatcher().Run(watchCtx); close(done) }()

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun,
		chromedp.WindowSize(1440, 1000),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() {
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
		stopWatch()
		<-done
		srv.CloseClientConnections()
		srv.Close()
		applier.Wait()
	})
	shots := filepath.Join(root, "artifacts", "screenshots")
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, srv: srv, store: store, applier: applier, fix: fix, net: net, ctx: ctx, shots: shots}
}

// do runs browser steps, failing the test (with a screenshot) at the first error.
func (h *harness) do(steps ...chromedp.Action[chromedp.Void]) {
	h.t.Helper()
	if err := chromedp.Do(h.ctx, steps...); err != nil {
		h.shot("failure-" + strings.ReplaceAll(h.t.Name(), "/", "_"))
		h.t.Fatal(err)
	}
}

// get runs one browser action and returns its value.
func get[T any](h *harness, a chromedp.Action[T]) T {
	h.t.Helper()
	v, err := chromedp.Run(h.ctx, a)
	if err != nil {
		h.shot("failure-" + strings.ReplaceAll(h.t.Name(), "/", "_"))
		h.t.Fatal(err)
	}
	return v
}

// shot saves a full-page PNG screenshot as an artifact.
func (h *harness) shot(name string) {
	h.t.Helper()
	buf, err := chromedp.Run(h.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		h.t.Logf("screenshot %s: %v", name, err)
		return
	}
	path := filepath.Join(h.shots, name+".png")
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		h.t.Fatal(err)
	}
	h.t.Logf("screenshot: %s", path)
}

// signIn opens the dashboard, which asks for a token, and types it into the dialog as a
// person would.
func (h *harness) signIn(token, lang string) {
	h.do(
		chromedp.Navigate(h.srv.URL+"/"),
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := chromedp.Evaluate[any](fmt.Sprintf(`localStorage.clear(); localStorage.setItem('rw.lang', %q)`, lang))(ctx, t)
			return err
		}),
		chromedp.Navigate(h.srv.URL+"/"),
		chromedp.WaitVisible(`[data-testid="token-input"]`),
		chromedp.SendKeys(`[data-testid="token-input"]`, token),
		chromedp.Click(`[data-testid="token-save"]`),
		chromedp.WaitVisible(`body[data-ready="overview"]`),
	)
}

type dot struct {
	Site   string `json:"site"`
	Kind   string `json:"kind"`
	Class  string `json:"class"`
	Fill   string `json:"fill"`
	Status string `json:"status"`
}

func TestOverviewShowsEveryConfiguredSiteColouredByClass(t *testing.T) {
	h := newHarness(t)
	h.signIn("dev-admin-token", "zh")
	dots := get(h, chromedp.Evaluate[[]dot](`[...document.querySelectorAll('.schematic g.site')].map(g => ({
		site: g.dataset.site, kind: g.dataset.kind, class: g.dataset.class || '', status: g.dataset.status,
		fill: (g.querySelector('.dot').getAttribute('fill') || '').toLowerCase() }))`))
	counters := get(h, chromedp.Evaluate[map[string]string](`Object.fromEntries([...document.querySelectorAll('[data-testid^="count-"]')].map(e => [e.dataset.testid, e.textContent.trim()]))`))
	title := get(h, chromedp.Text(`.brand [data-i18n]`))
	h.shot("overview")

	if title != "昌吉市河流水质预警" {
		t.Errorf("the dashboard is Chinese first: title %q", title)
	}
	got := map[string]dot{}
	for _, d := range dots {
		got[d.Site] = d
	}
	for _, site := range h.net.Sites() {
		d, ok := got[site.ID]
		if !ok {
			t.Errorf("site %s (%s) is not drawn on the schematic", site.ID, site.Name)
			continue
		}
		if site.Kind == network.KindOutfall {
			if d.Kind != "outfall" {
				t.Errorf("outfall %s drawn as %q", site.ID, d.Kind)
			}
			continue
		}
		want := h.fix.Classes[site.ID]
		if d.Class != want.String() {
			t.Errorf("site %s: class %q, want %q", site.ID, d.Class, want)
		}
		if d.Fill != want.Color() {
			t.Errorf("site %s (class %s): colour %s, want %s (facts §2.3)", site.ID, want, d.Fill, want.Color())
		}
	}
	if len(dots) != len(h.net.Sites()) {
		t.Errorf("%d sites drawn, %d configured", len(dots), len(h.net.Sites()))
	}
	// Every colour of the scale is on screen: the seed gives one site of each class.
	seen := map[string]bool{}
	for _, d := range dots {
		seen[d.Fill] = true
	}
	for _, c := range []standard.Class{standard.ClassII, standard.ClassIII, standard.ClassIV, standard.ClassV, standard.ClassWorseV} {
		if !seen[c.Color()] {
			t.Errorf("colour of class %s (%s) not on the overview", c, c.Color())
		}
	}
	if counters["count-sites"] != fmt.Sprint(len(h.net.Sites())) {
		t.Errorf("site counter %q, want %d", counters["count-sites"], len(h.net.Sites()))
	}
	if counters["count-incidents"] != "2" {
		t.Errorf("open incident counter %q, want 2 (one open, one acknowledged)", counters["count-incidents"])
	}
	if n := counters["count-exceeding"]; n == "" || n == "0" {
		t.Errorf("exceeding counter %q, want the seeded exceedances counted", n)
	}
}

func TestResponderAcknowledgesAnIncidentFromTheBoard(t *testing.T) {
	h := newHarness(t)
	h.signIn("dev-responder-changji", "zh")
	card := fmt.Sprintf(`article[data-incident=%q]`, h.fix.OpenIncident)
	h.do(
		chromedp.Navigate(h.srv.URL+"/#/incidents"),
		chromedp.WaitVisible(card+`[data-status="open"] [data-testid="ack"]`),
	)
	before := get(h, chromedp.Text(card+` [data-testid="incident-status"]`))
	h.shot("incidents-before-ack")
	if before != "未确认" {
		t.Errorf("status before: %q, want 未确认", before)
	}
	h.do(
		chromedp.Click(card+` [data-testid="ack"]`),
		chromedp.WaitVisible(card+`[data-status="acknowledged"]`),
	)
	after := get(h, chromedp.Text(card+` [data-testid="incident-status"]`))
	ackButtons := get(h, chromedp.Evaluate[int](fmt.Sprintf(`document.querySelectorAll('%s [data-testid="ack"]').length`, card)))
	h.shot("incidents-after-ack")
	if after != "已确认" {
		t.Errorf("status after: %q, want 已确认", after)
	}
	if ackButtons != 0 {
		t.Errorf("the acknowledge button is still offered after acknowledging")
	}
	sent := h.applier.Sent()
	if len(sent) != 1 || sent[0].Type != "acknowledge" || sent[0].IncidentID != h.fix.OpenIncident || sent[0].Actor != "昌吉市应急值班" {
		t.Errorf("commands sent: %+v, want one acknowledge of %s by 昌吉市应急值班", sent, h.fix.OpenIncident)
	}
	inc, err := h.store.Incident(context.Background(), h.fix.OpenIncident)
	if err != nil || inc.Status != "acknowledged" {
		t.Errorf("stored incident: %v %v", inc.Status, err)
	}
}

// M2: resolving sends End of Alert to everyone, so the board asks first; and only the
// origin's desk is offered acknowledge and resolve.
func TestResolvingAsksForConfirmationAndOnlyTheOriginMayResolve(t *testing.T) {
	h := newHarness(t)
	h.signIn("dev-responder-changji", "zh")
	card := fmt.Sprintf(`article[data-incident=%q]`, h.fix.OpenIncident)
	upstream := fmt.Sprintf(`article[data-incident=%q]`, h.fix.AckedIncident)
	h.do(
		chromedp.Navigate(h.srv.URL+"/#/incidents"),
		chromedp.WaitVisible(card+` [data-action="resolve"]`),
	)
	offered := get(h, chromedp.Evaluate[int](fmt.Sprintf(`document.querySelectorAll('%s [data-action="resolve"], %s [data-action="ack"]').length`, upstream, upstream)))
	if offered != 0 {
		t.Errorf("changji's desk is offered %d acknowledge/resolve buttons on an incident that started in urumqi", offered)
	}
	// The person says no: nothing is sent.
	get(h, chromedp.Evaluate[bool](`window.asked = []; window.confirm = (m) => { window.asked.push(m); return false; }; true`))
	h.do(chromedp.Click(card + ` [data-action="resolve"]`))
	asked := get(h, chromedp.Evaluate[[]string](`window.asked`))
	if len(asked) != 1 || !strings.Contains(asked[0], "解除") {
		t.Fatalf("confirmation asked %q, want one question before resolving", asked)
	}
	if sent := h.applier.Sent(); len(sent) != 0 {
		t.Fatalf("commands sent after the person declined: %+v", sent)
	}
	// The person says yes: the incident is resolved.
	get(h, chromedp.Evaluate[bool](`window.confirm = () => true; true`))
	h.do(
		chromedp.Click(card+` [data-action="resolve"]`),
		chromedp.WaitNotPresent(card), // the board shows active incidents: a resolved one leaves it
	)
	if inc, err := h.store.Incident(context.Background(), h.fix.OpenIncident); err != nil || inc.Status != "resolved" {
		t.Errorf("stored incident: %v %v", inc.Status, err)
	}
	if sent := h.applier.Sent(); len(sent) != 1 || sent[0].Type != "resolve" || sent[0].ActorRole != "responder" {
		t.Errorf("commands sent after the person confirmed: %+v, want one resolve with the actor's role", sent)
	}
}

// M10: under the Content-Security-Policy (no inline style) the colours still show: they
// are set through the CSSOM from data attributes.
func TestColoursSurviveTheContentSecurityPolicy(t *testing.T) {
	h := newHarness(t)
	h.signIn("dev-admin-token", "zh")
	n := get(h, chromedp.Evaluate[int](`[...document.querySelectorAll('[data-bg]')].filter(e => e.style.backgroundColor !== '').length`))
	inline := get(h, chromedp.Evaluate[int](`document.querySelectorAll('[style]:not([data-bg]):not([data-fg])').length`))
	if n == 0 {
		t.Error("no element got its colour from data-bg")
	}
	if inline != 0 {
		t.Errorf("%d elements carry an inline style attribute of their own", inline)
	}
}

func TestViewerSeesNoActionButtonsAndOnlyItsJurisdiction(t *testing.T) {
	h := newHarness(t)
	h.signIn("dev-viewer-xpcc6", "zh")
	sites := get(h, chromedp.Evaluate[[]string](`[...document.querySelectorAll('.schematic g.site')].map(g => g.dataset.site)`))
	if strings.Join(sites, ",") != "STH-S3" {
		t.Errorf("xpcc6 viewer sees sites %v, want only STH-S3", sites)
	}
	h.do(
		chromedp.Navigate(h.srv.URL+"/#/incidents"),
		chromedp.WaitVisible(`body[data-ready="incidents"] [data-testid="incident-board"]`),
	)
	cards := get(h, chromedp.Evaluate[[]string](`[...document.querySelectorAll('article[data-incident]')].map(a => a.dataset.incident)`))
	buttons := get(h, chromedp.Evaluate[int](`document.querySelectorAll('[data-action]').length`))
	h.shot("incidents-viewer-xpcc6")
	if strings.Join(cards, ",") != h.fix.OpenIncident {
		t.Errorf("xpcc6 viewer sees incidents %v, want only %s (it concerns xpcc6 downstream)", cards, h.fix.OpenIncident)
	}
	if buttons != 0 {
		t.Errorf("a viewer is offered %d action buttons", buttons)
	}
}

func TestSitePageDrawsEachParameterAgainstItsClassBands(t *testing.T) {
	h := newHarness(t)
	h.signIn("dev-admin-token", "en")
	type chartInfo struct {
		Param  string `json:"param"`
		Bands  int    `json:"bands"`
		Target int    `json:"target"`
		Line   bool   `json:"line"`
		Events int    `json:"events"`
	}
	h.do(
		chromedp.Navigate(h.srv.URL+"/#/site/STH-S2"),
		chromedp.WaitVisible(`body[data-ready="site"] .chart[data-param="nh3n"]`),
	)
	charts := get(h, chromedp.Evaluate[[]chartInfo](`[...document.querySelectorAll('.chart')].map(c => ({
		param: c.dataset.param, bands: c.querySelectorAll('svg > rect').length,
		target: c.querySelectorAll('line.target').length, line: (c.querySelector('path.line').getAttribute('d') || '').length > 10,
		events: c.querySelectorAll('[data-event]').length }))`))
	h.shot("site-STH-S2")
	byParam := map[string]int{}
	for i, c := range charts {
		byParam[c.Param] = i
		if !c.Line {
			t.Errorf("%s: no series line", c.Param)
		}
	}
	nh3n, ok := byParam["nh3n"]
	if !ok {
		t.Fatalf("no nh3n chart among %+v", charts)
	}
	if c := charts[nh3n]; c.Bands < 5 || c.Target != 1 || c.Events < 2 {
		t.Errorf("nh3n chart: %+v, want ≥5 class bands, the target line and the 2 exceedance events", c)
	}
	if i, ok := byParam["ph"]; !ok || charts[i].Target != 2 {
		t.Errorf("pH chart should show the 6–9 range as two target lines: %+v", charts)
	}
}

func TestReportsPageShowsPlanIndicatorsAndRiverRatings(t *testing.T) {
	h := newHarness(t)
	h.signIn("dev-admin-token", "zh")
	h.do(
		chromedp.Navigate(h.srv.URL+"/#/reports"),
		chromedp.WaitVisible(`body[data-ready="reports"] [data-testid="indicators"]`),
	)
	indicators := get(h, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="indicators"] tbody tr').length`))
	firstIndicator := get(h, chromedp.Text(`[data-testid="indicators"] tbody tr td`))
	rivers := get(h, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="rivers"] tbody tr').length`))
	h.shot("reports")
	if indicators != 5 || firstIndicator != "水质达到或好于Ⅲ类的河流断面比例" {
		t.Errorf("indicators: %d rows, first %q; want the 5 water indicators of 表2—1", indicators, firstIndicator)
	}
	if rivers != 2 {
		t.Errorf("river ratings: %d rows, want 2 (头屯河, 三屯河)", rivers)
	}
}

// The reports page scores the drills: a row per jurisdiction for the year, and a row per
// step of each drill with its outcome against the deadline (apitest.SeedDrills).
func TestReportsPageShowsTheDrillScores(t *testing.T) {
	h := newHarness(t)
	fix := apitest.SeedDrills(h.store, time.Now(), h.net.Location)
	h.signIn("dev-admin-token", "zh")
	h.do(
		chromedp.Navigate(h.srv.URL+"/#/reports"),
		chromedp.WaitVisible(`body[data-ready="reports"] [data-testid="drill-year"]`),
		chromedp.WaitVisible(`[data-testid="drill-list"]`),
	)
	jurisdictions := get(h, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="drill-year"] tbody tr').length`))
	running := get(h, chromedp.Evaluate[[]string](fmt.Sprintf(`[...document.querySelectorAll('tr[data-drill=%q]')].map((r) => r.dataset.outcome + ' ' + r.lastElementChild.textContent.trim())`, fix.Running)))
	changji := get(h, chromedp.Evaluate[string](`document.querySelector('[data-testid="drill-year"] tr[data-jurisdiction="changji"] td').textContent`))
	h.shot("reports-drills")
	if jurisdictions != 4 {
		t.Errorf("drill year: %d rows, want one per jurisdiction (4), those that did not drill included", jurisdictions)
	}
	// The running drill: urumqi's step pending with its deadline ahead, changji's missed.
	if !slices.Equal(running, []string{"pending 进行中", "missed 未完成"}) {
		t.Errorf("running drill's steps %q, want pending then missed", running)
	}
	if changji != "昌吉市" {
		t.Errorf("changji's row is named %q", changji)
	}
}

func TestReportsPageShowsThePredictionSkillOfEachReach(t *testing.T) {
	h := newHarness(t)
	// The worked examples of docs/plume.md ("Skill per reach") on STH-S2 → STH-D2, observed
	// just now (this year's report): rises 30 min late and 20 min early (verified), 90 min
	// late (refuted), and one refutation that never rose. The three that rose carry the
	// verification's errors against the window: rise +20, −5 and +60 min; the peak seen in
	// the first two (−10 and +15 min, +0.2 and −0.05 mg/L), the fall in the first (+30 min).
	// And on STH-S1 → STH-S2 one verification 10 min late stored without them (measured 0).
	now := time.Now().UTC().Truncate(time.Second)
	add := func(typ, origin, site string, n int, late time.Duration, value float64, v message.Verification) {
		observed := now.Add(-time.Duration(n) * time.Minute)
		arrival := observed.Add(-late)
		h.store.AddEvents(message.Event{
			ID: message.EventID(typ, site, "nh3n", arrival, origin), Type: typ, Site: site, Parameter: "nh3n",
			Value: value, ObservedAt: observed, EmittedAt: observed, OriginSite: origin, ArrivalAt: arrival, Verification: v,
		})
	}
	// mins is m minutes in seconds; seen a peak's or a fall's time (only whether it was seen counts).
	mins := func(m float64) float64 { return m * 60 }
	seen := now.Add(-time.Hour)
	add(message.EventPredictionVerified, "STH-S2", "STH-D2", 1, 30*time.Minute, 0.9, message.Verification{Outcome: "verified", Threshold: 0.5,
		RiseErrorS: mins(20), PeakAt: seen, Peak: 0.9, PeakTimeErrorS: mins(-10), PeakError: 0.2, FallAt: seen, DurationErrorS: mins(30)})
	add(message.EventPredictionVerified, "STH-S2", "STH-D2", 2, -20*time.Minute, 1.1, message.Verification{Outcome: "verified", Threshold: 0.5,
		RiseErrorS: mins(-5), PeakAt: seen, Peak: 1.1, PeakTimeErrorS: mins(15), PeakError: -0.05})
	add(message.EventPredictionRefuted, "STH-S2", "STH-D2", 3, 90*time.Minute, 0.8, message.Verification{Outcome: "refuted", Threshold: 0.5, RiseErrorS: mins(60)})
	add(message.EventPredictionRefuted, "STH-S2", "STH-D2", 4, time.Hour, 0, message.Verification{})
	add(message.EventPredictionVerified, "STH-S1", "STH-S2", 5, 10*time.Minute, 1.0, message.Verification{})
	h.signIn("dev-viewer-changji", "zh")
	h.do(
		chromedp.Navigate(h.srv.URL+"/#/reports"),
		chromedp.WaitVisible(`body[data-ready="reports"] [data-testid="skill"]`),
	)
	head := get(h, chromedp.Evaluate[[]string](`[...document.querySelectorAll('[data-testid="skill"] thead th')].map(th => th.textContent.trim())`))
	rows := get(h, chromedp.Evaluate[[][]string](`[...document.querySelectorAll('[data-testid="skill-reach"]')].map(tr => [...tr.cells].map(td => td.textContent.trim()))`))
	h.shot("reports-skill")
	name := func(id string) string { s, _ := h.net.Site(id); return s.Name }
	wantHead := []string{"河段（起点 → 预测点位）", "检验", "应验", "未应验", "命中率", "平均时间误差（分钟）", "平均绝对误差（分钟）",
		"起涨误差（分钟）", "起涨绝对误差（分钟）", "峰现时间误差（分钟）", "峰值误差（mg/L）", "历时误差（分钟）"}
	if !slices.Equal(head, wantHead) {
		t.Errorf("skill table columns %q, want %q", head, wantHead)
	}
	// By from-site. STH-S2 → STH-D2: timing (30 − 20 + 90)/3 = +33.3, absolute 46.7; rise
	// (20 − 5 + 60)/3 = +25.0, absolute (20 + 5 + 60)/3 = 28.3; peak time (−10 + 15)/2 =
	// +2.5, peak (0.2 − 0.05)/2 = +0.075; duration +30.0 (one fall seen). STH-S1 → STH-S2:
	// +10.0 and 10.0, nothing measured.
	want := [][]string{
		{name("STH-S1") + " → " + name("STH-S2"), "1", "1", "0", "100%", "+10.0", "10.0", "-", "-", "-", "-", "-"},
		{name("STH-S2") + " → " + name("STH-D2"), "4", "2", "2", "50%", "+33.3", "46.7", "+25.0", "28.3", "+2.5", "+0.075", "+30.0"},
	}
	if fmt.Sprint(rows) != fmt.Sprint(want) {
		t.Errorf("skill table %q, want %q", rows, want)
	}
}

func TestDashboardRefreshesItselfWhenAnIncidentArrives(t *testing.T) {
	h := newHarness(t)
	h.signIn("dev-viewer-changji", "zh")
	h.do(chromedp.WaitVisible(`#live[data-state="on"]`)) // the event stream is connected
	if n := get(h, chromedp.Text(`[data-testid="count-incidents"]`)); n != "2" {
		t.Fatalf("open incidents before: %q", n)
	}
	now := time.Now().UTC()
	h.store.PutIncident(message.Incident{
		ID: "inc-new", Version: 1, Title: "努尔加水库 总磷预警", Status: message.IncidentOpen, Level: "IV", Site: "STH-D1",
		Sites: []string{"STH-D1"}, Jurisdictions: []string{"changji"}, OpenedAt: now, UpdatedAt: now,
	})
	// No reload, no click: the page learns of the change from /api/v1/stream.
	get(h, chromedp.Poll[bool](`document.querySelector('[data-testid="count-incidents"]').textContent.trim() === '3'`, chromedp.WithPollingTimeout(15*time.Second)))
	h.shot("overview-refreshed")
}

// Silences: an admin sees every live silence, creates a maintenance window from the form
// and expires one after confirming; a viewer sees its jurisdictions' silences and no
// controls; a silenced incident is marked on the board.
func TestSilencesPageCreatesListsAndExpires(t *testing.T) {
	h := newHarness(t)
	h.signIn("dev-admin-token", "zh")
	row := func(id string) string { return fmt.Sprintf(`tr[data-silence=%q]`, id) }
	h.do(
		chromedp.Navigate(h.srv.URL+"/#/silences"),
		chromedp.WaitVisible(`body[data-ready="silences"] [data-testid="silence-form"]`),
		chromedp.WaitVisible(row(h.fix.OwnSilence)+`[data-state="active"]`),
	)
	live := get(h, chromedp.Evaluate[int](`document.querySelectorAll('tr[data-silence]').length`))
	if live != 3 {
		t.Errorf("%d live silences listed to an admin of everything, want 3", live)
	}
	get(h, chromedp.Evaluate[bool](`(() => { const f = document.querySelector('#silence-form');
		f.site.value = 'STH-O1'; f.parameter.value = 'cod'; f.hours.value = '4'; f.comment.value = '在线监测仪维护';
		f.querySelector('input[name=day][value=tue]').checked = true; return true; })()`))
	h.do(
		chromedp.Click(`[data-testid="silence-create"]`),
		chromedp.WaitVisible(`body[data-ready="silences"] tr[data-silence]:nth-of-type(4)`),
	)
	h.shot("silences-created")
	sent := h.applier.Sent()
	if len(sent) != 1 || sent[0].Type != message.CommandSilenceCreate || sent[0].Silence == nil ||
		len(sent[0].Silence.Matchers) != 2 || sent[0].Silence.Matchers[0].Value != "STH-O1" || sent[0].Silence.Recurrence == nil ||
		sent[0].Silence.Comment != "在线监测仪维护" {
		t.Fatalf("commands sent: %+v", sent)
	}
	get(h, chromedp.Evaluate[bool](`window.confirm = () => true; true`))
	h.do(
		chromedp.Click(row(h.fix.OwnSilence)+` [data-expire]`),
		chromedp.WaitNotPresent(row(h.fix.OwnSilence)),
	)
	if sent := h.applier.Sent(); len(sent) != 2 || sent[1].Type != message.CommandSilenceExpire || sent[1].SilenceID != h.fix.OwnSilence {
		t.Errorf("expire sent %+v", sent)
	}

	// A silenced incident is marked on the board.
	inc, err := h.store.Incident(context.Background(), h.fix.OpenIncident)
	if err != nil {
		t.Fatal(err)
	}
	inc.Version++
	inc.SilencedBy = []string{h.fix.OwnSilence}
	// So is an inhibited one, with its verdict and evidence.
	inc.InhibitedBy = []string{"station STH-S2 offline (incident inc-maint)"}
	inc.Verdict = &message.Verdict{Kind: message.VerdictSensorFaultLikely, Confidence: 0.7, At: inc.UpdatedAt,
		Evidence: []string{"STH-S2 jumped", "upstream neighbour STH-S1 did not jump"}}
	h.store.PutIncident(inc)
	card := fmt.Sprintf(`article[data-incident=%q]`, h.fix.OpenIncident)
	h.do(
		chromedp.Navigate(h.srv.URL+"/#/incidents"),
		chromedp.WaitVisible(card+` [data-testid="silenced"]`),
		chromedp.WaitVisible(card+` [data-testid="inhibited"]`),
	)
	h.shot("incident-inhibited")
	said := get(h, chromedp.Evaluate[string](fmt.Sprintf(`document.querySelector('%s [data-testid="verdict"]').innerText`, card)))
	if !strings.Contains(said, "疑似仪器故障") || !strings.Contains(said, "70%") || !strings.Contains(said, "upstream neighbour STH-S1 did not jump") {
		t.Errorf("the verdict reads %q", said)
	}

	v := newHarness(t)
	v.signIn("dev-viewer-changji", "zh")
	v.do(
		chromedp.Navigate(v.srv.URL+"/#/silences"),
		chromedp.WaitVisible(`body[data-ready="silences"] `+row(v.fix.RiverSilence)),
	)
	controls := get(v, chromedp.Evaluate[int](`document.querySelectorAll('#silence-form, [data-expire]').length`))
	outside := get(v, chromedp.Evaluate[int](fmt.Sprintf(`document.querySelectorAll('%s').length`, row(v.fix.OutsideSilence))))
	if controls != 0 || outside != 0 {
		t.Errorf("a viewer of changji is offered %d controls and sees %d silences of xpcc12", controls, outside)
	}
}

// TestTheIncidentCardListsItsStationCommandsAndTheirAnswers: the playbook's raised
// frequency at the incident's station shows on its card with what the station answered.
func TestTheIncidentCardListsItsStationCommandsAndTheirAnswers(t *testing.T) {
	h := newHarness(t)
	site, _ := h.net.Site("STH-S2")
	at := time.Now().Add(-time.Minute)
	raise := message.StationCommand{Site: site.ID, MN: site.Station.MN, Command: message.StationRaiseFrequency, RtdInterval: 60,
		RequestedBy: "responder", RequestedRole: "playbook", Reason: "加密监测", Incident: h.fix.OpenIncident, TTLSeconds: 3600,
		At: at, Status: message.StationRequested}
	raise.ID = message.StationCommandID(site.ID, raise.Command, raise.RequestedBy, at)
	executed := raise.Outcome(message.StationExecuted, "gw-a", at.Add(2*time.Second))
	executed.ExeRtn, executed.Detail = "1", "ExeRtn=1 (executed)"
	h.store.AddStationCommands(raise, executed)
	h.signIn("dev-viewer-changji", "zh")
	h.do(
		chromedp.Navigate(h.srv.URL+"/#/incidents"),
		chromedp.WaitVisible(fmt.Sprintf(`article[data-incident=%q] [data-testid="station-commands"]`, h.fix.OpenIncident)),
	)
	cells := get(h, chromedp.Evaluate[[]string](fmt.Sprintf(`[...(document.querySelector('article[data-incident=%q] [data-testid="station-commands"] tr[data-command=%q]')?.cells || [])].map(c => c.innerText.trim())`,
		h.fix.OpenIncident, raise.ID)))
	h.shot("incident-station-commands")
	want := []string{site.Name, "加密监测 60 s", "executed ExeRtn=1 (executed)"}
	if len(cells) != 5 || !slices.Equal(cells[1:4], want) {
		t.Errorf("station command row %q, want time, %q, time", cells, want)
	}
}

// box is an element's place on the screen.
type box struct {
	Left   float64 `json:"left"`
	Right  float64 `json:"right"`
	Width  float64 `json:"width"`
	Height float64 `json:"height"`
}

// TestAnIncidentWorksOnAPhone: a duty officer opens the link of a WeCom or DingTalk message
// on a phone (390 CSS pixels wide), reads who does what with the roles' Chinese names,
// confirms receipt and acknowledges; nothing on the page is wider than the screen.
func TestAnIncidentWorksOnAPhone(t *testing.T) {
	const width = 390
	h := newHarness(t)
	inc, err := h.store.Incident(context.Background(), h.fix.OpenIncident)
	if err != nil {
		t.Fatal(err)
	}
	// Steps as the responder writes them: role ids of configs/contacts.yaml.
	inc.Version++
	inc.Steps = append(inc.Steps,
		message.Step{ID: "s4", Relation: "self", Jurisdiction: "changji", Role: "river_chief_office", Action: "报告河长：三屯河城区下游断面氨氮超标，请组织排查",
			Deadline: inc.OpenedAt.Add(time.Hour), ConfirmReceipt: true},
		message.Step{ID: "s5", Relation: "downstream_to_intake", Jurisdiction: "changji", Role: "water_plant", Action: "加密监测",
			Deadline: inc.OpenedAt.Add(2 * time.Hour)})
	h.store.PutIncident(inc)
	h.do(chromedp.EmulateViewport(width, 844, chromedp.EmulateMobile, chromedp.EmulateTouch))
	h.signIn("dev-responder-changji", "zh")
	card := fmt.Sprintf(`article[data-incident=%q]`, h.fix.OpenIncident)
	overflow := func(where string) {
		t.Helper()
		w := get(h, chromedp.Evaluate[map[string]float64](`({doc: document.documentElement.scrollWidth, body: document.body.scrollWidth, inner: window.innerWidth})`))
		if w["inner"] != width || w["doc"] > width || w["body"] > width {
			h.shot("phone-overflow-" + where)
			t.Errorf("%s: scrollWidth %v (body %v) in a %v px wide window, want at most %d", where, w["doc"], w["body"], w["inner"], width)
		}
	}
	onScreen := func(sel string) {
		t.Helper()
		b := get(h, chromedp.Evaluate[box](fmt.Sprintf(`(() => { const r = document.querySelector(%q).getBoundingClientRect(); return {left: r.left, right: r.right, width: r.width, height: r.height}; })()`, sel)))
		if b.Left < 0 || b.Right > width || b.Height < 40 || b.Width < 44 {
			t.Errorf("%s is at %+v: want it inside the %d px screen and at least 44×40 px to tap", sel, b, width)
		}
	}

	// The message's link opens this incident alone.
	h.do(
		chromedp.Navigate(h.srv.URL+"/#/incidents/"+h.fix.OpenIncident),
		chromedp.WaitVisible(card+`[data-status="open"] [data-testid="ack"]`),
	)
	h.shot("phone-incident")
	if n := get(h, chromedp.Evaluate[int](`document.querySelectorAll('article[data-incident]').length`)); n != 1 {
		t.Errorf("the incident's own page shows %d incidents, want 1", n)
	}
	overflow("incident")
	receipt := card + ` tr[data-step="s4"] [data-action="receipt"]`
	onScreen(receipt)
	onScreen(card + ` [data-testid="ack"]`)

	roles := get(h, chromedp.Evaluate[[]string](fmt.Sprintf(`[...document.querySelectorAll('%s tr[data-step] [data-testid="step-role"]')].map(e => e.innerText.trim())`, card)))
	if !slices.Contains(roles, "河长办") || !slices.Contains(roles, "水厂") || slices.Contains(roles, "river_chief_office") {
		t.Errorf("roles read %q, want the Chinese names 河长办 and 水厂, not their ids", roles)
	}
	// Each cell of a step says what it is, once the table is a list.
	label := get(h, chromedp.Evaluate[string](fmt.Sprintf(`getComputedStyle(document.querySelector('%s tr[data-step="s4"] [data-testid="step-role"]'), '::before').content`, card)))
	if !strings.Contains(label, "责任单位") {
		t.Errorf("the role cell is labelled %s on a phone, want 责任单位 (the table's heading is hidden)", label)
	}

	h.do(
		chromedp.Click(receipt),
		chromedp.WaitVisible(card+` tr[data-step="s4"] .done`),
	)
	overflow("after receipt")
	h.do(
		chromedp.Click(card+` [data-testid="ack"]`),
		chromedp.WaitVisible(card+`[data-status="acknowledged"]`),
	)
	h.shot("phone-incident-acknowledged")
	sent := h.applier.Sent()
	var types []string
	for _, c := range sent {
		types = append(types, c.Type)
	}
	if len(sent) != 2 || sent[0].Type != message.CommandConfirmReceipt || sent[0].StepID != "s4" || sent[1].Type != message.CommandAcknowledge {
		t.Errorf("commands sent %q (%+v), want a receipt of s4, then an acknowledgement", types, sent)
	}

	// The audit trail, opened, and the whole board fit too.
	h.do(chromedp.Click(card + ` details summary`))
	overflow("audit trail")
	h.do(
		chromedp.Navigate(h.srv.URL+"/#/incidents"),
		chromedp.WaitVisible(`[data-testid="incident-board"] `+card),
	)
	overflow("board")
	if n := get(h, chromedp.Evaluate[int](`document.querySelectorAll('article[data-incident]').length`)); n < 2 {
		t.Errorf("the board shows %d incidents, want every active one", n)
	}
}

// TestTheIncidentBoardFitsAPhoneForEveryRole: the board and an incident's page, as each
// kind of token sees them (an admin's drill controls, a viewer's read-only cards) and in
// both languages (English labels are longer), are no wider than a 390 px phone.
func TestTheIncidentBoardFitsAPhoneForEveryRole(t *testing.T) {
	const width = 390
	tests := []struct {
		name, token, lang string
	}{
		{"admin, Chinese", "dev-admin-token", "zh"},
		{"admin, English", "dev-admin-token", "en"},
		{"viewer, Chinese", "dev-viewer-changji", "zh"},
		{"responder, English", "dev-responder-changji", "en"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.do(chromedp.EmulateViewport(width, 844, chromedp.EmulateMobile, chromedp.EmulateTouch))
			h.signIn(tt.token, tt.lang)
			for _, page := range []string{"#/incidents", "#/incidents/" + h.fix.AckedIncident} {
				h.do(
					chromedp.Navigate(h.srv.URL+"/"+page),
					chromedp.WaitVisible(fmt.Sprintf(`article[data-incident=%q]`, h.fix.AckedIncident)),
				)
				if page == "#/incidents" {
					// Every incident the token may see, resolved ones too.
					h.do(chromedp.Click(`[data-filter="all"]`), chromedp.WaitVisible(`[data-filter="all"].on`))
					h.shot("phone-board-" + strings.NewReplacer(", ", "-", " ", "-").Replace(tt.name))
				}
				w := get(h, chromedp.Evaluate[map[string]float64](`({doc: document.documentElement.scrollWidth, inner: window.innerWidth})`))
				if w["inner"] != width || w["doc"] > width {
					h.shot("phone-overflow-" + strings.ReplaceAll(tt.name, ", ", "-"))
					t.Errorf("%s: scrollWidth %v in a %v px window, want at most %d", page, w["doc"], w["inner"], width)
				}
			}
		})
	}
}

// TestTheIncidentCardRanksTheUpstreamSources: opening 溯源 on the spill's card loads the
// ranking, the outfall that spilled first with its evidence.
func TestTheIncidentCardRanksTheUpstreamSources(t *testing.T) {
	h := newHarness(t)
	// Ten days back, away from the seeded hourly readings, and half a day off the hour of
	// the seeded daily ones (apitest.Seed), which would otherwise fall into the windows.
	apitest.SeedSpill(h.store, time.Now().Add(-10*24*time.Hour+12*time.Hour))
	h.signIn("dev-viewer-changji", "zh")
	card := fmt.Sprintf(`article[data-incident=%q]`, apitest.SpillIncident)
	h.do(
		chromedp.Navigate(h.srv.URL+"/#/incidents"),
		chromedp.WaitVisible(card+` details[data-sources] summary`),
		chromedp.Click(card+` details[data-sources] summary`),
		chromedp.WaitVisible(card+` [data-testid="sources"] tbody tr`),
	)
	rows := get(h, chromedp.Evaluate[[]string](fmt.Sprintf(`[...document.querySelectorAll('%s [data-testid="sources"] tbody tr')].map(r => r.dataset.site + ' ' + r.cells[2].innerText.trim())`, card)))
	evidence := get(h, chromedp.Evaluate[string](fmt.Sprintf(`document.querySelector('%s [data-testid="sources"] tbody tr').cells[4].innerText`, card)))
	h.shot("incident-sources")
	if len(rows) != 3 || !strings.HasPrefix(rows[0], "STH-O1 0.9") {
		t.Errorf("ranking rows %q, want STH-O1 first with a score over 0.9, then STH-S1 and STH-D1", rows)
	}
	if !strings.Contains(evidence, "over its limit 5") || !strings.Contains(evidence, "discharge 0.6 m³/s") {
		t.Errorf("STH-O1's evidence on the card: %q", evidence)
	}
}

// The reports page shows, per site, its non-detects as HJ/T 91 writes them and what its
// assessment rests on: STH-D2 has automatic NH3-N (apitest.Seed) and gets a manual NH3-N
// sample, which the automatic data set aside, and two lab phenol samples below 0.002.
func TestReportsPageShowsNonDetectsAndTheDataSource(t *testing.T) {
	h := newHarness(t)
	at := h.fix.Now.Truncate(time.Hour).Add(-5 * time.Hour)
	if at.In(h.net.Location).Year() != h.fix.Now.In(h.net.Location).Year() {
		t.Skip("the first hours of a year: the seeded samples would fall in the year before")
	}
	lab := func(param string, v float64, at time.Time, belowDL bool) message.Reading {
		return message.Reading{ID: message.ReadingID("STH-D2", param, message.IntervalSample, at), Site: "STH-D2", Parameter: param,
			Value: v, Unit: "mg/L", Interval: message.IntervalSample, Flag: message.FlagNormal, ObservedAt: at, ReceivedAt: at,
			Source: message.SourceCSV, BelowDL: belowDL}
	}
	h.store.AddReadings(lab("nh3n", 1.8, at, false), lab("phenol", 0.002, at, true), lab("phenol", 0.002, at.Add(-time.Hour), true))
	h.signIn("dev-admin-token", "zh")
	h.do(
		chromedp.Navigate(h.srv.URL+"/#/reports"),
		chromedp.WaitVisible(`body[data-ready="reports"] tr[data-site="STH-D2"] [data-testid="non-detects"]`),
	)
	nd := get(h, chromedp.Evaluate[string](`document.querySelector('tr[data-site="STH-D2"] [data-testid="non-detects"]').textContent.trim()`))
	src := get(h, chromedp.Evaluate[string](`document.querySelector('tr[data-site="STH-D2"] [data-testid="data-source"]').textContent.trim()`))
	other := get(h, chromedp.Evaluate[string](`document.querySelector('tr[data-site="STH-S2"] [data-testid="data-source"]').textContent.trim()`))
	h.shot("reports-non-detects")
	if nd != "挥发酚 0.002L" {
		t.Errorf("STH-D2 non-detects %q, want 挥发酚 0.002L", nd)
	}
	if !strings.HasPrefix(src, "自动+手工") || !strings.Contains(src, "−1 nh3n") {
		t.Errorf("STH-D2 data source %q, want 自动+手工 with the set-aside NH3-N sample (−1 nh3n)", src)
	}
	if other != "自动监测" {
		t.Errorf("STH-S2 data source %q, want 自动监测", other)
	}
	// The site page writes the latest phenol as its limit with L.
	h.do(
		chromedp.Navigate(h.srv.URL+"/#/site/STH-D2"),
		chromedp.WaitVisible(`body[data-ready="site"] [data-testid="below-dl"]`),
	)
	cell := get(h, chromedp.Evaluate[string](`document.querySelector('[data-testid="below-dl"]').parentElement.textContent.trim()`))
	if cell != "0.0020L mg/L" {
		t.Errorf("latest phenol cell %q, want 0.0020L mg/L", cell)
	}
}

// The reports page lists the year's months with their compliance and links to each month's
// printable report (月报), which shows the month's sites, chart and incidents.
func TestReportsPageLinksEachMonthToItsPrintableMonthlyReport(t *testing.T) {
	h := newHarness(t)
	loc := h.net.Location
	now := h.fix.Now.In(loc)
	if now.Month() == time.January {
		t.Skip("January: the year has no complete month to report yet")
	}
	prev := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, loc).AddDate(0, -1, 0).Format("2006-01")
	h.signIn("dev-admin-token", "zh")
	h.do(
		chromedp.Navigate(h.srv.URL+"/#/reports"),
		chromedp.WaitVisible(`body[data-ready="reports"] [data-testid="monthly-months"]`),
	)
	months := get(h, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="monthly-months"] tbody tr').length`))
	met := get(h, chromedp.Evaluate[string](fmt.Sprintf(`document.querySelector('[data-testid="monthly-months"] tr[data-month=%q] [data-testid="monthly-met"]').textContent`, prev)))
	if months != int(now.Month()) || met == "-" {
		t.Errorf("months table: %d rows (want %d), %s met %q", months, int(now.Month()), prev, met)
	}
	h.do(
		chromedp.Click(fmt.Sprintf(`tr[data-month=%q] a[data-testid="monthly-link"]`, prev)),
		chromedp.WaitVisible(`body[data-ready="monthly"] [data-testid="monthly-sites"]`),
	)
	title := get(h, chromedp.Text(`[data-testid="monthly-title"]`))
	sites := get(h, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="monthly-sites"] tbody tr').length`))
	bars := get(h, chromedp.Evaluate[int](`[...document.querySelectorAll('[data-testid="class-count"]')].reduce((n, el) => n + Number(el.textContent), 0)`))
	meeting := get(h, chromedp.Text(`[data-testid="monthly-meeting"]`))
	h.shot("monthly-report")
	y, m := prev[:4], strings.TrimPrefix(prev[5:], "0")
	if title != "昌吉市河流水质月报（"+y+"年"+m+"月）" {
		t.Errorf("title %q", title)
	}
	if sites != 8 {
		t.Errorf("%d site rows, want the 8 sections and sources", sites)
	}
	// The chart counts the rated sites; the counter says met/rated.
	if rated := meeting[strings.Index(meeting, "/")+1:]; rated != fmt.Sprint(bars) || met != meeting {
		t.Errorf("chart counts %d sites, counter %q, months table %q: they must agree", bars, meeting, met)
	}
}

// TestTheIncidentCardDownloadsTheEEBReports (#21): an open incident's card offers the
// follow-up report (续报) and not yet the final one; its button fetches the text report with
// the token, and the answer is the report.
func TestTheIncidentCardDownloadsTheEEBReports(t *testing.T) {
	h := newHarness(t)
	h.signIn("dev-viewer-changji", "zh")
	card := fmt.Sprintf(`article[data-incident=%q]`, h.fix.OpenIncident)
	h.do(
		chromedp.Navigate(h.srv.URL+"/#/incidents"),
		chromedp.WaitVisible(card+` [data-testid="report-follow_up"]`),
	)
	if n := get(h, chromedp.Evaluate[int](`document.querySelectorAll('`+card+` [data-testid="report-final"]').length`)); n != 0 {
		t.Errorf("an open incident offers the final report (%d buttons)", n)
	}
	// Record what the button fetches: the path, the status and the text's first line; the
	// download itself (the anchor's click) is not saved anywhere.
	get(h, chromedp.Evaluate[bool](`HTMLAnchorElement.prototype.click = function () { if (!this.download) HTMLElement.prototype.click.call(this); };
		window.__reports = []; const f = window.fetch; window.fetch = async (p, o) => {
		const r = await f(p, o); if (String(p).includes('/report?')) r.clone().text().then((t) => window.__reports.push([String(p), String(r.status), t.split('\n')[0]])); return r; };
		true`))
	h.do(chromedp.Click(card + ` [data-testid="report-follow_up"]`))
	var got [][]string
	for range 50 {
		if got = get(h, chromedp.Evaluate[[][]string](`window.__reports`)); len(got) > 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	want := []string{"/api/v1/incidents/" + h.fix.OpenIncident + "/report?kind=follow_up&format=text", "200", "突发水污染事件续报"}
	if len(got) != 1 || !slices.Equal(got[0], want) {
		t.Errorf("the follow-up button fetched %q, want %q", got, want)
	}
}
