package api

import (
	"net/http"

	"github.com/hookgate/hookgate/pipeline/action"
	"github.com/hookgate/hookgate/pipeline/engine"
)

// listActions answers GET /actions?pipeline=&status=: actions, newest
// first, with their step results and output.
func (h *APIHandler) listActions(w http.ResponseWriter, r *http.Request, e *engine.Engine) error {
	p, err := parsePage(r)
	if err != nil {
		return err
	}
	f := engine.ActionFilter{Pipeline: r.URL.Query().Get("pipeline"), Status: action.Status(r.URL.Query().Get("status")),
		Limit: p.size, Offset: p.offset()}
	if f.Status != "" && !f.Status.Valid() {
		return badRequest("invalid_query", "status %q: want queued, running, succeeded, failed or cancelled", f.Status)
	}
	total, err := e.CountActions(r.Context(), f)
	if err != nil {
		return err
	}
	list, err := e.Actions(r.Context(), f)
	if err != nil {
		return err
	}
	pg, err := newPage(p, int(total), list)
	if err != nil {
		return err
	}
	return reply(w, http.StatusOK, pg)
}

// getAction answers GET /actions/{id}.
func (h *APIHandler) getAction(w http.ResponseWriter, r *http.Request, e *engine.Engine) error {
	a, err := e.Action(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return reply(w, http.StatusOK, a)
}

// cancelAction answers POST /actions/{id}/cancel: a queued action ends
// cancelled at once, a running one once its process group is killed; it
// answers the action as it stands: 200 once cancelled, 202 while its
// process is being killed, 409 when it had already finished.
func (h *APIHandler) cancelAction(w http.ResponseWriter, r *http.Request, e *engine.Engine) error {
	id := r.PathValue("id")
	if err := e.Cancel(r.Context(), id); err != nil {
		return err
	}
	a, err := e.Action(r.Context(), id)
	if err != nil {
		return err
	}
	if a.Status == action.StatusCancelled {
		return reply(w, http.StatusOK, a)
	}
	return reply(w, http.StatusAccepted, a)
}
