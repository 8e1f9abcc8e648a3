package webhook

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"
)

// The event types.
const (
	// TypeActionQueued: an action was accepted and stored.
	TypeActionQueued = "action.queued"
	// TypeActionRunning: an action started.
	TypeActionRunning = "action.running"
	// TypeActionSucceeded: an action ended, every step succeeded or skipped.
	TypeActionSucceeded = "action.succeeded"
	// TypeActionFailed: an action ended failed (a step failed, it timed
	// out or was interrupted).
	TypeActionFailed = "action.failed"
	// TypeActionCancelled: an action was cancelled.
	TypeActionCancelled = "action.cancelled"
	// TypeHookReceived: an incoming hook of a relay hook was verified and
	// stored, to be forwarded.
	TypeHookReceived = "hook.received"
	// TypeHookRejected: an incoming hook was refused (bad signature, ...).
	TypeHookRejected = "hook.rejected"
	// TypeTest: the event of a webhook test; no webhook subscribes to it.
	TypeTest = "webhook.test"
)

// Version is the version of every event type and of the envelope.
const Version = "1.0.0"

// ActionTypes are the types of an action's events, which a definition
// without event types subscribes to.
var ActionTypes = []string{TypeActionQueued, TypeActionRunning, TypeActionSucceeded, TypeActionFailed, TypeActionCancelled}

// The 1NCE seed's event type names, accepted wherever event types are and
// kept as given.
const (
	// AliasTelemetryData is TypeHookReceived: the data that devices and
	// services send in, forwarded.
	AliasTelemetryData = "TELEMETRY_DATA"
	// AliasLifecycle is every one of ActionTypes.
	AliasLifecycle = "LIFECYCLE"
)

// ExpandType is the event types that the name t subscribes to: t itself, or
// those an alias stands for; nil when t is no event type a webhook can
// subscribe to.
func ExpandType(t string) []string {
	switch t {
	case AliasLifecycle:
		return ActionTypes
	case AliasTelemetryData:
		return []string{TypeHookReceived}
	case TypeHookReceived, TypeHookRejected:
		return []string{t}
	}
	if slices.Contains(ActionTypes, t) {
		return []string{t}
	}
	return nil
}

// TypeNames lists what ExpandType takes, for error messages.
var TypeNames = strings.Join(append(slices.Clone(ActionTypes), TypeHookReceived, TypeHookRejected, AliasLifecycle, AliasTelemetryData), ", ")

// EventType is an event type a webhook subscribes to.
type EventType struct {
	// Type is one of the Type constants, except TypeTest, or one of the
	// aliases AliasLifecycle and AliasTelemetryData.
	Type string `json:"type"`
	// Version is the version of the event's format; empty means Version,
	// the only one.
	Version string `json:"version,omitempty"`
}

// Definition is an outgoing webhook as configured (Caddyfile or API).
type Definition struct {
	// Name identifies the webhook: letters and digits, separated by single
	// underscores or hyphens, at most 50 characters.
	Name string
	// URL is where deliveries are POSTed: http or https; without a scheme
	// https is taken. It may hold placeholders (see Expand).
	URL string
	// Headers are added to every delivery; their values may hold
	// placeholders.
	Headers map[string]string
	// EventTypes are the events sent, by type or alias, as given. Empty
	// means every action.* type.
	EventTypes []EventType
	// JSONPayload adds the incoming hook's body to the envelope as
	// data.payload: as JSON where it parses, as a string otherwise.
	JSONPayload bool
	// Secrets sign the deliveries, one signature each (rotation):
	// Standard Webhooks secrets, "whsec_" and base64. The engine generates
	// one when there are none.
	Secrets []string
	// When is an optional expr condition over action, event and payload;
	// an event for which it is false is not delivered.
	When string
	// Body is an optional expr expression over action, event and payload
	// that replaces the envelope: a map or a list is sent as JSON, a
	// string as it is.
	Body string
	// Pipelines scopes the webhook: it gets only the events of actions
	// of these pipelines, and those of the hooks that trigger them.
	// Empty: the webhook is global, or Default.
	Pipelines []string
	// Default makes the webhook get the events of every pipeline that
	// no scoped webhook covers, and those of hooks that trigger none. It
	// excludes Pipelines.
	Default bool
	// RawPayload sends, for a hook.received event, the hook's own body
	// byte for byte, with its Content-Type, instead of the envelope. It
	// excludes Body.
	RawPayload bool
	// ForwardHeaders are headers of the incoming hook copied onto the
	// deliveries of its hook.received event (X-GitHub-Event, ...).
	ForwardHeaders []string
	// RecoverEvery, while the webhook is failed, re-attempts its oldest
	// held delivery once per interval; a success restarts the webhook.
	// Zero: a failed webhook waits for a restart by hand.
	RecoverEvery time.Duration
}

// Webhook is a compiled Definition. It is safe for concurrent use.
type Webhook struct {
	// Definition is the definition, with its URL completed and its event
	// types' versions filled in.
	Definition
	types      map[string]bool
	when, body *vm.Program
	signer     *signer
	names      map[string]bool
}

// namePattern is what a webhook's name may be.
var namePattern = regexp.MustCompile(`^[A-Za-z0-9]+([_-][A-Za-z0-9]+)*$`)

// FieldError is a field of a definition that is not valid.
type FieldError struct {
	// Field names the field as the management API does: name, url,
	// headers, eventTypes, secrets, when, body, pipelines, default,
	// forwardHeaders or recoverEvery.
	Field string
	// Err says what is wrong with it.
	Err error
}

// Error implements error.
func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }

// Unwrap returns Err.
func (e *FieldError) Unwrap() error { return e.Err }

// fieldError is a *FieldError of a message.
func fieldError(field, format string, args ...any) error {
	return &FieldError{Field: field, Err: fmt.Errorf(format, args...)}
}

// Compile checks a definition and compiles its expressions. varNames are
// the variables that configured hooks declare, each a placeholder
// :<name>: of the URL and headers. Errors name the webhook, and wrap a
// *FieldError.
func Compile(def Definition, varNames []string) (*Webhook, error) {
	w, err := compile(def, varNames)
	if err != nil {
		return nil, fmt.Errorf("webhook %q: %w", def.Name, err)
	}
	return w, nil
}

func compile(def Definition, varNames []string) (*Webhook, error) {
	if len(def.Name) > 50 || !namePattern.MatchString(def.Name) {
		return nil, fieldError("name", "invalid: use letters and digits, separated by single _ or -, at most 50 characters")
	}
	u, err := checkURL(def.URL)
	if err != nil {
		return nil, &FieldError{Field: "url", Err: err}
	}
	def.URL = u
	for name, value := range def.Headers {
		if !validHeaderName(name) {
			return nil, fieldError("headers", "%q: invalid name", name)
		}
		if strings.ContainsAny(value, "\r\n") {
			return nil, fieldError("headers", "%q: the value holds a line break", name)
		}
	}
	w := &Webhook{types: make(map[string]bool), names: placeholderNames(varNames)}
	if len(def.EventTypes) == 0 {
		for _, t := range ActionTypes {
			w.types[t] = true
		}
	}
	types := slices.Clone(def.EventTypes)
	for i, et := range types {
		expanded := ExpandType(et.Type)
		if expanded == nil {
			return nil, fieldError("eventTypes", "unknown event type %q (want one of %s)", et.Type, TypeNames)
		}
		if et.Version == "" {
			types[i].Version = Version
		} else if et.Version != Version {
			return nil, fieldError("eventTypes", "%s: unknown version %q (want %s)", et.Type, et.Version, Version)
		}
		for _, t := range expanded {
			w.types[t] = true
		}
	}
	def.EventTypes = types
	if err := checkScope(def); err != nil {
		return nil, err
	}
	if def.RawPayload && def.Body != "" {
		return nil, fieldError("body", "a raw payload is sent instead of the body; use one or the other")
	}
	for _, name := range def.ForwardHeaders {
		if !validHeaderName(name) {
			return nil, fieldError("forwardHeaders", "%q: invalid name", name)
		}
	}
	if def.RecoverEvery < 0 {
		return nil, fieldError("recoverEvery", "negative interval %s", def.RecoverEvery)
	}
	if w.signer, err = newSigner(def.Secrets); err != nil {
		return nil, &FieldError{Field: "secrets", Err: err}
	}
	if def.When != "" {
		if w.when, err = compileExpression(def.When, true); err != nil {
			return nil, &FieldError{Field: "when", Err: err}
		}
	}
	if def.Body != "" {
		if w.body, err = compileExpression(def.Body, false); err != nil {
			return nil, &FieldError{Field: "body", Err: err}
		}
	}
	w.Definition = def
	return w, nil
}

// checkScope checks a definition's scope: pipelines named once each, and
// not with default.
func checkScope(def Definition) error {
	if def.Default && len(def.Pipelines) > 0 {
		return fieldError("default", "a webhook is either scoped to pipelines or the default one, not both")
	}
	for i, p := range def.Pipelines {
		if p == "" {
			return fieldError("pipelines", "%d: empty pipeline name", i)
		}
		if slices.Contains(def.Pipelines[:i], p) {
			return fieldError("pipelines", "%q named twice", p)
		}
	}
	return nil
}

// checkURL completes a URL without a scheme with https:// and checks that
// it is http or https with a host.
func checkURL(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", errors.New("missing")
	}
	if !strings.Contains(raw, "://") {
		raw = "https://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("scheme %q is not http or https", u.Scheme)
	}
	if u.Host == "" {
		return "", errors.New("no host")
	}
	return raw, nil
}

// validHeaderName reports whether s is an HTTP header name (an RFC 9110
// token).
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// compileExpression compiles an expression over what a webhook's
// expressions see; a condition must yield a bool.
func compileExpression(src string, condition bool) (*vm.Program, error) {
	opts := []expr.Option{expr.Env(map[string]any{
		"action":  map[string]any{},
		"event":   map[string]any{},
		"hook":    map[string]any{},
		"payload": nil,
	})}
	if condition {
		opts = append(opts, expr.AsBool())
	}
	return expr.Compile(src, opts...)
}

// Scopes of a webhook, as Scope names them.
const (
	// ScopeGlobal: every event the webhook subscribes to.
	ScopeGlobal = "global"
	// ScopePipelines: the events of the pipelines it lists.
	ScopePipelines = "pipelines"
	// ScopeDefault: the events of pipelines no scoped webhook covers.
	ScopeDefault = "default"
)

// Scope is the webhook's scope: ScopeGlobal, ScopePipelines or
// ScopeDefault.
func (w *Webhook) Scope() string {
	switch {
	case w.Default:
		return ScopeDefault
	case len(w.Pipelines) > 0:
		return ScopePipelines
	}
	return ScopeGlobal
}

// Subscribes reports whether the webhook wants events of type t.
func (w *Webhook) Subscribes(t string) bool { return w.types[t] }
