package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/hookgate/hookgate/pipeline/store"
	"github.com/hookgate/hookgate/pipeline/webhook"
)

// Errors of a manual redelivery.
var (
	// ErrWebhookFailed: the webhook is failed; RestartWebhook first.
	ErrWebhookFailed = errors.New("webhook failed: restart it first")
	// ErrDeliveryWaiting: the delivery waits behind an earlier one of its
	// action, or another delivery of its action to the webhook is open.
	ErrDeliveryWaiting = errors.New("delivery waiting behind another of its action")
)

// RetryDelivery sends a delivery of a webhook (by ID or name) again, now,
// with the same event ID (webhook-id): a pending one now rather than at
// its retry, a held one, or an ended one (succeeded or failed), which is
// opened again. It returns the delivery, pending with a new job, or as it
// is when an attempt of it is in flight. An unknown delivery, or one of
// another webhook, gives ErrNotFound; a failed webhook ErrWebhookFailed;
// a waiting delivery, or an ended one whose action has another delivery
// open to the webhook, ErrDeliveryWaiting.
func (e *Engine) RetryDelivery(ctx context.Context, ref, deliveryID string) (*store.Delivery, error) {
	var refused error
	refuse := func(err error) error { refused = err; return err }
	inserted := false
	err := e.inTx(ctx, func(ctx context.Context, tx store.Tx) ([]deliveryRef, error) {
		rec, err := tx.FindWebhook(ctx, ref)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return nil, refuse(fmt.Errorf("%w: %q", ErrUnknownWebhook, ref))
		case err != nil:
			return nil, err
		case rec.Source != SourceAPI && !e.webhooks.Load().isConfigured(rec.Name):
			return nil, refuse(fmt.Errorf("%w: %q", ErrUnknownWebhook, ref))
		}
		d, err := tx.Delivery(ctx, deliveryID)
		switch {
		case errors.Is(err, store.ErrNotFound) || err == nil && d.Webhook != rec.Name:
			return nil, refuse(fmt.Errorf("%w: delivery %q of webhook %q", ErrNotFound, deliveryID, rec.Name))
		case err != nil:
			return nil, err
		case rec.State == webhook.StateFailed:
			return nil, refuse(fmt.Errorf("webhook %q: %w", rec.Name, ErrWebhookFailed))
		case d.Status == webhook.DeliveryWaiting:
			return nil, refuse(fmt.Errorf("delivery %q: %w", d.ID, ErrDeliveryWaiting))
		case !d.Status.Open() && d.ActionID != "":
			open, err := tx.HasOpenDelivery(ctx, rec.Name, d.ActionID)
			if err != nil {
				return nil, err
			}
			if open {
				return nil, refuse(fmt.Errorf("delivery %q: %w", d.ID, ErrDeliveryWaiting))
			}
		}
		now, token := time.Now(), newToken()
		if inserted, err = tx.RetryDelivery(ctx, d.ID, token, now); err != nil || !inserted {
			return nil, err
		}
		return []deliveryRef{{DeliveryID: d.ID, Token: token, At: now, Webhook: rec.Name}}, nil
	})
	if refused != nil {
		return nil, refused
	}
	if err != nil {
		return nil, unavailable(err)
	}
	if inserted {
		e.logger.Info("delivery sent again", zap.String("webhook", ref), zap.String("delivery", deliveryID))
	}
	d, err := e.store.Delivery(ctx, deliveryID)
	return d, unavailable(err)
}
