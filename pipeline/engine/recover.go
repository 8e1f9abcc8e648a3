package engine

import (
	"context"
	"time"

	"go.uber.org/zap"

	"github.com/hookgate/hookgate/pipeline/store"
	"github.com/hookgate/hookgate/pipeline/webhook"
)

// recoverTick is how often the failed webhooks with a recovery interval
// are looked at.
const recoverTick = time.Second

// recoverWebhooks, until ctx ends, re-attempts the oldest held delivery
// of each failed webhook that has a recovery interval (recover, SPEC
// 7.1), once per interval from when this instance saw it failed; a
// success restarts the webhook.
func (e *Engine) recoverWebhooks(ctx context.Context) {
	defer e.polling.Done()
	ticker := time.NewTicker(recoverTick)
	defer ticker.Stop()
	due := make(map[string]time.Time)
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		now := time.Now()
		for _, w := range e.webhooks.Load().list {
			if w.RecoverEvery <= 0 {
				continue
			}
			rec, err := e.store.Webhook(ctx, w.Name)
			if err != nil || rec.State != webhook.StateFailed {
				delete(due, w.Name)
				continue
			}
			at, seen := due[w.Name]
			switch {
			case !seen:
				due[w.Name] = now.Add(w.RecoverEvery)
			case !now.Before(at):
				due[w.Name] = now.Add(w.RecoverEvery)
				if err := e.recoverWebhook(ctx, w); err != nil && ctx.Err() == nil {
					e.logger.Warn("recovering a failed webhook; trying again at the next interval",
						zap.String("webhook", w.Name), zap.Error(err))
				}
			}
		}
	}
}

// recoverWebhook attempts the oldest held delivery of a failed webhook:
// the attempt is logged with the delivery; a success ends it and
// restarts the webhook, sending every other held delivery, in order.
func (e *Engine) recoverWebhook(ctx context.Context, w *webhook.Webhook) error {
	d, err := e.store.OldestHeld(ctx, w.Name)
	if err != nil || d == nil {
		return err
	}
	set := e.webhooks.Load()
	start := time.Now()
	a, res := set.send(ctx, w, d, start)
	next := store.DeliveryNext{Status: webhook.DeliveryHeld}
	if res.OK() {
		next.Status = webhook.DeliverySucceeded
	}
	err = e.inTx(ctx, func(ctx context.Context, tx store.Tx) ([]deliveryRef, error) {
		if err := tx.RecordAttempt(ctx, d.ID, a, next); err != nil {
			return nil, err
		}
		_, err := tx.RecordWebhookResult(ctx, w.Name, store.WebhookResult{OK: res.OK(), At: time.Now(), CountSuccess: true,
			FailAfter: set.policy.FailAfter, KeepFailed: true})
		if err != nil || !res.OK() || d.ActionID == "" {
			return nil, err
		}
		_, err = releaseNext(ctx, tx, w.Name, d.ActionID, webhook.StateFailed, time.Now())
		return nil, err
	})
	if err != nil {
		return err
	}
	e.delivered(d, res, start)
	log := e.logger.With(zap.String("webhook", w.Name), zap.String("event_id", d.EventID), zap.Int("status", res.StatusCode))
	if !res.OK() {
		log.Info("recovery attempt failed; the webhook stays failed", zap.String("reason", res.Error))
		return nil
	}
	log.Info("recovery attempt succeeded; restarting the webhook")
	_, err = e.RestartWebhook(ctx, w.Name)
	return err
}
