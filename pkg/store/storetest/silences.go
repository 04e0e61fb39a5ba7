package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/silence"
	"github.com/riverwatch/riverwatch/pkg/store"
)

// silencesLatestSnapshot: a silence's snapshots on the incidents topic are one silence,
// the highest version winning (an expiry after the creation, a replay of the creation
// after the expiry); the list keeps those ending after a time, latest start first; one
// silence is found by id, an unknown one is ErrNotFound.
func silencesLatestSnapshot(t *testing.T, r Reader, s Seeder) {
	ctx := context.Background()
	t0 := time.Date(2026, 5, 1, 2, 0, 0, 0, time.UTC)
	snap := func(id string, version uint64, starts, ends time.Time) message.IncidentUpdate {
		return message.IncidentUpdate{Kind: message.UpdateSilence, Silence: &silence.Silence{
			ID: id, Version: version, Matchers: []silence.Matcher{{Name: silence.LabelSite, Value: "STH-S2"}},
			StartsAt: starts, EndsAt: ends, CreatedBy: "changji-admin", Comment: "calibration", UpdatedAt: t0,
		}}
	}
	created := snap("sil-a", 1, t0, t0.Add(4*time.Hour))
	expired := snap("sil-a", 2, t0, t0.Add(time.Hour))
	expired.Silence.ExpiredBy = "changji-admin"
	s.IncidentUpdates(t, created, snap("sil-b", 1, t0.Add(time.Hour), t0.Add(8*time.Hour)))
	s.IncidentUpdates(t, expired)
	s.IncidentUpdates(t, created) // a replay of the creation
	got, err := r.Silence(ctx, "sil-a")
	if err != nil || got.Version != 2 || got.ExpiredBy != "changji-admin" || !got.EndsAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("sil-a: %+v (err %v), want version 2, expired", got, err)
	}
	all, err := r.Silences(ctx, store.SilenceQuery{})
	if err != nil || len(all) != 2 || all[0].ID != "sil-b" || all[1].ID != "sil-a" {
		t.Fatalf("all silences: %+v (err %v), want sil-b then sil-a", all, err)
	}
	live, err := r.Silences(ctx, store.SilenceQuery{EndsAfter: t0.Add(2 * time.Hour)})
	if err != nil || len(live) != 1 || live[0].ID != "sil-b" {
		t.Fatalf("silences ending after t0+2h: %+v (err %v), want sil-b", live, err)
	}
	if _, err := r.Silence(ctx, "sil-nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown silence: %v, want ErrNotFound", err)
	}
}
