package api

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/hookgate/hookgate/pipeline/engine"
	"github.com/hookgate/hookgate/pipeline/webhook"
)

// ricloudRoutes are the webhook-config routes of Reincubate's ricloud API
// (SPEC 12.2), as the ricloud-py client calls them: Authorization: Token,
// Ricloud-Await, and JSON bodies without a Content-Type (the API never
// asks for one). A webhook_config is a webhook, seen through every
// dialect; the ricloud names of its states are new, valid, invalid and
// deactivated.
func (h *APIHandler) ricloudRoutes() map[string]apiFunc {
	return map[string]apiFunc{
		"POST /configs/webhook":           h.createRicloudConfig,
		"GET /configs/webhook":            h.listRicloudConfigs,
		"GET /configs/webhook/{id}":       h.getRicloudConfig,
		"POST /configs/webhook/{id}":      h.updateRicloudConfig,
		"DELETE /configs/webhook/{id}":    h.deleteRicloudConfig,
		"POST /configs/webhook/{id}/test": h.testRicloudConfig,
		"GET /configs/webhook/{id}/test":  h.testRicloudConfig,
		"GET /tasks/{id}":                 h.getRicloudTask,
	}
}

// writingGETs are the routes that a GET may change something through (a
// test delivery, and the state it sets): they need a write token.
var writingGETs = map[string]bool{"GET /configs/webhook/{id}/test": true}

// ricloudStates maps the webhook states to ricloud's names.
var ricloudStates = map[webhook.State]string{
	webhook.StateNew: "new", webhook.StateActive: "valid", webhook.StateFailed: "invalid",
	webhook.StateDeactivated: "deactivated",
}

// ricloudConfig is a webhook as ricloud shows a webhook_config.
type ricloudConfig struct {
	ID           string `json:"id"`
	Resource     string `json:"resource"`
	Organisation string `json:"organisation"`
	URL          string `json:"url"`
	Secret       string `json:"secret"`
	State        string `json:"state"`
	DateCreated  string `json:"date_created"`
}

// ricloudConfigObject is the webhook_config of a webhook, its secret
// masked.
func (h *APIHandler) ricloudConfigObject(info *engine.WebhookInfo) ricloudConfig {
	obj := h.webhookObject(info)
	return ricloudConfig{ID: obj.ID, Resource: "webhook_config", Organisation: h.organisation(), URL: obj.URL,
		Secret: obj.Secret, State: ricloudStates[info.State], DateCreated: obj.CreatedTime}
}

// organisation is the organisation option, or its default.
func (h *APIHandler) organisation() string {
	if h.Organisation == "" {
		return defaultOrganisation
	}
	return h.Organisation
}

// defaultOrganisation is the organisation of webhook configs when the
// organisation option is not set.
const defaultOrganisation = "default"

// ricloudConfigRequest is the body of POST /configs/webhook (url) and of
// POST /configs/webhook/{id} (url, state).
type ricloudConfigRequest struct {
	URL   *string `json:"url"`
	State *string `json:"state"`
}

// createRicloudConfig answers POST /configs/webhook: 201 with the
// webhook_config and its secret, shown this once; a test delivery starts
// at once, and its outcome makes the config valid or invalid.
func (h *APIHandler) createRicloudConfig(w http.ResponseWriter, r *http.Request, e *engine.Engine) error {
	var req ricloudConfigRequest
	if err := decodeBody(r, &req, false); err != nil {
		return err
	}
	if req.State != nil {
		return invalidField("state", "a new webhook config is new; change its state by updating it")
	}
	if req.URL == nil || *req.URL == "" {
		return invalidField("url", "required")
	}
	if err := (&webhookRequest{URL: req.URL}).check(false); err != nil {
		return err
	}
	suffix := make([]byte, 6)
	rand.Read(suffix)
	info, secret, err := e.CreateWebhook(r.Context(), webhook.Definition{Name: "webhook-config-" + hex.EncodeToString(suffix), URL: *req.URL})
	if err != nil {
		return err
	}
	h.logger.Info("webhook created", zap.String("webhook", info.Definition.Name), zap.String("id", info.ID), zap.String("dialect", "ricloud"))
	h.testInBackground(e, info.ID)
	obj := h.ricloudConfigObject(info)
	obj.Secret = secret
	return reply(w, http.StatusCreated, obj)
}

// ricloudTestTimeout bounds a test started by a change, beyond the
// delivery's own timeout.
const ricloudTestTimeout = 30 * time.Second

// testInBackground sends a webhook its test delivery without keeping the
// request waiting (ricloud's webhook_config.test task of a create or URL
// change); its outcome sets the webhook's state.
func (h *APIHandler) testInBackground(e *engine.Engine, id string) {
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), ricloudTestTimeout)
		defer cancel()
		if _, err := e.TestWebhook(ctx, id); err != nil {
			h.logger.Warn("webhook test after a change failed", zap.String("id", id), zap.Error(err))
		}
	}()
}

// ricloudList is a list in ricloud's shape.
type ricloudList struct {
	Resource   string          `json:"resource"`
	Data       []ricloudConfig `json:"data"`
	HasMore    bool            `json:"has_more"`
	TotalCount int             `json:"total_count"`
	URL        string          `json:"url"`
}

// listRicloudConfigs answers GET /configs/webhook?state=: every webhook
// config, deactivated ones only when filtered for.
func (h *APIHandler) listRicloudConfigs(w http.ResponseWriter, r *http.Request, e *engine.Engine) error {
	state := r.URL.Query().Get("state")
	switch state {
	case "", "new", "valid", "invalid", "deactivated":
	default:
		return badRequest("invalid_query", "state %q: want new, valid, invalid or deactivated", state)
	}
	infos, err := e.Webhooks(r.Context())
	if err != nil {
		return err
	}
	list := ricloudList{Resource: "list", Data: []ricloudConfig{}, URL: "/configs/webhook"}
	for i := range infos {
		st := ricloudStates[infos[i].State]
		if (state == "" && st != "deactivated") || st == state {
			list.Data = append(list.Data, h.ricloudConfigObject(&infos[i]))
		}
	}
	list.TotalCount = len(list.Data)
	return reply(w, http.StatusOK, list)
}

// getRicloudConfig answers GET /configs/webhook/{id}.
func (h *APIHandler) getRicloudConfig(w http.ResponseWriter, r *http.Request, e *engine.Engine) error {
	info, err := e.Webhook(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return reply(w, http.StatusOK, h.ricloudConfigObject(info))
}

// updateRicloudConfig answers POST /configs/webhook/{id}: a new url makes
// the config new and starts a test; state may only become new (turned on
// again, and tested) or deactivated. A deactivated config is never
// tested, so it stays deactivated.
func (h *APIHandler) updateRicloudConfig(w http.ResponseWriter, r *http.Request, e *engine.Engine) error {
	var req ricloudConfigRequest
	if err := decodeBody(r, &req, false); err != nil {
		return err
	}
	patch := engine.WebhookPatch{URL: req.URL}
	if req.State != nil {
		switch *req.State {
		case "new":
			patch.State = statePtr(string(webhook.StateActive))
		case "deactivated":
			patch.State = statePtr(string(webhook.StateDeactivated))
		default:
			return invalidField("state", "%q: a webhook config's state may only become new or deactivated", *req.State)
		}
	}
	if err := (&webhookRequest{URL: req.URL}).check(false); err != nil {
		return err
	}
	before, err := e.Webhook(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	info, err := e.UpdateWebhook(r.Context(), before.ID, patch)
	if err != nil {
		return err
	}
	h.logger.Info("webhook changed", zap.String("webhook", info.Definition.Name), zap.String("id", info.ID), zap.String("dialect", "ricloud"))
	if info.State != webhook.StateDeactivated && (info.Definition.URL != before.Definition.URL || req.State != nil) {
		h.testInBackground(e, info.ID)
	}
	return reply(w, http.StatusOK, h.ricloudConfigObject(info))
}

// deleteRicloudConfig answers DELETE /configs/webhook/{id}: 200 with the
// deleted webhook_config (ricloud-py reads a JSON body).
func (h *APIHandler) deleteRicloudConfig(w http.ResponseWriter, r *http.Request, e *engine.Engine) error {
	info, err := e.Webhook(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := e.DeleteWebhook(r.Context(), info.ID); err != nil {
		return err
	}
	h.logger.Info("webhook deleted", zap.String("id", info.ID), zap.String("dialect", "ricloud"))
	return reply(w, http.StatusOK, h.ricloudConfigObject(info))
}

// ricloudTask is ricloud's task: here always a webhook_config.test.
type ricloudTask struct {
	ID          string         `json:"id"`
	Resource    string         `json:"resource"`
	Type        string         `json:"type"`
	State       string         `json:"state"`
	DateCreated string         `json:"date_created"`
	Result      map[string]any `json:"result"`
}

// taskRef is what a task's id holds: hookgate keeps no tasks, so the id
// of a finished test says which config it tested, when, and how it went.
type taskRef struct {
	Webhook string `json:"w"`
	At      string `json:"t"`
	State   string `json:"s"`
	Status  int    `json:"c,omitempty"`
	Error   string `json:"e,omitempty"`
}

// taskPrefix begins every task id.
const taskPrefix = "tsk_"

// task is the ricloud task of a test.
func (ref taskRef) task() ricloudTask {
	b, _ := json.Marshal(ref)
	result := map[string]any{"webhook_config": ref.Webhook, "status_code": ref.Status}
	if ref.Error != "" {
		result["error"] = ref.Error
	}
	return ricloudTask{ID: taskPrefix + base64.RawURLEncoding.EncodeToString(b), Resource: "task", Type: "webhook_config.test",
		State: ref.State, DateCreated: ref.At, Result: result}
}

// testRicloudConfig answers POST or GET /configs/webhook/{id}/test: a
// signed test delivery is sent while the request waits (at most the
// delivery timeout), and its outcome sets the config's state; 202 with
// the finished webhook_config.test task, which GET /tasks/{id} reads
// again.
func (h *APIHandler) testRicloudConfig(w http.ResponseWriter, r *http.Request, e *engine.Engine) error {
	info, err := e.Webhook(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	a, err := e.TestWebhook(r.Context(), info.ID)
	if err != nil {
		return err
	}
	ref := taskRef{Webhook: info.ID, At: timestamp(a.At), State: "succeeded", Status: a.StatusCode, Error: a.Error}
	if a.Error != "" {
		ref.State = "failed"
	}
	return reply(w, http.StatusAccepted, ref.task())
}

// getRicloudTask answers GET /tasks/{id}: the task of a test, read again.
func (h *APIHandler) getRicloudTask(w http.ResponseWriter, r *http.Request, e *engine.Engine) error {
	id := r.PathValue("id")
	var ref taskRef
	raw, err := base64.RawURLEncoding.DecodeString(id[min(len(id), len(taskPrefix)):])
	if err != nil || len(id) < len(taskPrefix) || id[:len(taskPrefix)] != taskPrefix || json.Unmarshal(raw, &ref) != nil || ref.Webhook == "" {
		return &apiError{http.StatusNotFound, "not_found", "no task has the id " + id}
	}
	return reply(w, http.StatusOK, ref.task())
}
