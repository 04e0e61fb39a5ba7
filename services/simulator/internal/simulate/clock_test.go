package simulate

import (
	"context"
	"testing"
	"time"
)

func TestClockStartsTheSpanInThePastAndNeverOvertakesTheWallClock(t *testing.T) {
	start := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	c := NewClock(start, 8*time.Hour, 120)
	if !c.SimStart.Equal(start.Add(-8 * time.Hour)) {
		t.Fatalf("SimStart = %v, want 8 h before the start", c.SimStart)
	}
	if c.WallEnd() != start.Add(4*time.Minute) {
		t.Fatalf("WallEnd = %v, want 8 h / 120 = 4 minutes after the start", c.WallEnd())
	}
	for _, wall := range []time.Duration{0, time.Second, 2 * time.Minute, 4 * time.Minute, time.Hour, 48 * time.Hour} {
		w := start.Add(wall)
		s := c.SimAt(w)
		if s.After(w) {
			t.Errorf("at wall %v the simulated clock reads %v: ahead of the wall clock", w, s)
		}
		if back := c.WallAt(s); back.Sub(w).Abs() > time.Microsecond {
			t.Errorf("WallAt(SimAt(%v)) = %v", w, back)
		}
	}
	if got := c.SimAt(start.Add(2 * time.Minute)); !got.Equal(start.Add(-4 * time.Hour)) {
		t.Errorf("two wall minutes in, simulated time = %v, want 4 h after SimStart", got)
	}
	// After the span the simulated clock runs at the wall clock's pace.
	a, b := c.SimAt(start.Add(time.Hour)), c.SimAt(start.Add(time.Hour+time.Minute))
	if b.Sub(a) != time.Minute {
		t.Errorf("after the span one wall minute is %v simulated", b.Sub(a))
	}
}

func TestSleepUntilStopsWithTheContext(t *testing.T) {
	c := NewClock(time.Now(), time.Hour, 1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if c.SleepUntil(ctx, c.End()) {
		t.Fatal("SleepUntil reported reaching the end of an hour-long span with a cancelled context")
	}
	if !c.SleepUntil(context.Background(), c.SimStart) {
		t.Fatal("SleepUntil did not return at once for a time already past")
	}
}

func TestSleepCtxWakesOnTheTimerTheWakeChannelOrNotAtAllWhenDone(t *testing.T) {
	live := context.Background()
	done, cancel := context.WithCancel(context.Background())
	cancel()
	woken := make(chan struct{}, 1)
	woken <- struct{}{}
	tests := []struct {
		name string
		ctx  context.Context
		d    time.Duration
		wake <-chan struct{}
		want bool
	}{
		{"the timer fires", live, time.Millisecond, nil, true},
		{"nothing to wait for", live, -time.Second, nil, true},
		{"woken before the timer", live, time.Hour, woken, true},
		{"ctx done", done, time.Hour, nil, false},
		{"ctx done, nothing to wait for", done, 0, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sleepCtx(tt.ctx, tt.d, tt.wake); got != tt.want {
				t.Errorf("sleepCtx = %v, want %v", got, tt.want)
			}
		})
	}
}
