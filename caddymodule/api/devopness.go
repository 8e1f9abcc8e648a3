package api

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/hookgate/hookgate/caddymodule"
	"github.com/hookgate/hookgate/pipeline/engine"
	"github.com/hookgate/hookgate/pipeline/hook"
	"github.com/hookgate/hookgate/pipeline/store"
)

// devopnessRoutes are the routes of Devopness's API that its SDK calls for
// hooks (SPEC 12.3), beside POST /pipelines/{pipeline}/hooks/incoming and
// GET /pipelines/{pipeline}/hooks, which are hookgate's own too. They are
// the same incoming hooks as /hooks/{id}.
func (h *APIHandler) devopnessRoutes() map[string]apiFunc {
	return map[string]apiFunc{
		"GET /hooks/incoming/{id}":    h.getHook,
		"PUT /hooks/incoming/{id}":    h.putHook,
		"DELETE /hooks/incoming/{id}": h.deleteHook,
		"POST /hooks/{id}/trigger":    h.triggerHook,
	}
}

// putHook answers PUT /hooks/incoming/{id}: the body replaces the hook's
// definition (fields left out take their defaults), keeping its id, URL
// and secret; 204. Its name is required, and its id, when sent, must be
// the path's.
func (h *APIHandler) putHook(w http.ResponseWriter, r *http.Request, e *engine.Engine) error {
	id := r.PathValue("id")
	req, err := h.decodeHookChange(r, e, id)
	if err != nil {
		return err
	}
	if req.Name == nil {
		return invalidField("name", "required")
	}
	rec, err := e.UpdateHook(r.Context(), id, func(rec *store.HookRecord) error {
		*rec = store.HookRecord{ID: rec.ID, Pipeline: rec.Pipeline, RequiresSecret: true, Secret: rec.Secret, CreatedAt: rec.CreatedAt}
		return h.applyHook(&req, rec)
	})
	if err != nil {
		return err
	}
	h.logger.Info("incoming hook replaced", zap.String("hook", rec.Name), zap.String("id", rec.ID))
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// devopnessActionHeader carries the id of the action a trigger queued.
const devopnessActionHeader = "X-Devopness-Action-Id"

// triggerHook answers POST /hooks/{id}/trigger: the hook's pipeline runs
// with the defaults of its variables, as if an empty hook had arrived;
// 202 with the action, its id also in X-Devopness-Action-Id. A required
// variable without a default is a 422 naming it; an inactive hook is 409.
func (h *APIHandler) triggerHook(w http.ResponseWriter, r *http.Request, e *engine.Engine) error {
	id := r.PathValue("id")
	var name, pipeline string
	var vars []hook.Variable
	rec, err := e.Hook(r.Context(), id)
	switch c, ok := h.app.ConfigHook(id); {
	case err == nil && rec.Inactive:
		return &apiError{http.StatusConflict, "inactive", "hook " + strconv.Quote(id) + " is inactive; set \"active\": true first"}
	case err == nil:
		name, pipeline, vars = rec.Name, rec.Pipeline, rec.Variables
	case errors.Is(err, engine.ErrNotFound) && ok:
		name, pipeline, vars = c.Name, c.Pipeline, c.Vars
	default:
		return err
	}
	extractor, err := hook.NewExtractor(vars)
	if err != nil {
		return err
	}
	values, missing := extractor.Extract(&hook.Request{
		Header: http.Header{}, Method: r.Method, Path: r.URL.Path, RemoteIP: caddymodule.RemoteIP(r),
		Hook: name, Payload: []byte("{}"), Body: []byte("{}"),
	})
	if len(missing) > 0 {
		names := make([]string, len(missing))
		for i, m := range missing {
			names[i] = m.Name + " (" + m.Reason + ")"
		}
		return invalidField("variables", "no value without a hook's payload: %s", strings.Join(names, ", "))
	}
	res, err := e.Trigger(r.Context(), engine.Trigger{
		Pipeline: pipeline, Hook: name, Vars: values, Payload: []byte("{}"), RemoteIP: caddymodule.RemoteIP(r),
	})
	if err != nil {
		return err
	}
	h.logger.Info("action queued", zap.String("hook", name), zap.String("pipeline", pipeline), zap.String("action_id", res.ActionID))
	a, err := e.Action(r.Context(), res.ActionID)
	if err != nil {
		return err
	}
	w.Header().Set(devopnessActionHeader, res.ActionID)
	return reply(w, http.StatusAccepted, a)
}

// replyDevopnessPage answers page p of all as Devopness does: a bare JSON
// array (empty beyond the last page), with a Link header to the next and
// the last pages (RFC 8288), at the URL the client called.
func replyDevopnessPage[T any](w http.ResponseWriter, r *http.Request, p pageRequest, all []T) error {
	last := max(1, (len(all)+p.size-1)/p.size)
	start := min(p.offset(), len(all))
	items := all[start:min(start+p.size, len(all))]
	if items == nil {
		items = []T{}
	}
	link := func(page int, rel string) string {
		u := calledURL(r)
		q := u.Query()
		q.Set("page", strconv.Itoa(page))
		q.Set("per_page", strconv.Itoa(p.size))
		u.RawQuery = q.Encode()
		return "<" + u.String() + `>; rel="` + rel + `"`
	}
	links := []string{}
	if p.page < last {
		links = append(links, link(p.page+1, "next"))
	}
	links = append(links, link(last, "last"))
	w.Header().Set("Link", strings.Join(links, ", "))
	return reply(w, http.StatusOK, items)
}

// calledURL is the URL the client called, before handle_path stripped a
// prefix.
func calledURL(r *http.Request) *url.URL {
	u := *r.URL
	if orig, ok := r.Context().Value(caddyhttp.OriginalRequestCtxKey).(http.Request); ok {
		u = *orig.URL
	}
	u.Scheme, u.Host = "http", r.Host
	if r.TLS != nil {
		u.Scheme = "https"
	}
	return &u
}
