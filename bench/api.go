package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverwatch/riverwatch/pkg/chstore"
	"github.com/riverwatch/riverwatch/pkg/config"
	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/standard"
	"github.com/riverwatch/riverwatch/pkg/store"
	"github.com/segmentio/kafka-go"
)

// The api step's data: a year of readings for apiSites sites × siteParams, one reading
// per parameter every apiEvery, written through the archiver's own Writer (rows and
// rollups as in production), ending apiEnd before now so the throughput runs' recent data
// is elsewhere.
const (
	apiSites     = 5
	apiEvery     = time.Hour
	apiYear      = 365 * 24 * time.Hour
	apiEnd       = 30 * 24 * time.Hour
	apiWindow    = 30 * 24 * time.Hour
	apiParameter = "codmn"
	apiToken     = "rwbench-admin-token"
)

// Figure keys of the api step.
const (
	KeyCHQueryP50 = "api.raw_query.p50"
	KeyCHQueryP99 = "api.raw_query.p99"
)

// APILatency loads a year of readings for a few sites through the archiver's Writer, then
// times GET /api/v1/sites/{id}/readings for a 30-day window of one parameter (the api
// answers from the hourly rollup), and the same rollup query sent straight to ClickHouse.
func APILatency(ctx context.Context, e *Env, s *Step) error {
	if _, err := e.binary("api"); err != nil {
		return err
	}
	if err := e.Services(ctx, "archiver", "api"); err != nil {
		return err
	}
	end := time.Now().UTC().Add(-apiEnd).Truncate(time.Hour)
	seedStart := time.Now()
	rows, err := e.seedYear(ctx, end)
	if err != nil {
		return err
	}
	s.Note("api: %d readings (%d sites × %d parameters, hourly, for a year) written through store.Writer in %s; GET /api/v1/sites/{id}/readings of %s for 30 days (hourly rollup), %d requests one at a time after 5 warm-ups",
		rows, apiSites, len(siteParams), time.Since(seedStart).Round(time.Second), apiParameter, e.Settings.APIRequests)

	from, to := end.Add(-apiWindow), end
	site := loadSiteID(0)
	q := url.Values{"parameter": {apiParameter}, "from": {from.Format(time.RFC3339)}, "to": {to.Format(time.RFC3339)}}
	u := "http://" + e.serviceAddr("api") + "/api/v1/sites/" + site + "/readings?" + q.Encode()
	client := &http.Client{Timeout: 30 * time.Second}
	get := func() (int, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return 0, err
		}
		req.Header.Set("Authorization", "Bearer "+apiToken)
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return 0, err
		}
		if resp.StatusCode != http.StatusOK {
			return 0, fmt.Errorf("GET %s: %s: %s", u, resp.Status, firstLine(string(body)))
		}
		var r struct {
			Resolution string `json:"resolution"`
			Series     []struct {
				Points []json.RawMessage `json:"points"`
			} `json:"series"`
		}
		if err := json.Unmarshal(body, &r); err != nil {
			return 0, fmt.Errorf("GET %s: %w", u, err)
		}
		n := 0
		for _, sr := range r.Series {
			n += len(sr.Points)
		}
		return n, nil
	}
	points, err := get() // warm-up, and a check that the data is there
	if err != nil {
		return err
	}
	if points == 0 {
		return fmt.Errorf("api returned no points for %s %s over %s", site, apiParameter, apiWindow)
	}
	for i := 0; i < 4; i++ {
		if _, err := get(); err != nil {
			return err
		}
	}
	var api []time.Duration
	for i := 0; i < e.Settings.APIRequests && ctx.Err() == nil; i++ {
		t0 := time.Now()
		if _, err := get(); err != nil {
			return err
		}
		api = append(api, time.Since(t0))
	}

	// The same rollup query, straight to ClickHouse over the native protocol.
	conn, err := chstore.Open(ctx, chstore.Config{Addr: e.CHAddr, Database: e.Database, Username: "default", DialTimeout: config.Default().ClickHouse.DialTimeout})
	if err != nil {
		return err
	}
	defer conn.Close()
	sql := fmt.Sprintf(`SELECT parameter, unit, hour, toUInt16(0), value_sum / valid, value_min, value_max, valid, ''
FROM %s.%s FINAL
WHERE site = %s AND parameter IN (%s, %s) AND hour >= toDateTime(%d) AND hour < toDateTime(%d) AND valid > 0
ORDER BY parameter, hour
LIMIT %d BY parameter`, e.Database, store.TableReadingsHourly, quote(site), quote(apiParameter), quote(apiParameter),
		from.Unix(), to.Unix(), 5001)
	query := func() (int, error) {
		r, err := conn.Query(ctx, sql)
		if err != nil {
			return 0, err
		}
		defer r.Close()
		n := 0
		for r.Next() {
			n++
		}
		return n, r.Err()
	}
	for i := 0; i < 5; i++ {
		if _, err := query(); err != nil {
			return fmt.Errorf("raw query: %w", err)
		}
	}
	var raw []time.Duration
	for i := 0; i < e.Settings.APIRequests && ctx.Err() == nil; i++ {
		t0 := time.Now()
		if _, err := query(); err != nil {
			return fmt.Errorf("raw query: %w", err)
		}
		raw = append(raw, time.Since(t0))
	}
	rp := Percentiles(raw, 0.5, 0.99)
	ap := Percentiles(api, 0.5, 0.95, 0.99)
	s.Add(KeyCHQueryP50, "same rollup query straight to ClickHouse p50", ms(rp[0]), "ms")
	s.Add(KeyCHQueryP99, "same rollup query straight to ClickHouse p99", ms(rp[1]), "ms")
	s.Add("api.series30d.p50", fmt.Sprintf("GET 30-day series (%d points) p50", points), ms(ap[0]), "ms").Vs(KeyCHQueryP50)
	s.Add("api.series30d.p95", "GET 30-day series p95", ms(ap[1]), "ms")
	s.Add("api.series30d.p99", "GET 30-day series p99", ms(ap[2]), "ms").Vs(KeyCHQueryP99)
	return nil
}

func sinDeg(d float64) float64 { return math.Sin(d * math.Pi / 180) }

// prepareAPITokens writes the bench's token file (one admin token that sees every
// jurisdiction) before the api starts; the repository's tokens name the real
// jurisdictions, which the bench network does not have.
func (e *Env) prepareAPITokens() error {
	path := filepath.Join(e.WorkDir(), "tokens.yaml")
	e.stack.tokens = path
	return os.WriteFile(path, []byte(`- {token: `+apiToken+`, name: rwbench, role: admin, jurisdictions: ["*"]}`+"\n"), 0o644)
}

// seedYear writes a year of readings ending at end through store.Writer, in batches of
// the archiver's batch size, and returns how many.
func (e *Env) seedYear(ctx context.Context, end time.Time) (int, error) {
	conn, err := e.openCH(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	v, err := chstore.ServerVersion(ctx, conn)
	if err != nil {
		return 0, err
	}
	cfg := config.Default()
	cfg.ClickHouse.Database = e.Database
	tz, _ := time.LoadLocation(cfg.Archiver.RollupTimezone)
	w := store.NewWriter(conn, store.NewSchema(&cfg, v), tz, store.NewMetrics(prometheus.NewRegistry()),
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	topic := e.Topic("api-seed")
	batch := make([]kafka.Message, 0, cfg.Archiver.MaxRows)
	var offset int64
	total := 0
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if _, err := w.Write(ctx, store.KindReadings, topic, batch); err != nil {
			return err
		}
		total += len(batch)
		batch = batch[:0]
		return nil
	}
	start := end.Add(-apiYear)
	for t := start; t.Before(end); t = t.Add(apiEvery) {
		for i := 0; i < apiSites; i++ {
			site := loadSiteID(i)
			for j, p := range siteParams {
				// A seasonal wave plus a daily one, so the rollups hold varied numbers.
				day := float64(t.YearDay())
				v := 2 + 1.5*sinDeg(day) + 0.3*sinDeg(float64(t.Hour())*15) + float64(j)*0.1
				r := message.Reading{
					ID: message.ReadingID(site, p, message.IntervalHour, t), Site: site, Parameter: p, Value: v,
					Unit: standard.CanonicalUnit(p), Interval: message.IntervalHour, Flag: message.FlagNormal,
					ObservedAt: t, ReceivedAt: t.Add(time.Minute), Source: message.SourceHJ212,
				}
				b, err := json.Marshal(r)
				if err != nil {
					return total, err
				}
				batch = append(batch, kafka.Message{Topic: topic, Partition: 0, Offset: offset, Key: []byte(site), Value: b})
				offset++
				if len(batch) == cap(batch) {
					if err := flush(); err != nil {
						return total, err
					}
				}
			}
		}
	}
	return total, flush()
}

// siteParams are the parameters each generated bench site reports.
var siteParams = []string{"temp", "ph", "do", "conductivity", "turbidity", "codmn", "nh3n", "tp", "tn", "cod"}
