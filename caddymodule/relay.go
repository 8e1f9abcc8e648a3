package caddymodule

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/hookgate/hookgate/pipeline/engine"
	"github.com/hookgate/hookgate/pipeline/webhook"
)

// relay keeps a verified hook as a hook.received event, with its
// deliveries, and answers 202 accepted once it is stored; with a
// pipeline, it is triggered in the same transaction (see trigger).
func (h *Handler) relay(w http.ResponseWriter, r *http.Request, repl *caddy.Replacer, vars map[string]any, body, payload []byte, deliveryID string) error {
	received := h.received(r, vars, body, deliveryID)
	if h.Pipeline != "" {
		return h.trigger(w, r, repl, vars, payload, h.dedupID(r, deliveryID), received)
	}
	e := h.app.runningEngine(r.Context())
	if e == nil {
		return h.answer(w, r, http.StatusServiceUnavailable, "engine not started",
			map[string]any{"error": "storage_unavailable", "detail": "the hookgate app is not running; nothing was stored, retry later"})
	}
	res, err := e.Relay(r.Context(), engine.Relay{Hook: *received, DedupID: h.dedupID(r, deliveryID)})
	switch {
	case err != nil:
		return h.notStored(w, r, err, "the hook")
	case res.Duplicate:
		return h.answer(w, r, http.StatusOK, "duplicate", map[string]any{"status": "duplicate", "event_id": res.EventID})
	}
	repl.Set("hookgate.event_id", res.EventID)
	hooksTotal.WithLabelValues(h.Name, "accepted").Inc()
	h.logger.Info("hook relayed", zap.String("hook", h.Name), zap.String("event_id", res.EventID),
		zap.String("delivery_id", deliveryID))
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	return json.NewEncoder(w).Encode(map[string]any{"status": "accepted", "event_id": res.EventID, "variables": vars})
}

// received is the hook as a hook.received event carries it: its body
// copied (the body's buffer is recycled after the answer), its headers
// without those that authenticate it.
func (h *Handler) received(r *http.Request, vars map[string]any, body []byte, deliveryID string) *webhook.Received {
	headers := make(map[string]string, len(r.Header))
	for name, values := range r.Header {
		if len(values) > 0 && !h.secretHeader(name) {
			headers[http.CanonicalHeaderKey(name)] = values[0]
		}
	}
	if vars == nil {
		vars = map[string]any{}
	}
	return &webhook.Received{Name: h.Name, Variables: vars, RemoteIP: remoteIP(r), DeliveryID: deliveryID,
		ContentType: r.Header.Get("Content-Type"), Headers: headers, Body: bytes.Clone(body)}
}

// secretHeader reports whether a header authenticates the hook, and so is
// not kept with it: authorization and cookies, the hook's own signature
// header, and every header named for a signature, token, secret or HMAC
// (X-Hub-Signature-256, X-Gitlab-Token, Stripe-Signature,
// X-Shopify-Hmac-Sha256, ...).
func (h *Handler) secretHeader(name string) bool {
	lower := strings.ToLower(name)
	switch lower {
	case "authorization", "proxy-authorization", "cookie":
		return true
	}
	if h.Signature != nil && h.Signature.Header != "" && strings.EqualFold(name, h.Signature.Header) ||
		h.authHeader != "" && strings.EqualFold(name, h.authHeader) {
		return true
	}
	for _, word := range []string{"signature", "token", "secret", "hmac"} {
		if strings.Contains(lower, word) {
			return true
		}
	}
	return false
}

// notStored answers a hook whose action or event (what) could not be
// stored, and so was not: 503 storage_unavailable when the database
// cannot be reached (the sender retries), 500 otherwise.
func (h *Handler) notStored(w http.ResponseWriter, r *http.Request, err error, what string) error {
	if errors.Is(err, engine.ErrUnavailable) {
		h.logger.Error("storage unavailable", zap.String("hook", h.Name), zap.Error(err))
		return h.answer(w, r, http.StatusServiceUnavailable, "storage_unavailable",
			map[string]any{"error": "storage_unavailable", "detail": what + " could not be stored; nothing was kept, retry later"})
	}
	h.logger.Error("storing failed", zap.String("hook", h.Name), zap.Error(err))
	return h.answer(w, r, http.StatusInternalServerError, "storing failed",
		map[string]any{"error": "internal_error", "detail": what + " could not be stored"})
}

// withEventID adds the event_id of a relay to an answer, when there is
// one.
func withEventID(answer map[string]any, eventID string) map[string]any {
	if eventID != "" {
		answer["event_id"] = eventID
	}
	return answer
}
