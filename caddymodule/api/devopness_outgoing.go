package api

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.uber.org/zap"

	"github.com/hookgate/hookgate/pipeline/engine"
	"github.com/hookgate/hookgate/pipeline/webhook"
)

// Devopness's outgoing hooks of a pipeline (SPEC 12.3) are webhooks
// scoped to that pipeline (SPEC 7.2): every state change of its actions
// is POSTed to the hook's URL, signed, retried and logged as any
// webhook's deliveries are.

// outgoingRoutes are the routes of Devopness's outgoing hooks.
func (h *APIHandler) outgoingRoutes() map[string]apiFunc {
	return map[string]apiFunc{
		"POST /pipelines/{pipeline}/hooks/outgoing": h.createOutgoingHook,
		"GET /hooks/outgoing/{id}":                  h.getOutgoingHook,
		"PUT /hooks/outgoing/{id}":                  h.putOutgoingHook,
		"DELETE /hooks/outgoing/{id}":               h.deleteWebhook,
	}
}

// outgoingRequest is the body of POST /pipelines/{pipeline}/hooks/outgoing
// and PUT /hooks/outgoing/{id}: Devopness's outgoing hook. target_url is
// taken for url; id, when sent, must be the path's.
type outgoingRequest struct {
	ID        *string           `json:"id"`
	Name      *string           `json:"name"`
	URL       *string           `json:"url"`
	TargetURL *string           `json:"target_url"`
	Active    *bool             `json:"active"`
	Settings  *outgoingSettings `json:"settings"`
}

// outgoingSettings are an outgoing hook's request headers and body.
type outgoingSettings struct {
	RequestHeaders []outgoingHeader `json:"request_headers"`
	// RequestBody is sent as the body, a JSON value or a string, with its
	// :name: placeholders replaced by values escaped as JSON string
	// content, so that a JSON template stays valid.
	RequestBody json.RawMessage `json:"request_body"`
}

// outgoingHeader is one request header of an outgoing hook.
type outgoingHeader struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// definition is the webhook the request makes, scoped to pipeline.
func (req *outgoingRequest) definition(pipeline string) (webhook.Definition, error) {
	def := webhook.Definition{Pipelines: []string{pipeline}, Headers: map[string]string{}}
	if req.Name == nil || *req.Name == "" {
		return def, invalidField("name", "required")
	}
	def.Name = *req.Name
	switch {
	case req.URL != nil && req.TargetURL != nil && *req.URL != *req.TargetURL:
		return def, invalidField("target_url", "differs from url; send one of them")
	case req.URL != nil:
		def.URL = *req.URL
	case req.TargetURL != nil:
		def.URL = *req.TargetURL
	}
	if def.URL == "" {
		return def, invalidField("url", "required")
	}
	if err := (&webhookRequest{URL: &def.URL}).check(false); err != nil {
		return def, err
	}
	if req.Settings == nil {
		return def, nil
	}
	for i, hd := range req.Settings.RequestHeaders {
		if _, dup := def.Headers[hd.Name]; dup {
			return def, invalidField("settings.request_headers["+strconv.Itoa(i)+"].name", "%q is given twice", hd.Name)
		}
		def.Headers[hd.Name] = hd.Value
	}
	body, err := requestBodyTemplate(req.Settings.RequestBody)
	if err != nil {
		return def, err
	}
	def.Body = bodyExpression(body)
	return def, nil
}

// requestBodyTemplate is the template a request_body holds: a string's
// text, or the JSON text of any other value; "" for none.
func requestBodyTemplate(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	if raw[0] == '"' {
		var s string
		err := json.Unmarshal(raw, &s)
		return s, err
	}
	return string(raw), nil
}

// placeholder matches a :name: placeholder of a request body template.
var placeholder = regexp.MustCompile(`:([A-Za-z_][A-Za-z0-9_]*):`)

// builtinPlaceholders are the placeholders of SPEC 7, as expressions over
// the event; every other name is a variable of the action.
var builtinPlaceholders = map[string]string{
	"action_id": "action.id", "pipeline": "action.pipeline", "status": "action.status", "hook": "action.hook",
	"ip": "action.remote_ip", "event": "event.type",
}

// bodyTemplatePrefix begins a body expression made from a request_body
// template; the template follows, in base64, so that it can be shown again.
const bodyTemplatePrefix = "/* devopness request_body "

// bodyExpression makes a request_body template a webhook body expression
// (SPEC 7: expr, a string result sent as is): the template's text with
// each placeholder's value, escaped as JSON string content. A built-in
// placeholder without a value is none; a variable the action does not have
// stays as written. The template itself leads the expression, in a
// comment, so that the hook shows it again.
func bodyExpression(template string) string {
	if template == "" {
		return ""
	}
	parts := []string{}
	rest := template
	for {
		loc := placeholder.FindStringSubmatchIndex(rest)
		if loc == nil {
			parts = append(parts, strconv.Quote(rest))
			break
		}
		parts = append(parts, strconv.Quote(rest[:loc[0]]))
		name := rest[loc[2]:loc[3]]
		value := `(` + builtinPlaceholders[name] + ` ?? "none")`
		if _, builtin := builtinPlaceholders[name]; !builtin {
			v := `action.variables?.[` + strconv.Quote(name) + `]`
			value = `(` + v + ` == nil ? ` + strconv.Quote(":"+name+":") + ` : (type(` + v + `) == "string" ? ` + v + ` : toJSON(` + v + `)))`
		}
		parts = append(parts, `trimSuffix(trimPrefix(toJSON(`+value+`), "\""), "\"")`)
		rest = rest[loc[1]:]
	}
	return bodyTemplatePrefix + base64.StdEncoding.EncodeToString([]byte(template)) + " */ " + strings.Join(parts, " + ")
}

// bodyTemplate is the request_body template a body expression was made
// from, or "" when it was not made from one.
func bodyTemplate(body string) string {
	encoded, _, ok := strings.Cut(strings.TrimPrefix(body, bodyTemplatePrefix), " */ ")
	if !ok || !strings.HasPrefix(body, bodyTemplatePrefix) {
		return ""
	}
	b, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		return ""
	}
	return string(b)
}

// outgoingJSON is an outgoing hook as Devopness shows it, with hookgate's
// webhook fields that matter to it.
type outgoingJSON struct {
	ID        string               `json:"id"`
	Name      string               `json:"name"`
	Type      string               `json:"type"`
	Active    bool                 `json:"active"`
	Source    string               `json:"source"`
	Pipeline  string               `json:"pipeline"`
	URL       string               `json:"url"`
	State     webhook.State        `json:"state"`
	Secret    string               `json:"secret"`
	Settings  outgoingSettingsJSON `json:"settings"`
	CreatedAt string               `json:"created_at"`
	UpdatedAt string               `json:"updated_at"`
}

// outgoingSettingsJSON are the settings an outgoing hook shows.
type outgoingSettingsJSON struct {
	RequestHeaders []outgoingHeader `json:"request_headers"`
	RequestBody    *string          `json:"request_body"`
}

// outgoingObject is the Devopness view of a webhook, as an outgoing hook
// of pipeline.
func (h *APIHandler) outgoingObject(info *engine.WebhookInfo, pipeline string) outgoingJSON {
	obj := h.webhookObject(info)
	out := outgoingJSON{ID: obj.ID, Name: obj.Name, Type: "outgoing", Active: info.State != webhook.StateDeactivated,
		Source: obj.Source, Pipeline: pipeline, URL: obj.URL, State: info.State, Secret: obj.Secret,
		Settings:  outgoingSettingsJSON{RequestHeaders: []outgoingHeader{}},
		CreatedAt: obj.CreatedTime, UpdatedAt: obj.UpdatedTime}
	for _, name := range slices.Sorted(maps.Keys(obj.Headers)) {
		out.Settings.RequestHeaders = append(out.Settings.RequestHeaders, outgoingHeader{Name: name, Value: obj.Headers[name]})
	}
	if t := bodyTemplate(obj.Body); t != "" {
		out.Settings.RequestBody = &t
	}
	return out
}

// outgoingHooks are the outgoing hooks of a pipeline: the webhooks scoped
// to it.
func (h *APIHandler) outgoingHooks(r *http.Request, e *engine.Engine, pipeline string) ([]outgoingJSON, error) {
	infos, err := e.Webhooks(r.Context())
	if err != nil {
		return nil, err
	}
	var out []outgoingJSON
	for i := range infos {
		if slices.Contains(infos[i].Definition.Pipelines, pipeline) {
			out = append(out, h.outgoingObject(&infos[i], pipeline))
		}
	}
	return out, nil
}

// createOutgoingHook answers POST /pipelines/{pipeline}/hooks/outgoing:
// 201 with the hook and the secret that signs its deliveries, shown this
// once.
func (h *APIHandler) createOutgoingHook(w http.ResponseWriter, r *http.Request, e *engine.Engine) error {
	pipeline, err := h.pathPipeline(r)
	if err != nil {
		return err
	}
	var req outgoingRequest
	if err := decodeBody(r, &req, false); err != nil {
		return err
	}
	if req.ID != nil {
		return invalidField("id", "chosen by hookgate; leave it out when creating a hook")
	}
	def, err := req.definition(pipeline)
	if err != nil {
		return err
	}
	info, secret, err := e.CreateWebhook(r.Context(), def)
	if err != nil {
		return err
	}
	if req.Active != nil && !*req.Active {
		if info, err = e.UpdateWebhook(r.Context(), info.ID, engine.WebhookPatch{State: statePtr(string(webhook.StateDeactivated))}); err != nil {
			return err
		}
	}
	h.logger.Info("webhook created", zap.String("webhook", def.Name), zap.String("id", info.ID), zap.String("pipeline", pipeline),
		zap.String("dialect", "devopness"))
	obj := h.outgoingObject(info, pipeline)
	obj.Secret = secret
	return reply(w, http.StatusCreated, obj)
}

// scopePipeline is the pipeline a webhook is shown as the outgoing hook
// of: its first scoped one, or "" for a global or default webhook.
func scopePipeline(info *engine.WebhookInfo) string {
	if len(info.Definition.Pipelines) == 0 {
		return ""
	}
	return info.Definition.Pipelines[0]
}

// getOutgoingHook answers GET /hooks/outgoing/{id}.
func (h *APIHandler) getOutgoingHook(w http.ResponseWriter, r *http.Request, e *engine.Engine) error {
	info, err := e.Webhook(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return reply(w, http.StatusOK, h.outgoingObject(info, scopePipeline(info)))
}

// putOutgoingHook answers PUT /hooks/outgoing/{id}: the body replaces the
// hook's name, URL, headers, body and active, keeping its id, secret and
// scope; 204.
func (h *APIHandler) putOutgoingHook(w http.ResponseWriter, r *http.Request, e *engine.Engine) error {
	id := r.PathValue("id")
	var req outgoingRequest
	if err := decodeBody(r, &req, false); err != nil {
		return err
	}
	if req.ID != nil && *req.ID != id {
		return invalidField("id", "%q is not the hook's id in the path, %q", *req.ID, id)
	}
	info, err := e.Webhook(r.Context(), id)
	if err != nil {
		return err
	}
	def, err := req.definition(scopePipeline(info))
	if err != nil {
		return err
	}
	unmask(def.Headers, info.Definition.Headers) // a header sent back as it was read keeps its value
	patch := engine.WebhookPatch{Name: &def.Name, URL: &def.URL, Headers: &def.Headers, Body: &def.Body}
	switch {
	case req.Active != nil && !*req.Active:
		patch.State = statePtr(string(webhook.StateDeactivated))
	case req.Active != nil && info.State == webhook.StateDeactivated:
		patch.State = statePtr(string(webhook.StateActive))
	}
	if _, err := e.UpdateWebhook(r.Context(), info.ID, patch); err != nil {
		return err
	}
	h.logger.Info("webhook replaced", zap.String("webhook", def.Name), zap.String("id", info.ID), zap.String("dialect", "devopness"))
	w.WriteHeader(http.StatusNoContent)
	return nil
}
