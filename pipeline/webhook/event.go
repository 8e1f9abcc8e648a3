package webhook

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/expr-lang/expr/vm"

	"github.com/hookgate/hookgate/pipeline/action"
)

// Event is something that happened, to be delivered to the webhooks that
// subscribe to its type.
type Event struct {
	// ID identifies the event: the envelope's id and every delivery's
	// webhook-id header, the same on each attempt.
	ID string
	// Type is one of the Type constants.
	Type string
	// Time is when it happened.
	Time time.Time
	// Sequence rises with each event of an action (queued 1, running 2,
	// ended 3), so that receivers can drop a state older than one seen.
	Sequence int
	// Action is the action whose state changed, with its new state; nil
	// for other events.
	Action *action.Action
	// Rejection is the rejected hook of a hook.rejected event.
	Rejection *Rejection
	// Received is the hook of a hook.received event.
	Received *Received
	// Webhook names the webhook tested, for a webhook.test event.
	Webhook string
}

// Rejection is an incoming hook that was refused.
type Rejection struct {
	// Hook names the hook that refused the request.
	Hook string `json:"hook"`
	// Pipeline is the pipeline the hook triggers, if any: scoped
	// webhooks (Definition.Pipelines) get the rejections of its hooks.
	Pipeline string `json:"pipeline,omitempty"`
	// Reason is the error code of the answer, e.g. signature_invalid.
	Reason string `json:"reason"`
	// Detail explains Reason.
	Detail string `json:"detail,omitempty"`
	// Status is the HTTP status of the answer.
	Status int `json:"status,omitempty"`
	// RemoteIP is where the request came from.
	RemoteIP string `json:"remote_ip,omitempty"`
	// Variables are the variables extracted before the refusal, if any.
	Variables map[string]any `json:"variables,omitempty"`
	// Payload is the refused request's body, for webhooks with
	// JSONPayload; it is not part of the rejection's JSON.
	Payload []byte `json:"-"`
}

// NewEventID is a new event ID, "msg_" and a time-ordered unique suffix.
func NewEventID(now time.Time) string { return action.NewPrefixedID("msg", now) }

// ActionEvent is the event of an action reaching its current status.
func ActionEvent(a *action.Action, now time.Time) Event {
	seq := 3
	switch a.Status {
	case action.StatusQueued:
		seq = 1
	case action.StatusRunning:
		seq = 2
	}
	return Event{ID: NewEventID(now), Type: "action." + string(a.Status), Time: now, Sequence: seq, Action: a}
}

// Pipeline is the pipeline the event belongs to, for scoped webhooks:
// the action's, or the one the incoming hook triggers; "" for none.
func (ev *Event) Pipeline() string {
	switch {
	case ev.Action != nil:
		return ev.Action.Pipeline
	case ev.Rejection != nil:
		return ev.Rejection.Pipeline
	case ev.Received != nil:
		return ev.Received.Pipeline
	}
	return ""
}

// payload is the incoming body the event carries, if any.
func (ev *Event) payload() []byte {
	switch {
	case ev.Action != nil:
		return ev.Action.Payload
	case ev.Rejection != nil:
		return ev.Rejection.Payload
	case ev.Received != nil:
		return ev.Received.Body
	}
	return nil
}

// Values are the placeholder values the event has: the built-in ones it
// has data for and its variables. A test event has none.
func (ev *Event) Values() map[string]string {
	v := make(map[string]string)
	set := func(k, s string) {
		if s != "" {
			v[k] = s
		}
	}
	var vars map[string]any
	switch {
	case ev.Action != nil:
		a := ev.Action
		vars = a.Variables
		set(PlaceholderIP, a.RemoteIP)
		set(PlaceholderActionID, a.ID)
		set(PlaceholderPipeline, a.Pipeline)
		set(PlaceholderHook, a.Hook)
		set(PlaceholderStatus, string(a.Status))
	case ev.Rejection != nil:
		vars = ev.Rejection.Variables
		set(PlaceholderIP, ev.Rejection.RemoteIP)
		set(PlaceholderHook, ev.Rejection.Hook)
		set(PlaceholderPipeline, ev.Rejection.Pipeline)
	case ev.Received != nil:
		r := ev.Received
		vars = r.Variables
		set(PlaceholderIP, r.RemoteIP)
		set(PlaceholderHook, r.Name)
		set(PlaceholderPipeline, r.Pipeline)
		set(PlaceholderActionID, r.ActionID)
	default:
		return v
	}
	for k, x := range vars {
		if _, builtin := v[k]; !builtin && !isBuiltin(k) {
			v[k] = action.FormatValue(x)
		}
	}
	set(PlaceholderEvent, ev.Type)
	return v
}

// isBuiltin reports whether name is a built-in placeholder, which a
// variable of the same name does not override.
func isBuiltin(name string) bool {
	for _, b := range builtinPlaceholders {
		if b == name {
			return true
		}
	}
	return false
}

// envelope is the default body of a delivery.
type envelope struct {
	ID        string         `json:"id"`
	Type      string         `json:"type"`
	Version   string         `json:"version"`
	Timestamp time.Time      `json:"timestamp"`
	Sequence  int            `json:"sequence"`
	Data      map[string]any `json:"data"`
}

// data is the envelope's data: the action, the rejection, the received
// hook or the tested webhook, and the payload when asked for.
func (ev *Event) data(withPayload bool) map[string]any {
	d := make(map[string]any, 2)
	switch {
	case ev.Action != nil:
		d["action"] = ev.Action
	case ev.Rejection != nil:
		d["rejection"] = ev.Rejection
	case ev.Received != nil:
		d["hook"] = ev.Received
	case ev.Webhook != "":
		d["webhook"] = ev.Webhook
	}
	if p := ev.payload(); withPayload && len(p) > 0 {
		if json.Valid(p) {
			d["payload"] = json.RawMessage(p)
		} else {
			d["payload"] = string(p)
		}
	}
	return d
}

// Envelope is the default body of the event, with the incoming payload
// when withPayload is set.
func (ev *Event) Envelope(withPayload bool) ([]byte, error) {
	return marshal(envelope{ID: ev.ID, Type: ev.Type, Version: Version, Timestamp: ev.Time.UTC(),
		Sequence: ev.Sequence, Data: ev.data(withPayload)})
}

// marshal is v as JSON, without escaping <, > and & (bodies are not HTML).
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// Render is the body of the event for w. It reports false when w's when
// is false for the event; it fails when an expression fails.
func (w *Webhook) Render(ev *Event) ([]byte, bool, error) {
	var env map[string]any
	if w.when != nil || w.body != nil {
		env = ev.exprEnv()
	}
	if w.when != nil {
		ok, err := vm.Run(w.when, env)
		if err != nil {
			return nil, false, fmt.Errorf("when: %v", err)
		}
		if ok != true {
			return nil, false, nil
		}
	}
	if w.RawPayload && ev.Received != nil {
		if ev.Received.Body == nil {
			return []byte{}, true, nil
		}
		return ev.Received.Body, true, nil
	}
	if w.body == nil {
		b, err := ev.Envelope(w.JSONPayload)
		return b, true, err
	}
	out, err := vm.Run(w.body, env)
	if err != nil {
		return nil, false, fmt.Errorf("body: %v", err)
	}
	if s, ok := out.(string); ok {
		return []byte(s), true, nil
	}
	b, err := marshal(out)
	if err != nil {
		return nil, false, fmt.Errorf("body: the value cannot be sent as JSON: %v", err)
	}
	return b, true, nil
}

// exprEnv is what the expressions of a webhook see: action (its fields as
// in the envelope, an empty map for other events), event (id, type,
// sequence, timestamp, and the rejection of a hook.rejected), hook (the
// received hook of a hook.received as in the envelope, an empty map for
// other events) and payload (the incoming body decoded as JSON, as a
// string when it does not parse, nil when there is none).
func (ev *Event) exprEnv() map[string]any {
	a := map[string]any{}
	if ev.Action != nil {
		a = actionMap(ev.Action)
	}
	e := map[string]any{"id": ev.ID, "type": ev.Type, "sequence": ev.Sequence, "timestamp": ev.Time.UTC().Format(time.RFC3339Nano)}
	if r := ev.Rejection; r != nil {
		e["hook"], e["reason"], e["detail"], e["remote_ip"] = r.Hook, r.Reason, r.Detail, r.RemoteIP
	}
	h := map[string]any{}
	if r := ev.Received; r != nil {
		vars := r.Variables
		if vars == nil {
			vars = map[string]any{}
		}
		headers := make(map[string]any, len(r.Headers))
		for k, v := range r.Headers {
			headers[k] = v
		}
		h = map[string]any{"name": r.Name, "variables": vars, "remote_ip": r.RemoteIP, "delivery_id": r.DeliveryID,
			"content_type": r.ContentType, "headers": headers}
	}
	var payload any
	if p := ev.payload(); len(p) > 0 {
		if json.Unmarshal(p, &payload) != nil {
			payload = string(p)
		}
	}
	return map[string]any{"action": a, "event": e, "hook": h, "payload": payload}
}

// actionMap is an action as its JSON shows it, for expressions.
func actionMap(a *action.Action) map[string]any {
	vars := a.Variables
	if vars == nil {
		vars = map[string]any{}
	}
	steps := make([]any, len(a.Steps))
	for i, s := range a.Steps {
		steps[i] = map[string]any{"name": s.Name, "kind": string(s.Kind), "status": string(s.Status),
			"duration_ms": s.DurationMS, "output": s.Output, "error": s.Error}
	}
	m := map[string]any{
		"id": a.ID, "pipeline": a.Pipeline, "hook": a.Hook, "status": string(a.Status),
		"reason": string(a.Reason), "detail": a.Detail, "variables": vars, "remote_ip": a.RemoteIP,
		"created": a.CreatedAt.UTC().Format(time.RFC3339Nano), "started": timeString(a.StartedAt),
		"finished": timeString(a.FinishedAt), "steps": steps,
	}
	return m
}

// timeString is an optional time in RFC 3339, or nil.
func timeString(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC().Format(time.RFC3339Nano)
}
