package action

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// Defaults of a pipeline.
const (
	// DefaultConcurrency is how many actions of a pipeline run at once.
	DefaultConcurrency = 1
	// DefaultTimeout bounds a whole action.
	DefaultTimeout = 10 * time.Minute
)

// Kind is the kind of a step.
type Kind string

// The kinds of step.
const (
	// KindExec runs a command.
	KindExec Kind = "exec"
	// KindHTTP calls an HTTP endpoint.
	KindHTTP Kind = "http"
)

// Pipeline is the configuration of a pipeline: what an action of it does.
type Pipeline struct {
	// Name identifies the pipeline: letters and digits, separated by single
	// underscores or hyphens, at most 50 characters.
	Name string
	// Concurrency is how many actions of the pipeline run at once on one
	// instance. Default: 1.
	Concurrency int
	// QueueLimit is how many actions may wait in the queue; a trigger
	// beyond it is refused. Zero means no limit.
	QueueLimit int
	// Timeout bounds a whole action; its process group is killed when it
	// expires. Default: 10 minutes.
	Timeout time.Duration
	// Env are environment variables given to every command, and seen by
	// placeholders {env.NAME} and expressions as env.NAME before the
	// process's own environment.
	Env map[string]string
	// Steps run in order; the first that fails ends the action.
	Steps []Step
}

// Step is one step of a pipeline: exactly one of Exec and HTTP is set.
type Step struct {
	// Name identifies the step within its pipeline.
	Name string
	// When is an optional expr condition over vars, action and env; the step
	// is skipped when it is false.
	When string
	// Timeout bounds the step. Zero: only the action's timeout applies.
	Timeout time.Duration
	// Exec runs a command.
	Exec *Exec
	// HTTP calls an HTTP endpoint.
	HTTP *HTTP
}

// Exec is a step that runs a command, without a shell, in its own process
// group. Each variable is also in its environment as HOOK_VAR_<NAME>
// (none for an absent one); a value over 32 KiB is put in a private
// temporary file instead, named by HOOK_VAR_<NAME>_FILE.
type Exec struct {
	// Argv is the command and its arguments, each a template that may hold
	// {vars.<name>}, {action.id} and {env.<NAME>} placeholders. Argv[0] is
	// looked up in PATH unless it holds a slash. An argument may also hold
	// {file:vars.<name>}, {file:payload} or {file:base64:vars.<name>}: the
	// path of a private temporary file (mode 0600, removed when the step
	// ends) holding the value, the incoming body, or the decoded value.
	Argv []string
	// Dir is the working directory (a template). Default: the process's.
	Dir string
	// Env are extra environment variables (values are templates).
	Env map[string]string
}

// HTTP is a step that calls an HTTP endpoint and expects a 2xx answer.
type HTTP struct {
	// Method is the HTTP method. Default: POST.
	Method string
	// URL is a template; placeholder values are URL-escaped.
	URL string
	// Headers are sent with the request; values are templates.
	Headers map[string]string
	// Body is an optional expr expression over vars, action and env: a map
	// or list is sent as JSON, a string as is.
	Body string
}

// nameRegexp is what a pipeline name may be: River queue names are made
// from it.
var nameRegexp = regexp.MustCompile(`^[A-Za-z0-9]+(?:[_-][A-Za-z0-9]+)*$`)

// Plan is a pipeline checked and compiled: its templates parsed and its
// expressions compiled once, ready to run actions. A Plan is safe for
// concurrent use.
type Plan struct {
	// Pipeline is the configuration the plan was compiled from, with its
	// defaults filled in.
	Pipeline Pipeline
	steps    []plannedStep
}

// plannedStep is a compiled step.
type plannedStep struct {
	name    string
	kind    Kind
	when    *expression
	timeout time.Duration
	argv    []template
	dir     template
	env     map[string]template
	method  string
	url     template
	headers map[string]template
	body    *expression
}

// Compile checks p, fills in its defaults and compiles its templates and
// expressions. Errors name the step and, for expressions, the position.
func Compile(p Pipeline) (*Plan, error) {
	if !nameRegexp.MatchString(p.Name) || len(p.Name) > 50 {
		return nil, fmt.Errorf("pipeline %q: invalid name: use letters and digits separated by single _ or -, at most 50 characters", p.Name)
	}
	if err := fillDefaults(&p); err != nil {
		return nil, fmt.Errorf("pipeline %q: %v", p.Name, err)
	}
	plan := &Plan{Pipeline: p, steps: make([]plannedStep, len(p.Steps))}
	seen := make(map[string]bool, len(p.Steps))
	for i, s := range p.Steps {
		if s.Name == "" {
			return nil, fmt.Errorf("pipeline %q: step %d: no name", p.Name, i+1)
		}
		if seen[s.Name] {
			return nil, fmt.Errorf("pipeline %q: step %q: defined twice", p.Name, s.Name)
		}
		seen[s.Name] = true
		ps, err := compileStep(s)
		if err != nil {
			return nil, fmt.Errorf("pipeline %q: step %q: %v", p.Name, s.Name, err)
		}
		plan.steps[i] = ps
	}
	return plan, nil
}

// fillDefaults checks the pipeline-wide settings and fills in defaults.
func fillDefaults(p *Pipeline) error {
	switch {
	case p.Concurrency < 0:
		return errors.New("concurrency must be at least 1")
	case p.Concurrency == 0:
		p.Concurrency = DefaultConcurrency
	}
	switch {
	case p.Timeout < 0:
		return errors.New("timeout must be positive")
	case p.Timeout == 0:
		p.Timeout = DefaultTimeout
	}
	if p.QueueLimit < 0 {
		return errors.New("queue_limit must not be negative")
	}
	if len(p.Steps) == 0 {
		return errors.New("no steps")
	}
	return nil
}

// compileStep compiles one step.
func compileStep(s Step) (plannedStep, error) {
	ps := plannedStep{name: s.Name, timeout: s.Timeout}
	if s.Timeout < 0 {
		return ps, errors.New("timeout must be positive")
	}
	if s.When != "" {
		when, err := compileExpression(s.When, true)
		if err != nil {
			return ps, fmt.Errorf("when: %v", err)
		}
		ps.when = when
	}
	switch {
	case s.Exec != nil && s.HTTP != nil:
		return ps, errors.New("both exec and http set")
	case s.Exec != nil:
		return ps, compileExec(&ps, s.Exec)
	case s.HTTP != nil:
		return ps, compileHTTP(&ps, s.HTTP)
	}
	return ps, errors.New("neither exec nor http set")
}

// compileExec compiles an exec step's templates.
func compileExec(ps *plannedStep, e *Exec) error {
	ps.kind = KindExec
	if len(e.Argv) == 0 || e.Argv[0] == "" {
		return errors.New("exec: no command")
	}
	for _, a := range e.Argv {
		t := parseTemplate(a, false)
		for _, seg := range t {
			if seg.source == fileSource {
				if _, err := parseFileKey(seg.key); err != nil {
					return fmt.Errorf("exec: %v", err)
				}
			}
		}
		ps.argv = append(ps.argv, t)
	}
	if ps.argv[0].files() {
		return errors.New("exec: {file:...} may be an argument, not the command")
	}
	ps.dir = parseTemplate(e.Dir, false)
	if ps.dir.files() {
		return errors.New("exec: {file:...} may be an argument, not the working directory")
	}
	ps.env = make(map[string]template, len(e.Env))
	for k, v := range e.Env {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			return fmt.Errorf("exec: invalid environment variable name %q", k)
		}
		ps.env[k] = parseTemplate(v, false)
		if ps.env[k].files() {
			return fmt.Errorf("exec: env %s: {file:...} may be an argument, not an environment variable", k)
		}
	}
	return nil
}

// compileHTTP compiles an http step's templates and body.
func compileHTTP(ps *plannedStep, h *HTTP) error {
	ps.kind = KindHTTP
	ps.method = strings.ToUpper(h.Method)
	if ps.method == "" {
		ps.method = http.MethodPost
	}
	u, err := url.Parse(h.URL)
	if err != nil {
		return fmt.Errorf("http: URL: %v", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("http: URL %q: scheme must be http or https", h.URL)
	}
	ps.url = parseTemplate(h.URL, true)
	if ps.url.files() {
		return errors.New("http: {file:...} belongs in exec arguments")
	}
	ps.headers = make(map[string]template, len(h.Headers))
	for k, v := range h.Headers {
		if k == "" || strings.ContainsAny(k, " :\r\n") {
			return fmt.Errorf("http: invalid header name %q", k)
		}
		ps.headers[http.CanonicalHeaderKey(k)] = parseTemplate(v, false)
		if ps.headers[http.CanonicalHeaderKey(k)].files() {
			return errors.New("http: {file:...} belongs in exec arguments")
		}
	}
	if h.Body != "" {
		body, err := compileExpression(h.Body, false)
		if err != nil {
			return fmt.Errorf("body: %v", err)
		}
		ps.body = body
	}
	return nil
}
