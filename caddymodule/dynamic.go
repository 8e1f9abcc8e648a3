package caddymodule

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/hookgate/hookgate/pipeline/engine"
	"github.com/hookgate/hookgate/pipeline/hook"
	"github.com/hookgate/hookgate/pipeline/signature"
	"github.com/hookgate/hookgate/pipeline/store"
)

// dynamicHooks are the compiled API-created hooks of a `hookgate dynamic`
// handler, by id, each with the update time it was compiled from.
type dynamicHooks struct {
	mu   sync.Mutex
	byID map[string]compiledHook
}

// compiledHook is a stored hook compiled as a handler.
type compiledHook struct {
	updatedAt time.Time
	handler   *Handler
}

// provisionDynamic checks that a `hookgate dynamic` handler has no other
// option (each stored hook brings its own) and finds the app.
func (h *Handler) provisionDynamic(ctx caddy.Context) error {
	if h.Signature != nil || len(h.Secrets) > 0 || len(h.Vars) > 0 || h.When != "" || h.Pipeline != "" ||
		h.InsecureNoSignature || h.Wait || h.Dedup != nil || h.PublicURL != "" || h.Tolerance != 0 || len(h.Methods) > 0 {
		return errors.New("hookgate dynamic takes no options: each hook created through the management API has its own")
	}
	if h.Name == "" {
		h.Name = "dynamic"
	}
	appModule, err := ctx.App("hookgate")
	if err != nil {
		return err
	}
	h.app = appModule.(*App)
	h.dynamic = &dynamicHooks{byID: make(map[string]compiledHook)}
	return nil
}

// serveDynamic serves the API-created hook whose id is the request's path
// (under the handle_path prefix): read from the store on every request,
// so that a hook deleted or changed on any instance is gone or changed at
// once; compiled once per change.
func (h *Handler) serveDynamic(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	id := strings.Trim(r.URL.Path, "/")
	e := h.app.runningEngine(r.Context())
	if e == nil {
		return h.dynamicAnswer(w, id, http.StatusServiceUnavailable, "storage_unavailable", "the hookgate app is not running; retry later")
	}
	var rec *store.HookRecord
	var err error
	if id == "" || strings.Contains(id, "/") {
		err = engine.ErrNotFound
	} else {
		rec, err = e.Hook(r.Context(), id)
	}
	switch {
	case errors.Is(err, engine.ErrNotFound):
		h.dynamic.forget(id)
		return h.dynamicAnswer(w, id, http.StatusNotFound, "not_found", "no hook has this id")
	case err == nil && rec.Inactive:
		return h.dynamicAnswer(w, id, http.StatusNotFound, "not_found", "no active hook has this id")
	case err != nil:
		h.logger.Error("reading a hook", zap.String("id", id), zap.Error(err))
		return h.dynamicAnswer(w, id, http.StatusServiceUnavailable, "storage_unavailable", "the hook could not be read; retry later")
	}
	handler, err := h.dynamic.handler(rec, h.app, h.logger)
	if err != nil {
		h.logger.Error("compiling a stored hook", zap.String("id", id), zap.Error(err))
		return h.dynamicAnswer(w, id, http.StatusInternalServerError, "internal_error", "the hook's stored definition is not valid")
	}
	return handler.ServeHTTP(w, r, next)
}

// dynamicAnswer answers a request that reached no stored hook, and logs it.
func (h *Handler) dynamicAnswer(w http.ResponseWriter, id string, status int, code, detail string) error {
	h.logger.Info("hook answered", zap.String("hook_id", id), zap.Int("status", status), zap.String("reason", code))
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(map[string]string{"error": code, "detail": detail, "message": detail})
}

// handler is the compiled handler of rec, compiled anew when rec changed.
func (d *dynamicHooks) handler(rec *store.HookRecord, app *App, logger *zap.Logger) (*Handler, error) {
	d.mu.Lock()
	c, ok := d.byID[rec.ID]
	d.mu.Unlock()
	if ok && c.updatedAt.Equal(rec.UpdatedAt) {
		return c.handler, nil
	}
	handler, err := compileStoredHook(rec, app, logger)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	d.byID[rec.ID] = compiledHook{updatedAt: rec.UpdatedAt, handler: handler}
	d.mu.Unlock()
	return handler, nil
}

// forget drops the compiled hook of a deleted id.
func (d *dynamicHooks) forget(id string) {
	d.mu.Lock()
	delete(d.byID, id)
	d.mu.Unlock()
}

// compileStoredHook makes an API-created hook a handler that verifies,
// extracts, decides, deduplicates and triggers as a Caddyfile hook does.
// Its errors name the API field at fault. A hook that requires a secret
// but has none yet (being validated before creation) is checked with a
// stand-in secret.
func compileStoredHook(rec *store.HookRecord, app *App, logger *zap.Logger) (*Handler, error) {
	h := &Handler{Name: rec.Name, Pipeline: rec.Pipeline, When: rec.When, Relay: rec.Relay, authHeader: rec.SecretHeaderName,
		app: app, logger: logger}
	h.setDefaults()
	if rec.RequiresSecret {
		secret := rec.Secret
		if secret == "" {
			secret = "secret-to-come"
		}
		v, err := signature.New(signature.Config{Preset: "devopness", Secrets: []string{secret},
			Algorithm: rec.SecretAlgorithm, Header: rec.SecretHeaderName})
		if err != nil {
			return nil, &engine.InvalidError{Field: "secret_algorithm", Err: err}
		}
		h.verifier = v
	}
	if rec.DedupHeader != "" {
		h.Dedup = &Dedup{Header: rec.DedupHeader}
	}
	extractor, err := hook.NewExtractor(rec.Variables)
	if err != nil {
		return nil, &engine.InvalidError{Field: "settings.variables", Err: err}
	}
	var condition *hook.Condition
	if rec.When != "" {
		if condition, err = hook.CompileCondition(rec.When, extractor.Variables()); err != nil {
			return nil, &engine.InvalidError{Field: "when", Err: err}
		}
	}
	h.setCompiled(extractor, condition)
	return h, nil
}
