package engine

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Options are the tunables of the rules. Every field is used as it is: New refuses a value
// out of range (Validate, naming the configuration key), and no zero means a default. The
// defaults are those of the configuration's assessor section (pkg/config), mapped onto
// Options by the assessor (assessor.OptionsFrom).
type Options struct {
	// ConfirmReadings consecutive readings over the target confirm an exceedance.
	ConfirmReadings int
	// ConfirmDuration confirms it when a run of readings over the target lasts this long,
	// whichever of the two comes first.
	ConfirmDuration time.Duration
	// SevereMultiple: an over-standard multiple at or above it opens at once.
	SevereMultiple float64
	// ClearReadings consecutive readings inside the hysteresis band clear.
	ClearReadings int
	// ClearRatio is the hysteresis band: a reading counts towards clearing only at or
	// below ClearRatio × an upper limit, at or above a lower limit ÷ ClearRatio, or that
	// far inside a range.
	ClearRatio float64
	// UpdateRatio: an open exceedance is re-reported (exceedance.updated) when its excess
	// over the limit grows this many times beyond what was last reported.
	UpdateRatio float64
	// Grace is how far behind a series' newest reading a late reading may be and still
	// be judged.
	Grace time.Duration
	// OfflineFactor: silent for the station's interval × OfflineFactor is offline.
	OfflineFactor float64
	// FlatLineReadings identical consecutive values mark a stuck sensor.
	FlatLineReadings int
	// JumpFactor bounds a plausible step from the recent median.
	JumpFactor float64
	// PredictionWindow is how long after a predicted arrival the downstream readings may
	// still show the plume before a compliant one refutes the prediction.
	PredictionWindow time.Duration
	// DecayPerHour is the first-order decay rate per parameter, 1/h.
	DecayPerHour map[string]float64
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
