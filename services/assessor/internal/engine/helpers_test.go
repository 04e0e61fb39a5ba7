package engine

import (
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/riverwatch/riverwatch/pkg/config"
	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/network"
)

// t0 is the start of every scripted sequence.
var t0 = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)

// fakeClock is the injected clock of the tests.
type fakeClock struct{ t time.Time }

func (c *fakeClock) Now() time.Time { return c.t }

func testNetwork(t testing.TB) *network.Network {
	t.Helper()
	n, err := network.Load("testdata/network.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func newTestEngine(t testing.TB, opts Options) (*Engine, *fakeClock) {
	t.Helper()
	clk := &fakeClock{t: t0}
	e, err := New(testNetwork(t), withDefaults(opts), clk.Now, nil)
	if err != nil {
		t.Fatal(err)
	}
	return e, clk
}

// rd is a valid hourly reading observed at t0 + at, received a minute later.
func rd(site, param string, v float64, at time.Duration) message.Reading {
	obs := t0.Add(at)
	return message.Reading{
		ID: message.ReadingID(site, param, message.IntervalHour, obs), Site: site, Parameter: param,
		Value: v, Interval: message.IntervalHour, Flag: message.FlagNormal,
		ObservedAt: obs, ReceivedAt: obs.Add(time.Minute), Source: message.SourceHJ212,
	}
}

func flagged(r message.Reading, flag string) message.Reading { r.Flag = flag; return r }

// applyAll applies readings in order and returns every event.
func applyAll(e *Engine, rs ...message.Reading) []message.Event {
	var out []message.Event
	for _, r := range rs {
		out = append(out, e.Apply(r)...)
	}
	return out
}

// local drops the prediction events, for tests of the rules of one series.
func local(evs []message.Event) []message.Event {
	var out []message.Event
	for _, ev := range evs {
		if !strings.HasPrefix(ev.Type, "prediction.") {
			out = append(out, ev)
		}
	}
	return out
}

// types lists the event types, in order.
func types(evs []message.Event) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = ev.Type
	}
	return out
}

// only keeps the events of one type.
func only(evs []message.Event, typ string) []message.Event {
	var out []message.Event
	for _, ev := range evs {
		if ev.Type == typ {
			out = append(out, ev)
		}
	}
	return out
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

const h = time.Hour

// counter reads riverwatch_assessor_readings_total{outcome}.
func counter(e *Engine, outcome string) float64 {
	var m dto.Metric
	if err := e.m.byOutcome[outcome].Write(&m); err != nil {
		panic(err)
	}
	return m.GetCounter().GetValue()
}

// withDefaults fills the zero fields of o from the configuration's defaults (pkg/config,
// the one list of them), so that a test sets only what it exercises. New itself takes
// every field as it is.
func withDefaults(o Options) Options {
	d := config.Default().Assessor
	set := func(v *int, def int) {
		if *v == 0 {
			*v = def
		}
	}
	setF := func(v *float64, def float64) {
		if *v == 0 {
			*v = def
		}
	}
	setD := func(v *time.Duration, def time.Duration) {
		if *v == 0 {
			*v = def
		}
	}
	set(&o.ConfirmReadings, d.ConfirmReadings)
	setD(&o.ConfirmDuration, d.ConfirmDuration)
	setF(&o.SevereMultiple, d.SevereMultiple)
	set(&o.ClearReadings, d.ClearReadings)
	setF(&o.ClearRatio, d.ClearRatio)
	setF(&o.UpdateRatio, d.UpdateRatio)
	setD(&o.Grace, d.Grace)
	setF(&o.OfflineFactor, d.OfflineFactor)
	set(&o.FlatLineReadings, d.FlatLineReadings)
	setF(&o.JumpFactor, d.JumpFactor)
	setD(&o.PredictionWindow, d.PredictionWindow)
	return o
}

func TestNewRefusesZeroOptionsInsteadOfDefaultingThem(t *testing.T) {
	o := withDefaults(Options{})
	o.ConfirmReadings = 0
	_, err := New(testNetwork(t), o, func() time.Time { return t0 }, nil)
	if err == nil || !strings.Contains(err.Error(), "assessor.confirm_readings") {
		t.Fatalf("New = %v, want it to refuse assessor.confirm_readings", err)
	}
}
