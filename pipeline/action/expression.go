package action

import (
	"os"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"
)

// expression is a compiled step expression (a when or a body).
type expression struct {
	program *vm.Program
}

// compileExpression compiles src against what a step's expressions see:
// vars, action and env. A condition must yield a bool.
func compileExpression(src string, condition bool) (*expression, error) {
	opts := []expr.Option{expr.Env(map[string]any{
		"vars":   map[string]any{},
		"action": map[string]any{},
		"env":    map[string]string{},
	})}
	if condition {
		opts = append(opts, expr.AsBool())
	}
	program, err := expr.Compile(src, opts...)
	if err != nil {
		return nil, err
	}
	return &expression{program: program}, nil
}

// eval runs the expression in sc's environment.
func (e *expression) eval(sc *scope) (any, error) {
	return vm.Run(e.program, sc.exprEnv())
}

// scope is what the templates and expressions of one action's steps see.
type scope struct {
	action  *Action
	env     map[string]string
	exprMap map[string]any
	// files are the temporary files of the exec step being prepared, for
	// {file:...} placeholders; nil outside one.
	files *stepFiles
}

// newScope is the scope of a running action of the pipeline p.
func newScope(a *Action, p *Pipeline) *scope {
	return &scope{action: a, env: p.Env}
}

// lookup is the value of a placeholder.
func (sc *scope) lookup(source, key string) string {
	switch source {
	case "vars":
		return FormatValue(sc.action.Variables[key])
	case "env":
		if v, ok := sc.env[key]; ok {
			return v
		}
		return os.Getenv(key)
	case fileSource:
		if sc.files == nil {
			return ""
		}
		return sc.files.path(key, sc.action)
	}
	switch key {
	case "id":
		return sc.action.ID
	case "pipeline":
		return sc.action.Pipeline
	case "hook":
		return sc.action.Hook
	case "delivery_id":
		return sc.action.DeliveryID
	case "remote_ip":
		return sc.action.RemoteIP
	}
	return ""
}

// exprEnv is the environment of expressions, built once per action: the
// process's environment overlaid with the pipeline's.
func (sc *scope) exprEnv() map[string]any {
	if sc.exprMap != nil {
		return sc.exprMap
	}
	env := make(map[string]string)
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	for k, v := range sc.env {
		env[k] = v
	}
	vars := sc.action.Variables
	if vars == nil {
		vars = map[string]any{}
	}
	a := map[string]any{
		"id":          sc.action.ID,
		"pipeline":    sc.action.Pipeline,
		"hook":        sc.action.Hook,
		"status":      string(sc.action.Status),
		"variables":   vars,
		"delivery_id": sc.action.DeliveryID,
		"remote_ip":   sc.action.RemoteIP,
		"created_at":  sc.action.CreatedAt.Format(time.RFC3339Nano),
	}
	sc.exprMap = map[string]any{"vars": vars, "action": a, "env": env}
	return sc.exprMap
}
