package action

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Causes of the end of an action's context, given by whoever cancels it,
// that Run turns into the action's outcome.
var (
	// ErrCancelled: the action was cancelled through the API.
	ErrCancelled = errors.New("action cancelled")
	// ErrInterrupted: the instance running the action is stopping.
	ErrInterrupted = errors.New("action interrupted")
	// ErrTimeout: the action ran out of time (Run sets it itself).
	ErrTimeout = errors.New("action timed out")
)

// errStepTimeout is the cause of the end of a step's context when the
// step's own timeout expires.
var errStepTimeout = errors.New("step timed out")

// outputLimit is how much of a step's output is kept.
const outputLimit = 64 << 10

// failure is why a step failed.
type failure struct {
	reason Reason
	detail string
}

// Run runs the plan's steps for a, in order, and passes each step's
// result to record as soon as the step ends. The first step that fails
// ends the action. The plan's timeout bounds the whole run; when ctx ends,
// the running step's process group is killed and the outcome follows
// context.Cause(ctx): ErrCancelled gives cancelled, anything else
// (ErrInterrupted) failed with reason interrupted.
func (p *Plan) Run(ctx context.Context, a *Action, record func(StepResult)) Outcome {
	ctx, cancel := context.WithTimeoutCause(ctx, p.Pipeline.Timeout, ErrTimeout)
	defer cancel()
	sc := newScope(a, &p.Pipeline)
	for i := range p.steps {
		s := &p.steps[i]
		if ctx.Err() != nil {
			return p.ended(ctx, s.name)
		}
		res := StepResult{Name: s.name, Kind: s.kind}
		if s.when != nil {
			ok, err := s.when.eval(sc)
			if err != nil {
				res.Status, res.Error = StepFailed, "when: "+err.Error()
				record(res)
				return Outcome{Status: StatusFailed, Reason: ReasonExpression, Detail: fmt.Sprintf("step %q: %s", s.name, res.Error)}
			}
			if !ok.(bool) {
				res.Status = StepSkipped
				record(res)
				continue
			}
		}
		stepCtx, stepCancel := ctx, context.CancelFunc(func() {})
		if s.timeout > 0 {
			stepCtx, stepCancel = context.WithTimeoutCause(ctx, s.timeout, errStepTimeout)
		}
		start := time.Now()
		var f *failure
		switch s.kind {
		case KindExec:
			f = runExec(stepCtx, s, sc, &res)
		case KindHTTP:
			f = runHTTP(stepCtx, s, sc, &res)
		}
		res.DurationMS = time.Since(start).Milliseconds()
		stepErr := context.Cause(stepCtx)
		stepCancel()
		if f == nil {
			res.Status = StepSucceeded
			record(res)
			continue
		}
		res.Status = StepFailed
		res.Error = f.detail
		if stepErr != nil {
			// The step was killed: the context's end is the reason.
			o := p.ended(ctx, s.name)
			if errors.Is(stepErr, errStepTimeout) {
				o = Outcome{Status: StatusFailed, Reason: ReasonTimeout, Detail: fmt.Sprintf("step %q timed out after %s", s.name, s.timeout)}
			}
			res.Error = o.Detail
			record(res)
			return o
		}
		record(res)
		return Outcome{Status: StatusFailed, Reason: f.reason, Detail: fmt.Sprintf("step %q: %s", s.name, f.detail)}
	}
	return Outcome{Status: StatusSucceeded}
}

// ended is the outcome of an action whose context ended during or before
// the step named step.
func (p *Plan) ended(ctx context.Context, step string) Outcome {
	switch cause := context.Cause(ctx); {
	case errors.Is(cause, ErrTimeout):
		return Outcome{Status: StatusFailed, Reason: ReasonTimeout, Detail: fmt.Sprintf("action timed out after %s, in step %q", p.Pipeline.Timeout, step)}
	case errors.Is(cause, ErrCancelled):
		return Outcome{Status: StatusCancelled, Reason: ReasonCancelled, Detail: fmt.Sprintf("cancelled in step %q", step)}
	default:
		return Outcome{Status: StatusFailed, Reason: ReasonInterrupted, Detail: fmt.Sprintf("interrupted in step %q: %v", step, cause)}
	}
}
