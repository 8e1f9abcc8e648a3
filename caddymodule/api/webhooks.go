package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/hookgate/hookgate/pipeline/engine"
	"github.com/hookgate/hookgate/pipeline/store"
	"github.com/hookgate/hookgate/pipeline/webhook"
)

// webhookRequest is the body of POST /webhooks and PATCH /webhooks/{id}
// (the 1NCE body, with hookgate's own when, body and secret). In a PATCH,
// absent fields are unchanged.
type webhookRequest struct {
	Name               *string            `json:"name"`
	URL                *string            `json:"url"`
	Headers            *map[string]string `json:"headers"`
	EventTypes         *[]eventTypeJSON   `json:"eventTypes"`
	JSONPayloadEnabled *bool              `json:"jsonPayloadEnabled"`
	Secret             *string            `json:"secret"`
	When               *string            `json:"when"`
	Body               *string            `json:"body"`
	Pipelines          *[]string          `json:"pipelines"`
	Default            *bool              `json:"default"`
	Payload            *string            `json:"payload"`
	ForwardHeaders     *[]string          `json:"forwardHeaders"`
	RecoverEvery       *string            `json:"recoverEvery"`
	State              *string            `json:"state"`
}

// eventTypeJSON is an event type as the API takes it: a type's name, or
// {"type", "version"}.
type eventTypeJSON webhook.EventType

// UnmarshalJSON implements json.Unmarshaler.
func (et *eventTypeJSON) UnmarshalJSON(data []byte) error {
	if len(data) > 0 && data[0] == '"' {
		return json.Unmarshal(data, &et.Type)
	}
	var v struct {
		Type    string `json:"type"`
		Version string `json:"version"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return &fieldError{"eventTypes", `an event type's name, or {"type": ..., "version": "1.0.0"}`}
	}
	*et = eventTypeJSON(v)
	return nil
}

// check checks what the request's fields can be checked for alone, and
// that a creation has its required fields, naming the field.
func (req *webhookRequest) check(create bool) error {
	if create && (req.Name == nil || *req.Name == "") {
		return invalidField("name", "required")
	}
	if create && (req.URL == nil || *req.URL == "") {
		return invalidField("url", "required")
	}
	if !create && req.Secret != nil {
		return invalidField("secret", "a webhook's secret changes only by POST /webhooks/{id}/rotate-secret")
	}
	if req.URL != nil {
		if scheme, _, found := strings.Cut(*req.URL, "://"); found && !strings.EqualFold(scheme, "http") && !strings.EqualFold(scheme, "https") {
			return invalidField("url", "scheme %q: want http or https", scheme)
		}
		if _, err := url.Parse(*req.URL); err != nil {
			return invalidField("url", "%v", err)
		}
	}
	if req.EventTypes != nil {
		for i, et := range *req.EventTypes {
			if webhook.ExpandType(et.Type) == nil {
				return invalidField("eventTypes", "%d: unknown event type %q (want one of %s)", i, et.Type, webhook.TypeNames)
			}
			if et.Version != "" && et.Version != webhook.Version {
				return invalidField("eventTypes", "%d: %s: unknown version %q (want %s)", i, et.Type, et.Version, webhook.Version)
			}
		}
	}
	if req.Payload != nil && *req.Payload != "raw" && *req.Payload != "envelope" {
		return invalidField("payload", "%q: want raw or envelope", *req.Payload)
	}
	if req.RecoverEvery != nil && *req.RecoverEvery != "" {
		if d, err := time.ParseDuration(*req.RecoverEvery); err != nil || d < 0 {
			return invalidField("recoverEvery", "%q: want a duration such as 1m, or \"\" for off", *req.RecoverEvery)
		}
	}
	if req.State != nil {
		switch webhook.State(*req.State) {
		case webhook.StateActive, webhook.StateDeactivated:
		default:
			return invalidField("state", "%q: want %s or %s", *req.State, webhook.StateActive, webhook.StateDeactivated)
		}
	}
	return nil
}

// rawPayload is the request's payload as the engine takes it; nil when
// absent.
func (req *webhookRequest) rawPayload() *bool {
	if req.Payload == nil {
		return nil
	}
	raw := *req.Payload == "raw"
	return &raw
}

// recoverEvery is the request's recoverEvery, checked by check; nil when
// absent.
func (req *webhookRequest) recoverEvery() *time.Duration {
	if req.RecoverEvery == nil {
		return nil
	}
	d, _ := time.ParseDuration(*req.RecoverEvery)
	return &d
}

// eventTypes is the request's event types for the engine.
func (req *webhookRequest) eventTypes() []webhook.EventType {
	if req.EventTypes == nil {
		return nil
	}
	out := make([]webhook.EventType, len(*req.EventTypes))
	for i, et := range *req.EventTypes {
		out[i] = webhook.EventType(et)
	}
	return out
}

// webhookJSON is a webhook as the API shows it (the 1NCE object, with
// hookgate's own fields).
type webhookJSON struct {
	ID                            string              `json:"id"`
	Name                          string              `json:"name"`
	State                         webhook.State       `json:"state"`
	Type                          string              `json:"type"`
	Source                        string              `json:"source"`
	URL                           string              `json:"url"`
	Headers                       map[string]string   `json:"headers"`
	EventTypes                    []webhook.EventType `json:"eventTypes"`
	JSONPayloadEnabled            bool                `json:"jsonPayloadEnabled"`
	Secret                        string              `json:"secret"`
	When                          string              `json:"when,omitempty"`
	Body                          string              `json:"body,omitempty"`
	Pipelines                     []string            `json:"pipelines"`
	Default                       bool                `json:"default"`
	Payload                       string              `json:"payload"`
	ForwardHeaders                []string            `json:"forwardHeaders"`
	RecoverEvery                  string              `json:"recoverEvery,omitempty"`
	CreatedTime                   string              `json:"createdTime"`
	UpdatedTime                   string              `json:"updatedTime"`
	LastSuccessfulMessageDelivery *string             `json:"lastSuccessfulMessageDelivery"`
	ConsecutiveFailures           int                 `json:"consecutiveFailures"`
	Deliveries                    map[string]int64    `json:"deliveries"`
}

// webhookObject is the API's view of a webhook. Header values are masked
// as secrets are (shown in full once, at creation); a Caddyfile
// webhook's are masked as written there, placeholders unreplaced.
func (h *APIHandler) webhookObject(info *engine.WebhookInfo) webhookJSON {
	def := info.Definition
	headers := def.Headers
	if info.Source == engine.SourceConfig {
		for _, w := range h.app.Webhooks {
			if w.Name == def.Name {
				headers = w.Headers
			}
		}
	}
	masked := make(map[string]string, len(headers))
	for k, v := range headers {
		masked[k] = maskValue(v)
	}
	types := def.EventTypes
	if len(types) == 0 {
		for _, t := range webhook.ActionTypes {
			types = append(types, webhook.EventType{Type: t, Version: webhook.Version})
		}
	}
	pipelines := def.Pipelines
	if pipelines == nil {
		pipelines = []string{}
	}
	forward := def.ForwardHeaders
	if forward == nil {
		forward = []string{}
	}
	payload, recoverEvery := "envelope", ""
	if def.RawPayload {
		payload = "raw"
	}
	if def.RecoverEvery > 0 {
		recoverEvery = def.RecoverEvery.String()
	}
	secret := ""
	if len(def.Secrets) > 0 {
		secret = def.Secrets[0]
	}
	return webhookJSON{
		ID: info.ID, Name: def.Name, State: info.State, Type: "WEBHOOK", Source: info.Source, URL: withoutUserinfo(def.URL),
		Headers: masked, EventTypes: types, JSONPayloadEnabled: def.JSONPayload, Secret: secret,
		When: def.When, Body: def.Body, Pipelines: pipelines, Default: def.Default, Payload: payload, ForwardHeaders: forward, RecoverEvery: recoverEvery,
		CreatedTime: timestamp(info.CreatedAt), UpdatedTime: timestamp(info.UpdatedAt),
		LastSuccessfulMessageDelivery: timestampPtr(info.LastSuccessfulMessageDelivery),
		ConsecutiveFailures:           info.ConsecutiveFailures,
		Deliveries:                    map[string]int64{"pending": info.Pending, "waiting": info.Waiting, "held": info.Held},
	}
}

// maskValue is a header value as reads show it: **** and its last 4
// characters, or **** alone for a value of 12 characters or fewer.
func maskValue(v string) string {
	r := []rune(v)
	if len(r) <= 12 {
		return "****"
	}
	return "****" + string(r[len(r)-4:])
}

// unmask keeps the stored value of each header sent back as it was
// shown (masked), so that a client may PATCH a webhook as it read it.
func unmask(sent, stored map[string]string) {
	for k, v := range sent {
		if old, ok := stored[k]; ok && v == maskValue(old) {
			sent[k] = old
		}
	}
}

// withoutUserinfo is a URL as reads show it: without the user:password@
// that a webhook stored before such URLs were refused may still hold.
func withoutUserinfo(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	u.User = nil
	return u.String()
}

// createWebhook answers POST /webhooks: 201 with the webhook and its
// secret, shown this once.
func (h *APIHandler) createWebhook(w http.ResponseWriter, r *http.Request, e *engine.Engine) error {
	var req webhookRequest
	if err := decodeBody(r, &req, false); err != nil {
		return err
	}
	if err := req.check(true); err != nil {
		return err
	}
	def := webhook.Definition{Name: *req.Name, URL: *req.URL, EventTypes: req.eventTypes()}
	if req.Headers != nil {
		def.Headers = *req.Headers
	}
	if req.JSONPayloadEnabled != nil {
		def.JSONPayload = *req.JSONPayloadEnabled
	}
	if req.Secret != nil {
		def.Secrets = []string{*req.Secret}
	}
	if req.When != nil {
		def.When = *req.When
	}
	if req.Body != nil {
		def.Body = *req.Body
	}
	if req.Pipelines != nil {
		def.Pipelines = *req.Pipelines
	}
	if req.Default != nil {
		def.Default = *req.Default
	}
	if raw := req.rawPayload(); raw != nil {
		def.RawPayload = *raw
	}
	if req.ForwardHeaders != nil {
		def.ForwardHeaders = *req.ForwardHeaders
	}
	if d := req.recoverEvery(); d != nil {
		def.RecoverEvery = *d
	}
	info, secret, err := e.CreateWebhook(r.Context(), def)
	if err != nil {
		return err
	}
	if req.State != nil && webhook.State(*req.State) == webhook.StateDeactivated {
		if info, err = e.UpdateWebhook(r.Context(), info.ID, engine.WebhookPatch{State: statePtr(*req.State)}); err != nil {
			return err
		}
	}
	obj := h.webhookObject(info)
	obj.Secret = secret
	if info.Definition.Headers != nil {
		obj.Headers = info.Definition.Headers
	}
	h.logger.Info("webhook created", zap.String("webhook", info.Definition.Name), zap.String("id", info.ID))
	return reply(w, http.StatusCreated, obj)
}

// statePtr is a state taken from a request, for a patch.
func statePtr(s string) *webhook.State {
	st := webhook.State(s)
	return &st
}

// listWebhooks answers GET /webhooks?state=: every webhook, Caddyfile ones
// first; deactivated ones only when asked for by state.
func (h *APIHandler) listWebhooks(w http.ResponseWriter, r *http.Request, e *engine.Engine) error {
	p, err := parsePage(r)
	if err != nil {
		return err
	}
	state := webhook.State(r.URL.Query().Get("state"))
	switch state {
	case "", webhook.StateNew, webhook.StateActive, webhook.StateFailed, webhook.StateDeactivated:
	default:
		return badRequest("invalid_query", "state %q: want %s, %s, %s or %s", state,
			webhook.StateNew, webhook.StateActive, webhook.StateFailed, webhook.StateDeactivated)
	}
	infos, err := e.Webhooks(r.Context())
	if err != nil {
		return err
	}
	var list []webhookJSON
	for i := range infos {
		st := infos[i].State
		if (state == "" && st != webhook.StateDeactivated) || st == state {
			list = append(list, h.webhookObject(&infos[i]))
		}
	}
	pg, err := pageOf(p, list)
	if err != nil {
		return err
	}
	return reply(w, http.StatusOK, pg)
}

// getWebhook answers GET /webhooks/{id}; the id may also be the name.
func (h *APIHandler) getWebhook(w http.ResponseWriter, r *http.Request, e *engine.Engine) error {
	info, err := e.Webhook(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return reply(w, http.StatusOK, h.webhookObject(info))
}

// patchWebhook answers PATCH /webhooks/{id}: the fields sent change, the
// others stay; a new URL makes the webhook INTEGRATION_NEW again, and
// "state" deactivates (INTEGRATION_DEACTIVATED) or reactivates it
// (INTEGRATION_ACTIVE). A Caddyfile webhook is 409.
func (h *APIHandler) patchWebhook(w http.ResponseWriter, r *http.Request, e *engine.Engine) error {
	var req webhookRequest
	if err := decodeBody(r, &req, false); err != nil {
		return err
	}
	if err := req.check(false); err != nil {
		return err
	}
	if req.Headers != nil {
		old, err := e.Webhook(r.Context(), r.PathValue("id"))
		if err != nil {
			return err
		}
		unmask(*req.Headers, old.Definition.Headers)
	}
	patch := engine.WebhookPatch{Name: req.Name, URL: req.URL, Headers: req.Headers, JSONPayload: req.JSONPayloadEnabled,
		When: req.When, Body: req.Body, Pipelines: req.Pipelines, Default: req.Default,
		RawPayload: req.rawPayload(), ForwardHeaders: req.ForwardHeaders, RecoverEvery: req.recoverEvery()}
	if req.EventTypes != nil {
		types := req.eventTypes()
		patch.EventTypes = &types
	}
	if req.State != nil {
		patch.State = statePtr(*req.State)
	}
	info, err := e.UpdateWebhook(r.Context(), r.PathValue("id"), patch)
	if err != nil {
		return err
	}
	h.logger.Info("webhook changed", zap.String("webhook", info.Definition.Name), zap.String("id", info.ID))
	return reply(w, http.StatusOK, h.webhookObject(info))
}

// deleteWebhook answers DELETE /webhooks/{id}: 204; its deliveries go with
// it. A Caddyfile webhook is 409.
func (h *APIHandler) deleteWebhook(w http.ResponseWriter, r *http.Request, e *engine.Engine) error {
	id := r.PathValue("id")
	if err := e.DeleteWebhook(r.Context(), id); err != nil {
		return err
	}
	h.logger.Info("webhook deleted", zap.String("id", id))
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// testWebhook answers POST /webhooks/{id}/test: a signed webhook.test
// event is sent now; its outcome sets the webhook's state.
func (h *APIHandler) testWebhook(w http.ResponseWriter, r *http.Request, e *engine.Engine) error {
	a, err := e.TestWebhook(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	info, err := e.Webhook(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return reply(w, http.StatusOK, map[string]any{
		"success": a.Error == "", "state": info.State, "attempt": attemptObject(a),
	})
}

// restartWebhook answers POST /webhooks/{id}/restart: the webhook is
// INTEGRATION_ACTIVE again and every held delivery, and every one waiting
// for a retry, goes out now.
func (h *APIHandler) restartWebhook(w http.ResponseWriter, r *http.Request, e *engine.Engine) error {
	n, err := e.RestartWebhook(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	info, err := e.Webhook(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return reply(w, http.StatusOK, map[string]any{"webhook": h.webhookObject(info), "restartedDeliveries": n})
}

// rotateRequest is the optional body of POST /webhooks/{id}/rotate-secret.
type rotateRequest struct {
	// KeepOldFor is how long the old secret still signs, beside the new
	// one, as a Go duration. Default: 24h.
	KeepOldFor string `json:"keepOldFor"`
}

// defaultKeepOldSecret is how long a rotated secret keeps signing.
const defaultKeepOldSecret = 24 * time.Hour

// rotateWebhookSecret answers POST /webhooks/{id}/rotate-secret: a new
// secret, shown this once; the old one signs too until keepOldFor ends.
func (h *APIHandler) rotateWebhookSecret(w http.ResponseWriter, r *http.Request, e *engine.Engine) error {
	var req rotateRequest
	if err := decodeBody(r, &req, true); err != nil {
		return err
	}
	keep := defaultKeepOldSecret
	if req.KeepOldFor != "" {
		d, err := time.ParseDuration(req.KeepOldFor)
		if err != nil || d < 0 {
			return invalidField("keepOldFor", "%q: want a duration such as 24h or 0s", req.KeepOldFor)
		}
		keep = d
	}
	secret, err := e.RotateWebhookSecret(r.Context(), r.PathValue("id"), keep)
	if err != nil {
		return err
	}
	h.logger.Info("webhook secret rotated", zap.String("id", r.PathValue("id")), zap.Duration("old_secret_kept_for", keep))
	return reply(w, http.StatusOK, map[string]any{
		"id": r.PathValue("id"), "secret": secret, "oldSecretExpiresTime": timestamp(time.Now().Add(keep)),
	})
}

// deliveryJSON is a delivery as the API shows it.
type deliveryJSON struct {
	ID            string                 `json:"id"`
	EventID       string                 `json:"eventId"`
	EventType     string                 `json:"eventType"`
	ActionID      string                 `json:"actionId,omitempty"`
	Pipeline      string                 `json:"pipeline,omitempty"`
	Sequence      int                    `json:"sequence"`
	Status        webhook.DeliveryStatus `json:"status"`
	NextAttemptAt *string                `json:"nextAttemptTime"`
	CreatedTime   string                 `json:"createdTime"`
	UpdatedTime   string                 `json:"updatedTime"`
	Body          string                 `json:"body"`
	Attempts      []attemptJSON          `json:"attempts"`
}

// attemptJSON is one attempt of a delivery.
type attemptJSON struct {
	Number     int    `json:"number"`
	Time       string `json:"time"`
	DurationMS int64  `json:"durationMs"`
	URL        string `json:"url"`
	StatusCode int    `json:"statusCode,omitempty"`
	Error      string `json:"error,omitempty"`
	Response   string `json:"response"`
}

// attemptObject is the API's view of an attempt.
func attemptObject(a store.Attempt) attemptJSON {
	return attemptJSON{Number: a.Number, Time: timestamp(a.At), DurationMS: a.Duration.Milliseconds(), URL: withoutUserinfo(a.URL),
		StatusCode: a.StatusCode, Error: a.Error, Response: string(a.Response)}
}

// deliveryObject is the API's view of a delivery.
func deliveryObject(d *store.Delivery) deliveryJSON {
	out := deliveryJSON{ID: d.ID, EventID: d.EventID, EventType: d.EventType, ActionID: d.ActionID,
		Pipeline: d.Values[webhook.PlaceholderPipeline], Sequence: d.Sequence,
		Status: d.Status, CreatedTime: timestamp(d.CreatedAt), UpdatedTime: timestamp(d.UpdatedAt), Body: string(d.Body),
		Attempts: make([]attemptJSON, len(d.Attempts))}
	if d.Status == webhook.DeliveryPending {
		out.NextAttemptAt = timestampPtr(d.NextAttemptAt)
	}
	for i, a := range d.Attempts {
		out.Attempts[i] = attemptObject(a)
	}
	return out
}

// listDeliveries answers GET /webhooks/{id}/deliveries?status=: its
// deliveries, newest first, each with its attempts.
func (h *APIHandler) listDeliveries(w http.ResponseWriter, r *http.Request, e *engine.Engine) error {
	p, err := parsePage(r)
	if err != nil {
		return err
	}
	status := webhook.DeliveryStatus(r.URL.Query().Get("status"))
	switch status {
	case "", webhook.DeliveryPending, webhook.DeliveryWaiting, webhook.DeliveryHeld, webhook.DeliverySucceeded, webhook.DeliveryFailed:
	default:
		return badRequest("invalid_query", "status %q: want pending, waiting, held, succeeded or failed", status)
	}
	info, err := e.Webhook(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	total := info.Count(status)
	f := engine.DeliveryFilter{Status: status, ActionID: r.URL.Query().Get("action"), Limit: p.size, Offset: p.offset()}
	list, err := e.Deliveries(r.Context(), info.ID, f)
	if err != nil {
		return err
	}
	if f.ActionID != "" {
		total = int64(p.offset() + len(list)) // an action has a few events: they fit a page
	}
	items := make([]deliveryJSON, len(list))
	for i := range list {
		items[i] = deliveryObject(&list[i])
	}
	pg, err := newPage(p, int(total), items)
	if err != nil {
		return err
	}
	return reply(w, http.StatusOK, pg)
}

// retryDelivery answers POST /webhooks/{id}/deliveries/{delivery}/retry:
// the delivery goes out again now, with the same webhook-id; 202.
func (h *APIHandler) retryDelivery(w http.ResponseWriter, r *http.Request, e *engine.Engine) error {
	d, err := e.RetryDelivery(r.Context(), r.PathValue("id"), r.PathValue("delivery"))
	if err != nil {
		return err
	}
	h.logger.Info("delivery retried", zap.String("webhook", d.Webhook), zap.String("event_id", d.EventID))
	return reply(w, http.StatusAccepted, deliveryObject(d))
}
