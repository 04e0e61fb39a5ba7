package message

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestIDsAreDeterministicAndDistinguishTheirInputs(t *testing.T) {
	at := time.Date(2026, 7, 1, 9, 0, 0, 0, time.UTC)
	if ReadingID("STH-S2", "nh3n", IntervalHour, at) != ReadingID("STH-S2", "nh3n", IntervalHour, at.In(time.FixedZone("CST", 8*3600))) {
		t.Error("the same instant in another zone must give the same reading id")
	}
	ids := map[string]string{
		"base":      ReadingID("STH-S2", "nh3n", IntervalHour, at),
		"site":      ReadingID("STH-S1", "nh3n", IntervalHour, at),
		"parameter": ReadingID("STH-S2", "cod", IntervalHour, at),
		"interval":  ReadingID("STH-S2", "nh3n", IntervalRealtime, at),
		"time":      ReadingID("STH-S2", "nh3n", IntervalHour, at.Add(time.Millisecond)),
		// Separators keep ("ab","c") and ("a","bc") apart.
		"split": ReadingID("STH-S", "2nh3n", IntervalHour, at),
	}
	seen := map[string]string{}
	for name, id := range ids {
		if len(id) != 32 {
			t.Errorf("%s: id %q is not 32 hex digits", name, id)
		}
		if other, dup := seen[id]; dup {
			t.Errorf("%s and %s share id %s", name, other, id)
		}
		seen[id] = name
	}
	if EventID(EventExceedanceOpened, "STH-S2", "nh3n", at, "") != EventID(EventExceedanceOpened, "STH-S2", "nh3n", at, "") {
		t.Error("event ids must be deterministic")
	}
}

func TestTruncateRawBoundsRejectedInput(t *testing.T) {
	long := make([]byte, MaxRawBytes*2)
	if got := len(TruncateRaw(string(long))); got != MaxRawBytes {
		t.Errorf("truncated to %d bytes, want %d", got, MaxRawBytes)
	}
	if TruncateRaw("short") != "short" {
		t.Error("short input must be kept whole")
	}
}

func TestNormalizeFlagReadsAnEmptyFlagAsNormal(t *testing.T) {
	for _, tt := range []struct {
		flag   string
		want   string
		normal bool
	}{
		{"", FlagNormal, true},
		{FlagNormal, FlagNormal, true},
		{"T", "T", false},
		{"M", "M", false},
	} {
		if got := NormalizeFlag(tt.flag); got != tt.want {
			t.Errorf("NormalizeFlag(%q) = %q, want %q", tt.flag, got, tt.want)
		}
		r := Reading{Flag: tt.flag}
		if r.NormalFlag() != tt.normal {
			t.Errorf("Reading{Flag: %q}.NormalFlag() = %v, want %v", tt.flag, !tt.normal, tt.normal)
		}
	}
}

func TestUndecodableRejectionIsDeterministicAndNamesTheMessage(t *testing.T) {
	at := time.Date(2026, 7, 1, 9, 0, 0, 0, time.FixedZone("CST", 8*3600))
	cause := errors.New("unexpected end of JSON input")
	rej := UndecodableRejection("responder", "riverwatch.events", 2, 41, at, []byte("{garbage"), cause)
	want := Rejection{
		ID: rej.ID, Reason: ReasonUndecodable, Detail: "riverwatch.events partition 2 offset 41: unexpected end of JSON input",
		Source: "responder", Remote: "riverwatch.events/2/41", Raw: "{garbage", ReceivedAt: at.UTC(),
	}
	if rej != want {
		t.Errorf("rejection\n got %+v\nwant %+v", rej, want)
	}
	if again := UndecodableRejection("responder", "riverwatch.events", 2, 41, at, []byte("{garbage"), errors.New("other words")); again.ID != rej.ID {
		t.Error("the same message got two ids")
	}
	for name, other := range map[string]Rejection{
		"source":    UndecodableRejection("assessor", "riverwatch.events", 2, 41, at, []byte("{garbage"), cause),
		"partition": UndecodableRejection("responder", "riverwatch.events", 3, 41, at, []byte("{garbage"), cause),
		"offset":    UndecodableRejection("responder", "riverwatch.events", 2, 42, at, []byte("{garbage"), cause),
	} {
		if other.ID == rej.ID {
			t.Errorf("another %s, the same id", name)
		}
	}
	broken := UndecodableRejection("archiver", "t", 0, 0, time.UnixMilli(1<<62), nil, cause)
	if _, err := json.Marshal(broken); err != nil || !broken.ReceivedAt.Equal(time.Unix(0, 0)) {
		t.Errorf("a timestamp JSON cannot carry: received_at %v, marshal error %v", broken.ReceivedAt, err)
	}
	long := UndecodableRejection("archiver", "t", 0, 0, at, make([]byte, 2*MaxRawBytes), cause)
	if len(long.Raw) != MaxRawBytes {
		t.Errorf("raw of %d bytes kept, want %d", len(long.Raw), MaxRawBytes)
	}
}

func TestPredictionIsOptionalAndRoundTrips(t *testing.T) {
	at := time.Date(2026, 7, 1, 8, 0, 0, 0, time.UTC)
	old := `{"id":"x","type":"prediction.issued","site":"STH-D2","value":1,"limit":0.5,"multiple":1,` +
		`"observed_at":"2026-07-01T08:00:00Z","emitted_at":"2026-07-01T08:00:01Z","arrival_at":"2026-07-01T13:00:00Z","predicted_value":1}`
	var ev Event
	if err := json.Unmarshal([]byte(old), &ev); err != nil || !ev.Prediction.IsZero() || !ev.ArrivalAt.Equal(at.Add(5*time.Hour)) {
		t.Fatalf("an event from before predictions: %+v %v, want it decoded with no prediction", ev, err)
	}
	plain, _ := json.Marshal(Event{ID: "y", Type: EventExceedanceOpened})
	if json.Valid(plain) && containsKey(plain, "prediction") {
		t.Errorf("an event without a prediction writes %s", plain)
	}

	p := Prediction{Site: "STH-D2", Origin: "STH-O1", Parameter: "nh3n", ReleaseStart: at,
		Earliest: at.Add(3 * time.Hour), Leading: at.Add(4 * time.Hour), Peak: at.Add(5 * time.Hour),
		PeakConcentration: 1.25, Unit: "mg/L", Confidence: "low", VelocityMPS: 0.8, DistanceKm: 16}
	data, err := json.Marshal(Event{ID: "z", Type: EventPredictionIssued, Prediction: p})
	if err != nil {
		t.Fatal(err)
	}
	if containsKey(data, "trailing") || containsKey(data, "latest") {
		t.Errorf("a window whose end is unknown writes %s, want no trailing or latest", data)
	}
	p.Trailing, p.Latest = at.Add(6*time.Hour), at.Add(9*time.Hour)
	data, _ = json.Marshal(Event{ID: "z", Type: EventPredictionIssued, Prediction: p})
	var back Event
	if err := json.Unmarshal(data, &back); err != nil || back.Prediction != p {
		t.Errorf("round trip: %+v %v, want %+v", back.Prediction, err, p)
	}
}

func containsKey(doc []byte, key string) bool {
	var m map[string]any
	if json.Unmarshal(doc, &m) != nil {
		return false
	}
	var walk func(any) bool
	walk = func(v any) bool {
		switch x := v.(type) {
		case map[string]any:
			for k, vv := range x {
				if k == key || walk(vv) {
					return true
				}
			}
		}
		return false
	}
	return walk(m)
}

func TestStatValueCountsANonDetectAtHalfItsDetectionLimit(t *testing.T) {
	cases := []struct {
		name string
		r    Reading
		want float64
	}{
		{"a detected value counts as it is", Reading{Value: 0.004}, 0.004},
		{"a non-detect counts at half its limit (0.01L → 0.005)", Reading{Value: 0.01, BelowDL: true}, 0.005},
		{"a zero limit stays zero", Reading{Value: 0, BelowDL: true}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.r.StatValue(); got != c.want {
				t.Errorf("StatValue() = %v, want %v", got, c.want)
			}
		})
	}
}

func TestManualIsTheLabInterval(t *testing.T) {
	for _, c := range []struct {
		interval string
		want     bool
	}{{IntervalSample, true}, {IntervalHour, false}, {IntervalRealtime, false}, {IntervalDay, false}, {"", false}} {
		if got := (&Reading{Interval: c.interval}).Manual(); got != c.want {
			t.Errorf("interval %q: Manual() = %v, want %v", c.interval, got, c.want)
		}
	}
}

func TestReadingIDIsTheGeneralHashOfItsParts(t *testing.T) {
	// The archive holds ids made by the general form: the fast one must give the same.
	at := time.Date(2026, 3, 1, 8, 30, 0, 250_000_000, time.UTC)
	tests := []struct{ site, param, interval string }{
		{"STH-S2", "nh3n", IntervalHour},
		{"TTH-O1", "cod", IntervalMinute},
		{"", "", ""},
		{strings.Repeat("长站点", 20), "w01018", "lab"}, // longer than the stack buffer
	}
	for _, tt := range tests {
		want := hashID(tt.site, tt.param, tt.interval, strconv.FormatInt(at.UnixMilli(), 10))
		if got := ReadingID(tt.site, tt.param, tt.interval, at); got != want {
			t.Errorf("ReadingID(%q, %q, %q) = %s, want %s", tt.site, tt.param, tt.interval, got, want)
		}
	}
}
