package message

import (
	"encoding/json"
	"errors"
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
