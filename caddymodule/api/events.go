package api

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/hookgate/hookgate/pipeline/action"
	"github.com/hookgate/hookgate/pipeline/engine"
	"github.com/hookgate/hookgate/pipeline/webhook"
)

// eventTypeInfo is an entry of the event catalog.
type eventTypeInfo struct {
	// Type is the event type, as webhooks subscribe to it.
	Type string `json:"type"`
	// Version is the type's version.
	Version string `json:"version"`
	// Description says when the event happens.
	Description string `json:"description"`
	// Example is a body a webhook receives for it (the default envelope,
	// with the incoming payload as a webhook with jsonPayloadEnabled gets
	// it), rendered by the code that renders deliveries.
	Example json.RawMessage `json:"example"`
}

// listEvents answers GET /events: the event catalog, every type a
// webhook can subscribe to with an example body.
func (h *APIHandler) listEvents(w http.ResponseWriter, r *http.Request, _ *engine.Engine) error {
	catalog, err := eventCatalog()
	if err != nil {
		return err
	}
	return reply(w, http.StatusOK, page[eventTypeInfo]{Page: 1, PageAmount: 1, Items: catalog})
}

// eventCatalog renders an example of each event type.
func eventCatalog() ([]eventTypeInfo, error) {
	at := time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)
	started, finished := at.Add(time.Second), at.Add(43*time.Second)
	exit := 0
	payload := []byte(`{"ref":"refs/heads/main","head_commit":{"id":"9f2c1e7"}}`)
	example := func(status action.Status) *webhook.Event {
		a := &action.Action{ID: "act_2xK9mQ7vR4tY8wZ1", Pipeline: "deploy", Hook: "deploy-main", Status: status,
			Variables:  map[string]any{"source_ref": "refs/heads/main", "commit_hash": "9f2c1e7"},
			DeliveryID: "72d3162e-cc78-11e3-81ab-4c9367dc0958", RemoteIP: "192.30.252.44", CreatedAt: at,
			Steps: []action.StepResult{}, Payload: payload}
		if status != action.StatusQueued {
			a.StartedAt = &started
		}
		switch status {
		case action.StatusSucceeded:
			a.FinishedAt = &finished
			a.Steps = []action.StepResult{{Name: "build", Kind: "exec", Status: action.StepSucceeded, ExitCode: &exit,
				DurationMS: 42000, Output: "deployed 9f2c1e7\n"}}
		case action.StatusFailed:
			code := 1
			a.FinishedAt, a.Reason, a.Detail = &finished, action.ReasonExitStatus, "step build: exit status 1"
			a.Steps = []action.StepResult{{Name: "build", Kind: "exec", Status: action.StepFailed, ExitCode: &code,
				DurationMS: 42000, Output: "error: tests failed\n"}}
		case action.StatusCancelled:
			a.FinishedAt, a.Reason = &finished, action.ReasonCancelled
		}
		ev := webhook.ActionEvent(a, at)
		return &ev
	}
	catalog := []struct {
		ev          *webhook.Event
		description string
	}{
		{example(action.StatusQueued), "An action was accepted and stored: a hook triggered it (202), or the API ran its pipeline."},
		{example(action.StatusRunning), "An action started running its steps."},
		{example(action.StatusSucceeded), "An action ended, every step succeeded or was skipped."},
		{example(action.StatusFailed), "An action ended failed: a step failed, it timed out (reason timeout) or an instance died running it (interrupted)."},
		{example(action.StatusCancelled), "An action was cancelled through the API."},
		{&webhook.Event{ID: "msg_2xK9mQ7vR4tY8wZ2", Type: webhook.TypeHookRejected, Time: at, Sequence: 1,
			Rejection: &webhook.Rejection{Hook: "deploy-main", Reason: "signature_invalid", Detail: "no signature matches",
				Status: http.StatusUnauthorized, RemoteIP: "203.0.113.9", Payload: payload}},
			"An incoming hook was refused: bad or missing signature, stale timestamp, invalid payload or variables, method or size not allowed."},
	}
	out := make([]eventTypeInfo, len(catalog))
	for i, c := range catalog {
		c.ev.ID = "msg_2xK9mQ7vR4tY8wZ" + string(rune('a'+i))
		body, err := c.ev.Envelope(true)
		if err != nil {
			return nil, err
		}
		out[i] = eventTypeInfo{Type: c.ev.Type, Version: webhook.Version, Description: c.description, Example: body}
	}
	return out, nil
}
