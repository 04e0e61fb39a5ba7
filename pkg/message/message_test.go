package message

import (
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
