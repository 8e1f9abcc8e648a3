package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"go.uber.org/zap"
	"golang.org/x/net/http/httpguts"

	"github.com/hookgate/hookgate/caddymodule"
	"github.com/hookgate/hookgate/pipeline/engine"
	"github.com/hookgate/hookgate/pipeline/hook"
	"github.com/hookgate/hookgate/pipeline/store"
)

// hookRequest is the body of POST /pipelines/{pipeline}/hooks/incoming,
// PATCH /hooks/{id} and PUT /hooks/incoming/{id}: the Devopness incoming
// hook, with hookgate's own when, dedup_header_name and relay. In a PATCH,
// absent fields are unchanged. id, when sent, must be the path's; active
// false turns the hook off (its URL answers 404).
type hookRequest struct {
	ID               *string       `json:"id"`
	Active           *bool         `json:"active"`
	Name             *string       `json:"name"`
	RequiresSecret   *bool         `json:"requires_secret"`
	SecretAlgorithm  *string       `json:"secret_algorithm"`
	SecretHeaderName *string       `json:"secret_header_name"`
	ActionType       *string       `json:"action_type"`
	Settings         *hookSettings `json:"settings"`
	When             *string       `json:"when"`
	DedupHeaderName  *string       `json:"dedup_header_name"`
	Relay            *bool         `json:"relay"`
	// TriggerWhen is Devopness's structured trigger condition, which its
	// SDK may send as null; hookgate's conditions are When.
	TriggerWhen json.RawMessage `json:"trigger_when"`
}

// hookSettings are an incoming hook's settings: its variables.
type hookSettings struct {
	Variables []hookVariable `json:"variables"`
}

// hookVariable is a variable of an incoming hook, in the Devopness shape.
type hookVariable struct {
	Name         string       `json:"name"`
	Path         string       `json:"path"`
	Type         string       `json:"type,omitempty"`
	Required     bool         `json:"required"`
	DefaultValue defaultValue `json:"default_value"`
}

// defaultValue is a variable's default: any JSON scalar, kept as the text
// the variable's type converts; null or absent is none.
type defaultValue struct{ value *string }

// UnmarshalJSON implements json.Unmarshaler.
func (d *defaultValue) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	switch {
	case bytes.Equal(data, []byte("null")):
		d.value = nil
	case len(data) > 0 && data[0] == '"':
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
		d.value = &s
	case len(data) > 0 && (data[0] == '{' || data[0] == '['):
		return &fieldError{"default_value", "a string, number or boolean"}
	default:
		s := string(data)
		d.value = &s
	}
	return nil
}

// MarshalJSON implements json.Marshaler.
func (d defaultValue) MarshalJSON() ([]byte, error) {
	if d.value == nil {
		return []byte("null"), nil
	}
	return json.Marshal(*d.value)
}

// variableTypes maps the type names the API takes, hookgate's and
// Devopness's, to hookgate's.
var variableTypes = map[string]hook.Type{
	"": hook.String, "string": hook.String, "int": hook.Int, "integer": hook.Int, "float": hook.Float,
	"number": hook.Float, "bool": hook.Bool, "boolean": hook.Bool, "json": hook.JSON, "array": hook.Array,
}

// signatureAlgorithms are the secret_algorithm values.
var signatureAlgorithms = []string{"sha1", "sha256", "sha512"}

// Defaults of a new incoming hook: GitHub's header and algorithm.
const (
	defaultSecretAlgorithm  = "sha256"
	defaultSecretHeaderName = "X-Hub-Signature-256"
)

// hiddenRune tells whether r is a control character or a bidirectional
// formatting one, which can make a name read otherwise than it is.
func hiddenRune(r rune) bool { return unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) }

// apply sets the request's fields on rec, checking each, then checks the
// whole hook by compiling it, as it will be served.
func (req *hookRequest) apply(rec *store.HookRecord) error {
	if req.Name != nil {
		name := strings.TrimSpace(*req.Name)
		if name == "" || len(name) > 100 || strings.ContainsFunc(*req.Name, hiddenRune) {
			return invalidField("name", "want 1 to 100 printable characters, without control or bidirectional-override characters")
		}
		rec.Name = name
	}
	if req.RequiresSecret != nil {
		rec.RequiresSecret = *req.RequiresSecret
	}
	if req.SecretAlgorithm != nil {
		rec.SecretAlgorithm = strings.ToLower(*req.SecretAlgorithm)
	}
	if req.SecretHeaderName != nil {
		rec.SecretHeaderName = *req.SecretHeaderName
	}
	if req.ActionType != nil {
		rec.ActionType = *req.ActionType
	}
	if len(req.TriggerWhen) > 0 && string(req.TriggerWhen) != "null" {
		return invalidField("trigger_when", "is not supported; put the condition in when, an expr expression (README, Conditions)")
	}
	if req.When != nil {
		rec.When = *req.When
	}
	if req.DedupHeaderName != nil {
		rec.DedupHeader = *req.DedupHeaderName
	}
	if req.Active != nil {
		rec.Inactive = !*req.Active
	}
	if req.Relay != nil {
		rec.Relay = *req.Relay
	}
	if req.Settings != nil {
		rec.Variables = make([]hook.Variable, len(req.Settings.Variables))
		for i, v := range req.Settings.Variables {
			t, ok := variableTypes[strings.ToLower(v.Type)]
			if !ok {
				return invalidField("settings.variables["+strconv.Itoa(i)+"].type",
					"%q: want string, integer, number, boolean, json or array", v.Type)
			}
			rec.Variables[i] = hook.Variable{Name: v.Name, Path: v.Path, Type: t, Required: v.Required, Default: v.DefaultValue.value}
		}
	}
	if rec.SecretAlgorithm == "" {
		rec.SecretAlgorithm = defaultSecretAlgorithm
	}
	if rec.SecretHeaderName == "" {
		rec.SecretHeaderName = defaultSecretHeaderName
	}
	if !slices.Contains(signatureAlgorithms, rec.SecretAlgorithm) {
		return invalidField("secret_algorithm", "%q: want sha1, sha256 or sha512", rec.SecretAlgorithm)
	}
	if !httpguts.ValidHeaderFieldName(rec.SecretHeaderName) {
		return invalidField("secret_header_name", "%q is not an HTTP header name", rec.SecretHeaderName)
	}
	if rec.DedupHeader != "" && !httpguts.ValidHeaderFieldName(rec.DedupHeader) {
		return invalidField("dedup_header_name", "%q is not an HTTP header name", rec.DedupHeader)
	}
	if err := caddymodule.CheckStoredHook(rec); err != nil {
		return err
	}
	return nil
}

// checkID refuses a body whose id is not the path's.
func (req *hookRequest) checkID(id string) error {
	if req.ID != nil && *req.ID != id {
		return invalidField("id", "%q is not the hook's id in the path, %q", *req.ID, id)
	}
	return nil
}

// hookJSON is an incoming hook as the API shows it (the Devopness object,
// with hookgate's own fields). A Caddyfile hook has no url, and its id
// is its name.
type hookJSON struct {
	ID               string       `json:"id"`
	Name             string       `json:"name"`
	Type             string       `json:"type"`
	Active           bool         `json:"active"`
	Source           string       `json:"source"`
	Pipeline         string       `json:"pipeline"`
	URL              *string      `json:"url"`
	ActionType       string       `json:"action_type,omitempty"`
	RequiresSecret   bool         `json:"requires_secret"`
	SecretAlgorithm  string       `json:"secret_algorithm,omitempty"`
	SecretHeaderName string       `json:"secret_header_name,omitempty"`
	Signature        string       `json:"signature,omitempty"`
	Secret           *string      `json:"secret,omitempty"`
	Settings         hookSettings `json:"settings"`
	When             string       `json:"when,omitempty"`
	DedupHeaderName  string       `json:"dedup_header_name,omitempty"`
	Relay            bool         `json:"relay"`
	CreatedAt        *string      `json:"created_at,omitempty"`
	UpdatedAt        *string      `json:"updated_at,omitempty"`
}

// hookObject is the API's view of an API-created hook, its secret masked.
func (h *APIHandler) hookObject(r *http.Request, rec *store.HookRecord) hookJSON {
	u := h.hookURL(r, rec.ID)
	out := hookJSON{
		ID: rec.ID, Name: rec.Name, Type: "incoming", Active: !rec.Inactive, Source: engine.SourceAPI, Pipeline: rec.Pipeline, URL: &u,
		ActionType: rec.ActionType, RequiresSecret: rec.RequiresSecret, SecretAlgorithm: rec.SecretAlgorithm,
		SecretHeaderName: rec.SecretHeaderName, When: rec.When, DedupHeaderName: rec.DedupHeader, Relay: rec.Relay,
		Settings:  hookSettings{Variables: variablesJSON(rec.Variables)},
		CreatedAt: timestampPtr(&rec.CreatedAt), UpdatedAt: timestampPtr(&rec.UpdatedAt),
	}
	if rec.Secret != "" {
		masked := "****" + rec.Secret[max(0, len(rec.Secret)-4):]
		out.Secret = &masked
	}
	return out
}

// configHookObject is the API's view of a Caddyfile hook.
func configHookObject(c caddymodule.ConfigHook) hookJSON {
	return hookJSON{
		ID: c.Name, Name: c.Name, Type: "incoming", Active: true, Source: engine.SourceConfig, Pipeline: c.Pipeline,
		RequiresSecret: c.Signature != "", Signature: c.Signature, When: c.When,
		Settings: hookSettings{Variables: variablesJSON(c.Vars)},
	}
}

// variablesJSON is the API's view of variables.
func variablesJSON(vars []hook.Variable) []hookVariable {
	out := make([]hookVariable, len(vars))
	for i, v := range vars {
		t := string(v.Type)
		if t == "" {
			t = string(hook.String)
		}
		out[i] = hookVariable{Name: v.Name, Path: v.Path, Type: t, Required: v.Required, DefaultValue: defaultValue{v.Default}}
	}
	return out
}

// hookURL is the URL of an API-created hook: public_url and its id, or,
// without public_url, /hooks/<id> on the host the API was called on.
func (h *APIHandler) hookURL(r *http.Request, id string) string {
	if base := h.app.PublicURL; base != "" {
		return strings.TrimSuffix(base, "/") + "/" + id
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/hooks/" + id
}

// pathPipeline is the pipeline the request's path names, or a 404 when
// the configuration has none of that name.
func (h *APIHandler) pathPipeline(r *http.Request) (string, error) {
	pipeline := r.PathValue("pipeline")
	if !h.app.HasPipeline(pipeline) {
		return "", &apiError{http.StatusNotFound, "not_found", "no pipeline " + pipeline + " is configured"}
	}
	return pipeline, nil
}

// applyHook applies a hook request to rec, then checks that the hook
// still declares every variable its pipeline's steps take as a file
// ({file:vars.<name>}), as a Caddyfile hook must.
func (h *APIHandler) applyHook(req *hookRequest, rec *store.HookRecord) error {
	if err := req.apply(rec); err != nil {
		return err
	}
	if err := h.app.CheckFileVariables(rec.Pipeline, rec.Variables); err != nil {
		return invalidField("settings.variables", "%v", err)
	}
	return nil
}

// createHook answers POST /pipelines/{pipeline}/hooks/incoming: 201 with
// the hook, its URL and its secret, shown this once.
func (h *APIHandler) createHook(w http.ResponseWriter, r *http.Request, e *engine.Engine) error {
	pipeline, err := h.pathPipeline(r)
	if err != nil {
		return err
	}
	var req hookRequest
	if err := decodeBody(r, &req, false); err != nil {
		return err
	}
	if req.Name == nil {
		return invalidField("name", "required")
	}
	if req.ID != nil {
		return invalidField("id", "chosen by hookgate; leave it out when creating a hook")
	}
	rec := store.HookRecord{Pipeline: pipeline, RequiresSecret: true}
	if err := h.applyHook(&req, &rec); err != nil {
		return err
	}
	if _, ok := h.app.ConfigHook(rec.Name); ok {
		return &apiError{http.StatusConflict, "already_exists", "a hook named " + strconv.Quote(rec.Name) + " is defined in the Caddyfile"}
	}
	created, err := e.CreateHook(r.Context(), rec)
	if err != nil {
		return err
	}
	h.logger.Info("incoming hook created", zap.String("hook", created.Name), zap.String("id", created.ID),
		zap.String("pipeline", pipeline))
	obj := h.hookObject(r, created)
	if created.Secret != "" {
		obj.Secret = &created.Secret
	}
	return reply(w, http.StatusCreated, obj)
}

// listHooks answers GET /pipelines/{pipeline}/hooks as Devopness does
// (SPEC 12.3): the pipeline's incoming hooks, the Caddyfile's then those
// created through the API, then its outgoing hooks (the webhooks scoped to
// it), secrets masked, as a bare array paged by page and per_page.
func (h *APIHandler) listHooks(w http.ResponseWriter, r *http.Request, e *engine.Engine) error {
	p, err := parsePageAs(r, "per_page")
	if err != nil {
		return err
	}
	pipeline, err := h.pathPipeline(r)
	if err != nil {
		return err
	}
	var list []any
	for _, c := range h.app.ConfigHooks() {
		if c.Pipeline == pipeline {
			list = append(list, configHookObject(c))
		}
	}
	recs, err := e.Hooks(r.Context(), pipeline)
	if err != nil {
		return err
	}
	for i := range recs {
		list = append(list, h.hookObject(r, &recs[i]))
	}
	outgoing, err := h.outgoingHooks(r, e, pipeline)
	if err != nil {
		return err
	}
	for _, o := range outgoing {
		list = append(list, o)
	}
	return replyDevopnessPage(w, r, p, list)
}

// getHook answers GET /hooks/{id}.
func (h *APIHandler) getHook(w http.ResponseWriter, r *http.Request, e *engine.Engine) error {
	id := r.PathValue("id")
	rec, err := e.Hook(r.Context(), id)
	if err == nil {
		return reply(w, http.StatusOK, h.hookObject(r, rec))
	}
	if c, ok := h.app.ConfigHook(id); ok && errors.Is(err, engine.ErrNotFound) {
		return reply(w, http.StatusOK, configHookObject(c))
	}
	return err
}

// patchHook answers PATCH /hooks/{id}: the fields sent change, at once on
// every instance. A Caddyfile hook is 409.
func (h *APIHandler) patchHook(w http.ResponseWriter, r *http.Request, e *engine.Engine) error {
	id := r.PathValue("id")
	req, err := h.decodeHookChange(r, e, id)
	if err != nil {
		return err
	}
	hadSecret := false
	rec, err := e.UpdateHook(r.Context(), id, func(rec *store.HookRecord) error {
		hadSecret = rec.Secret != ""
		return h.applyHook(&req, rec)
	})
	if err != nil {
		return err
	}
	h.logger.Info("incoming hook changed", zap.String("hook", rec.Name), zap.String("id", rec.ID))
	obj := h.hookObject(r, rec)
	if !hadSecret && rec.Secret != "" {
		obj.Secret = &rec.Secret // generated now: shown this once
	}
	return reply(w, http.StatusOK, obj)
}

// deleteHook answers DELETE /hooks/{id}: 204, and its URL answers 404 at
// once. A Caddyfile hook is 409.
func (h *APIHandler) deleteHook(w http.ResponseWriter, r *http.Request, e *engine.Engine) error {
	id := r.PathValue("id")
	if err := h.refuseConfigHook(r, e, id); err != nil {
		return err
	}
	if err := e.DeleteHook(r.Context(), id); err != nil {
		return err
	}
	h.logger.Info("incoming hook deleted", zap.String("id", id))
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// decodeHookChange reads the body of a change to the hook id: a 409 for a
// Caddyfile hook, a 400 for a malformed body, a 422 for another id.
func (h *APIHandler) decodeHookChange(r *http.Request, e *engine.Engine, id string) (hookRequest, error) {
	var req hookRequest
	if err := h.refuseConfigHook(r, e, id); err != nil {
		return req, err
	}
	if err := decodeBody(r, &req, false); err != nil {
		return req, err
	}
	return req, req.checkID(id)
}

// refuseConfigHook is a 409 for the id of a Caddyfile hook that no API
// hook has.
func (h *APIHandler) refuseConfigHook(r *http.Request, e *engine.Engine, id string) error {
	if _, ok := h.app.ConfigHook(id); !ok {
		return nil
	}
	if _, err := e.Hook(r.Context(), id); !errors.Is(err, engine.ErrNotFound) {
		return err
	}
	return &apiError{http.StatusConflict, "read_only", "hook " + strconv.Quote(id) + " is defined in the Caddyfile; change it there and reload"}
}
