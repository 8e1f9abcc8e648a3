package hook

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unsafe"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/builtin"
	"github.com/expr-lang/expr/vm"
	"github.com/tidwall/gjson"
)

// envNames are the names a hook's condition sees besides its variables.
var envNames = []string{"vars", "headers", "query", "method", "path", "remote_ip", "hook", "body", "in_cidr"}

// keywords are the words of expr's grammar, which no bare name can be.
var keywords = []string{"true", "false", "nil", "in", "not", "and", "or", "matches", "contains",
	"startsWith", "endsWith", "let", "if", "else", "env", "$env"}

// bare reports whether a variable called name is also reachable by its
// bare name in a condition: it is unless the condition's own names, an
// expr built-in function or a keyword already have it, in which case it
// is vars.<name> only.
func bare(name string) bool {
	return !slices.Contains(keywords, name) && !slices.Contains(envNames, name) && !slices.Contains(builtin.Names, name)
}

// Request is what a hook's variables are read from and its condition is
// evaluated against.
type Request struct {
	// Vars are the extracted variables (set for the condition).
	Vars map[string]any
	// Header is the request's header; conditions see first values by
	// canonical name (headers["X-Github-Event"]).
	Header http.Header
	// Query is the request's query; conditions see first values.
	Query url.Values
	// Method, Path and RemoteIP describe the request; Hook is the hook's
	// name. RemoteIP may be left empty where neither the variables nor the
	// condition read it (Extractor.NeedsRemoteIP, Condition.UsesRemoteIP).
	Method, Path, RemoteIP, Hook string
	// Payload is the JSON document read by body (nil when there is none).
	Payload []byte
	// Body is the raw body, as received (body:raw).
	Body []byte

	// top is where Payload's top-level members are, once ScanPayload
	// has checked it.
	top members
	// partial is set by ScanPayload when it did not check every value:
	// values are then checked as they are read, and invalid is the error
	// of the first that is not valid JSON.
	partial bool
	invalid error
}

// ScanPayload checks Payload where the reading of a variable or of the
// condition needs it: the whole of it is valid UTF-8, its strings and
// escapes are valid, its brackets match and nest at most MaxDepth levels,
// and its top-level object is valid member by member; each value that is
// read is then checked whole as it is read, and Invalid tells the first
// that is not valid JSON. What no variable reads is not parsed again, so
// that a body costs little more than its signature. It notes where the
// top-level members are, so that variables and the condition find their
// values without searching the payload again. Payload must not change
// afterwards.
func (r *Request) ScanPayload() error {
	var err error
	r.partial, err = scanJSON(r.Payload, &r.top)
	return err
}

// Invalid is the error of the first value read from a payload that
// ScanPayload checked which is not valid JSON (read as absent), or nil.
func (r *Request) Invalid() error { return r.invalid }

// get is gjson.GetBytes(r.Payload, path), found through the notes of
// ScanPayload where they can answer. After a partial scan, a value that
// is not valid JSON is read as absent and noted in invalid.
// The result's text is the payload's, whose buffer is reused once the
// request is answered: what outlives the request is copied (see owned).
func (r *Request) get(path string) gjson.Result { return r.getNoted(splitPath(path)) }

// getNoted is get for a path already split for the notes.
func (r *Request) getNoted(p notedPath) gjson.Result {
	payload := unsafe.String(unsafe.SliceData(r.Payload), len(r.Payload)) // read only, copied out below
	res, ok := r.top.get(payload, p)
	if !ok {
		res = gjson.Get(payload, p.path)
	}
	if !res.Exists() {
		return gjson.Result{}
	}
	if r.partial {
		if err := checkValue(res); err != nil {
			if r.invalid == nil {
				r.invalid = err
			}
			return gjson.Result{}
		}
	}
	return res
}

// owned is res with a text of its own, not the payload's.
func owned(res gjson.Result) gjson.Result {
	if !res.Exists() {
		return res
	}
	return gjson.Parse(strings.Clone(res.Raw))
}

// checkValue checks a value read from a partly scanned payload as CheckJSON
// does, with the error's offset in the payload where gjson tells it.
func checkValue(res gjson.Result) error {
	err := checkJSON(unsafe.Slice(unsafe.StringData(res.Raw), len(res.Raw)), nil) // read only
	if je, ok := err.(*JSONError); ok {
		je.Offset += res.Index
	}
	return err
}

// Condition is a compiled expr condition deciding whether a hook acts.
type Condition struct {
	program  *vm.Program
	bare     []string // the variables given by their bare name in the environment
	usesBody bool
	// usesHeaders and usesQuery say whether headers and query are read,
	// so that a request's are flattened only then.
	usesHeaders, usesQuery bool
	// usesRemoteIP says whether remote_ip is read.
	usesRemoteIP bool
}

// CompileCondition compiles src against the environment a hook's
// condition sees: vars, each variable by its bare name where bare allows
// it (typed as declared when it always has a value; a json variable, or
// one that may be null, reads as vars.<name>),
// headers, query, method, path, remote_ip, hook, in_cidr(ip, ranges...),
// and body, a lookup into the JSON payload with gjson that never decodes
// it whole: body("head_commit.id"), or body.head_commit.id. Syntax and
// type errors name the position in src, as do bad ranges of in_cidr.
func CompileCondition(src string, vars []Variable) (*Condition, error) {
	env := map[string]any{
		"vars": map[string]any{}, "headers": map[string]string{}, "query": map[string]string{},
		"method": "", "path": "", "remote_ip": "", "hook": "",
		"body": func(string) any { return nil },
	}
	c := &Condition{}
	names := &bareNames{open: map[string]bool{}}
	for _, v := range vars {
		switch {
		case !bare(v.Name):
		case v.Type == JSON || v.mayBeNull():
			names.open[v.Name] = true
		default:
			env[v.Name] = typed(v.Type)
			c.bare = append(c.bare, v.Name)
		}
	}
	paths := &bodyPaths{}
	cidrs := &cidrRanges{}
	used := usedNames{}
	program, err := expr.Compile(src, expr.Env(env), expr.AsBool(), inCIDR,
		expr.Patch(names), expr.Patch(paths), expr.Patch(cidrs), expr.Patch(used))
	if err == nil && cidrs.err != nil {
		err = cidrs.err
	}
	if err != nil {
		return nil, fmt.Errorf("condition %s", err)
	}
	c.program, c.usesBody = program, paths.used
	c.usesHeaders, c.usesQuery, c.usesRemoteIP = used["headers"], used["query"], used["remote_ip"]
	return c, nil
}

// UsesBody reports whether the condition reads the JSON payload.
func (c *Condition) UsesBody() bool { return c.usesBody }

// UsesRemoteIP reports whether the condition reads remote_ip.
func (c *Condition) UsesRemoteIP() bool { return c.usesRemoteIP }

// Eval evaluates the condition for one request.
func (c *Condition) Eval(r *Request) (bool, error) {
	headers, query := noValues, noValues
	if c.usesHeaders {
		headers = firstValues(r.Header)
	}
	if c.usesQuery {
		query = firstValues(r.Query)
	}
	env := map[string]any{
		"vars":      r.Vars,
		"headers":   headers,
		"query":     query,
		"method":    r.Method,
		"path":      r.Path,
		"remote_ip": r.RemoteIP,
		"hook":      r.Hook,
		"body": func(path string) any {
			return Decode(owned(r.get(path)))
		},
	}
	for _, name := range c.bare {
		env[name] = r.Vars[name]
	}
	out, err := vm.Run(c.program, env)
	if err != nil {
		return false, err
	}
	return out.(bool), nil
}

// typed is a value of type t, which tells the condition's type checker
// what a variable holds.
func typed(t Type) any {
	switch t {
	case Int:
		return int64(0)
	case Float:
		return float64(0)
	case Bool:
		return false
	case Array:
		return []any{}
	}
	return ""
}

// bareNames rewrites the bare name of a variable whose type is open into
// vars.<name>, which the checker leaves untyped: a json variable, so that
// meta.b reads as vars.meta.b, and a variable that may be null (optional,
// without a default), so that missing == 1 is false rather than an error.
type bareNames struct{ open map[string]bool }

// Visit implements ast.Visitor.
func (b *bareNames) Visit(node *ast.Node) {
	if ident, ok := (*node).(*ast.IdentifierNode); ok && b.open[ident.Value] {
		ast.Patch(node, &ast.MemberNode{
			Node:     &ast.IdentifierNode{Value: "vars"},
			Property: &ast.StringNode{Value: ident.Value},
		})
	}
}

// noValues stands for the headers or query of a condition that does not
// read them; expressions never change it.
var noValues = map[string]string{}

// usedNames notes the identifiers a condition uses.
type usedNames map[string]bool

// Visit implements ast.Visitor.
func (u usedNames) Visit(node *ast.Node) {
	if ident, ok := (*node).(*ast.IdentifierNode); ok {
		u[ident.Value] = true
	}
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
