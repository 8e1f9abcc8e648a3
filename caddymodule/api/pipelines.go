package api

import (
	"encoding/json"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/hookgate/hookgate/caddymodule"
	"github.com/hookgate/hookgate/pipeline/action"
	"github.com/hookgate/hookgate/pipeline/engine"
)

// pipelineJSON is a pipeline as the API shows it. Pipelines are defined
// in the Caddyfile only, so each is "source": "config".
type pipelineJSON struct {
	Name        string           `json:"name"`
	Source      string           `json:"source"`
	Concurrency int              `json:"concurrency"`
	QueueLimit  int              `json:"queue_limit,omitempty"`
	Timeout     string           `json:"timeout"`
	Steps       []string         `json:"steps"`
	Actions     map[string]int64 `json:"actions"`
}

// listPipelines answers GET /pipelines: the configured pipelines with
// their actions counted by state.
func (h *APIHandler) listPipelines(w http.ResponseWriter, r *http.Request, e *engine.Engine) error {
	p, err := parsePage(r)
	if err != nil {
		return err
	}
	stats, err := e.Stats(r.Context())
	if err != nil {
		return err
	}
	list := make([]pipelineJSON, len(h.app.Pipelines))
	for i, pl := range h.app.Pipelines {
		c := stats.Pipelines[pl.Name]
		timeout := time.Duration(pl.Timeout)
		if timeout == 0 {
			timeout = action.DefaultTimeout
		}
		steps := make([]string, len(pl.Steps))
		for j, s := range pl.Steps {
			steps[j] = s.Name
		}
		list[i] = pipelineJSON{
			Name: pl.Name, Source: engine.SourceConfig, Concurrency: max(pl.Concurrency, 1), QueueLimit: pl.QueueLimit,
			Timeout: timeout.String(), Steps: steps,
			Actions: map[string]int64{"queued": c.Queued, "running": c.Running, "succeeded": c.Succeeded,
				"failed": c.Failed, "cancelled": c.Cancelled},
		}
	}
	pg, err := pageOf(p, list)
	if err != nil {
		return err
	}
	return reply(w, http.StatusOK, pg)
}

// runRequest is the body of POST /pipelines/{pipeline}/run.
type runRequest struct {
	Variables map[string]any `json:"variables"`
}

// runPipeline answers POST /pipelines/{pipeline}/run: a manual trigger,
// answered 202 like a hook's.
func (h *APIHandler) runPipeline(w http.ResponseWriter, r *http.Request, e *engine.Engine) error {
	name := r.PathValue("pipeline")
	if !h.app.HasPipeline(name) {
		return &apiError{http.StatusNotFound, "not_found", "no pipeline " + name + " is configured"}
	}
	var req runRequest
	if err := decodeBody(r, &req, true); err != nil {
		return err
	}
	if req.Variables == nil {
		req.Variables = map[string]any{}
	}
	payload, _ := json.Marshal(req.Variables)
	res, err := e.Trigger(r.Context(), engine.Trigger{
		Pipeline: name, Hook: apiHookName, Vars: req.Variables, Payload: payload, RemoteIP: caddymodule.RemoteIP(r),
	})
	if err != nil {
		return err
	}
	h.logger.Info("action queued", zap.String("hook", apiHookName), zap.String("pipeline", name), zap.String("action_id", res.ActionID))
	return reply(w, http.StatusAccepted, map[string]any{
		"status": "queued", "action_id": res.ActionID, "pipeline": name, "variables": req.Variables,
	})
}

// apiHookName is the hook of the actions run through the API.
const apiHookName = "api"
