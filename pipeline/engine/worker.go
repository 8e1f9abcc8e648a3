package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"go.uber.org/zap"

	"github.com/hookgate/hookgate/pipeline/action"
	"github.com/hookgate/hookgate/pipeline/store"
)

// storeTimeout bounds each write of a worker, made even after its job's
// context ended.
const storeTimeout = 30 * time.Second

// actionArgs are the arguments of the job of an action: the action itself
// is in the store.
type actionArgs struct {
	// ActionID is the action to run.
	ActionID string `json:"action_id"`
	// Pipeline is the action's pipeline, for the job's timeout.
	Pipeline string `json:"pipeline"`
}

// Kind implements river.JobArgs.
func (actionArgs) Kind() string { return "hookgate_action" }

// actionWorker runs the jobs of actions.
type actionWorker struct {
	river.WorkerDefaults[actionArgs]
	e *Engine
}

// Timeout is the longest pipeline timeout plus a grace: River cancels the
// job then, and its rescuer takes a job running longer for dead.
func (w *actionWorker) Timeout(*river.Job[actionArgs]) time.Duration {
	return time.Duration(max(w.e.maxTimeout.Load(), int64(action.DefaultTimeout))) + timeoutGrace
}

// Work runs an action, or ends it without running it when it was
// interrupted before or is no longer wanted.
func (w *actionWorker) Work(ctx context.Context, job *river.Job[actionArgs]) error {
	return w.e.work(ctx, job.ID, job.Args.ActionID)
}

// work runs the action id for the job jobID. See the package
// documentation for why an action found running is interrupted.
func (e *Engine) work(ctx context.Context, jobID int64, id string) error {
	log := e.logger.With(zap.String("action_id", id))
	a, err := e.store.Action(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		log.Warn("job of a deleted action dropped")
		return nil
	}
	if err != nil {
		return err
	}
	log = log.With(zap.String("pipeline", a.Pipeline), zap.String("hook", a.Hook))
	switch {
	case a.Status.Finished():
		return nil
	case a.Status == action.StatusRunning:
		return e.interrupted(ctx, log, a)
	}
	plan := e.plan(a.Pipeline)
	if plan == nil {
		return e.finish(ctx, log, a, action.Outcome{
			Status: action.StatusFailed, Reason: action.ReasonUnknownPipeline,
			Detail: fmt.Sprintf("pipeline %q is not configured", a.Pipeline),
		}, "")
	}
	// The run has a context of its own, so that the cause of its end says
	// what happened: a cancellation through the API reaches the job as
	// River's remote cancellation; anything else is a stop. A lost lease
	// stops the run too (see leaseKeeper), even one lost while it is
	// being claimed, as it is noted running first.
	runCtx, cancelRun := context.WithCancelCause(context.WithoutCancel(ctx))
	defer cancelRun(nil)
	e.running.add(id, cancelRun)
	defer e.running.remove(id)
	lease := e.leaseName()
	if e.fenced() {
		// Without a lease, nothing is claimed: the job waits for one.
		return river.JobSnooze(time.Second)
	}
	started := time.Now()
	claimed := false
	err = e.inTx(ctx, func(ctx context.Context, tx store.Tx) ([]deliveryRef, error) {
		var err error
		if claimed, err = tx.Claim(ctx, id, jobID, started, lease); err != nil || !claimed {
			return nil, err
		}
		running := *a
		running.Status, running.StartedAt = action.StatusRunning, &started
		return e.recordActionEvent(ctx, tx, &running, started)
	})
	if errors.Is(err, store.ErrFenced) {
		return river.JobSnooze(time.Second)
	}
	if err != nil || !claimed {
		// Not claimed: cancelled meanwhile. An error: River tries again.
		return err
	}
	a.Status, a.StartedAt = action.StatusRunning, &started
	log.Info("action started", zap.String("status", string(action.StatusRunning)))

	stopWatch := context.AfterFunc(ctx, func() {
		if errors.Is(context.Cause(ctx), river.ErrJobCancelledRemotely) {
			cancelRun(action.ErrCancelled)
			return
		}
		cancelRun(fmt.Errorf("%w: %v", action.ErrInterrupted, context.Cause(ctx)))
	})
	defer stopWatch()

	step := 0
	outcome := plan.Run(runCtx, a, func(r action.StepResult) {
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
		defer cancel()
		switch err := e.store.AddStep(wctx, id, step, r, lease); {
		case errors.Is(err, store.ErrFenced):
			log.Warn("step result refused: another instance took the action over", zap.String("step", r.Name))
		case err != nil:
			log.Error("storing a step result", zap.String("step", r.Name), zap.Error(err))
		}
		a.Steps = append(a.Steps, r)
		step++
	})
	return e.finish(ctx, log, a, outcome, lease)
}

// interrupted ends an action found running when its job is handed out
// again: its instance died or lost its lease (see the package
// documentation). It is taken over first, and only when the lease it was
// claimed under is no longer live; otherwise it runs elsewhere, and the
// job has nothing to do.
func (e *Engine) interrupted(ctx context.Context, log *zap.Logger, a *action.Action) error {
	lease := e.leaseName()
	if e.fenced() {
		return river.JobSnooze(time.Second)
	}
	taken := false
	err := e.store.InTx(ctx, func(tx store.Tx) error {
		var err error
		taken, err = tx.TakeOver(ctx, a.ID, lease)
		return err
	})
	if err != nil {
		return err
	}
	if !taken {
		log.Info("job of an action running under a live lease left to it")
		return nil
	}
	return e.finish(ctx, log, a, action.Outcome{
		Status: action.StatusFailed, Reason: action.ReasonInterrupted,
		Detail: "the instance running the action stopped or died before it ended",
	}, lease)
}

// finish stores the outcome of a (which is in its current status) with
// its event, tells those waiting for it and logs it. With a lease, the
// outcome of a running action is stored only if the action is still
// claimed under it: one taken over by another instance keeps the outcome
// that instance gives it.
func (e *Engine) finish(ctx context.Context, log *zap.Logger, a *action.Action, o action.Outcome, lease string) error {
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer cancel()
	if a.Status != action.StatusRunning {
		lease = ""
	}
	var err error
	stored := false
	end := time.Now()
	for wait := 100 * time.Millisecond; ; wait *= 2 {
		err = e.inTx(wctx, func(ctx context.Context, tx store.Tx) ([]deliveryRef, error) {
			ok, err := tx.Finish(ctx, a.ID, a.Status, o, end, lease)
			if stored = ok; err != nil || !ok {
				return nil, err
			}
			ended := *a
			ended.Status, ended.Reason, ended.Detail, ended.FinishedAt = o.Status, o.Reason, o.Detail, &end
			return e.recordActionEvent(ctx, tx, &ended, end)
		})
		if err == nil || wctx.Err() != nil {
			break
		}
		select {
		case <-wctx.Done():
		case <-time.After(wait):
		}
	}
	if err != nil {
		log.Error("storing the outcome of an action", zap.String("status", string(o.Status)), zap.Error(err))
		return err
	}
	if !stored {
		log.Warn("outcome not stored: the action had ended, or another instance took it over",
			zap.String("status", string(o.Status)), zap.String("reason", string(o.Reason)))
		e.waiters.notify(a.ID) // they read the outcome that was stored
		return nil
	}
	e.ran(a, o, end) // before the waiters: whoever waited sees it counted
	e.waiters.notify(a.ID)
	fields := []zap.Field{zap.String("status", string(o.Status))}
	if a.StartedAt != nil {
		fields = append(fields, zap.Duration("duration", end.Sub(*a.StartedAt)))
	}
	if o.Status == action.StatusSucceeded {
		log.Info("action succeeded", fields...)
		return nil
	}
	log.Warn("action ended", append(fields, zap.String("reason", string(o.Reason)), zap.String("detail", o.Detail))...)
	return nil
}
