package engine

import (
	"time"

	"github.com/hookgate/hookgate/pipeline/action"
	"github.com/hookgate/hookgate/pipeline/store"
	"github.com/hookgate/hookgate/pipeline/webhook"
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

// Delivered describes an attempt of a delivery made by this instance.
type Delivered struct {
	// Webhook names the webhook.
	Webhook string
	// EventType is the event's type.
	EventType string
	// Outcome is "succeeded", "failed" or, when the guard refused the
	// target address, "refused".
	Outcome string
	// StatusCode is the answer's status; 0 without an answer.
	StatusCode int
	// Duration is how long the attempt took.
	Duration time.Duration
	// Latency is, for a success, the time from the event to the end of
	// the attempt.
	Latency time.Duration
}

// OnDelivered sets a function told of every delivery attempt this
// instance makes, for metrics. It is called on the worker's goroutine, so
// it must be quick; nil stops the calls.
func (e *Engine) OnDelivered(fn func(Delivered)) {
	if fn == nil {
		e.onDelivered.Store(nil)
		return
	}
	e.onDelivered.Store(&fn)
}

// delivered tells the OnDelivered function, if any, of an attempt of d
// that started at start.
func (e *Engine) delivered(d *store.Delivery, res webhook.Result, start time.Time) {
	fn := e.onDelivered.Load()
	if fn == nil {
		return
	}
	ev := Delivered{Webhook: d.Webhook, EventType: d.EventType, Outcome: "failed", StatusCode: res.StatusCode, Duration: res.Duration}
	switch {
	case res.OK():
		ev.Outcome, ev.Latency = "succeeded", start.Add(res.Duration).Sub(d.CreatedAt)
	case res.Refused:
		ev.Outcome = "refused"
	}
	(*fn)(ev)
}
