package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverwatch/riverwatch/pkg/auth"
	"github.com/riverwatch/riverwatch/pkg/config"
	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/network"
	"github.com/riverwatch/riverwatch/pkg/standard"
)

// DrillScheduler starts the configured recurring drills (config drills): at each
// occurrence it sends the drill command POST /api/v1/drills would, as an admin of the
// site's jurisdiction named after the schedule. The command id is derived from the
// schedule and the occurrence, so every api instance sends the same command and the
// responder applies it once; an occurrence missed by more than Window (the api was down)
// is not started late.
type DrillScheduler struct {
	schedules []config.DrillSchedule
	net       *network.Network
	cmd       Commander
	log       *slog.Logger
	now       func() time.Time
	// Interval is how often it looks for a due occurrence; Window how late one may start.
	Interval, Window time.Duration
	sent             map[string]time.Time // schedule id → the occurrence last sent
}

// Defaults of a DrillScheduler.
const (
	DefaultDrillInterval = 30 * time.Second
	DefaultDrillWindow   = 10 * time.Minute
)

// NewDrillScheduler checks each schedule against the network (a known site, a parameter
// with a code) and returns the scheduler; now is time.Now when nil.
func NewDrillScheduler(schedules []config.DrillSchedule, net *network.Network, cmd Commander, log *slog.Logger, now func() time.Time) (*DrillScheduler, error) {
	for i, d := range schedules {
		if _, ok := net.Site(d.Site); !ok {
			return nil, fmt.Errorf("config key drills[%d].site: no site %q in the network", i, d.Site)
		}
		if d.Parameter != "" && !standard.Known(d.Parameter) {
			return nil, fmt.Errorf("config key drills[%d].parameter: %q is not a canonical parameter code", i, d.Parameter)
		}
		if _, err := occurrence(d, time.Now(), net.Location); err != nil {
			return nil, fmt.Errorf("config key drills[%d]: %w", i, err)
		}
	}
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.Default()
	}
	return &DrillScheduler{schedules: schedules, net: net, cmd: cmd, log: log, now: now,
		Interval: DefaultDrillInterval, Window: DefaultDrillWindow, sent: map[string]time.Time{}}, nil
}

// occurrence is the latest occurrence of d at or before t, in loc.
func occurrence(d config.DrillSchedule, t time.Time, loc *time.Location) (time.Time, error) {
	h, m, err := d.TimeOfDay()
	if err != nil {
		return time.Time{}, err
	}
	l := t.In(loc)
	switch d.Every {
	case config.DrillWeekly:
		wd, ok := d.WeekdayOf()
		if !ok {
			return time.Time{}, fmt.Errorf("weekday %q", d.Weekday)
		}
		back := (int(l.Weekday()) - int(wd) + 7) % 7
		o := time.Date(l.Year(), l.Month(), l.Day()-back, h, m, 0, 0, loc)
		if o.After(t) {
			o = o.AddDate(0, 0, -7)
		}
		return o, nil
	case config.DrillMonthly:
		o := time.Date(l.Year(), l.Month(), d.Day, h, m, 0, 0, loc)
		if o.After(t) {
			o = time.Date(l.Year(), l.Month()-1, d.Day, h, m, 0, 0, loc)
		}
		return o, nil
	}
	return time.Time{}, fmt.Errorf("every %q: want weekly or monthly", d.Every)
}

// DrillCommandID is the id of the command of one occurrence of a schedule.
func DrillCommandID(scheduleID string, at time.Time) string {
	h := sha256.Sum256([]byte("drill-schedule\x00" + scheduleID + "\x00" + at.UTC().Format(time.RFC3339)))
	return hex.EncodeToString(h[:16])
}

// Tick sends the drill of every schedule whose latest occurrence came within Window and
// was not sent yet, and returns the commands sent. A failed send is logged and tried again
// at the next tick, with the same id.
func (s *DrillScheduler) Tick(ctx context.Context) []message.Command {
	now := s.now()
	var sent []message.Command
	for _, d := range s.schedules {
		at, err := occurrence(d, now, s.net.Location)
		if err != nil || now.Sub(at) > s.Window || s.sent[d.ID].Equal(at) {
			continue
		}
		site, _ := s.net.Site(d.Site)
		param := d.Parameter
		if param == "" {
			param = "codmn"
		}
		note := "recurring drill " + d.ID
		if d.Note != "" {
			note += ": " + d.Note
		}
		cmd := message.Command{
			ID: DrillCommandID(d.ID, at), Type: message.CommandDrill, Actor: "drill schedule " + d.ID,
			ActorRole: auth.RoleAdmin, ActorJurisdictions: []string{site.Jurisdiction},
			Note: note, Site: site.ID, Parameter: param, At: now.UTC(),
		}
		if err := s.cmd.Send(ctx, cmd); err != nil {
			s.log.Warn("recurring drill not sent; trying again", "schedule", d.ID, "occurrence", at, "err", err)
			continue
		}
		s.sent[d.ID] = at
		s.log.Info("recurring drill started", "schedule", d.ID, "site", site.ID, "occurrence", at, "command", cmd.ID)
		sent = append(sent, cmd)
	}
	return sent
}

// Run ticks every Interval until ctx is done.
func (s *DrillScheduler) Run(ctx context.Context) error {
	if len(s.schedules) == 0 {
		return nil
	}
	t := time.NewTicker(s.Interval)
	defer t.Stop()
	for {
		s.Tick(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
