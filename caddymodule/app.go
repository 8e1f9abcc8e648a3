// Package caddymodule is the Caddy glue of hookgate: the hookgate app, the
// hookgate handler, Caddyfile parsing, metrics and the CLI. The engine,
// which knows nothing of Caddy, is in the pipeline packages.
package caddymodule

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/hookgate/hookgate/pipeline/action"
	"github.com/hookgate/hookgate/pipeline/engine"
	"github.com/hookgate/hookgate/pipeline/hook"
	"github.com/hookgate/hookgate/pipeline/webhook"
)

func init() {
	caddy.RegisterModule(new(App))
}

// engines holds the open engines (database, job queue, workers) by
// storage, so that they outlive config reloads: a reload starts the new
// app, which takes the engine over, before the old one lets go of it.
var engines = caddy.NewUsagePool()

// App is the hookgate app, configured by the global option
// `hookgate { ... }`: the durable store, the pipelines that hooks trigger,
// and the workers that run their actions.
type App struct {
	// Storage is where actions are kept and queued. Default: SQLite in
	// <caddy data dir>/hookgate/hookgate.db.
	Storage *Storage `json:"storage,omitempty"`

	// Retention is how long finished actions are kept. Default: 720h.
	Retention caddy.Duration `json:"retention,omitempty"`

	// Lease is how long this instance's lease in a PostgreSQL database
	// lasts unless renewed (it is renewed every fifth of it). When an
	// instance dies, its running actions end failed (interrupted) and its
	// queued work runs elsewhere within about 1.2 times this, whatever the
	// pipelines' timeouts; an instance that cannot renew its lease for
	// half of it stops its own actions. Unused with SQLite. Default: 15s.
	Lease caddy.Duration `json:"lease,omitempty"`

	// Pipelines are what hooks trigger: named sequences of steps.
	Pipelines []Pipeline `json:"pipelines,omitempty"`

	// Webhooks are the outgoing webhooks told of every action's state
	// changes (and rejected hooks).
	Webhooks []Webhook `json:"webhooks,omitempty"`

	// AllowTargets are the address ranges (CIDR) outgoing webhooks may
	// reach although they are private, loopback or otherwise reserved,
	// which are refused by default.
	AllowTargets []string `json:"allow_targets,omitempty"`

	// Delivery says how outgoing webhooks are attempted: retry schedule,
	// failures before a webhook is failed, timeout.
	Delivery *Delivery `json:"delivery,omitempty"`

	// PublicURL is the base of the URLs of hooks created through the
	// management API, such as https://hooks.example.com/hooks: a hook's
	// URL is PublicURL/<id>, served by `hookgate dynamic` under that
	// path. Default: /hooks/<id> on the host the API was called on.
	PublicURL string `json:"public_url,omitempty"`

	// MaxBuffered bounds the bytes of hook bodies held in memory at once,
	// across all hooks, while they are read and handled. Beyond it, new
	// hooks are answered 503 with Retry-After; hooks already read go on.
	// Default: 256 MiB.
	MaxBuffered int64 `json:"max_buffered,omitempty"`

	// RequestLog is how many of the latest incoming requests this
	// instance keeps in memory for the management API's GET /requests
	// and the dashboard (each with the first 16 KiB of its body). 0 turns
	// the log off. Default: 1000.
	RequestLog *int `json:"request_log,omitempty"`

	plans map[string]bool
	// fileVars are, by pipeline, the variables its steps take as files
	// ({file:vars.<name>}), each with the step that does.
	fileVars map[string]map[string]string
	hooks    []webhook.Definition
	allow    []netip.Prefix
	// buffered is what MaxBuffered grants the bodies being read.
	buffered *bodyBudget
	// variables are the names of the variables the hooks of this config
	// declare (placeholders of webhook URLs and headers), under mu.
	mu            sync.Mutex
	variables     map[string]bool
	declaredHooks []ConfigHook
	key           string
	engine        atomic.Pointer[engine.Engine]
	// started is closed once Start has set engine: Caddy may start the
	// HTTP app, and serve hooks, before this one.
	started chan struct{}
	// requests is the request log, nil when it is off.
	requests *RequestLog
	logger   *zap.Logger
}

// Storage selects the database.
type Storage struct {
	// Driver is "sqlite" (one instance, zero set-up) or "postgres"
	// (several Caddy instances sharing the work).
	Driver string `json:"driver"`
	// Path of the SQLite database file. Default:
	// <caddy data dir>/hookgate/hookgate.db.
	Path string `json:"path,omitempty"`
	// DSN of the PostgreSQL database, such as
	// postgres://user:password@host:5432/db. Placeholders like
	// {env.DATABASE_URL} are replaced when the config loads.
	DSN string `json:"dsn,omitempty"`
}

// Pipeline is a named sequence of steps that a hook triggers; each run of
// it is an action.
type Pipeline struct {
	// Name of the pipeline, as hooks name it.
	Name string `json:"name"`
	// Concurrency is how many actions of this pipeline run at once.
	// Default: 1.
	Concurrency int `json:"concurrency,omitempty"`
	// QueueLimit is how many actions may wait; a hook beyond it is
	// answered 429. Default: no limit.
	QueueLimit int `json:"queue_limit,omitempty"`
	// Timeout bounds a whole action; the process group of its running
	// command is killed when it expires. Default: 10m.
	Timeout caddy.Duration `json:"timeout,omitempty"`
	// Env are environment variables for every command of the pipeline,
	// also seen as {env.NAME} and env.NAME in expressions.
	Env map[string]string `json:"env,omitempty"`
	// Steps run in order; the first that fails fails the action.
	Steps []Step `json:"steps,omitempty"`
}

// Step is one step of a pipeline: a command or an HTTP call.
type Step struct {
	// Name of the step.
	Name string `json:"name"`
	// Exec is a command, run without a shell. Its arguments take
	// {vars.<name>}, {action.id} and {env.<NAME>} placeholders, and each
	// variable is in its environment as HOOK_VAR_<NAME>.
	Exec *ExecStep `json:"exec,omitempty"`
	// HTTP is a call to an HTTP endpoint that must answer 2xx.
	HTTP *HTTPStep `json:"http,omitempty"`
	// When is an expr condition over vars, action and env; the step is
	// skipped when it is false.
	When string `json:"when,omitempty"`
	// Timeout bounds the step. Default: only the action's timeout.
	Timeout caddy.Duration `json:"timeout,omitempty"`
}

// ExecStep runs a command.
type ExecStep struct {
	// Argv is the command and its arguments.
	Argv []string `json:"argv"`
	// Dir is the working directory. Default: Caddy's.
	Dir string `json:"dir,omitempty"`
	// Env are extra environment variables for this command.
	Env map[string]string `json:"env,omitempty"`
}

// HTTPStep calls an HTTP endpoint.
type HTTPStep struct {
	// Method of the request. Default: POST.
	Method string `json:"method,omitempty"`
	// URL of the endpoint; placeholder values are URL-escaped.
	URL string `json:"url"`
	// Headers of the request; values take placeholders.
	Headers map[string]string `json:"headers,omitempty"`
	// Body is an expr expression over vars, action and env: a map or list
	// is sent as JSON, a string as is.
	Body string `json:"body,omitempty"`
}

// CaddyModule returns the Caddy module information.
func (*App) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "hookgate",
		New: func() caddy.Module { return new(App) },
	}
}

// Provision checks and compiles the pipelines and settles the storage.
// It opens nothing: `caddy validate` provisions without starting.
func (a *App) Provision(ctx caddy.Context) error {
	a.logger = ctx.Logger()
	a.started = make(chan struct{})
	if a.MaxBuffered == 0 {
		a.MaxBuffered = defaultMaxBuffered
	}
	a.buffered = &bodyBudget{limit: a.MaxBuffered}
	if a.Storage == nil {
		a.Storage = &Storage{Driver: "sqlite"}
	}
	repl := caddy.NewReplacer()
	switch a.Storage.Driver {
	case "sqlite":
		if a.Storage.Path == "" {
			a.Storage.Path = filepath.Join(caddy.AppDataDir(), "hookgate", "hookgate.db")
		}
		a.Storage.Path = repl.ReplaceKnown(a.Storage.Path, "")
		a.key = "sqlite:" + a.Storage.Path
	case "postgres":
		a.Storage.DSN = repl.ReplaceKnown(a.Storage.DSN, "")
		if a.Storage.DSN == "" {
			return errors.New("storage postgres: no DSN")
		}
		a.key = "postgres:" + a.Storage.DSN
	default:
		return fmt.Errorf("storage %q: want sqlite or postgres", a.Storage.Driver)
	}
	if a.PublicURL != "" {
		if err := checkPublicURL(a.PublicURL); err != nil {
			return err
		}
	}
	size := defaultRequestLog
	if a.RequestLog != nil {
		size = *a.RequestLog
	}
	if size < 0 {
		return fmt.Errorf("request_log %d: want a number of requests, or 0 for none", size)
	}
	a.requests = requestLogOf(size)
	a.plans = make(map[string]bool, len(a.Pipelines))
	a.fileVars = make(map[string]map[string]string, len(a.Pipelines))
	for _, p := range a.Pipelines {
		if a.plans[p.Name] {
			return fmt.Errorf("pipeline %q: defined twice", p.Name)
		}
		plan, err := action.Compile(p.pipeline())
		if err != nil {
			return err
		}
		a.plans[p.Name] = true
		a.fileVars[p.Name] = plan.FileVariables()
	}
	var err error
	if a.allow, err = parsePrefixes(a.AllowTargets); err != nil {
		return err
	}
	a.hooks = make([]webhook.Definition, len(a.Webhooks))
	for i, w := range a.Webhooks {
		def := w.definition()
		for j, s := range def.Secrets {
			def.Secrets[j] = repl.ReplaceKnown(s, "")
		}
		def.Headers = replaceHeaders(repl, def.Headers)
		if w.Payload != "" && w.Payload != "raw" {
			return fmt.Errorf("webhook %q: payload %q: want raw (or nothing, for the envelope)", def.Name, w.Payload)
		}
		if _, err := webhook.Compile(def, nil); err != nil {
			return err
		}
		for _, p := range def.Pipelines {
			if !a.plans[p] {
				return fmt.Errorf("webhook %q: pipelines: %q is not defined in the hookgate global option", def.Name, p)
			}
		}
		a.hooks[i] = def
	}
	return registerMetrics(ctx.GetMetricsRegistry(), a)
}

// Requests is the request log of this instance; nil when it is off.
func (a *App) Requests() *RequestLog { return a.requests }

// requestLog is Requests of an app that may be absent (a pass-through
// hook without the hookgate app).
func (a *App) requestLog() *RequestLog {
	if a == nil {
		return nil
	}
	return a.requests
}

// checkPublicURL checks that public_url is an http or https URL with a host.
func checkPublicURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("public_url %q: want an http:// or https:// URL with a host", raw)
	}
	return nil
}

// replaceHeaders replaces {env.*} placeholders in webhook header values
// (an API key from the environment); the event's :placeholders: stay.
func replaceHeaders(repl *caddy.Replacer, headers map[string]string) map[string]string {
	if headers == nil {
		return nil
	}
	out := make(map[string]string, len(headers))
	for k, v := range headers {
		out[k] = repl.ReplaceKnown(v, "")
	}
	return out
}

// declareVariables adds the variable names of a hook: each is a
// placeholder :<name>: of the webhooks' URLs and headers.
func (a *App) declareVariables(names []string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.variables == nil {
		a.variables = make(map[string]bool)
	}
	for _, n := range names {
		a.variables[n] = true
	}
}

// variableNames lists the declared variable names, sorted.
func (a *App) variableNames() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	names := make([]string, 0, len(a.variables))
	for n := range a.variables {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// reject records a hook.rejected event, for the webhooks that subscribe
// to it. A failure to record it is logged; the hook's answer stands.
func (a *App) reject(ctx context.Context, r engine.HookRejected) {
	if a == nil {
		return
	}
	e := a.engine.Load()
	if e == nil {
		return
	}
	if err := e.Reject(ctx, r); err != nil {
		a.logger.Error("recording a hook.rejected event", zap.String("hook", r.Hook), zap.Error(err))
	}
}

// pipeline is p as the engine knows it.
func (p Pipeline) pipeline() action.Pipeline {
	out := action.Pipeline{
		Name: p.Name, Concurrency: p.Concurrency, QueueLimit: p.QueueLimit,
		Timeout: time.Duration(p.Timeout), Env: p.Env, Steps: make([]action.Step, len(p.Steps)),
	}
	for i, s := range p.Steps {
		step := action.Step{Name: s.Name, When: s.When, Timeout: time.Duration(s.Timeout)}
		if s.Exec != nil {
			step.Exec = &action.Exec{Argv: s.Exec.Argv, Dir: s.Exec.Dir, Env: s.Exec.Env}
		}
		if s.HTTP != nil {
			step.HTTP = &action.HTTP{Method: s.HTTP.Method, URL: s.HTTP.URL, Headers: s.HTTP.Headers, Body: s.HTTP.Body}
		}
		out.Steps[i] = step
	}
	return out
}

// Start opens the storage, or takes over the engine a previous config
// left open, gives it the current pipelines and starts its workers.
func (a *App) Start() error {
	val, _, err := engines.LoadOrNew(a.key, func() (caddy.Destructor, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		e, err := engine.Open(ctx, engine.StorageConfig{
			Driver: a.Storage.Driver, Path: a.Storage.Path, DSN: a.Storage.DSN, Retention: time.Duration(a.Retention),
			Lease: time.Duration(a.Lease),
		}, a.logger)
		if err != nil {
			return nil, err
		}
		return engineDestructor{e}, nil
	})
	if err != nil {
		return err // it names the storage (never a password)
	}
	e := val.(engineDestructor).Engine
	pipelines := make([]action.Pipeline, len(a.Pipelines))
	for i, p := range a.Pipelines {
		pipelines[i] = p.pipeline()
	}
	if err := e.Configure(pipelines); err != nil {
		engines.Delete(a.key)
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	generated, err := e.ConfigureWebhooks(ctx, engine.WebhookConfig{
		Webhooks: a.hooks, AllowTargets: a.allow, VariableNames: a.variableNames(), Policy: a.Delivery.policy(),
	})
	if err != nil {
		engines.Delete(a.key)
		return err
	}
	for name := range generated {
		// The secret itself is never logged; the management API shows it.
		a.logger.Warn("webhook secret generated and kept in storage; set `secret` to choose one", zap.String("webhook", name))
	}
	if err := e.Start(); err != nil {
		engines.Delete(a.key)
		return err
	}
	e.OnRan(observeRan)
	e.OnDelivered(observeDelivered)
	a.engine.Store(e)
	close(a.started)
	return nil
}

// startWait bounds how long a hook that arrives while Caddy starts waits
// for the app's engine.
const startWait = 30 * time.Second

// runningEngine is the app's engine, waiting for the app to start when a
// hook arrives first; nil when it does not start in time or the request
// ends.
func (a *App) runningEngine(ctx context.Context) *engine.Engine {
	if e := a.engine.Load(); e != nil {
		return e
	}
	timer := time.NewTimer(startWait)
	defer timer.Stop()
	select {
	case <-a.started:
		return a.engine.Load()
	case <-ctx.Done():
	case <-timer.C:
	}
	return nil
}

// Stop lets go of the engine; it stops when no config uses it any more.
func (a *App) Stop() error {
	if a.engine.Load() == nil {
		return nil
	}
	_, err := engines.Delete(a.key)
	return err
}

// engineDestructor stops an engine when the last config using it is gone.
type engineDestructor struct{ *engine.Engine }

// Destruct implements caddy.Destructor.
func (d engineDestructor) Destruct() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return d.Stop(ctx)
}

// CheckFileVariables checks that a hook triggering pipeline declares
// every variable the pipeline's steps take as a file.
func (a *App) CheckFileVariables(pipeline string, vars []hook.Variable) error {
	for name, step := range a.fileVars[pipeline] {
		if !slices.ContainsFunc(vars, func(v hook.Variable) bool { return v.Name == name }) {
			return fmt.Errorf("pipeline %q, step %q: {file:vars.%s} names no variable of this hook", pipeline, step, name)
		}
	}
	return nil
}

// Interface guards.
var (
	_ caddy.App         = (*App)(nil)
	_ caddy.Provisioner = (*App)(nil)
)
