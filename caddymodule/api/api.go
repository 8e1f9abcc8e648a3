package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/hookgate/hookgate/caddymodule"
)

func init() {
	caddy.RegisterModule(APIHandler{})
}

// APIHandler is the management API of hookgate: JSON over HTTP to list
// pipelines and actions, create incoming hooks (served by `hookgate
// dynamic`) and outgoing webhooks, and test, restart and read them. Every
// request carries a token, `Authorization: Bearer <token>` (or `Token
// <token>`); a read token may only GET.
//
// It answers every request it gets, under the path it is given (mount it
// with handle_path, such as `handle_path /api/* { hookgate_api {...} }`):
// errors are `{"error": <code>, "detail": <what and which field>,
// "message": <the same, for clients that read message>}` with
// 400 (malformed request), 401 (no or unknown token), 403 (read token on
// a write), 404, 405, 409 (name taken, defined in the Caddyfile), 422
// (invalid value), 429 and 503. Lists take `?page=&pageSize=` and answer
// `{"page", "pageAmount", "items"}`.
type APIHandler struct {
	// Tokens grant access to the API; at least one is required. Token
	// values take placeholders such as {env.HOOKGATE_ADMIN_TOKEN}, and one
	// that ends up empty fails the config load.
	Tokens []APIToken `json:"tokens,omitempty"`

	// Organisation is the organisation of the ricloud dialect's webhook
	// configs (SPEC 12.2), shown in their organisation field. Default:
	// "default".
	Organisation string `json:"organisation,omitempty"`

	// UIOff turns the dashboard off: without it, its files are served
	// under <mount>/ui/ (no token needed to load them; every data request
	// of the page sends one).
	UIOff bool `json:"ui_off,omitempty"`

	app    *caddymodule.App
	mux    *http.ServeMux
	keys   []tokenKey
	logger *zap.Logger
}

// APIToken is a bearer token of the management API.
type APIToken struct {
	// Value is the token, as sent after "Bearer ". Use a long random one.
	Value string `json:"value"`
	// Access is "read" (GET only) or "write" (everything).
	Access string `json:"access"`
}

// tokenKey is a token as compared: its SHA-256, so that comparisons take
// the same time whatever the token's length.
type tokenKey struct {
	sum   [sha256.Size]byte
	write bool
}

// CaddyModule returns the Caddy module information.
func (APIHandler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.hookgate_api",
		New: func() caddy.Module { return new(APIHandler) },
	}
}

// Provision checks the tokens and finds the hookgate app.
func (h *APIHandler) Provision(ctx caddy.Context) error {
	h.logger = ctx.Logger()
	if len(h.Tokens) == 0 {
		return errors.New("hookgate_api: no token configured; add `token <value> read|write`, the API is never open")
	}
	repl := caddy.NewReplacer()
	for i, t := range h.Tokens {
		value := repl.ReplaceKnown(t.Value, "")
		if value == "" {
			return fmt.Errorf("hookgate_api: token %d is empty once its placeholders are replaced (is the environment variable set?)", i+1)
		}
		if t.Access != "read" && t.Access != "write" {
			return fmt.Errorf("hookgate_api: token %d: access %q: want read or write", i+1, t.Access)
		}
		h.keys = append(h.keys, tokenKey{sum: sha256.Sum256([]byte(value)), write: t.Access == "write"})
	}
	appModule, err := ctx.App("hookgate")
	if err != nil {
		return err
	}
	h.app = appModule.(*caddymodule.App)
	h.mux = h.routes()
	return nil
}

// ServeHTTP authenticates the request and serves its route, or the OpenAPI
// document, which needs no token; it never calls the next handler.
func (h *APIHandler) ServeHTTP(w http.ResponseWriter, r *http.Request, _ caddyhttp.Handler) error {
	if r.URL.Path == openAPIPath && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		return serveOpenAPI(w, r)
	}
	if h.serveUI(w, r) {
		return nil
	}
	write, ok := h.authenticate(r)
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="hookgate"`)
		return h.fail(w, r, http.StatusUnauthorized, "unauthorized", "send a valid token: Authorization: Bearer <token>")
	}
	if !write && r.Method != http.MethodGet && r.Method != http.MethodHead {
		return h.fail(w, r, http.StatusForbidden, "forbidden", "this token may only read (GET)")
	}
	_, pattern := h.mux.Handler(r)
	if pattern == "" {
		return h.noRoute(w, r)
	}
	if !write && writingGETs[pattern] {
		return h.fail(w, r, http.StatusForbidden, "forbidden", "this token may only read; "+pattern+" sends a test delivery")
	}
	h.mux.ServeHTTP(w, r)
	return nil
}

// authenticate finds the request's token among the configured ones,
// comparing it with each in constant time, and tells whether it may
// write.
func (h *APIHandler) authenticate(r *http.Request) (write, ok bool) {
	auth := r.Header.Get("Authorization")
	scheme, token, found := strings.Cut(auth, " ")
	if !found || (!strings.EqualFold(scheme, "Bearer") && !strings.EqualFold(scheme, "Token")) {
		return false, false
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(token)))
	for _, k := range h.keys {
		if subtle.ConstantTimeCompare(sum[:], k.sum[:]) == 1 {
			ok, write = true, write || k.write
		}
	}
	return write, ok
}

// routes are the API's routes: hookgate's own (SPEC 8) and those of each
// dialect (SPEC 12), each dialect in the file named for it.
func (h *APIHandler) routes() *http.ServeMux {
	mux := http.NewServeMux()
	for pattern, fn := range h.nativeRoutes() {
		mux.HandleFunc(pattern, h.handle(fn))
	}
	for _, dialect := range []map[string]apiFunc{h.oneNCERoutes(), h.ricloudRoutes(), h.devopnessRoutes(), h.outgoingRoutes(), h.dashboardRoutes()} {
		for pattern, fn := range dialect {
			mux.HandleFunc(pattern, h.handle(fn))
		}
	}
	return mux
}

// nativeRoutes are hookgate's own routes (SPEC 8).
func (h *APIHandler) nativeRoutes() map[string]apiFunc {
	return map[string]apiFunc{
		"GET /pipelines":                                  h.listPipelines,
		"POST /pipelines/{pipeline}/run":                  h.runPipeline,
		"POST /pipelines/{pipeline}/hooks/incoming":       h.createHook,
		"GET /pipelines/{pipeline}/hooks":                 h.listHooks,
		"GET /hooks/{id}":                                 h.getHook,
		"PATCH /hooks/{id}":                               h.patchHook,
		"DELETE /hooks/{id}":                              h.deleteHook,
		"GET /instances":                                  h.listInstances,
		"GET /actions":                                    h.listActions,
		"GET /actions/{id}":                               h.getAction,
		"POST /actions/{id}/cancel":                       h.cancelAction,
		"POST /webhooks":                                  h.createWebhook,
		"GET /webhooks":                                   h.listWebhooks,
		"GET /webhooks/{id}":                              h.getWebhook,
		"PATCH /webhooks/{id}":                            h.patchWebhook,
		"DELETE /webhooks/{id}":                           h.deleteWebhook,
		"POST /webhooks/{id}/test":                        h.testWebhook,
		"POST /webhooks/{id}/restart":                     h.restartWebhook,
		"POST /webhooks/{id}/rotate-secret":               h.rotateWebhookSecret,
		"GET /webhooks/{id}/deliveries":                   h.listDeliveries,
		"POST /webhooks/{id}/deliveries/{delivery}/retry": h.retryDelivery,
	}
}

// noRoute answers a request that no route takes: 405 with Allow when the
// path has routes for other methods, 404 otherwise.
func (h *APIHandler) noRoute(w http.ResponseWriter, r *http.Request) error {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := h.mux.Handler(probe); pattern != "" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		return h.fail(w, r, http.StatusMethodNotAllowed, "method_not_allowed",
			fmt.Sprintf("%s %s: want %s", r.Method, r.URL.Path, strings.Join(allow, ", ")))
	}
	return h.fail(w, r, http.StatusNotFound, "not_found", "no such route: "+r.Method+" "+r.URL.Path)
}

// Interface guards.
var (
	_ caddy.Provisioner           = (*APIHandler)(nil)
	_ caddyhttp.MiddlewareHandler = (*APIHandler)(nil)
)
