// Package silencecli is "api silences": list, create and expire silences through a running
// api's REST API (/api/v1/silences) with a bearer token, as amtool does for Alertmanager.
//
//	api silences [-url URL] [-token TOKEN] list [-state pending,active,expired]
//	api silences [-url URL] [-token TOKEN] create -m site=STH-S2 -m 'parameter=~nh3n|tp' (-for 2h | -until TIME) [-from TIME] -comment TEXT [-end-on-resolve] [-weekly tue,fri@09:00+2h]
//	api silences [-url URL] [-token TOKEN] expire ID
//
// The token defaults to $RIVERWATCH_TOKEN, the URL to $RIVERWATCH_API_URL, else
// http://127.0.0.1:8080.
package silencecli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/riverwatch/riverwatch/pkg/silence"
	"github.com/riverwatch/riverwatch/services/api/internal/api"
)

// Usage is the subcommand's usage text.
const Usage = `usage: api silences [-url URL] [-token TOKEN] <command>

commands:
  list   [-state pending,active,expired]           the silences the token sees
  create -m NAME=VALUE|NAME=~REGEX ... (-for D | -until TIME) [-from TIME] -comment TEXT
         [-end-on-resolve] [-weekly DAYS@HH:MM+DURATION [-tz ZONE]]
  expire ID                                        end a silence now

Matcher names: site, parameter, river, jurisdiction, kind. TIME is RFC 3339.
The token defaults to $RIVERWATCH_TOKEN, the URL to $RIVERWATCH_API_URL (else http://127.0.0.1:8080).
`

// Env names read for defaults.
const (
	EnvToken = "RIVERWATCH_TOKEN"
	EnvURL   = "RIVERWATCH_API_URL"
)

// Client calls the api's silence routes.
type Client struct {
	BaseURL string
	Token   string
	HTTP    *http.Client
}

// Run runs "api silences" with args (after "silences") and returns the exit code: 0 done,
// 1 the api refused or failed, 2 a usage error.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("api silences", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, Usage) }
	base := fs.String("url", envOr(EnvURL, "http://127.0.0.1:8080"), "the api's base URL")
	token := fs.String("token", os.Getenv(EnvToken), "bearer token (an admin's to create or expire)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	rest := fs.Args()
	if len(rest) == 0 {
		fs.Usage()
		return 2
	}
	c := &Client{BaseURL: strings.TrimRight(*base, "/"), Token: *token, HTTP: &http.Client{Timeout: 30 * time.Second}}
	var err error
	switch rest[0] {
	case "list":
		err = c.list(ctx, rest[1:], stdout, stderr)
	case "create":
		err = c.create(ctx, rest[1:], stdout, stderr)
	case "expire":
		err = c.expire(ctx, rest[1:], stdout)
	default:
		fmt.Fprintf(stderr, "api silences: unknown command %q\n\n", rest[0])
		fs.Usage()
		return 2
	}
	var ue usageError
	switch {
	case errors.As(err, &ue):
		fmt.Fprintln(stderr, "api silences:", err)
		return 2
	case err != nil:
		fmt.Fprintln(stderr, "api silences:", err)
		return 1
	}
	return 0
}

type usageError struct{ error }

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// do sends one request and decodes a 2xx answer into out; any other answer is an error
// carrying the api's message.
func (c *Client) do(ctx context.Context, method, path string, body, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, fmt.Errorf("encode request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, rd)
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return resp.StatusCode, fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(b, &e) == nil && e.Error != "" {
			return resp.StatusCode, fmt.Errorf("%s %s: HTTP %d: %s", method, path, resp.StatusCode, e.Error)
		}
		return resp.StatusCode, fmt.Errorf("%s %s: HTTP %d: %s", method, path, resp.StatusCode, strings.TrimSpace(string(b)))
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: decode answer: %w", method, path, err)
		}
	}
	return resp.StatusCode, nil
}

func (c *Client) list(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("api silences list", flag.ContinueOnError)
	fs.SetOutput(stderr)
	state := fs.String("state", "", "comma-separated states: pending, active, expired (default pending,active)")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	path := "/api/v1/silences"
	if *state != "" {
		path += "?state=" + url.QueryEscape(*state)
	}
	var res api.SilencesResponse
	if _, err := c.do(ctx, http.MethodGet, path, nil, &res); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tSTARTS\tENDS\tMATCHERS\tCREATED BY\tCOMMENT")
	for _, s := range res.Silences {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, s.State, s.StartsAt.Format(time.RFC3339), s.EndsAt.Format(time.RFC3339),
			Matchers(s.Matchers)+recurrence(s.Recurrence), s.CreatedBy, s.Comment)
	}
	return tw.Flush()
}

// Matchers writes matchers as the create command reads them: name=value, name=~regex.
func Matchers(ms []silence.Matcher) string {
	parts := make([]string, len(ms))
	for i, m := range ms {
		op := "="
		if m.IsRegex {
			op = "=~"
		}
		parts[i] = m.Name + op + m.Value
	}
	return strings.Join(parts, ",")
}

func recurrence(r *silence.Recurrence) string {
	if r == nil {
		return ""
	}
	return fmt.Sprintf(" weekly %s@%s+%s", strings.Join(r.Weekdays, ","), r.Start, r.Duration)
}

// ParseMatcher reads "name=value" or "name=~regex".
func ParseMatcher(s string) (silence.Matcher, error) {
	name, value, ok := strings.Cut(s, "=")
	if !ok || name == "" {
		return silence.Matcher{}, fmt.Errorf("matcher %q: want NAME=VALUE or NAME=~REGEX", s)
	}
	if v, isRegex := strings.CutPrefix(value, "~"); isRegex {
		return silence.Matcher{Name: name, Value: v, IsRegex: true}, nil
	}
	return silence.Matcher{Name: name, Value: value}, nil
}

// ParseWeekly reads "tue,fri@09:00+2h".
func ParseWeekly(s string) (*silence.Recurrence, error) {
	days, rest, ok := strings.Cut(s, "@")
	start, dur, ok2 := strings.Cut(rest, "+")
	if !ok || !ok2 || days == "" {
		return nil, fmt.Errorf("weekly %q: want DAYS@HH:MM+DURATION, e.g. tue,fri@09:00+2h", s)
	}
	return &silence.Recurrence{Weekdays: strings.Split(days, ","), Start: start, Duration: dur}, nil
}

type multi []string

func (m *multi) String() string     { return strings.Join(*m, " ") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

func (c *Client) create(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("api silences create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var ms multi
	fs.Var(&ms, "m", "matcher NAME=VALUE or NAME=~REGEX (repeat: every one must match)")
	from := fs.String("from", "", "start, RFC 3339 (default now)")
	until := fs.String("until", "", "end, RFC 3339")
	forD := fs.Duration("for", 0, "end this long after the start (instead of -until)")
	comment := fs.String("comment", "", "why (required)")
	endOnResolve := fs.Bool("end-on-resolve", false, "end the silence when an incident it holds resolves")
	weekly := fs.String("weekly", "", "only inside weekly windows: DAYS@HH:MM+DURATION, e.g. tue@09:00+2h")
	tz := fs.String("tz", "", "the weekly windows' time zone (default Asia/Shanghai)")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	req := api.SilenceRequest{Comment: *comment, EndOnResolve: *endOnResolve}
	for _, s := range ms {
		m, err := ParseMatcher(s)
		if err != nil {
			return usageError{err}
		}
		req.Matchers = append(req.Matchers, m)
	}
	start := time.Now()
	if *from != "" {
		t, err := time.Parse(time.RFC3339, *from)
		if err != nil {
			return usageError{fmt.Errorf("-from: %w", err)}
		}
		start, req.StartsAt = t, &t
	}
	switch {
	case *until != "" && *forD != 0:
		return usageError{errors.New("give -until or -for, not both")}
	case *until != "":
		t, err := time.Parse(time.RFC3339, *until)
		if err != nil {
			return usageError{fmt.Errorf("-until: %w", err)}
		}
		req.EndsAt = t
	case *forD > 0:
		req.EndsAt = start.Add(*forD)
	default:
		return usageError{errors.New("give -until TIME or -for DURATION")}
	}
	if *weekly != "" {
		r, err := ParseWeekly(*weekly)
		if err != nil {
			return usageError{err}
		}
		r.Timezone = *tz
		req.Recurrence = r
	}
	var res api.SilenceResponse
	code, err := c.do(ctx, http.MethodPost, "/api/v1/silences", req, &res)
	if err != nil {
		return err
	}
	if code == http.StatusAccepted {
		fmt.Fprintf(stdout, "%s\tpending: sent, not applied by the responder yet\n", res.SilenceID)
		return nil
	}
	fmt.Fprintf(stdout, "%s\t%s until %s\n", res.SilenceID, res.Silence.State, res.Silence.EndsAt.Format(time.RFC3339))
	return nil
}

func (c *Client) expire(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) != 1 {
		return usageError{errors.New("expire takes one silence id")}
	}
	var res api.SilenceResponse
	code, err := c.do(ctx, http.MethodDelete, "/api/v1/silences/"+url.PathEscape(args[0]), nil, &res)
	if err != nil {
		return err
	}
	if code == http.StatusAccepted {
		fmt.Fprintf(stdout, "%s\tpending: sent, not applied by the responder yet\n", res.SilenceID)
		return nil
	}
	fmt.Fprintf(stdout, "%s\t%s at %s\n", res.SilenceID, res.Silence.State, res.Silence.EndsAt.Format(time.RFC3339))
	return nil
}
