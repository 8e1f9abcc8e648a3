package caddymodule

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/hookgate/hookgate/pipeline/action"
	"github.com/hookgate/hookgate/pipeline/engine"
	"github.com/hookgate/hookgate/pipeline/hook"
	"github.com/hookgate/hookgate/pipeline/webhook"
)

// retryAfterQueueFull is the Retry-After, in seconds, of a 429 queue_full.
const retryAfterQueueFull = "30"

// provisionPipeline checks the pipeline options and finds the hookgate
// app: the one that runs the pipeline, or, for a hook that triggers
// nothing, the configured one, told of the hook's variables (webhook
// placeholders) and of the hooks it rejects. A hook that triggers a
// pipeline is shown by the management API.
func (h *Handler) provisionPipeline(ctx caddy.Context, vars []hook.Variable) error {
	varNames := make([]string, len(vars))
	for i, v := range vars {
		varNames[i] = v.Name
	}
	if err := h.checkActs(); err != nil {
		return err
	}
	if h.Pipeline == "" && !h.Relay {
		if app, err := ctx.AppIfConfigured("hookgate"); err == nil {
			h.app = app.(*App)
			h.app.declareVariables(varNames)
		}
		return nil
	}
	if h.WaitOutput && !h.Wait {
		return errors.New("wait_output needs wait")
	}
	if h.Dedup != nil && h.Dedup.Header == "" && h.verifier == nil {
		return errors.New("dedup: without a signature preset there is no delivery id; name the header that carries one (dedup <header>)")
	}
	appModule, err := ctx.App("hookgate")
	if err != nil {
		return err
	}
	app := appModule.(*App)
	h.app = app
	h.app.declareVariables(varNames)
	if h.Pipeline == "" {
		return nil
	}
	if !app.plans[h.Pipeline] {
		return fmt.Errorf("pipeline %q is not defined in the hookgate global option", h.Pipeline)
	}
	if err := app.CheckFileVariables(h.Pipeline, vars); err != nil {
		return err
	}
	h.app.declareHook(h.configHook(vars))
	return nil
}

// checkActs checks the options that need a pipeline or a relay.
func (h *Handler) checkActs() error {
	switch {
	case h.Pipeline == "" && (h.Wait || h.WaitOutput):
		return errors.New("wait and dedup need a pipeline")
	case h.Pipeline == "" && !h.Relay && h.Dedup != nil:
		return errors.New("dedup needs a pipeline or relay")
	}
	return nil
}

// dedupID is the delivery id a triggered hook is deduplicated by, or ""
// when dedup is off.
func (h *Handler) dedupID(r *http.Request, deliveryID string) string {
	switch {
	case h.Dedup == nil:
		return ""
	case h.Dedup.Header != "":
		return r.Header.Get(h.Dedup.Header)
	}
	return deliveryID
}

// trigger stores an action of the hook's pipeline and answers 202, or
// with the action's result when the hook waits for it. With relayed, the
// hook's hook.received event is stored with the action, and its id is
// in the answer.
func (h *Handler) trigger(w http.ResponseWriter, r *http.Request, repl *caddy.Replacer, vars map[string]any, body []byte, deliveryID string,
	relayed *webhook.Received) error {
	e := h.app.runningEngine(r.Context())
	if e == nil {
		return h.answer(w, r, http.StatusServiceUnavailable, "engine not started",
			map[string]any{"error": "storage_unavailable", "detail": "the hookgate app is not running; nothing was queued, retry later"})
	}
	res, err := e.Trigger(r.Context(), engine.Trigger{
		Pipeline:   h.Pipeline,
		Hook:       h.Name,
		Vars:       vars,
		Payload:    bytes.Clone(body), // the body as received; its buffer is recycled after the answer
		DeliveryID: deliveryID,
		RemoteIP:   remoteIP(r),
		Relay:      relayed,
	})
	switch {
	case errors.Is(err, engine.ErrQueueFull):
		w.Header().Set("Retry-After", retryAfterQueueFull)
		return h.answer(w, r, http.StatusTooManyRequests, "queue_full", map[string]any{"error": "queue_full", "pipeline": h.Pipeline})
	case err != nil:
		return h.notStored(w, r, err, "the action")
	case res.Duplicate:
		return h.answer(w, r, http.StatusOK, "duplicate",
			withEventID(map[string]any{"status": "duplicate", "action_id": res.ActionID}, res.EventID))
	}
	repl.Set("hookgate.action_id", res.ActionID)
	repl.Set("hookgate.event_id", res.EventID)
	if h.Wait {
		return h.waitFor(w, r, e, res.ActionID)
	}
	hooksTotal.WithLabelValues(h.Name, "queued").Inc()
	h.logger.Info("action queued", zap.String("hook", h.Name), zap.String("pipeline", h.Pipeline),
		zap.String("action_id", res.ActionID), zap.String("delivery_id", deliveryID))
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	return json.NewEncoder(w).Encode(withEventID(map[string]any{
		"status": "queued", "action_id": res.ActionID, "pipeline": h.Pipeline, "variables": vars,
	}, res.EventID))
}

// waitFor answers with the result of the action once it has finished:
// its status, reason, exit codes and durations, and its steps' output
// only with WaitOutput.
func (h *Handler) waitFor(w http.ResponseWriter, r *http.Request, e *engine.Engine, id string) error {
	a, err := e.Wait(r.Context(), id)
	if err != nil {
		// The client went away or the storage failed; the action itself
		// is stored and runs regardless.
		return h.answer(w, r, http.StatusAccepted, "wait interrupted",
			map[string]any{"status": "queued", "action_id": id, "pipeline": h.Pipeline})
	}
	status := http.StatusOK
	if a.Status != action.StatusSucceeded {
		status = http.StatusInternalServerError
	}
	hooksTotal.WithLabelValues(h.Name, string(a.Status)).Inc()
	noteOutcome(r, Outcome{Result: string(a.Status), Status: status, Detail: string(a.Reason), ActionID: id})
	h.logger.Info("action finished", zap.String("hook", h.Name), zap.String("pipeline", h.Pipeline),
		zap.String("action_id", id), zap.String("status", string(a.Status)), zap.String("reason", string(a.Reason)))
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if h.WaitOutput {
		return json.NewEncoder(w).Encode(a)
	}
	answer := waitAnswer{Action: a, Steps: make([]stepSummary, len(a.Steps))}
	for i, s := range a.Steps {
		answer.Steps[i] = stepSummary{Name: s.Name, Kind: s.Kind, Status: s.Status, ExitCode: s.ExitCode,
			HTTPStatus: s.HTTPStatus, DurationMS: s.DurationMS, Error: s.Error}
	}
	return json.NewEncoder(w).Encode(answer)
}

// waitAnswer is the answer of a wait hook without wait output: the action
// with its steps' outcomes but not what they printed.
type waitAnswer struct {
	*action.Action
	Steps []stepSummary `json:"steps"`
}

// stepSummary is a step's result without its output.
type stepSummary struct {
	Name       string            `json:"name"`
	Kind       action.Kind       `json:"kind"`
	Status     action.StepStatus `json:"status"`
	ExitCode   *int              `json:"exit_code,omitempty"`
	HTTPStatus *int              `json:"http_status,omitempty"`
	DurationMS int64             `json:"duration_ms"`
	Error      string            `json:"error,omitempty"`
}
