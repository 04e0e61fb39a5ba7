package engine

import (
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/message"
)

// script is a sequence touching every rule: an outfall spill with predictions, a section
// confirmed and cleared, flags, a flat line, a late reading.
func script() []message.Reading {
	var rs []message.Reading
	add := func(r ...message.Reading) { rs = append(rs, r...) }
	add(rd("T1", "cod", 10, 0), rd("D1", "cod", 12, 0), rd("TO", "temp", 11, 0))
	add(rd("TO", "cod", 100, h), rd("M2", "cod", 25, h), flagged(rd("M2", "nh3n", 9, h), "T"))
	add(rd("M2", "cod", 26, 2*h), rd("TO", "cod", 300, 2*h), rd("M2", "ph", 15, 2*h))
	add(rd("M2", "cod", 35, 3*h), rd("TO", "cod", 30, 3*h))
	add(rd("TO", "cod", 30, 4*h), rd("M2", "cod", 15, 4*h), rd("M2", "cod", 45, 3*h+30*time.Minute))
	add(rd("TO", "cod", 30, 5*h), rd("M2", "cod", 15, 5*h), rd("M2", "cod", 14, 6*h), rd("M2", "cod", 13, 7*h))
	for i := 0; i < 13; i++ {
		add(rd("M3", "nh3n", 0.7, time.Duration(i)*h))
	}
	// A real-time value, then the severe mean of an hour it covered: not judged, which a
	// restore between the two must remember.
	add(of(message.IntervalRealtime, "M3", "cod", 10, 13*h+10*time.Minute), of(message.IntervalHour, "M3", "cod", 45, 13*h))
	add(rd("M3", "cod", 45, 14*h)) // hourly again, past the real-time data: judged, opens
	return rs
}

func TestStateRestoreGivesTheSameEvents(t *testing.T) {
	rs := script()
	for k := 0; k <= len(rs); k++ {
		whole, _ := newTestEngine(t, Options{})
		var want []message.Event
		for i, r := range rs {
			want = append(want, whole.ApplyAt(r, Position{Partition: 0, Offset: int64(i)})...)
		}

		first, _ := newTestEngine(t, Options{})
		var got []message.Event
		for i, r := range rs[:k] {
			got = append(got, first.ApplyAt(r, Position{Partition: 0, Offset: int64(i)})...)
		}
		// Through the wire format, as the state topic carries it.
		restored, _ := newTestEngine(t, Options{})
		for _, rec := range first.ExportAll() {
			key, val, err := EncodeRecord(rec)
			if err != nil {
				t.Fatal(err)
			}
			back, err := DecodeRecord(key, val)
			if err != nil {
				t.Fatal(err)
			}
			if err := restored.Import(back, true); err != nil {
				t.Fatal(err)
			}
		}
		// Re-deliver from three readings back, as Kafka does after a crash before the
		// commit: the replayed readings are recognised by their offsets.
		from := max(0, k-3)
		for i := from; i < len(rs); i++ {
			got = append(got, restored.ApplyAt(rs[i], Position{Partition: 0, Offset: int64(i)})...)
		}
		if len(got) != len(want) {
			t.Fatalf("split at %d: %d events, want %d:\n%v\n%v", k, len(got), len(want), types(got), types(want))
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("split at %d, event %d:\n got %+v\nwant %+v", k, i, got[i], want[i])
			}
		}
	}
}

func TestReplayFromOlderStateRepeatsTheSameIDs(t *testing.T) {
	// A crash after the events were published but before the state was: the batch runs
	// again from the older state and produces the same ids, which consumers drop.
	rs := script()
	a, _ := newTestEngine(t, Options{})
	var first []message.Event
	for i, r := range rs {
		first = append(first, a.ApplyAt(r, Position{Partition: 1, Offset: int64(i)})...)
	}
	b, _ := newTestEngine(t, Options{})
	var again []message.Event
	for i, r := range rs {
		again = append(again, b.ApplyAt(r, Position{Partition: 1, Offset: int64(i)})...)
	}
	for i := range first {
		if first[i].ID != again[i].ID {
			t.Fatalf("event %d: id %s then %s", i, first[i].ID, again[i].ID)
		}
	}
	if len(first) < 10 {
		t.Fatalf("the script should exercise many rules, got %v", types(first))
	}
	seen := map[string]bool{}
	for _, ev := range first {
		if seen[ev.ID] {
			t.Errorf("id %s used twice (%s)", ev.ID, ev.Type)
		}
		seen[ev.ID] = true
	}
}

func TestReplayedReadingsAreSkipped(t *testing.T) {
	e, _ := newTestEngine(t, Options{ConfirmDuration: 100 * h})
	rs := hourly("M2", "cod", 25, 25, 25)
	for i, r := range rs {
		e.ApplyAt(r, Position{Partition: 2, Offset: int64(10 + i)})
	}
	before := counter(e, OutcomeReplayed)
	if evs := e.ApplyAt(rs[2], Position{Partition: 2, Offset: 12}); len(evs) != 0 {
		t.Fatalf("replay gave %v", types(evs))
	}
	if counter(e, OutcomeReplayed)-before != 1 {
		t.Error("replay not counted")
	}
}

func TestDrainStateReturnsOnlyWhatChanged(t *testing.T) {
	e, clk := newTestEngine(t, Options{})
	applyAll(e, rd("M2", "cod", 10, 0), rd("M2", "nh3n", 0.2, 0), rd("O1", "cod", 10, 0))
	recs := e.DrainState()
	keys := map[string]bool{}
	for _, r := range recs {
		keys[r.Key] = true
	}
	for _, k := range []string{"s|M2|cod", "s|M2|nh3n", "s|O1|cod", "t|M2", "t|O1"} {
		if !keys[k] {
			t.Errorf("missing %s in %v", k, keys)
		}
	}
	if len(recs) != 5 {
		t.Errorf("%d records", len(recs))
	}
	if recs := e.DrainState(); len(recs) != 0 {
		t.Errorf("nothing changed, got %d records", len(recs))
	}
	e.Apply(rd("M2", "cod", 11, h))
	if recs := e.DrainState(); len(recs) != 2 {
		t.Errorf("one series and its station changed, got %d records", len(recs))
	}
	clk.t = t0.Add(10 * h)
	e.Tick(clk.t) // every station goes offline
	recs = e.DrainState()
	if len(recs) != 2 || recs[0].Station == nil || !recs[0].Station.Offline {
		t.Errorf("offline stations: %+v", recs)
	}
}

func TestForeignStateIsContextOnly(t *testing.T) {
	// Another instance owns T1's partition: its latest value still serves as the outfall's
	// upstream background, but its station is not watched here.
	src, _ := newTestEngine(t, Options{})
	src.ApplyAt(rd("T1", "cod", 10, 0), Position{Partition: 4, Offset: 0})
	e, clk := newTestEngine(t, Options{})
	for _, rec := range src.ExportAll() {
		if err := e.Import(rec, false); err != nil {
			t.Fatal(err)
		}
	}
	preds := only(e.Apply(rd("TO", "cod", 100, h)), message.EventPredictionIssued)
	if len(preds) == 0 || !near(preds[0].PredictedValue, 28) {
		t.Fatalf("predictions %+v", preds)
	}
	clk.t = t0.Add(100 * h)
	for _, ev := range e.Tick(clk.t) {
		if ev.Site == "T1" {
			t.Errorf("foreign station watched: %+v", ev)
		}
	}
}

func TestDecodeRecordRejectsGarbage(t *testing.T) {
	for _, v := range []string{`{`, `{}`, `{"series":{},"station":{}}`} {
		if _, err := DecodeRecord([]byte("k"), []byte(v)); err == nil {
			t.Errorf("%s: no error", v)
		}
	}
}
