package hook

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/builtin"
	"github.com/expr-lang/expr/vm"
	"github.com/tidwall/gjson"
)

// envNames are the names a hook's condition sees besides its variables.
var envNames = []string{"vars", "headers", "query", "method", "path", "remote_ip", "hook", "body"}

// Reserved reports whether name cannot be a variable's name because, bare
// in a condition, it would shadow one of the condition's own names, an
// expr built-in function or an expr keyword.
func Reserved(name string) bool {
	switch name {
	case "true", "false", "nil", "in", "not", "and", "or", "matches", "contains",
		"startsWith", "endsWith", "let", "if", "else", "env", "$env":
		return true
	}
	return slices.Contains(envNames, name) || slices.Contains(builtin.Names, name)
}

// Request is what a hook's condition is evaluated against.
type Request struct {
	// Vars are the extracted variables.
	Vars map[string]any
	// Header is the request's header; conditions see first values by
	// canonical name (headers["X-Github-Event"]).
	Header http.Header
	// Query is the request's query; conditions see first values.
	Query url.Values
	// Method, Path and RemoteIP describe the request; Hook is the hook's name.
	Method, Path, RemoteIP, Hook string
	// Payload is the JSON document read by body (nil when there is none).
	Payload []byte
}

// Condition is a compiled expr condition deciding whether a hook acts.
type Condition struct {
	program  *vm.Program
	vars     []Variable
	usesBody bool
}

// CompileCondition compiles src against the environment a hook's
// condition sees: vars, each variable by its bare name (typed as
// declared), headers, query, method, path, remote_ip, hook, and body, a
// lookup into the JSON payload with gjson that never decodes it whole:
// body("head_commit.id"), or body.head_commit.id. Syntax and type errors
// name the position in src.
func CompileCondition(src string, vars []Variable) (*Condition, error) {
	env := map[string]any{
		"vars": map[string]any{}, "headers": map[string]string{}, "query": map[string]string{},
		"method": "", "path": "", "remote_ip": "", "hook": "",
		"body": func(string) any { return nil },
	}
	for _, v := range vars {
		env[v.Name] = zero(v.Type)
	}
	paths := &bodyPaths{}
	program, err := expr.Compile(src, expr.Env(env), expr.AsBool(), expr.Patch(paths))
	if err != nil {
		return nil, fmt.Errorf("condition %s", err)
	}
	return &Condition{program: program, vars: vars, usesBody: paths.used}, nil
}

// UsesBody reports whether the condition reads the JSON payload.
func (c *Condition) UsesBody() bool { return c.usesBody }

// Eval evaluates the condition for one request.
func (c *Condition) Eval(r Request) (bool, error) {
	env := map[string]any{
		"vars":      r.Vars,
		"headers":   firstValues(r.Header),
		"query":     firstValues(r.Query),
		"method":    r.Method,
		"path":      r.Path,
		"remote_ip": r.RemoteIP,
		"hook":      r.Hook,
		"body": func(path string) any {
			return gjson.GetBytes(r.Payload, path).Value()
		},
	}
	for _, v := range c.vars {
		env[v.Name] = r.Vars[v.Name]
	}
	out, err := vm.Run(c.program, env)
	if err != nil {
		return false, err
	}
	return out.(bool), nil
}

// firstValues flattens a header or query to its first values.
func firstValues[M ~map[string][]string](m M) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		if len(v) > 0 {
			out[k] = v[0]
		}
	}
	return out
}

// bodyPaths rewrites member access on body into a gjson lookup, so that
// body.commits[0].id reads as body("commits.0.id"). It also notes whether
// body is used at all.
type bodyPaths struct{ used bool }

// Visit implements ast.Visitor. Children are visited first, so a chain is
// folded one member at a time from its root.
func (b *bodyPaths) Visit(node *ast.Node) {
	if ident, ok := (*node).(*ast.IdentifierNode); ok && ident.Value == "body" {
		b.used = true
	}
	member, ok := (*node).(*ast.MemberNode)
	if !ok || member.Optional {
		return
	}
	var prefix string
	switch base := member.Node.(type) {
	case *ast.IdentifierNode:
		if base.Value != "body" {
			return
		}
	case *ast.CallNode:
		callee, ok := base.Callee.(*ast.IdentifierNode)
		if !ok || callee.Value != "body" || len(base.Arguments) != 1 {
			return
		}
		arg, ok := base.Arguments[0].(*ast.StringNode)
		if !ok {
			return
		}
		prefix = arg.Value + "."
	default:
		return
	}
	var component string
	switch p := member.Property.(type) {
	case *ast.StringNode:
		component = escapePath(p.Value)
	case *ast.IntegerNode:
		component = strconv.Itoa(p.Value)
	default:
		return
	}
	ast.Patch(node, &ast.CallNode{
		Callee:    &ast.IdentifierNode{Value: "body"},
		Arguments: []ast.Node{&ast.StringNode{Value: prefix + component}},
	})
}

// escapePath escapes gjson's special characters in one path component.
func escapePath(s string) string {
	if !strings.ContainsAny(s, `.*?|#@\!(){}[]`) {
		return s
	}
	var b strings.Builder
	for _, c := range s {
		if strings.ContainsRune(`.*?|#@\!(){}[]`, c) {
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	return b.String()
}
