package store

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestDirtyBucketsRoundTripAndMergeWithoutRepeats(t *testing.T) {
	at := time.Date(2026, 6, 1, 10, 7, 0, 0, time.UTC)
	ts := touchedSet{}
	ts.add("STH-S2", at)
	ts.add("STH-S2", at.Add(time.Minute)) // the same five minutes
	ts.add("STH-S2", at.Add(-10*time.Minute))
	ts.add("TTH-S1", at)
	d := ts.dirty()
	b5 := at.Truncate(5 * time.Minute).Unix()
	want := Dirty{"STH-S2": {b5 - 600, b5}, "TTH-S1": {b5}}
	if !maps.EqualFunc(d, want, slices.Equal) {
		t.Fatalf("dirty = %v, want %v", d, want)
	}
	v, err := EncodeDirty(d)
	if err != nil {
		t.Fatal(err)
	}
	back, err := DecodeDirty(v)
	if err != nil || !maps.EqualFunc(back, want, slices.Equal) {
		t.Fatalf("decoded %v (%v), want %v", back, err, want)
	}
	back.Merge(Dirty{"STH-S2": {b5, b5 + 300}, "STH-S1": {b5}})
	if back.Buckets() != 5 {
		t.Errorf("merged %v: %d buckets, want 5 (STH-S2 three, TTH-S1 and STH-S1 one each)", back, back.Buckets())
	}
	if got := back.touched(); len(got["STH-S2"]) != 3 || len(got["STH-S1"]) != 1 {
		t.Errorf("touched set %v", got)
	}
}

func TestDirtyMarksThatNameNoBucketAreRefused(t *testing.T) {
	for _, c := range []struct{ name, value, want string }{
		{"not JSON", `{"dirty":`, "decode"},
		{"a site without buckets", `{"dirty":{"STH-S2":[]}}`, "without buckets"},
		{"an empty site", `{"dirty":{"":[1780000000]}}`, "without buckets"},
		{"a bucket before 1970", `{"dirty":{"STH-S2":[-300]}}`, "before 1970"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := DecodeDirty([]byte(c.value)); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("DecodeDirty(%s) = %v, want an error saying %q", c.value, err, c.want)
			}
		})
	}
}
