package engine

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/riverwatch/riverwatch/pkg/config"
)

// Options are the tunables of the rules. The zero value of a field means its default
// (config.Default's assessor section), so tests set only what they exercise.
type Options struct {
	// ConfirmReadings consecutive readings over the target confirm an exceedance (default 3).
	ConfirmReadings int
	// ConfirmDuration confirms it when a run of readings over the target lasts this long,
	// whichever of the two comes first (default 30 min).
	ConfirmDuration time.Duration
	// SevereMultiple: an over-standard multiple at or above it opens at once (default 1).
	SevereMultiple float64
	// ClearReadings consecutive readings inside the hysteresis band clear (default 3).
	ClearReadings int
	// ClearRatio is the hysteresis band: a reading counts towards clearing only at or
	// below ClearRatio × an upper limit, at or above a lower limit ÷ ClearRatio, or that
	// far inside a range (default 0.9).
	ClearRatio float64
	// UpdateRatio: an open exceedance is re-reported (exceedance.updated) when its excess
	// over the limit grows this many times beyond what was last reported (default 1.5).
	UpdateRatio float64
	// Grace is how far behind a series' newest reading a late reading may be and still
	// be judged (default 2 h).
	Grace time.Duration
	// OfflineFactor: silent for the station's interval × OfflineFactor is offline (default 3).
	OfflineFactor float64
	// FlatLineReadings identical consecutive values mark a stuck sensor (default 12).
	FlatLineReadings int
	// JumpFactor bounds a plausible step from the recent median (default 20).
	JumpFactor float64
	// PredictionWindow is how long after a predicted arrival the downstream readings may
	// still show the plume before a compliant one refutes the prediction (default 2 h).
	PredictionWindow time.Duration
	// DecayPerHour is the first-order decay rate per parameter, 1/h (default none).
	DecayPerHour map[string]float64
}

// OptionsFrom maps the assessor's configuration section onto Options.
func OptionsFrom(c config.Assessor) Options {
	return Options{
		ConfirmReadings:  c.ConfirmReadings,
		ConfirmDuration:  c.ConfirmDuration,
		SevereMultiple:   c.SevereMultiple,
		ClearReadings:    c.ClearReadings,
		ClearRatio:       c.ClearRatio,
		UpdateRatio:      c.UpdateRatio,
		Grace:            c.Grace,
		OfflineFactor:    c.OfflineFactor,
		FlatLineReadings: c.FlatLineReadings,
		JumpFactor:       c.JumpFactor,
		PredictionWindow: c.PredictionWindow,
		DecayPerHour:     c.DecayPerHour,
	}
}

// withDefaults fills zero fields from the configuration defaults.
func (o Options) withDefaults() Options {
	d := OptionsFrom(config.Default().Assessor)
	if o.ConfirmReadings == 0 {
		o.ConfirmReadings = d.ConfirmReadings
	}
	if o.ConfirmDuration == 0 {
		o.ConfirmDuration = d.ConfirmDuration
	}
	if o.SevereMultiple == 0 {
		o.SevereMultiple = d.SevereMultiple
	}
	if o.ClearReadings == 0 {
		o.ClearReadings = d.ClearReadings
	}
	if o.ClearRatio == 0 {
		o.ClearRatio = d.ClearRatio
	}
	if o.UpdateRatio == 0 {
		o.UpdateRatio = d.UpdateRatio
	}
	if o.Grace == 0 {
		o.Grace = d.Grace
	}
	if o.OfflineFactor == 0 {
		o.OfflineFactor = d.OfflineFactor
	}
	if o.FlatLineReadings == 0 {
		o.FlatLineReadings = d.FlatLineReadings
	}
	if o.JumpFactor == 0 {
		o.JumpFactor = d.JumpFactor
	}
	if o.PredictionWindow == 0 {
		o.PredictionWindow = d.PredictionWindow
	}
	return o
}

// Validate reports every option out of its range, naming the configuration key.
func (o Options) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("config key assessor.%s: "+format, append([]any{key}, args...)...))
	}
	if o.ConfirmReadings < 1 || o.ConfirmReadings > math.MaxUint16 {
		bad("confirm_readings", "%d is not in 1–65535", o.ConfirmReadings)
	}
	if o.ConfirmDuration < 0 {
		bad("confirm_duration", "must be ≥ 0")
	}
	if o.SevereMultiple <= 0 {
		bad("severe_multiple", "must be > 0")
	}
	if o.ClearReadings < 1 || o.ClearReadings > math.MaxUint16 {
		bad("clear_readings", "%d is not in 1–65535", o.ClearReadings)
	}
	if o.ClearRatio <= 0 || o.ClearRatio > 1 {
		bad("clear_ratio", "%g is not in (0, 1]", o.ClearRatio)
	}
	if o.UpdateRatio <= 1 {
		bad("update_ratio", "%g must be > 1", o.UpdateRatio)
	}
	if o.Grace < 0 {
		bad("grace", "must be ≥ 0")
	}
	if o.OfflineFactor <= 0 {
		bad("offline_factor", "must be > 0")
	}
	if o.FlatLineReadings < 2 || o.FlatLineReadings > math.MaxUint16 {
		bad("flat_line_readings", "%d is not in 2–65535", o.FlatLineReadings)
	}
	if o.JumpFactor <= 0 {
		bad("jump_factor", "must be > 0")
	}
	if o.PredictionWindow < 0 {
		bad("prediction_window", "must be ≥ 0")
	}
	for p, k := range o.DecayPerHour {
		if k < 0 || math.IsNaN(k) || math.IsInf(k, 0) {
			bad("decay_per_hour", "%s: %g is not a finite rate ≥ 0", p, k)
		}
	}
	return errors.Join(errs...)
}
