package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/riverwatch/riverwatch/pkg/auth"
	"github.com/riverwatch/riverwatch/pkg/hj212"
	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/readingcsv"
)

// Handler returns the HTTP upload API, to mount on the service's mux:
//
//	POST /api/v1/readings       a JSON array of {site, parameter, value, unit, observed_at,
//	                            flag?, interval?, min?, max?, below_dl?}
//	POST /api/v1/readings.csv   CSV with the header site,parameter,value,unit,observed_at
//	                            and optionally flag, interval, min, max, below_dl (any
//	                            order); a value may be written "0.01L" (HJ/T 91-2002)
//
// A non-detect (未检出) is the detection limit as value with below_dl true (or, in CSV,
// the limit with an L): it is stored as the limit and counted at half of it in every
// mean (环办监测函〔2020〕82号, point 7; docs/reports.md).
//
// Authentication: a bearer token of role responder or admin (401 without a valid token,
// 403 for a viewer); a row for a site outside the token's jurisdictions is refused. The
// answer is 200 with {accepted, refused, results: [{row, status, id | reason, detail}],
// refused_by_reason, omitted} once the body parsed, even when rows were refused: results
// lists the first gateway.max_row_results rows, omitted says how many more there were, and
// refused_by_reason counts every refused row by reason. 400 for a body that does not
// parse, 413 past gateway.max_body_bytes or gateway.max_rows rows, 503 when Kafka did not
// take the readings (nothing was accepted; send it again). Rows are numbered from 1 (CSV:
// after the header). interval defaults to "lab"; flag to "N".
//
// A request without a valid token is answered 401 at once, its body unread; its refusal
// is recorded in the background within gateway.unauth_records_per_second (review
// finding M4).
func (g *Gateway) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/readings", func(w http.ResponseWriter, r *http.Request) {
		g.upload(w, r, message.SourceHTTP, "json")
	})
	mux.HandleFunc("POST /api/v1/readings.csv", func(w http.ResponseWriter, r *http.Request) {
		g.upload(w, r, message.SourceCSV, "csv")
	})
	return mux
}

// row is one uploaded reading, whatever the format.
type row struct {
	raw        string
	site       string
	parameter  string
	value      *float64
	unit       *string
	observedAt string
	flag       string
	interval   string
	min, max   *float64
	belowDL    bool
	err        *refusal // the row could not be read
}

// RowResult is the outcome of one uploaded row.
type RowResult struct {
	Row    int    `json:"row"`
	Status string `json:"status"` // accepted or refused
	ID     string `json:"id,omitempty"`
	Reason string `json:"reason,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// UploadResult is the answer to an upload.
type UploadResult struct {
	Accepted int         `json:"accepted"`
	Refused  int         `json:"refused"`
	Results  []RowResult `json:"results"` // the first gateway.max_row_results rows
	// RefusedByReason counts the refused rows by reason, all of them.
	RefusedByReason map[string]int `json:"refused_by_reason,omitempty"`
	// Omitted is how many rows are beyond Results.
	Omitted int `json:"omitted,omitempty"`
}

// errorBody is the answer when the request as a whole is refused.
type errorBody struct {
	Error  string `json:"error"`
	Reason string `json:"reason,omitempty"`
}

func (g *Gateway) upload(w http.ResponseWriter, r *http.Request, source, endpoint string) {
	now := g.clock()
	code := g.serveUpload(w, r, source, now)
	g.m.httpRequests.WithLabelValues(endpoint, strconv.Itoa(code)).Inc()
}

// serveUpload answers an upload and returns the status code.
func (g *Gateway) serveUpload(w http.ResponseWriter, r *http.Request, source string, now time.Time) int {
	remote := r.RemoteAddr
	p, err := g.tokens.Authenticate(r)
	if err != nil {
		g.recordUnauth(&message.Rejection{Reason: ReasonAuthToken, Detail: err.Error(), Source: source, Remote: remote, ReceivedAt: now})
		w.Header().Set("Connection", "close") // the unread body is not drained
		w.Header().Set("WWW-Authenticate", `Bearer realm="riverwatch"`)
		return writeJSON(w, http.StatusUnauthorized, errorBody{Error: err.Error(), Reason: ReasonAuthToken})
	}
	if !p.Can(auth.RoleResponder) {
		detail := "token " + p.Name + " has role " + p.Role + "; uploading needs responder or admin"
		g.refuseRequest(r.Context(), r, source, p.Name, ReasonForbidden, detail, now)
		return writeJSON(w, http.StatusForbidden, errorBody{Error: detail, Reason: ReasonForbidden})
	}
	if r.ContentLength > g.cfg.MaxBodyBytes {
		detail := fmt.Sprintf("body of %d bytes exceeds %d", r.ContentLength, g.cfg.MaxBodyBytes)
		g.refuseRequest(r.Context(), r, source, p.Name, ReasonTooLarge, detail, now)
		return writeJSON(w, http.StatusRequestEntityTooLarge, errorBody{Error: detail, Reason: ReasonTooLarge})
	}
	// A bounded number of uploads is parsed at once: with the per-request bounds below this
	// bounds the memory of all uploads.
	wait := time.NewTimer(g.uploadWait)
	select {
	case g.uploads <- struct{}{}:
		wait.Stop()
		defer func() { <-g.uploads }()
	case <-wait.C:
		w.Header().Set("Retry-After", "5")
		return writeJSON(w, http.StatusServiceUnavailable, errorBody{Error: fmt.Sprintf("%d uploads in progress (gateway.max_concurrent_uploads); send it again later", g.cfg.MaxConcurrentUploads), Reason: ReasonBusy})
	case <-r.Context().Done():
		wait.Stop()
		return writeJSON(w, http.StatusServiceUnavailable, errorBody{Error: "request cancelled while waiting for an upload slot", Reason: ReasonBusy})
	}
	// The body is parsed as it streams in, never held whole: memory per request is bounded
	// by gateway.max_rows rows, not by the body (review finding M3).
	var head rawHead // the first bytes, for the rejection record
	body := io.TeeReader(http.MaxBytesReader(w, r.Body, g.cfg.MaxBodyBytes), &head)
	var rows []row
	if source == message.SourceCSV {
		rows, err = parseCSV(body, g.cfg.MaxRows)
	} else {
		rows, err = parseJSON(body, g.cfg.MaxRows)
	}
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		detail := fmt.Sprintf("body exceeds %d bytes", g.cfg.MaxBodyBytes)
		g.recordRequest(r.Context(), source, p.Name, remote, ReasonTooLarge, detail, head.String(), now)
		return writeJSON(w, http.StatusRequestEntityTooLarge, errorBody{Error: detail, Reason: ReasonTooLarge})
	case errors.Is(err, errTooManyRows):
		detail := fmt.Sprintf("upload has more than %d rows (gateway.max_rows); send it in parts", g.cfg.MaxRows)
		g.recordRequest(r.Context(), source, p.Name, remote, ReasonTooManyRows, detail, head.String(), now)
		w.Header().Set("Connection", "close") // the rest of the body is not read
		return writeJSON(w, http.StatusRequestEntityTooLarge, errorBody{Error: detail, Reason: ReasonTooManyRows})
	case err != nil:
		g.recordRequest(r.Context(), source, p.Name, remote, ReasonBadBody, err.Error(), head.String(), now)
		return writeJSON(w, http.StatusBadRequest, errorBody{Error: err.Error(), Reason: ReasonBadBody})
	}

	var o outbox
	listed := min(len(rows), g.cfg.MaxRowResults)
	res := UploadResult{Results: make([]RowResult, listed), Omitted: len(rows) - listed}
	ids := make(map[string]int, len(rows))
	var spare RowResult // the result of a row beyond the listed ones
	for i := range rows {
		rr := &spare
		if i < listed {
			rr = &res.Results[i]
		} else {
			spare = RowResult{}
		}
		rr.Row = i + 1
		reading, rf := g.checkRow(&rows[i], p, source, now)
		if rf == nil {
			if first, dup := ids[reading.ID]; dup {
				rf = &refusal{ReasonDuplicate, fmt.Sprintf("same site, parameter, interval and time as row %d", first)}
			} else {
				ids[reading.ID] = rr.Row
			}
		}
		if rf != nil {
			rr.Status, rr.Reason, rr.Detail = "refused", rf.reason, rf.detail
			res.Refused++
			if res.RefusedByReason == nil {
				res.RefusedByReason = map[string]int{}
			}
			res.RefusedByReason[rf.reason]++
			o.addRejection(&message.Rejection{
				Reason: rf.reason, Detail: fmt.Sprintf("row %d: %s", rr.Row, rf.detail), Station: p.Name,
				Site: rows[i].site, Parameter: rows[i].parameter, Source: source, Remote: remote, Raw: rows[i].raw, ReceivedAt: now,
			}, false)
			continue
		}
		rr.Status, rr.ID = "accepted", reading.ID
		res.Accepted++
		o.addReading(&reading)
	}
	if err := g.publish(r.Context(), &o); err != nil {
		g.log.Warn("http upload not stored", "token", p.Name, "rows", len(rows), "err", err)
		return writeJSON(w, http.StatusServiceUnavailable, errorBody{Error: "readings not stored, send them again: " + err.Error()})
	}
	g.commit(&o)
	return writeJSON(w, http.StatusOK, res)
}

// checkRow validates one row for principal p.
func (g *Gateway) checkRow(rw *row, p *auth.Principal, source string, now time.Time) (message.Reading, *refusal) {
	if rw.err != nil {
		return message.Reading{}, rw.err
	}
	site, ok := g.net.Site(rw.site)
	if !ok {
		return message.Reading{}, &refusal{ReasonUnknownSite, "no site " + strconv.Quote(rw.site)}
	}
	if !p.Sees(site.Jurisdiction) {
		return message.Reading{}, &refusal{ReasonForbidden, "site " + site.ID + " is in jurisdiction " + site.Jurisdiction + ", outside token " + p.Name + "'s"}
	}
	at, err := time.Parse(time.RFC3339Nano, rw.observedAt)
	if err != nil {
		return message.Reading{}, &refusal{ReasonBadValue, "observed_at " + strconv.Quote(rw.observedAt) + " is not RFC 3339"}
	}
	if rf := g.checkTime(at, now); rf != nil {
		return message.Reading{}, rf
	}
	flag := message.NormalizeFlag(rw.flag) // no flag column, or an empty cell: normal
	if !hj212.ValidDataFlag(flag, hj212.V2017) {
		return message.Reading{}, &refusal{ReasonBadFlag, "flag " + strconv.Quote(flag) + " is not one of N F M S D C T B"}
	}
	interval := rw.interval
	switch interval {
	case "":
		interval = message.IntervalSample
	case message.IntervalRealtime, message.IntervalMinute, message.IntervalHour, message.IntervalDay, message.IntervalSample:
	default:
		return message.Reading{}, &refusal{ReasonBadRow, "interval " + strconv.Quote(interval) + " is not rtd, min, hour, day or lab"}
	}
	c := candidate{site: site, station: p.Name, param: rw.parameter, value: *rw.value, min: rw.min, max: rw.max,
		unit: *rw.unit, flag: flag, interval: interval, observedAt: at, source: source, belowDL: rw.belowDL}
	return validate(&c, now)
}

// jsonRow is a row of the JSON body.
type jsonRow struct {
	Site       string   `json:"site"`
	Parameter  string   `json:"parameter"`
	Value      *float64 `json:"value"`
	Unit       *string  `json:"unit"`
	ObservedAt string   `json:"observed_at"`
	Flag       string   `json:"flag"`
	Interval   string   `json:"interval"`
	Min        *float64 `json:"min"`
	Max        *float64 `json:"max"`
	BelowDL    bool     `json:"below_dl"`
}

// errTooManyRows: the body holds more rows than gateway.max_rows.
var errTooManyRows = errors.New("too many rows")

// parseJSON reads a JSON array of at most maxRows rows (errTooManyRows beyond, found
// without decoding the rest). A body that is not one array is an error; a row that is not
// a valid object is refused on its own.
func parseJSON(body io.Reader, maxRows int) ([]row, error) {
	// Without the whitespace between tokens: encoding/json's Decoder keeps whitespace it
	// peeks over in its buffer, so a body of spaces would be held whole.
	dec := json.NewDecoder(&jsonSpaceFilter{r: body})
	notArray := func(err error) error { return fmt.Errorf("body is not a JSON array of readings: %w", err) }
	tok, err := dec.Token()
	if err != nil {
		return nil, notArray(err)
	}
	if tok == nil {
		return nil, errors.New("body is not a JSON array of readings (null)")
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return nil, notArray(fmt.Errorf("starts with %v", tok))
	}
	var rows []row
	for dec.More() {
		if len(rows) == maxRows {
			return nil, errTooManyRows
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, notArray(err)
		}
		rows = append(rows, parseJSONRow(raw))
	}
	if _, err := dec.Token(); err != nil { // the closing ']'
		return nil, notArray(err)
	}
	switch _, err := dec.Token(); {
	case err == io.EOF:
	case errors.As(err, new(*http.MaxBytesError)):
		return nil, err
	default:
		return nil, errors.New("body has data after the JSON array")
	}
	return rows, nil
}

// jsonSpaceFilter drops the whitespace outside strings of a JSON text (insignificant by
// RFC 8259), in place.
type jsonSpaceFilter struct {
	r        io.Reader
	inString bool
	escaped  bool
}

// Read reads from the source and returns what is left once whitespace is dropped; it
// returns 0 bytes only with an error.
func (f *jsonSpaceFilter) Read(p []byte) (int, error) {
	for {
		n, err := f.r.Read(p)
		w := 0
		for _, c := range p[:n] {
			switch {
			case f.inString:
				switch {
				case f.escaped:
					f.escaped = false
				case c == '\\':
					f.escaped = true
				case c == '"':
					f.inString = false
				}
			case c == ' ' || c == '\t' || c == '\n' || c == '\r':
				continue
			case c == '"':
				f.inString = true
			}
			p[w] = c
			w++
		}
		if w > 0 || err != nil {
			return w, err
		}
	}
}

// parseJSONRow reads one element of the array.
func parseJSONRow(raw json.RawMessage) row {
	rw := row{raw: string(raw)}
	var jr jsonRow
	d := json.NewDecoder(bytes.NewReader(raw))
	d.DisallowUnknownFields()
	if err := d.Decode(&jr); err != nil {
		rw.err = &refusal{ReasonBadRow, "not a reading object: " + err.Error()}
		return rw
	}
	rw = row{raw: rw.raw, site: jr.Site, parameter: jr.Parameter, value: jr.Value, unit: jr.Unit,
		observedAt: jr.ObservedAt, flag: jr.Flag, interval: jr.Interval, min: jr.Min, max: jr.Max, belowDL: jr.BelowDL}
	rw.err = missing(&rw)
	return rw
}

// missing refuses a row without a required field.
func missing(rw *row) *refusal {
	var miss []string
	if rw.site == "" {
		miss = append(miss, "site")
	}
	if rw.parameter == "" {
		miss = append(miss, "parameter")
	}
	if rw.value == nil {
		miss = append(miss, "value")
	}
	if rw.unit == nil {
		miss = append(miss, "unit")
	}
	if rw.observedAt == "" {
		miss = append(miss, "observed_at")
	}
	if len(miss) > 0 {
		return &refusal{ReasonBadRow, "missing " + strings.Join(miss, ", ")}
	}
	return nil
}

// csvOptions are the gateway's columns of the readings CSV (pkg/readingcsv): what a
// message.Reading carries. Any other column is refused, not silently dropped.
var csvOptions = readingcsv.Options{Optional: []string{readingcsv.Flag, readingcsv.Interval, readingcsv.Min, readingcsv.Max, readingcsv.BelowDL}}

// parseCSV reads a CSV body whose first record is the header, then at most maxRows rows
// (errTooManyRows beyond). Broken CSV syntax or a bad header is an error; a row with the
// wrong number of fields or a value that is not a number is refused on its own.
func parseCSV(body io.Reader, maxRows int) ([]row, error) {
	cr, err := readingcsv.NewReader(body, csvOptions)
	if err != nil {
		return nil, err
	}
	var rows []row
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if len(rows) == maxRows {
			return nil, errTooManyRows
		}
		rw := row{raw: rec.Raw}
		if rec.Err != nil {
			rw.err = &refusal{ReasonBadRow, rec.Err.Error()}
			rows = append(rows, rw)
			continue
		}
		rw.site, rw.parameter, rw.observedAt = rec.Get(readingcsv.Site), rec.Get(readingcsv.Parameter), rec.Get(readingcsv.ObservedAt)
		rw.flag, rw.interval = rec.Get(readingcsv.Flag), rec.Get(readingcsv.Interval)
		unit := rec.Get(readingcsv.Unit)
		rw.unit = &unit
		rw.err = csvNumbers(&rw, rec)
		if rw.err == nil {
			rw.err = missing(&rw)
		}
		rows = append(rows, rw)
	}
	return rows, nil
}

// csvNumbers reads the value (which may be a detection limit with HJ/T 91's L), min, max
// and below_dl of a CSV record into rw.
func csvNumbers(rw *row, rec readingcsv.Row) *refusal {
	s := rec.Get(readingcsv.Value)
	v, lessThan, err := readingcsv.ParseValue(s)
	if err != nil {
		return &refusal{ReasonBadValue, readingcsv.Value + " " + strconv.Quote(s) + " is not a number or a detection limit with L"}
	}
	rw.value = &v
	switch b := strings.ToLower(rec.Get(readingcsv.BelowDL)); b {
	case "":
		rw.belowDL = lessThan
	case "true", "1":
		rw.belowDL = true
	case "false", "0":
		if lessThan {
			return &refusal{ReasonBadRow, "value " + strconv.Quote(s) + " is below the detection limit, but below_dl is " + b}
		}
	default:
		return &refusal{ReasonBadValue, readingcsv.BelowDL + " " + strconv.Quote(b) + " is not true or false"}
	}
	for _, f := range []struct {
		name string
		dst  **float64
	}{{readingcsv.Min, &rw.min}, {readingcsv.Max, &rw.max}} {
		s := rec.Get(f.name)
		if s == "" {
			continue
		}
		v, ok := readingcsv.ParseNumber(s)
		if !ok {
			return &refusal{ReasonBadValue, f.name + " " + strconv.Quote(s) + " is not a number"}
		}
		*f.dst = &v
	}
	return nil
}

// rawHead keeps the first message.MaxRawBytes bytes written to it.
type rawHead struct{ b []byte }

// Write keeps what fits and reports everything written.
func (h *rawHead) Write(p []byte) (int, error) {
	if room := message.MaxRawBytes - len(h.b); room > 0 {
		h.b = append(h.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (h *rawHead) String() string { return string(h.b) }

// refuseRequest records a request refused before its body was read; it keeps the first
// bytes of the body as the raw input.
func (g *Gateway) refuseRequest(ctx context.Context, r *http.Request, source, token, reason, detail string, now time.Time) {
	head, _ := io.ReadAll(io.LimitReader(r.Body, message.MaxRawBytes))
	g.recordRequest(ctx, source, token, r.RemoteAddr, reason, detail, string(head), now)
}

// recordRequest publishes the rejection of a whole request. The client gets its answer
// either way; a failure to record is logged and counted.
func (g *Gateway) recordRequest(ctx context.Context, source, token, remote, reason, detail, raw string, now time.Time) {
	var o outbox
	o.addRejection(&message.Rejection{Reason: reason, Detail: detail, Station: token, Source: source, Remote: remote, Raw: raw, ReceivedAt: now}, true)
	if err := g.publish(ctx, &o); err != nil {
		g.log.Warn("record refused upload", "reason", reason, "err", err)
		return
	}
	g.commit(&o)
}

func writeJSON(w http.ResponseWriter, code int, v any) int {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
	return code
}
