package engine

import (
	"time"

	"github.com/hookgate/hookgate/pipeline/action"
)

// Ran describes an action that ran on this instance and ended.
type Ran struct {
	// ActionID is the action.
	ActionID string
	// Pipeline is its pipeline.
	Pipeline string
	// Status is how it ended: succeeded, failed or cancelled.
	Status action.Status
	// Reason says why it did not succeed.
	Reason action.Reason
	// Duration is the time from its start to its end.
	Duration time.Duration
}

// OnRan sets a function told of every action that ends after running on
// this instance, for metrics. It is called on the worker's goroutine, so
// it must be quick; nil stops the calls.
func (e *Engine) OnRan(fn func(Ran)) {
	if fn == nil {
		e.onRan.Store(nil)
		return
	}
	e.onRan.Store(&fn)
}

// ran tells the OnRan function, if any, of an action that ended.
func (e *Engine) ran(a *action.Action, o action.Outcome, end time.Time) {
	fn := e.onRan.Load()
	if fn == nil || a.StartedAt == nil {
		return
	}
	(*fn)(Ran{ActionID: a.ID, Pipeline: a.Pipeline, Status: o.Status, Reason: o.Reason, Duration: end.Sub(*a.StartedAt)})
}
