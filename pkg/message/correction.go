package message

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// MaxCorrectionReason bounds a correction's reason: a sentence or two for the record, not a
// document.
const MaxCorrectionReason = 1000

// Correction replaces the value of a stored reading, explicitly: who asked, when and why.
// A station resend or an upload can never do it (the first receipt stands,
// store.ReadingVersion); a correction is the one way, restricted to admins of the site's
// jurisdiction in the api, and recorded in full. The later of two corrections of one
// reading wins.
type Correction struct {
	ID string `json:"id"`
	// Reading is the reading as it stands after the correction: the id, site, parameter,
	// interval and observed_at of the stored one, with the new value (and flag).
	Reading Reading `json:"reading"`
	// Previous is the value the admin corrected, as they saw it (nil: not given).
	Previous *float64 `json:"previous,omitempty"`
	Reason   string   `json:"reason"`
	// Actor and ActorRole are the api-authenticated caller.
	Actor     string    `json:"actor"`
	ActorRole string    `json:"actor_role"`
	At        time.Time `json:"at"`
}

// CorrectionID is the deterministic id of a correction: one admin correcting one reading at
// one instant.
func CorrectionID(readingID, actor string, at time.Time) string {
	return hashID("correction", readingID, actor, strconv.FormatInt(at.UnixMilli(), 10))
}

// Validate refuses a correction without what the record needs: a reason, an actor, a time
// and a reading that names what it corrects with a finite value.
func (c *Correction) Validate() error {
	var errs []error
	if strings.TrimSpace(c.Reason) == "" {
		errs = append(errs, errors.New("reason is required"))
	}
	if len(c.Reason) > MaxCorrectionReason {
		errs = append(errs, fmt.Errorf("reason is longer than %d bytes", MaxCorrectionReason))
	}
	if c.Actor == "" || c.At.IsZero() {
		errs = append(errs, errors.New("actor and at are required"))
	}
	r := c.Reading
	if r.Site == "" || r.Parameter == "" || r.Interval == "" || r.ObservedAt.IsZero() {
		errs = append(errs, errors.New("reading: site, parameter, interval and observed_at are required"))
	}
	if math.IsNaN(r.Value) || math.IsInf(r.Value, 0) {
		errs = append(errs, errors.New("reading: value is not a number"))
	}
	if r.ID != "" && r.ID != ReadingID(r.Site, r.Parameter, r.Interval, r.ObservedAt) {
		errs = append(errs, errors.New("reading: id does not match site, parameter, interval and observed_at"))
	}
	return errors.Join(errs...)
}
