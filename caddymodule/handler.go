package caddymodule

import (
	"cmp"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/hookgate/hookgate/pipeline/action"
	"github.com/hookgate/hookgate/pipeline/hook"
	"github.com/hookgate/hookgate/pipeline/signature"
)

func init() {
	caddy.RegisterModule(Handler{})
}

// defaultMaxBody is GitHub's cap on a webhook's body: 25 MiB.
const defaultMaxBody = 25 << 20

// now is the clock of signature timestamps; tests replace it.
var now = time.Now

// Handler verifies an incoming webhook, extracts its variables and decides
// whether to act on it. A verified hook whose condition holds goes on to
// the next handler (typically reverse_proxy to the app); everything else
// is answered here with a JSON body and never reaches the next handler:
//
//	405 method_not_allowed (with Allow), 413 payload_too_large,
//	408 request_timeout (the body took longer than read_timeout),
//	503 overloaded (with Retry-After: the app's max_buffered is spent),
//	401 signature_missing | signature_invalid | timestamp_out_of_tolerance,
//	400 invalid_payload, 422 invalid_variables | condition_error,
//	200 (or SkipStatus) {"status":"skipped","reason":"condition"},
//	200 the Slack, Zoom and Discord endpoint handshakes.
//
// The checks run in that order: method, size, signature over the raw
// body, parse, variables, condition. The body is read once, verified, and
// put back for the next handler.
//
// Placeholders set for the handlers that follow:
//
//	Placeholder | Description
//	------------|-------------
//	`{hookgate.hook}` | The hook's name
//	`{hookgate.vars.<name>}` | The value of a variable (JSON for json values), without CR, LF and NUL
//	`{hookgate.delivery_id}` | The provider's delivery id, where it sends one
//	`{hookgate.event_id}` | The hook.received event of a relay hook
type Handler struct {
	// Name of the hook, used in logs, placeholders and conditions.
	// Default: "hook".
	Name string `json:"name,omitempty"`

	// Signature selects how hooks are authenticated: a provider preset, or
	// a custom HMAC header. Required unless InsecureNoSignature is set.
	Signature *Signature `json:"signature,omitempty"`

	// Secrets are the shared secrets (for discord and sendgrid: the
	// provider's public key). A hook is valid if any one matches, so a
	// secret can be rotated by listing the new and the old one.
	// Placeholders such as {env.GITHUB_WEBHOOK_SECRET} are replaced when
	// the config loads; a secret that ends up empty fails the load.
	Secrets []string `json:"secrets,omitempty"`

	// Tolerance is how far a timestamped scheme's timestamp may be from
	// now. Default: the provider's own (5m for most; Linear 1m, Paddle 5s).
	Tolerance caddy.Duration `json:"tolerance,omitempty"`

	// PublicURL is the URL the provider posts to, for schemes that sign
	// the URL (twilio). The request's query is appended when PublicURL has
	// none. Default: built from the request, which trusts its Host header.
	PublicURL string `json:"public_url,omitempty"`

	// MaxBody is the largest body accepted, in bytes. Larger bodies are
	// answered with 413 before any signature work. Default: 25 MiB,
	// GitHub's cap.
	MaxBody int64 `json:"max_body,omitempty"`

	// ReadTimeout bounds the time a hook's body may take to arrive, from
	// the moment this handler starts reading it; a slower body is answered
	// 408. Default: 30s.
	ReadTimeout caddy.Duration `json:"read_timeout,omitempty"`

	// Methods are the HTTP methods accepted; others are answered with 405.
	// Default: POST.
	Methods []string `json:"methods,omitempty"`

	// Vars are the variables extracted from each verified hook.
	Vars []Var `json:"vars,omitempty"`

	// When is an expr condition over the hook (vars, each variable by its
	// name, headers, query, method, path, remote_ip, hook, body, and the
	// function in_cidr). A hook for which it is false is answered
	// {"status":"skipped","reason":"condition"} with SkipStatus. Default:
	// always.
	When string `json:"when,omitempty"`

	// SkipStatus is the status of the answer to a hook whose condition is
	// false (adnanh/webhook's trigger-rule-mismatch code), from 200 to
	// 599. Default: 200.
	SkipStatus int `json:"skip_status,omitempty"`

	// InsecureNoSignature accepts hooks without any authentication. It
	// must be set explicitly: a hook without a signature fails to load.
	InsecureNoSignature bool `json:"insecure_no_signature,omitempty"`

	// Pipeline names the pipeline (defined in the hookgate app) that a
	// verified hook triggers. The hook is answered 202 with the action's
	// id once the action is stored, and goes no further. Without it, a
	// verified hook goes on to the next handler.
	Pipeline string `json:"pipeline,omitempty"`

	// Wait runs the triggered action before answering, and answers with
	// its result: 200 when it succeeded, 500 when it failed or was
	// cancelled. The answer holds the action's status, reason, exit codes
	// and durations, not what its steps printed (see WaitOutput).
	Wait bool `json:"wait,omitempty"`

	// WaitOutput puts each step's output into the answer of a Wait hook,
	// for senders that the hook's owner trusts to see it.
	WaitOutput bool `json:"wait_output,omitempty"`

	// Dedup makes a redelivered hook (same delivery id) answer 200
	// duplicate with the first action's (or relayed event's) id, and run
	// or store nothing again.
	Dedup *Dedup `json:"dedup,omitempty"`

	// Relay keeps each verified hook whose condition holds as a
	// hook.received event, stored with its deliveries to every webhook
	// that subscribes to it before the answer, 202 accepted with the
	// event's id. With Pipeline, the action and the event are stored in
	// one transaction, and the trigger's answer carries the event's id.
	Relay bool `json:"relay,omitempty"`

	// Dynamic serves the hooks created through the management API
	// (hookgate_api), each at <prefix>/<id> under a handle_path prefix,
	// with its own signature, variables, condition and pipeline. Changes
	// made through the API, on any instance, take effect at once. It
	// takes no other option but ReadTimeout.
	Dynamic bool `json:"dynamic,omitempty"`

	app       *App
	verifier  *signature.Verifier
	extractor *hook.Extractor
	condition *hook.Condition
	// needsJSON and needsIP say whether the variables or the condition
	// read the JSON payload and the client's address.
	needsJSON, needsIP bool
	passed             prometheus.Counter
	allow              string
	dynamic            *dynamicHooks
	logger             *zap.Logger
	// authHeader is the signature header of a hook made through the API.
	authHeader string
}

// Signature is the signature scheme of a hook.
type Signature struct {
	// Preset names a provider's scheme (github, gitlab, stripe, ...), or
	// "hmac" for a custom HMAC over the body.
	Preset string `json:"preset"`
	// Algorithm of "hmac" and "devopness": sha1, sha256 or sha512.
	Algorithm string `json:"algorithm,omitempty"`
	// Header that carries the signature, for "hmac" and "devopness".
	Header string `json:"header,omitempty"`
	// Encoding of the digest for "hmac": hex (default) or base64.
	Encoding string `json:"encoding,omitempty"`
	// Prefix before the digest for "hmac", such as "sha256=".
	Prefix string `json:"prefix,omitempty"`
}

// Dedup selects where a hook's delivery id is read.
type Dedup struct {
	// Header carrying the delivery id. Default: the preset's own
	// (X-GitHub-Delivery, GitLab's Idempotency-Key, webhook-id, ...).
	Header string `json:"header,omitempty"`
}

// Var declares a variable extracted from each hook.
type Var struct {
	// Name of the variable.
	Name string `json:"name"`
	// Path is where the value is read: a gjson path into the JSON body
	// (@this for all of it); header:<Name> or query:<name>; header:* or
	// query:* for every header or parameter as one object (first values);
	// body:raw for the raw body as text; request:method,
	// request:remote_ip or request:path. Without a path the variable is a
	// constant of the hook, its Default, which it then needs.
	Path string `json:"path,omitempty"`
	// Type is string (default; json for header:* and query:*), int,
	// float, bool, json or array. json and array values keep big integers
	// exact. A value that does not convert is answered 422
	// invalid_variables. An absent optional variable without a default
	// is null: no HOOK_VAR_<NAME>, an empty argument.
	Type string `json:"type,omitempty"`
	// Required variables that are absent, and have no default, are
	// answered 422 invalid_variables.
	Required bool `json:"required,omitempty"`
	// Default is the value used when the hook does not have one.
	Default *string `json:"default,omitempty"`
}

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.hookgate",
		New: func() caddy.Module { return new(Handler) },
	}
}

// Provision compiles the signature scheme, the variables and the
// condition, so that no request pays for it and no bad config loads.
func (h *Handler) Provision(ctx caddy.Context) error {
	h.logger = ctx.Logger()
	if h.Dynamic {
		return h.provisionDynamic(ctx)
	}
	if h.Name == "" {
		h.Name = "hook"
	}
	h.setDefaults()
	if h.SkipStatus != 0 && !validSkipStatus(h.SkipStatus) {
		return fmt.Errorf("hook %q: skip_status %d: want a status code from 200 to 599", h.Name, h.SkipStatus)
	}
	if err := h.provisionSignature(); err != nil {
		return fmt.Errorf("hook %q: %v", h.Name, err)
	}
	extractor, condition, err := h.compile()
	if err != nil {
		return fmt.Errorf("hook %q: %v", h.Name, err)
	}
	if err := h.provisionPipeline(ctx, extractor.Variables()); err != nil {
		return fmt.Errorf("hook %q: %v", h.Name, err)
	}
	h.setCompiled(extractor, condition)
	return nil
}

// setDefaults fills in the body limits and the methods.
func (h *Handler) setDefaults() {
	if h.MaxBody == 0 {
		h.MaxBody = defaultMaxBody
	}
	if h.ReadTimeout == 0 {
		h.ReadTimeout = caddy.Duration(defaultReadTimeout)
	}
	if len(h.Methods) == 0 {
		h.Methods = []string{http.MethodPost}
	}
	for i, m := range h.Methods {
		h.Methods[i] = strings.ToUpper(m)
	}
	h.allow = strings.Join(h.Methods, ", ")
}

// setCompiled makes the compiled variables and condition the handler's.
func (h *Handler) setCompiled(extractor *hook.Extractor, condition *hook.Condition) {
	h.extractor, h.condition = extractor, condition
	h.needsJSON = extractor.NeedsBody() || (condition != nil && condition.UsesBody())
	h.needsIP = extractor.NeedsRemoteIP() || (condition != nil && condition.UsesRemoteIP())
	h.passed = hooksTotal.WithLabelValues(h.Name, "passed")
}

// compile checks and compiles the variables and the condition.
func (h *Handler) compile() (*hook.Extractor, *hook.Condition, error) {
	vars := make([]hook.Variable, len(h.Vars))
	for i, v := range h.Vars {
		vars[i] = v.variable()
	}
	extractor, err := hook.NewExtractor(vars)
	if err != nil {
		return nil, nil, err
	}
	if h.When == "" {
		return extractor, nil, nil
	}
	condition, err := hook.CompileCondition(h.When, extractor.Variables())
	if err != nil {
		return nil, nil, err
	}
	return extractor, condition, nil
}

// variable is v as the engine knows it.
func (v Var) variable() hook.Variable {
	return hook.Variable{Name: v.Name, Path: v.Path, Type: hook.Type(v.Type), Required: v.Required, Default: v.Default}
}

// checkSignatureShape checks what a signature config can be checked for
// without its secrets, so that `caddy adapt` catches it.
func checkSignatureShape(sig *Signature) error {
	switch sig.Algorithm {
	case "", "sha1", "sha256", "sha512":
	default:
		return fmt.Errorf("unknown algorithm %q (want sha1, sha256 or sha512)", sig.Algorithm)
	}
	switch sig.Encoding {
	case "", "hex", "base64":
	default:
		return fmt.Errorf("unknown encoding %q (want hex or base64)", sig.Encoding)
	}
	if sig.Preset == "hmac" && (sig.Algorithm == "" || sig.Header == "") {
		return errors.New("needs an algorithm and a header")
	}
	return nil
}

// provisionSignature builds the verifier from the signature config and
// the secrets, with their placeholders replaced.
func (h *Handler) provisionSignature() error {
	if h.Signature == nil {
		if h.InsecureNoSignature {
			return nil
		}
		return errors.New("no signature configured: set a signature preset and secret, or insecure_no_signature to accept unauthenticated hooks")
	}
	if h.InsecureNoSignature {
		return errors.New("insecure_no_signature and a signature are mutually exclusive")
	}
	repl := caddy.NewReplacer()
	secrets := make([]string, len(h.Secrets))
	for i, s := range h.Secrets {
		secrets[i] = repl.ReplaceKnown(s, "")
		if secrets[i] == "" {
			return fmt.Errorf("secret %d is empty once its placeholders are replaced (is the environment variable set?)", i+1)
		}
	}
	if len(secrets) == 0 {
		return fmt.Errorf("signature %s: no secret configured", h.Signature.Preset)
	}
	v, err := signature.New(signature.Config{
		Preset:    h.Signature.Preset,
		Secrets:   secrets,
		Tolerance: time.Duration(h.Tolerance),
		Algorithm: h.Signature.Algorithm,
		Header:    h.Signature.Header,
		Encoding:  h.Signature.Encoding,
		Prefix:    h.Signature.Prefix,
	})
	if err != nil {
		return err
	}
	h.verifier = v
	return nil
}

// ServeHTTP verifies and decides; see the type's documentation.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	if h.dynamic != nil {
		return h.serveDynamic(w, r, next)
	}
	hb := newHookBody(h.budget())
	defer hb.release()
	var body []byte // the request log's, recorded before hb is released
	if log := h.app.requestLog(); log != nil {
		start := time.Now()
		defer func() { log.record(h, r, start, body) }()
	}
	if !slices.Contains(h.Methods, r.Method) {
		w.Header().Set("Allow", h.allow)
		return h.answer(w, r, http.StatusMethodNotAllowed, "method_not_allowed",
			map[string]any{"error": "method_not_allowed", "allow": h.Methods})
	}
	body, err := h.readBody(&hb, w, r)
	if err != nil {
		return h.answerUnread(w, r, err)
	}

	sreq := &hb.scratch.sig
	*sreq = signature.Request{Method: r.Method, Header: r.Header, Body: body}
	var deliveryID string
	if h.verifier != nil {
		if h.verifier.UsesURL() {
			sreq.URL = h.publicURL(r)
		}
		if err := h.verifier.Verify(sreq, now()); err != nil {
			code := signatureCode(err)
			return h.answer(w, r, http.StatusUnauthorized, err.Error(), map[string]any{"error": code})
		}
		if reply, ok := h.verifier.Handshake(sreq); ok {
			hooksTotal.WithLabelValues(h.Name, "handshake").Inc()
			noteOutcome(r, Outcome{Result: "handshake", Status: http.StatusOK})
			h.logger.Info("handshake answered", zap.String("hook", h.Name), zap.String("preset", h.verifier.Preset()))
			w.Header().Set("Content-Type", "application/json")
			_, err := w.Write(reply)
			return err
		}
		deliveryID = h.verifier.DeliveryID(sreq)
	}

	hr := &hb.scratch.hook
	*hr = hook.Request{
		Header: r.Header, Method: r.Method, Path: r.URL.Path, Hook: h.Name,
		Payload: hook.Payload(r.Header.Get("Content-Type"), body), Body: body,
	}
	if h.needsIP {
		hr.RemoteIP = remoteIP(r)
	}
	if h.needsJSON {
		if err := hr.ScanPayload(); err != nil {
			return h.invalidPayload(w, r, err)
		}
	}
	if r.URL.RawQuery != "" {
		hr.Query = r.URL.Query()
	}
	vars, verrs := h.extractor.Extract(hr)
	if err := hr.Invalid(); err != nil {
		return h.invalidPayload(w, r, err)
	}
	if len(verrs) > 0 {
		return h.answer(w, r, http.StatusUnprocessableEntity, verrs[0].Name+": "+verrs[0].Reason,
			map[string]any{"error": "invalid_variables", "variables": verrs})
	}
	if h.condition != nil {
		hr.Vars = vars
		ok, err := h.condition.Eval(hr)
		if err := hr.Invalid(); err != nil {
			return h.invalidPayload(w, r, err)
		}
		if err != nil {
			return h.answer(w, r, http.StatusUnprocessableEntity, "condition: "+err.Error(),
				map[string]any{"error": "condition_error", "detail": err.Error()})
		}
		if !ok {
			return h.answer(w, r, cmp.Or(h.SkipStatus, http.StatusOK), "condition",
				map[string]any{"status": "skipped", "reason": "condition"})
		}
	}

	repl := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	repl.Map(h.placeholdersOf(vars, deliveryID))
	if h.Relay {
		return h.relay(w, r, repl, vars, body, deliveryID)
	}
	if h.Pipeline != "" {
		return h.trigger(w, r, repl, vars, body, h.dedupID(r, deliveryID), nil)
	}
	h.passed.Inc()
	if ce := h.logger.Check(zap.DebugLevel, "hook verified"); ce != nil {
		ce.Write(zap.String("hook", h.Name), zap.String("delivery_id", deliveryID))
	}

	replay := new(replayBody)
	replay.Reset(body)
	r.Body = replay
	r.ContentLength = int64(len(body))
	return next.ServeHTTP(w, r)
}

// invalidPayload answers 400 for a body that is not valid JSON where a
// variable or the condition reads it.
func (h *Handler) invalidPayload(w http.ResponseWriter, r *http.Request, err error) error {
	return h.answer(w, r, http.StatusBadRequest, "body is not valid JSON: "+err.Error(),
		map[string]any{"error": "invalid_payload", "detail": "the body is not valid JSON: " + err.Error()})
}

// placeholdersOf answers {hookgate.hook}, {hookgate.delivery_id} and
// {hookgate.vars.<name>} for the handlers that follow, formatting a value
// only when one of them uses it.
func (h *Handler) placeholdersOf(vars map[string]any, deliveryID string) caddy.ReplacerFunc {
	return func(key string) (any, bool) {
		switch key {
		case "hookgate.hook":
			return h.Name, true
		case "hookgate.delivery_id":
			return deliveryID, true
		}
		name, ok := strings.CutPrefix(key, "hookgate.vars.")
		if !ok {
			return nil, false
		}
		v, ok := vars[name]
		if !ok {
			return nil, false
		}
		return headerSafe.Replace(action.FormatValue(v)), true
	}
}

// answerUnread answers a hook whose body could not be read: 413 over
// MaxBody, 408 past the read timeout, 503 with Retry-After while the
// buffers are full, 400 otherwise (the client went away mid-body).
func (h *Handler) answerUnread(w http.ResponseWriter, r *http.Request, err error) error {
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return h.answer(w, r, http.StatusRequestEntityTooLarge, "payload_too_large",
			map[string]any{"error": "payload_too_large", "limit": h.MaxBody})
	case errors.Is(err, errReadTimeout):
		w.Header().Set("Connection", "close")
		return h.answer(w, r, http.StatusRequestTimeout, "request_timeout",
			map[string]any{"error": "request_timeout", "detail": err.Error(), "timeout": time.Duration(h.ReadTimeout).String()})
	case errors.Is(err, errBuffersFull):
		w.Header().Set("Retry-After", "5")
		return h.answer(w, r, http.StatusServiceUnavailable, "overloaded",
			map[string]any{"error": "overloaded", "detail": err.Error() + "; retry later"})
	}
	return h.answer(w, r, http.StatusBadRequest, "invalid_payload",
		map[string]any{"error": "invalid_payload", "detail": "reading the body: " + err.Error()})
}

// budget is the budget of buffered bytes this hook's bodies take from.
func (h *Handler) budget() *bodyBudget {
	if h.app != nil && h.app.buffered != nil {
		return h.app.buffered
	}
	return defaultBudget
}

// headerSafe strips CR, LF and NUL from the values of the
// {hookgate.vars.*} placeholders, which later handlers put in headers.
var headerSafe = strings.NewReplacer("\r", "", "\n", "", "\x00", "")

// publicURL is the URL the provider posted to: PublicURL when configured
// (with the request's query when it has none), else the request's own.
func (h *Handler) publicURL(r *http.Request) string {
	orig, _ := r.Context().Value(caddyhttp.OriginalRequestCtxKey).(http.Request)
	u := orig.URL
	if u == nil {
		u = r.URL
	}
	if h.PublicURL != "" {
		if u.RawQuery == "" || strings.Contains(h.PublicURL, "?") {
			return h.PublicURL
		}
		return h.PublicURL + "?" + u.RawQuery
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + u.RequestURI()
}

// signatureCode maps a verification error to the code answered.
func signatureCode(err error) string {
	for _, known := range []error{signature.ErrMissing, signature.ErrStale} {
		if errors.Is(err, known) {
			return known.Error()
		}
	}
	return signature.ErrInvalid.Error()
}

// remoteIP is the client's address as Caddy resolved it (trusted proxies
// honoured), without the port.
func remoteIP(r *http.Request) string {
	if addr, ok := caddyhttp.GetVar(r.Context(), caddyhttp.ClientIPVarKey).(string); ok && addr != "" {
		return addr
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// Interface guards.
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)
