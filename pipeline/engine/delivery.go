package engine

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"go.uber.org/zap"

	"github.com/hookgate/hookgate/pipeline/store"
	"github.com/hookgate/hookgate/pipeline/webhook"
)

// Delivery settings.
const (
	// deliveryQueue is the River queue of delivery attempts.
	deliveryQueue = "hookgate_delivery"
	// deliveryWorkers is how many attempts one instance makes at once.
	deliveryWorkers = 64
	// deliveryGrace is added to the attempt timeout to make a delivery
	// job's timeout: the time to store its result.
	deliveryGrace = 30 * time.Second
	// workerWaitMax is the longest a delivery worker waits for a
	// delivery's next attempt time; a retry due later is a River
	// scheduled job (River's scheduler runs every 5 seconds).
	workerWaitMax = 5 * time.Second
	// deliveriesPerJob is the most deliveries one job attempts, at once:
	// deliveries due now and stored together (a restart, a resume, a
	// burst of events) share jobs, so that the queue's cost per job
	// (on SQLite, a statement to fetch and one to complete each) is
	// shared too.
	deliveriesPerJob = 8
)

// deliveryArgs are the arguments of the job of one attempt of a delivery.
type deliveryArgs struct {
	// DeliveryID is the delivery to attempt.
	DeliveryID string `json:"delivery_id"`
	// Token must be the delivery's job token: a job scheduled before a
	// restart, a resume or a hold carries an old one and does nothing.
	Token int64 `json:"token"`
	// More are further deliveries the job attempts, at the same time.
	More []deliveryRef `json:"more,omitempty"`
}

// deliveryRef is a delivery a job attempts, with its job token.
type deliveryRef struct {
	DeliveryID string `json:"delivery_id"`
	Token      int64  `json:"token"`
}

// Kind implements river.JobArgs.
func (deliveryArgs) Kind() string { return "hookgate_delivery" }

// deliveryJob is a delivery job to insert, and when to run it.
type deliveryJob struct {
	args deliveryArgs
	at   time.Time
}

// deliveryWorker attempts deliveries.
type deliveryWorker struct {
	river.WorkerDefaults[deliveryArgs]
	e *Engine
}

// Timeout is the attempt timeout plus the longest wait for the attempt's
// time and a grace to store the result.
func (w *deliveryWorker) Timeout(*river.Job[deliveryArgs]) time.Duration {
	return workerWaitMax + w.e.webhooks.Load().policy.Timeout + deliveryGrace
}

// Work makes one attempt of each of the job's deliveries, all at once,
// except those for which the job is stale. When one fails to be stored
// River runs the job again: those already ended are stale then.
func (w *deliveryWorker) Work(ctx context.Context, job *river.Job[deliveryArgs]) error {
	if len(job.Args.More) == 0 {
		return w.e.attempt(ctx, job.Args)
	}
	errs := make([]error, 1+len(job.Args.More))
	var wg sync.WaitGroup
	wg.Go(func() {
		errs[0] = w.e.attempt(ctx, deliveryArgs{DeliveryID: job.Args.DeliveryID, Token: job.Args.Token})
	})
	for i, ref := range job.Args.More {
		wg.Go(func() { errs[i+1] = w.e.attempt(ctx, deliveryArgs{DeliveryID: ref.DeliveryID, Token: ref.Token}) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// attempt makes one attempt of a pending delivery and stores its result:
// a success ends it and lets the action's next delivery to the webhook go;
// a failure schedules a retry, or holds it when the webhook has now failed
// too often, or gives it up when the schedule is exhausted.
//
// Once its time has come, the attempt is marked in flight, in the store,
// before the request is sent, and only if the delivery is still pending
// with the job's token and its webhook is not failed: so nothing is sent
// while the webhook is failed, nor for a delivery held or restarted while
// the job waited. A hold or a restart leaves a delivery in flight alone,
// and its outcome is stored as usual, so that a restart never sends again
// a delivery that its attempt in flight ends.
func (e *Engine) attempt(ctx context.Context, args deliveryArgs) error {
	d, err := e.store.Delivery(ctx, args.DeliveryID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if d.Status != webhook.DeliveryPending || d.JobToken != args.Token {
		return nil
	}
	if d.NextAttemptAt != nil {
		if wait := time.Until(*d.NextAttemptAt); wait > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(wait):
			}
		}
	}
	log := e.logger.With(zap.String("webhook", d.Webhook), zap.String("event_id", d.EventID),
		zap.String("action_id", d.ActionID), zap.Int("attempt", d.AttemptCount+1))
	start := time.Now()
	started := false
	err = e.results.run(ctx, func(ctx context.Context, tx store.Tx) (bool, error) {
		var err error
		started, err = tx.StartAttempt(ctx, d.ID, args.Token, start)
		return false, err
	})
	if err != nil {
		return err
	}
	if !started {
		log.Debug("delivery not attempted: held, restarted or ended while its job waited, or its webhook failed")
		return nil
	}
	set := e.webhooks.Load()
	w := set.byName[d.Webhook]
	if w == nil {
		// It may have been created or renamed through the API on another
		// instance, which this one has not noticed yet.
		if err := e.refresh(ctx); err != nil {
			return err
		}
		set = e.webhooks.Load()
		w = set.byName[d.Webhook]
	}
	if w == nil {
		log.Warn("delivery held: its webhook is not configured")
		return e.results.run(ctx, func(ctx context.Context, tx store.Tx) (bool, error) {
			return false, tx.ScheduleDelivery(ctx, d.ID, webhook.DeliveryHeld, 0, time.Now(), time.Now())
		})
	}
	var res webhook.Result
	req, err := w.Request(d.EventID, d.Body, d.Values, start)
	if err != nil {
		res = webhook.Result{Error: err.Error()}
	} else {
		res = set.client.Send(ctx, req)
	}
	a := store.Attempt{At: start, Duration: res.Duration, StatusCode: res.StatusCode, Error: res.Error, Response: res.Response}
	if req != nil {
		a.URL = req.URL
	}
	var state webhook.State
	var next store.DeliveryNext
	err = e.results.run(ctx, func(ctx context.Context, tx store.Tx) (bool, error) {
		return e.storeResult(ctx, tx, set.policy, d, a, res, &state, &next)
	})
	if err != nil {
		log.Error("storing a delivery attempt", zap.Error(err))
		return err
	}
	e.delivered(d, res, start)
	fields := []zap.Field{zap.Int("status", res.StatusCode), zap.Duration("duration", res.Duration)}
	switch {
	case res.OK():
		log.Debug("delivered", fields...)
	case next.Status == webhook.DeliveryPending:
		log.Warn("delivery attempt failed; retrying", append(fields, zap.String("reason", res.Error), zap.Timep("next_attempt", next.NextAttemptAt))...)
	default:
		log.Warn("delivery attempt failed", append(fields, zap.String("reason", res.Error), zap.String("delivery", string(next.Status)),
			zap.String("webhook_state", string(state)))...)
	}
	return nil
}

// storeResult stores an attempt and its consequences, in tx. It sets
// state to the webhook's new state and next to what becomes of the
// delivery, and reports whether it inserted a job.
//
// The webhook may have failed while the attempt was in flight, by the
// failures of other deliveries: a success still ends the delivery, and
// the action's next delivery is then held at the head of its line, the
// webhook staying failed until a test or a restart; a failure holds it.
func (e *Engine) storeResult(ctx context.Context, tx store.Tx, policy webhook.Policy, d *store.Delivery, a store.Attempt,
	res webhook.Result, state *webhook.State, next *store.DeliveryNext) (bool, error) {
	now := time.Now()
	st, err := tx.RecordWebhookResult(ctx, d.Webhook, store.WebhookResult{OK: res.OK(), At: now, CountSuccess: true,
		FailAfter: policy.FailAfter, KeepFailed: true})
	if err != nil {
		return false, err
	}
	*state = st
	var jobs []deliveryJob
	switch wait, retry := policy.Retry(d.AttemptCount+1, res.RetryAfter); {
	case res.OK():
		*next = store.DeliveryNext{Status: webhook.DeliverySucceeded}
	case st == webhook.StateFailed:
		*next = store.DeliveryNext{Status: webhook.DeliveryHeld}
		if _, err := tx.HoldPending(ctx, d.Webhook, now); err != nil {
			return false, err
		}
	case retry:
		at := now.Add(wait)
		*next = store.DeliveryNext{Status: webhook.DeliveryPending, NextAttemptAt: &at, JobToken: newToken()}
		jobs = append(jobs, deliveryJob{args: deliveryArgs{DeliveryID: d.ID, Token: next.JobToken}, at: at})
	default:
		*next = store.DeliveryNext{Status: webhook.DeliveryFailed}
	}
	if err := tx.RecordAttempt(ctx, d.ID, a, *next); err != nil {
		return false, err
	}
	if !next.Status.Open() && d.ActionID != "" {
		job, err := releaseNext(ctx, tx, d.Webhook, d.ActionID, st, now)
		if err != nil {
			return false, err
		}
		if job != nil {
			jobs = append(jobs, *job)
		}
	}
	if len(jobs) == 0 {
		return false, nil
	}
	return true, e.queue.insertDeliveries(ctx, tx, jobs)
}

// releaseNext lets the next waiting delivery of an action to a webhook
// go, once the one before it ended: pending with its job, or held when the
// webhook is failed.
func releaseNext(ctx context.Context, tx store.Tx, name, actionID string, state webhook.State, now time.Time) (*deliveryJob, error) {
	id, err := tx.NextWaiting(ctx, name, actionID)
	if err != nil || id == "" {
		return nil, err
	}
	if state == webhook.StateFailed {
		return nil, tx.ScheduleDelivery(ctx, id, webhook.DeliveryHeld, 0, now, now)
	}
	token := newToken()
	if err := tx.ScheduleDelivery(ctx, id, webhook.DeliveryPending, token, now, now); err != nil {
		return nil, err
	}
	return &deliveryJob{args: deliveryArgs{DeliveryID: id, Token: token}, at: now}, nil
}
