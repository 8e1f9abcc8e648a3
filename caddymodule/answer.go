package caddymodule

import (
	"encoding/json"
	"net/http"

	"go.uber.org/zap"

	"github.com/hookgate/hookgate/pipeline/engine"
)

// answer writes a JSON answer that ends the request here, and logs it
// once with its reason. Bodies hold codes and names, never a secret or an
// expected signature.
func (h *Handler) answer(w http.ResponseWriter, r *http.Request, status int, reason string, body map[string]any) error {
	level := h.logger.Info
	if status >= 400 {
		level = h.logger.Warn
	}
	result, ok := body["error"].(string)
	if !ok {
		result, _ = body["status"].(string)
	}
	hooksTotal.WithLabelValues(h.Name, result).Inc()
	actionID, _ := body["action_id"].(string)
	eventID, _ := body["event_id"].(string)
	noteOutcome(r, Outcome{Result: result, Status: status, Detail: reason, ActionID: actionID, EventID: eventID})
	level("hook answered",
		zap.String("hook", h.Name),
		zap.Int("status", status),
		zap.String("reason", reason),
		zap.String("remote_ip", remoteIP(r)),
	)
	if rejected(status) {
		h.app.reject(r.Context(), engine.HookRejected{
			Hook: h.Name, Pipeline: h.Pipeline, Reason: result, Detail: reason, Status: status, RemoteIP: remoteIP(r),
		})
	}
	if detail, ok := body["detail"]; ok {
		body["message"] = detail // as the management API's errors, for clients that read message
	}
	if status == http.StatusNoContent || status == http.StatusNotModified {
		// A skip_status that carries no body.
		w.WriteHeader(status)
		return nil
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(body)
}

// rejected tells whether an answer refuses the hook itself (forged,
// stale, malformed, not allowed), which is a hook.rejected event, rather
// than putting it off (429, 503) or failing on our side (5xx).
func rejected(status int) bool {
	return status >= 400 && status < 500 && status != http.StatusTooManyRequests
}
