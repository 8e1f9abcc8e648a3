package engine

import (
	"context"
	"errors"
	"time"

	"github.com/hookgate/hookgate/pipeline/store"
)

// WindowStats are the actions created and the delivery attempts made in
// a window, by interval.
type WindowStats struct {
	// Actions count the actions by interval and state, with run times.
	Actions []store.ActionBucket
	// Attempts count the attempts by interval, outcome and duration.
	Attempts []store.AttemptBucket
}

// Window reads the stats of the window from since to now, by interval;
// the two counts are read at once, each on a connection of its own.
func (e *Engine) Window(ctx context.Context, since time.Time, interval time.Duration) (WindowStats, error) {
	var w WindowStats
	var attemptsErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.Attempts, attemptsErr = e.store.AttemptStats(ctx, since, interval)
	}()
	var err error
	w.Actions, err = e.store.ActionStats(ctx, since, interval)
	<-done
	return w, unavailable(errors.Join(err, attemptsErr))
}

// CountActions counts the actions a filter selects, its limit and offset
// aside.
func (e *Engine) CountActions(ctx context.Context, f ActionFilter) (int64, error) {
	n, err := e.store.CountActions(ctx, f)
	return n, unavailable(err)
}
