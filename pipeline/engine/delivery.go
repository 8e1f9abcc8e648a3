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
	// deliveryWorkers is how many delivery jobs one instance runs at once.
	deliveryWorkers = 64
	// deliveriesPerJob is the most deliveries one job attempts: those due
	// now and stored together (a restart, a resume, a burst of events)
	// share jobs, so that the queue's cost per job (on SQLite, a
	// statement to fetch and one to complete each, and their commits) is
	// shared too.
	deliveriesPerJob = 32
	// attemptsPerJob is how many of its deliveries a job attempts at
	// once.
	attemptsPerJob = 8
	// maxAttempts bounds the attempts in flight, and so the connections
	// open to receivers.
	maxAttempts = deliveryWorkers * attemptsPerJob
	// deliveryGrace is added to the attempt timeouts to make a delivery
	// job's timeout: the time to store the results.
	deliveryGrace = 30 * time.Second
	// workerWaitMax is the longest a delivery worker waits for a
	// delivery's next attempt time; a retry due later is a River
	// scheduled job (River's scheduler runs every 5 seconds).
	workerWaitMax = 5 * time.Second
)

// deliveryRef is a delivery for a job to attempt.
type deliveryRef struct {
	// DeliveryID is the delivery to attempt.
	DeliveryID string `json:"delivery_id"`
	// Token must be the delivery's job token: a job scheduled before a
	// restart, a resume or a hold carries an old one and does nothing.
	Token int64 `json:"token"`
	// At is when the attempt is due: a job due sooner than workerWaitMax
	// is available at once, and its worker waits.
	At time.Time `json:"at"`
	// Webhook is the delivery's webhook: a job takes deliveries of one
	// webhook only, so that a slow receiver delays no other's.
	Webhook string `json:"-"`
	// Revision is the revision of the API's definitions the delivery
	// was recorded with: an instance that has an older set reloads it
	// before the attempt, so that no attempt goes out with a definition
	// older than its event's.
	Revision int64 `json:"revision,omitempty"`
}

// deliveryArgs are the arguments of the job of one attempt of a delivery,
// or of several due at about the same time.
type deliveryArgs struct {
	deliveryRef
	// More are further deliveries the job attempts, at the same time.
	More []deliveryRef `json:"more,omitempty"`
}

// Kind implements river.JobArgs.
func (deliveryArgs) Kind() string { return "hookgate_delivery" }

// deliveryWorker attempts deliveries.
type deliveryWorker struct {
	river.WorkerDefaults[deliveryArgs]
	e *Engine
}

// Timeout is the longest wait for the attempts' time, plus the attempt
// timeout for each round of attemptsPerJob attempts, plus a grace to
// store the results.
func (w *deliveryWorker) Timeout(job *river.Job[deliveryArgs]) time.Duration {
	rounds := (1 + len(job.Args.More) + attemptsPerJob - 1) / attemptsPerJob
	return workerWaitMax + time.Duration(rounds)*w.e.webhooks.Load().policy.Timeout + deliveryGrace
}

// Work makes one attempt of each of the job's deliveries, attemptsPerJob
// at a time, except those for which the job is stale. When one fails to
// be stored River runs the job again: those already ended are stale then.
func (w *deliveryWorker) Work(ctx context.Context, job *river.Job[deliveryArgs]) error {
	refs := append([]deliveryRef{job.Args.deliveryRef}, job.Args.More...)
	errs := make([]error, len(refs))
	slots := make(chan struct{}, attemptsPerJob)
	var wg sync.WaitGroup
	for i, ref := range refs {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			errs[i] = w.e.attempt(ctx, ref)
		})
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
func (e *Engine) attempt(ctx context.Context, ref deliveryRef) error {
	if wait := time.Until(ref.At); wait > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
	start := time.Now()
	d, err := e.results.startAttempt(ctx, store.AttemptStart{ID: ref.DeliveryID, Token: ref.Token, At: start})
	if err != nil {
		return err
	}
	if d == nil {
		e.logger.Debug("delivery not attempted: held, restarted or ended while its job waited, or its webhook failed",
			zap.String("delivery", ref.DeliveryID))
		return nil
	}
	log := e.logger.With(zap.String("webhook", d.Webhook), zap.String("event_id", d.EventID),
		zap.String("action_id", d.ActionID), zap.Int("attempt", d.AttemptCount+1))
	set := e.webhooks.Load()
	w := set.byName[d.Webhook]
	if w == nil || ref.Revision > set.revision {
		// It may have been created, renamed or changed through the API
		// on another instance, which this one has not noticed yet.
		if err := e.refresh(ctx); err != nil {
			return err
		}
		set = e.webhooks.Load()
		w = set.byName[d.Webhook]
	}
	if w == nil {
		log.Warn("delivery held: its webhook is not configured")
		return e.results.run(ctx, func(ctx context.Context, tx store.Tx) ([]deliveryRef, error) {
			return nil, tx.ScheduleDelivery(ctx, d.ID, webhook.DeliveryHeld, 0, time.Now(), time.Now())
		})
	}
	a, res := set.send(ctx, w, d, start)
	var state webhook.State
	var next store.DeliveryNext
	err = e.results.run(ctx, func(ctx context.Context, tx store.Tx) ([]deliveryRef, error) {
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

// send makes an attempt of the stored delivery d to w at start, with the
// set's client, and returns it as it is stored, with its result.
func (s *webhookSet) send(ctx context.Context, w *webhook.Webhook, d *store.Delivery, start time.Time) (store.Attempt, webhook.Result) {
	var res webhook.Result
	req, err := w.Request(d.EventID, d.Body, d.Values, d.Headers, start)
	if err != nil {
		res = webhook.Result{Error: err.Error()}
	} else {
		res = s.client.Send(ctx, req)
	}
	a := store.Attempt{At: start, Duration: res.Duration, StatusCode: res.StatusCode, Error: res.Error, Response: res.Response}
	if req != nil {
		a.URL = req.URL
	}
	return a, res
}

// storeResult stores an attempt and its consequences, in tx. It sets
// state to the webhook's new state and next to what becomes of the
// delivery, and returns the deliveries it made due: its retry, or the
// action's next delivery.
//
// The webhook may have failed while the attempt was in flight, by the
// failures of other deliveries: a success still ends the delivery, and
// the action's next delivery is then held at the head of its line, the
// webhook staying failed until a test or a restart; a failure holds it.
func (e *Engine) storeResult(ctx context.Context, tx store.Tx, policy webhook.Policy, d *store.Delivery, a store.Attempt,
	res webhook.Result, state *webhook.State, next *store.DeliveryNext) ([]deliveryRef, error) {
	now := time.Now()
	st, err := tx.RecordWebhookResult(ctx, d.Webhook, store.WebhookResult{OK: res.OK(), At: now, CountSuccess: true,
		FailAfter: policy.FailAfter, KeepFailed: true})
	if err != nil {
		return nil, err
	}
	*state = st
	var due []deliveryRef
	switch wait, retry := policy.Retry(d.AttemptCount+1, res.RetryAfter); {
	case res.OK():
		*next = store.DeliveryNext{Status: webhook.DeliverySucceeded}
	case st == webhook.StateFailed:
		*next = store.DeliveryNext{Status: webhook.DeliveryHeld}
		if _, err := tx.HoldPending(ctx, d.Webhook, now); err != nil {
			return nil, err
		}
	case retry:
		at := now.Add(wait)
		*next = store.DeliveryNext{Status: webhook.DeliveryPending, NextAttemptAt: &at, JobToken: newToken()}
		due = append(due, deliveryRef{DeliveryID: d.ID, Token: next.JobToken, At: at, Webhook: d.Webhook})
	default:
		*next = store.DeliveryNext{Status: webhook.DeliveryFailed}
	}
	if err := tx.RecordAttempt(ctx, d.ID, a, *next); err != nil {
		return nil, err
	}
	if !next.Status.Open() && d.ActionID != "" {
		job, err := releaseNext(ctx, tx, d.Webhook, d.ActionID, st, now)
		if err != nil {
			return nil, err
		}
		if job != nil {
			due = append(due, *job)
		}
	}
	return due, nil
}

// releaseNext lets the next waiting delivery of an action to a webhook
// go, once the one before it ended: pending with its job, or held when the
// webhook is failed.
func releaseNext(ctx context.Context, tx store.Tx, name, actionID string, state webhook.State, now time.Time) (*deliveryRef, error) {
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
	return &deliveryRef{DeliveryID: id, Token: token, At: now, Webhook: name}, nil
}
