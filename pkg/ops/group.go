package ops

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Group runs the components of a service. They start in the order they were added (each in
// a goroutine of its own) and stop in reverse order: once ctx is done or any component
// returns, OnStop is called, then the last component added is cancelled and waited for,
// then the one before it, and so on. What consumes thus stops before what it hands its
// work to, and the ops server, added first, answers /metrics and /readyz until the end.
//
// The zero value is ready to use.
type Group struct {
	// Timeout bounds the whole shutdown (0: unbounded). Past it Run cancels every component
	// still running and returns without waiting for them: the process is about to exit.
	Timeout time.Duration
	// OnStop, when set, is called once when shutdown begins, before any component is
	// cancelled (the ops server's Stopping, so that /readyz answers 503 at once).
	OnStop func()

	comps []component
}

type component struct {
	name string
	run  func(context.Context) error
}

// Go adds an unnamed component.
func (g *Group) Go(fn func(context.Context) error) { g.Add("", fn) }

// Add adds a component; name appears in its errors.
func (g *Group) Add(name string, fn func(context.Context) error) {
	g.comps = append(g.comps, component{name: name, run: fn})
}

// Run runs every component until ctx is done or one returns, stops them in reverse order
// and returns their errors: the error of the component that ended the run first.
func (g *Group) Run(ctx context.Context) error {
	type running struct {
		cancel context.CancelFunc
		done   chan struct{}
		err    error
	}
	// Each component has a context of its own, so that they can be cancelled one by one;
	// it keeps ctx's values, not its cancellation.
	base := context.WithoutCancel(ctx)
	rs := make([]*running, len(g.comps))
	exited := make(chan int, len(g.comps))
	for i, c := range g.comps {
		cctx, cancel := context.WithCancel(base)
		r := &running{cancel: cancel, done: make(chan struct{})}
		rs[i] = r
		go func() {
			defer close(r.done)
			if err := c.run(cctx); err != nil {
				r.err = g.wrap(c.name, err)
			}
			exited <- i
		}()
	}
	trigger := -1
	if len(rs) > 0 {
		select {
		case <-ctx.Done():
		case trigger = <-exited:
		}
	}
	if g.OnStop != nil {
		g.OnStop()
	}
	var deadline <-chan time.Time
	if g.Timeout > 0 {
		t := time.NewTimer(g.Timeout)
		defer t.Stop()
		deadline = t.C
	}
	var errs []error
	if trigger >= 0 {
		<-rs[trigger].done
		errs = append(errs, rs[trigger].err)
	}
	for i := len(rs) - 1; i >= 0; i-- {
		rs[i].cancel()
		select {
		case <-rs[i].done:
		case <-deadline:
			for _, r := range rs[:i] {
				r.cancel()
			}
			errs = append(errs, fmt.Errorf("shutdown: %s still running after %v", g.name(i), g.Timeout))
			return errors.Join(errs...)
		}
		if i != trigger {
			errs = append(errs, rs[i].err)
		}
	}
	return errors.Join(errs...)
}

func (g *Group) name(i int) string {
	if n := g.comps[i].name; n != "" {
		return n
	}
	return fmt.Sprintf("component %d", i+1)
}

func (g *Group) wrap(name string, err error) error {
	if name == "" {
		return err
	}
	return fmt.Errorf("%s: %w", name, err)
}
