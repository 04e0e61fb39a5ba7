package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// queryableEvery: one probe in this many is also followed through the api until its
// reading can be read back, so that the polling does not load the api and ClickHouse
// enough to change the other figures.
const queryableEvery = 3

// queryablePoll is how often the api is asked for a followed probe's reading.
const queryablePoll = 100 * time.Millisecond

// queryable polls GET /api/v1/sites/{site}/readings (raw, nh3n, the last hour) until the
// probe's reading is there and returns the time from accepted (the gateway's answer to the
// probe, or Kafka's ack) to that response: reading → queryable through the API, as a user
// of the dashboard sees it. The archiver's batching and ClickHouse's insert are in it.
func (e *Env) queryable(ctx context.Context, site string, accepted time.Time, limit time.Duration) (time.Duration, error) {
	api := e.serviceAddr("api")
	if api == "" {
		return 0, notAvailable("no api")
	}
	q := url.Values{"parameter": {"nh3n"}, "resolution": {"raw"},
		"from": {accepted.Add(-time.Hour).UTC().Format(time.RFC3339)}, "to": {accepted.Add(time.Hour).UTC().Format(time.RFC3339)}}
	u := "http://" + api + "/api/v1/sites/" + site + "/readings?" + q.Encode()
	client := &http.Client{Timeout: 5 * time.Second}
	deadline := accepted.Add(limit)
	for time.Now().Before(deadline) {
		n, err := e.points(ctx, client, u)
		if err != nil {
			return 0, err
		}
		if n > 0 {
			return time.Since(accepted), nil
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(queryablePoll):
		}
	}
	return 0, fmt.Errorf("%s: the probe's reading was not queryable through the api within %s", site, limit)
}

// points returns how many points the api's readings answer at u holds.
func (e *Env) points(ctx context.Context, client *http.Client, u string) (int, error) {
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
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET %s: %s: %s", u, resp.Status, firstLine(string(body)))
	}
	var r struct {
		Series []struct {
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
