package api

import (
	"errors"
	"net/http"

	"go.uber.org/zap"

	"github.com/hookgate/hookgate/pipeline/engine"
	"github.com/hookgate/hookgate/pipeline/webhook"
)

// bulkRetryLimit bounds how many deliveries one bulk retry sends again.
const bulkRetryLimit = 10000

// bulkRetryJSON is the answer of a bulk retry.
type bulkRetryJSON struct {
	// Retried counts the deliveries sent again.
	Retried int `json:"retried"`
	// Skipped counts those the filter matched that could not be: waiting
	// behind an earlier delivery of their action.
	Skipped int `json:"skipped"`
}

// retryDeliveries answers POST /webhooks/{id}/deliveries/retry?status=&action=:
// every delivery of the webhook that the filter matches is sent again, as
// POST .../deliveries/{delivery}/retry does one; 202 with how many. status
// is required (failed, succeeded, pending or held), so that a bare POST
// does not resend everything.
func (h *APIHandler) retryDeliveries(w http.ResponseWriter, r *http.Request, e *engine.Engine) error {
	status := webhook.DeliveryStatus(r.URL.Query().Get("status"))
	switch status {
	case webhook.DeliveryFailed, webhook.DeliverySucceeded, webhook.DeliveryPending, webhook.DeliveryHeld:
	default:
		return badRequest("invalid_query", "status %q: want failed, succeeded, pending or held", status)
	}
	info, err := e.Webhook(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	// Listed first, then retried: a retried delivery leaves the status
	// filtered for, so paging while retrying would skip some.
	var ids []string
	for offset := 0; len(ids) < bulkRetryLimit; {
		list, err := e.Deliveries(r.Context(), info.ID, engine.DeliveryFilter{
			Status: status, ActionID: r.URL.Query().Get("action"), Limit: 1000, Offset: offset})
		if err != nil {
			return err
		}
		for _, d := range list {
			ids = append(ids, d.ID)
		}
		if len(list) < 1000 {
			break
		}
		offset += len(list)
	}
	var out bulkRetryJSON
	for i := len(ids) - 1; i >= 0; i-- { // oldest first, as they happened
		_, err := e.RetryDelivery(r.Context(), info.ID, ids[i])
		switch {
		case errors.Is(err, engine.ErrDeliveryWaiting):
			out.Skipped++
		case err != nil:
			return err
		default:
			out.Retried++
		}
	}
	h.logger.Info("deliveries retried", zap.String("webhook", info.Definition.Name), zap.String("status", string(status)),
		zap.Int("retried", out.Retried), zap.Int("skipped", out.Skipped))
	return reply(w, http.StatusAccepted, out)
}
