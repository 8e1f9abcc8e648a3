package caddymodule

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/hookgate/hookgate/pipeline/webhook"
)

// Webhook is an outgoing webhook: every event it subscribes to is POSTed
// to its URL, signed the Standard Webhooks way, and retried until it is
// delivered.
type Webhook struct {
	// Name identifies the webhook (letters and digits, separated by single
	// _ or -).
	Name string `json:"name"`
	// URL receives the deliveries: http or https (https when it has no
	// scheme). Placeholders :ip:, :action_id:, :pipeline:, :hook:,
	// :status:, :event: and :<variable>: take the event's values
	// (URL-escaped; none when the event lacks one).
	URL string `json:"url"`
	// Headers are sent with every delivery; their values take the same
	// placeholders as the URL.
	Headers map[string]string `json:"headers,omitempty"`
	// Events are the event types sent: action.queued, action.running,
	// action.succeeded, action.failed, action.cancelled, hook.received
	// (the hooks of relay hooks), hook.rejected, or the 1NCE aliases
	// LIFECYCLE (every action.* type) and TELEMETRY_DATA (hook.received).
	// Default: every action.* type.
	Events []string `json:"events,omitempty"`
	// Secrets sign the deliveries, one signature per secret (rotation):
	// Standard Webhooks secrets (whsec_ and base64). Default: one is
	// generated and kept in storage.
	Secrets []string `json:"secrets,omitempty"`
	// JSONPayload adds the incoming hook's body to the envelope as
	// data.payload (as JSON where it parses, as a string otherwise).
	JSONPayload bool `json:"json_payload,omitempty"`
	// When is an expr condition over event, action and payload; events
	// for which it is false are not sent to this webhook.
	When string `json:"when,omitempty"`
	// Body is an expr expression over event, action and payload that
	// replaces the envelope: a map or list is sent as JSON, a string as
	// it is.
	Body string `json:"body,omitempty"`
	// Pipelines scopes the webhook to these pipelines: it gets only the
	// events of their actions and of the hooks that trigger them. Each
	// must be a pipeline of this app. Default: none, the webhook is global
	// (every event it subscribes to), unless Default is set.
	Pipelines []string `json:"pipelines,omitempty"`
	// Default makes this a default webhook: it gets the events of every
	// pipeline that no scoped webhook covers, and those of hooks that
	// trigger no pipeline. It cannot be combined with Pipelines.
	Default bool `json:"default,omitempty"`
	// Payload "raw" sends, for a hook.received event (a relay hook's),
	// the hook's own body byte for byte, with its Content-Type, instead of
	// the envelope; other events are sent as usual. It cannot be combined
	// with Body. Default: the envelope.
	Payload string `json:"payload,omitempty"`
	// ForwardHeaders are headers of the incoming hook (X-GitHub-Event,
	// X-GitHub-Delivery, ...) copied onto the delivery of its
	// hook.received event. Signature and authorization headers are not
	// kept with a hook, so they cannot be forwarded.
	ForwardHeaders []string `json:"forward_headers,omitempty"`
	// Recover, while the webhook is INTEGRATION_FAILED, re-attempts its
	// oldest held delivery once per interval; a success restarts the
	// webhook (INTEGRATION_ACTIVE, every held delivery sent, in order).
	// Default: off, a failed webhook waits for a restart by hand.
	Recover caddy.Duration `json:"recover,omitempty"`
}

// Delivery says how outgoing webhooks are attempted.
type Delivery struct {
	// RetrySchedule is the wait before each retry of a delivery, jittered
	// by up to 10%. Default: 5s 5m 30m 2h 5h 10h.
	RetrySchedule []caddy.Duration `json:"retry_schedule,omitempty"`
	// FailAfter is how many consecutive unsuccessful attempts set a
	// webhook INTEGRATION_FAILED, from which point its deliveries are held
	// until it is restarted. Default: 5.
	FailAfter int `json:"fail_after,omitempty"`
	// Timeout bounds one attempt. Default: 15s.
	Timeout caddy.Duration `json:"timeout,omitempty"`
}

// definition is w as the engine knows it.
func (w Webhook) definition() webhook.Definition {
	def := webhook.Definition{
		Name: w.Name, URL: w.URL, Headers: maps.Clone(w.Headers), Secrets: slices.Clone(w.Secrets),
		JSONPayload: w.JSONPayload, When: w.When, Body: w.Body, Pipelines: slices.Clone(w.Pipelines), Default: w.Default,
		RawPayload: w.Payload == "raw", ForwardHeaders: slices.Clone(w.ForwardHeaders), RecoverEvery: time.Duration(w.Recover),
	}
	for _, t := range w.Events {
		def.EventTypes = append(def.EventTypes, webhook.EventType{Type: t})
	}
	return def
}

// policy is d as the engine knows it; the engine fills in the defaults.
func (d *Delivery) policy() webhook.Policy {
	if d == nil {
		return webhook.Policy{}
	}
	p := webhook.Policy{FailAfter: d.FailAfter, Timeout: time.Duration(d.Timeout)}
	for _, s := range d.RetrySchedule {
		p.Schedule = append(p.Schedule, time.Duration(s))
	}
	return p
}

// parsePrefixes reads the allow_targets list: CIDR prefixes or single
// addresses.
func parsePrefixes(list []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(list))
	for _, s := range list {
		if !strings.Contains(s, "/") {
			a, err := netip.ParseAddr(s)
			if err != nil {
				return nil, fmt.Errorf("allow_targets %q: want an address or a CIDR prefix such as 10.0.0.0/8", s)
			}
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("allow_targets %q: want an address or a CIDR prefix such as 10.0.0.0/8", s)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}
