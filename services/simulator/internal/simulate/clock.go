package simulate

import (
	"context"
	"time"
)

// Clock maps wall-clock time to simulated time. Simulated time starts at SimStart when the
// wall clock reads WallStart and runs Acceleration times faster for Span of simulated time;
// after that it runs at the wall clock's pace (the live tail of `simulator run -live`),
// still behind the wall clock by Span − Span/Acceleration.
type Clock struct {
	SimStart     time.Time
	WallStart    time.Time
	Span         time.Duration
	Acceleration float64
	// now returns the wall-clock time; tests replace it.
	now func() time.Time
}

// NewClock returns the clock of a scenario of the given simulated span started at wall
// time start. The simulated clock begins span in the past, so it reads start when the span
// has elapsed and never runs ahead of the wall clock (the gateway refuses a future
// DataTime).
func NewClock(start time.Time, span time.Duration, acceleration float64) *Clock {
	if acceleration <= 0 {
		acceleration = 1
	}
	return &Clock{SimStart: start.Add(-span), WallStart: start, Span: span, Acceleration: acceleration, now: time.Now}
}

// Now returns the current simulated time.
func (c *Clock) Now() time.Time { return c.SimAt(c.now()) }

// End returns the simulated time at which the accelerated span ends.
func (c *Clock) End() time.Time { return c.SimStart.Add(c.Span) }

// WallEnd returns the wall time at which the accelerated span ends.
func (c *Clock) WallEnd() time.Time { return c.WallStart.Add(c.Wall(c.Span)) }

// SimAt returns the simulated time at wall time w.
func (c *Clock) SimAt(w time.Time) time.Time {
	if end := c.WallEnd(); w.After(end) {
		return c.End().Add(w.Sub(end))
	}
	return c.SimStart.Add(time.Duration(float64(w.Sub(c.WallStart)) * c.Acceleration))
}

// WallAt returns the wall time at which the simulated clock reads s.
func (c *Clock) WallAt(s time.Time) time.Time {
	if s.After(c.End()) {
		return c.WallEnd().Add(s.Sub(c.End()))
	}
	return c.WallStart.Add(c.Wall(s.Sub(c.SimStart)))
}

// Wall converts a simulated duration within the span to wall-clock time.
func (c *Clock) Wall(d time.Duration) time.Duration {
	return time.Duration(float64(d) / c.Acceleration)
}

// SleepUntil blocks until the simulated clock reads s or ctx is done; it reports whether s
// was reached.
func (c *Clock) SleepUntil(ctx context.Context, s time.Time) bool {
	return sleepCtx(ctx, c.WallAt(s).Sub(c.now()), nil)
}

// sleepUntil is SleepUntil that also ends when wake receives: woken says so, live that
// ctx is not done.
func (c *Clock) sleepUntil(ctx context.Context, s time.Time, wake <-chan struct{}) (woken, live bool) {
	d := c.WallAt(s).Sub(c.now())
	if d <= 0 {
		return false, ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false, false
	case <-t.C:
		return false, true
	case <-wake:
		return true, true
	}
}

// sleepCtx waits for d (none when d ≤ 0), or until wake receives (nil: never), and
// reports whether ctx is still live: false means ctx is done and the caller should stop.
func sleepCtx(ctx context.Context, d time.Duration, wake <-chan struct{}) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
	case <-wake:
	}
	return true
}
