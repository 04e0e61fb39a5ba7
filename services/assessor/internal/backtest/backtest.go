package backtest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/network"
	"github.com/riverwatch/riverwatch/pkg/store"
	"github.com/riverwatch/riverwatch/services/assessor/internal/engine"
)

// Source streams stored readings in observation order (store.Reader.ScanReadings).
type Source interface {
	ScanReadings(ctx context.Context, q store.ScanQuery, fn func(message.Reading) error) error
}

// Rules is one configuration under test: the network (sites, their targets and permit
// limits) and the engine's options (confirmation, hysteresis, flat-line and jump rules).
type Rules struct {
	Name    string
	Network *network.Network
	Options engine.Options
}

// Query is the period replayed, and optionally the sites.
type Query struct {
	From, To time.Time
	Sites    []string
	// TickEvery is how often, in stream time, the engines are ticked (silent stations,
	// prediction windows), as the assessor ticks them on its clock; 0 means a minute.
	TickEvery time.Duration
}

// Run replays the readings of q through one engine per set of rules, side by side, and
// compares what each would have raised. Nothing is published: the engines are private to
// the run and their clock is the stream's.
func Run(ctx context.Context, src Source, q Query, current, candidate Rules) (*Report, error) {
	if !q.To.After(q.From) {
		return nil, errors.New("backtest: the period is empty (-to must be after -from)")
	}
	tick := q.TickEvery
	if tick <= 0 {
		tick = time.Minute
	}
	var now time.Time
	clock := func() time.Time { return now }
	runs := make([]*replay, 2)
	for i, r := range []Rules{current, candidate} {
		eng, err := engine.New(r.Network, r.Options, clock, nil)
		if err != nil {
			return nil, fmt.Errorf("backtest: rules %q: %w", r.Name, err)
		}
		runs[i] = newReplay(r.Name, eng)
	}
	start := time.Now()
	var n int
	var nextTick time.Time
	err := src.ScanReadings(ctx, store.ScanQuery{From: q.From, To: q.To, Sites: q.Sites}, func(r message.Reading) error {
		if r.ObservedAt.After(now) {
			now = r.ObservedAt
		}
		if nextTick.IsZero() {
			nextTick = now.Truncate(tick).Add(tick)
		}
		for !now.Before(nextTick) {
			for _, rp := range runs {
				rp.events(rp.eng.Tick(nextTick), nextTick)
			}
			nextTick = nextTick.Add(tick)
		}
		for _, rp := range runs {
			rp.reading(r)
		}
		n++
		if n%10000 == 0 {
			return ctx.Err()
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("backtest: %w", err)
	}
	end := q.To
	if !now.IsZero() && now.Before(end) {
		end = now
	}
	rep := &Report{From: q.From, To: q.To, Readings: n, Elapsed: time.Since(start),
		Rules: [2]string{current.Name, candidate.Name}}
	for i, rp := range runs {
		rep.Episodes[i] = rp.finish(end)
	}
	rep.compare()
	return rep, nil
}

// Episode is one exceedance as an engine raised it: opened, perhaps cleared.
type Episode struct {
	Site      string    `json:"site"`
	Parameter string    `json:"parameter"`
	Limit     float64   `json:"limit"`
	Severity  string    `json:"severity,omitempty"`
	FirstOver time.Time `json:"first_over"` // the first reading of the run that opened it
	Opened    time.Time `json:"opened"`     // the reading that opened it
	Cleared   time.Time `json:"cleared,omitzero"`
	// Open is how long it stayed open, until it cleared or the period ended.
	Open time.Duration `json:"open_ns"`
	// Notifying counts its events that start or update an incident (opened, updated,
	// its downstream predictions): each one notifies the recipients of the incident's
	// playbook.
	Notifying int `json:"notifying"`
}

// Delay is the detection delay: from the first exceeding reading to the opening.
func (e Episode) Delay() time.Duration { return e.Opened.Sub(e.FirstOver) }

// recentReadings is how many readings per series are kept to find where the run that
// opened an episode began: more than any confirmation rule waits for.
const recentReadings = 64

type point struct {
	at    time.Time
	value float64
}

type seriesKey struct{ site, parameter string }

// replay is one engine's run and what it raised.
type replay struct {
	name   string
	eng    *engine.Engine
	recent map[seriesKey][]point
	open   map[seriesKey]*Episode
	origin map[string]*Episode // opened event id → its episode, for predictions
	done   []Episode
}

func newReplay(name string, eng *engine.Engine) *replay {
	return &replay{name: name, eng: eng, recent: map[seriesKey][]point{}, open: map[seriesKey]*Episode{}, origin: map[string]*Episode{}}
}

func (rp *replay) reading(r message.Reading) {
	k := seriesKey{r.Site, r.Parameter}
	pts := append(rp.recent[k], point{r.ObservedAt, r.Value})
	if len(pts) > recentReadings {
		pts = pts[len(pts)-recentReadings:]
	}
	rp.recent[k] = pts
	rp.events(rp.eng.Apply(r), r.ObservedAt)
}

func (rp *replay) events(evs []message.Event, at time.Time) {
	for _, ev := range evs {
		k := seriesKey{ev.Site, ev.Parameter}
		switch ev.Type {
		case message.EventExceedanceOpened:
			ep := &Episode{Site: ev.Site, Parameter: ev.Parameter, Limit: ev.Limit, Severity: ev.Severity,
				Opened: ev.ObservedAt, Notifying: 1}
			ep.FirstOver = rp.runStart(k, ev)
			rp.open[k] = ep
			rp.origin[ev.ID] = ep
		case message.EventExceedanceUpdated:
			if ep := rp.open[k]; ep != nil {
				ep.Notifying++
				if ev.Severity != "" {
					ep.Severity = ev.Severity
				}
			}
		case message.EventExceedanceCleared:
			if ep := rp.open[k]; ep != nil {
				ep.Cleared = ev.ObservedAt
				ep.Open = ep.Cleared.Sub(ep.Opened)
				rp.done = append(rp.done, *ep)
				delete(rp.open, k)
			}
		case message.EventPredictionIssued:
			if ep := rp.origin[ev.OriginEventID]; ep != nil {
				ep.Notifying++
			}
		}
	}
}

// runStart walks back from the opening reading over the readings that exceed the event's
// limit in its direction (a lower bound, as dissolved oxygen's, when the value is under
// it) and returns the oldest: where the run the engine confirmed began.
func (rp *replay) runStart(k seriesKey, ev message.Event) time.Time {
	lower := ev.Value < ev.Limit
	over := func(v float64) bool {
		if lower {
			return v < ev.Limit
		}
		return v > ev.Limit
	}
	first := ev.ObservedAt
	pts := rp.recent[k]
	for i := len(pts) - 1; i >= 0; i-- {
		if pts[i].at.After(ev.ObservedAt) {
			continue
		}
		if !over(pts[i].value) {
			break
		}
		first = pts[i].at
	}
	return first
}

func (rp *replay) finish(end time.Time) []Episode {
	out := rp.done
	for _, ep := range rp.open {
		e := *ep
		e.Open = end.Sub(e.Opened)
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if !a.Opened.Equal(b.Opened) {
			return a.Opened.Before(b.Opened)
		}
		if a.Site != b.Site {
			return a.Site < b.Site
		}
		return a.Parameter < b.Parameter
	})
	return out
}
