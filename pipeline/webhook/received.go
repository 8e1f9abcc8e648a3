package webhook

import (
	"net/http"
	"time"
)

// Received is an incoming hook kept by a relay hook: the data of a
// hook.received event, and what its deliveries forward.
type Received struct {
	// Name names the hook that received it.
	Name string `json:"name"`
	// Variables are the hook's variables.
	Variables map[string]any `json:"variables"`
	// RemoteIP is where the hook came from.
	RemoteIP string `json:"remote_ip"`
	// DeliveryID is the provider's delivery id, if any.
	DeliveryID string `json:"delivery_id"`
	// ContentType is the hook's Content-Type.
	ContentType string `json:"content_type"`
	// Headers are the hook's headers (canonical names, first values),
	// signature and authorization headers removed.
	Headers map[string]string `json:"headers"`
	// Pipeline is the pipeline the hook triggers, if any: scoped webhooks
	// get the events of its hooks.
	Pipeline string `json:"-"`
	// ActionID is the action the hook triggered, if any.
	ActionID string `json:"-"`
	// Body is the hook's body, byte for byte.
	Body []byte `json:"-"`
}

// ReceivedEvent is the hook.received event of r, with its ID.
func ReceivedEvent(r *Received, id string, now time.Time) Event {
	return Event{ID: id, Type: TypeHookReceived, Time: now, Sequence: 1, Received: r}
}

// DeliveryHeaders are the headers the webhook adds to its delivery of an
// event, besides its own: for a hook.received event, the forwarded
// headers the hook had, and the hook's Content-Type with a raw payload.
// nil for none.
func (w *Webhook) DeliveryHeaders(ev *Event) map[string]string {
	r := ev.Received
	if r == nil || (len(w.ForwardHeaders) == 0 && !w.RawPayload) {
		return nil
	}
	h := make(map[string]string)
	for _, name := range w.ForwardHeaders {
		if v, ok := r.Headers[http.CanonicalHeaderKey(name)]; ok {
			h[name] = v
		}
	}
	if w.RawPayload && r.ContentType != "" {
		h["Content-Type"] = r.ContentType
	}
	return h
}
