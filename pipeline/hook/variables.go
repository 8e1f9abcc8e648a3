package hook

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"
)

// Type is the type a variable's value is converted to and checked against.
type Type string

// The variable types.
const (
	String Type = "string" // any JSON scalar, as text; the default
	Int    Type = "int"    // an integer, from a JSON number or numeric text
	Float  Type = "float"  // a number, from a JSON number or numeric text
	Bool   Type = "bool"   // true or false, from JSON or the text "true"/"false"
	JSON   Type = "json"   // any JSON value, decoded (objects become maps)
	Array  Type = "array"  // a JSON array, decoded
)

// Types lists the variable types, in the order the docs give them.
var Types = []Type{String, Int, Float, Bool, JSON, Array}

// The sources of a variable's path that read outside the JSON body. Any
// other path is a gjson path into the JSON body.
const (
	headerSource  = "header:"  // header:<Name>, or header:* for all of them
	querySource   = "query:"   // query:<name>, or query:* for all of them
	bodySource    = "body:"    // body:raw, the raw body as text
	requestSource = "request:" // request:method, request:remote_ip, request:path
)

// source is where one variable is read, decided once.
type source int

const (
	fromBody source = iota
	fromConstant
	fromHeader
	fromHeaders
	fromQuery
	fromQueries
	fromRawBody
	fromMethod
	fromRemoteIP
	fromPath
)

// Variable declares one value extracted from an incoming hook.
type Variable struct {
	// Name of the variable, any identifier: {vars.<name>}, and also its
	// bare name in conditions unless that name is taken there.
	Name string
	// Path is where the value is read: a gjson path into the JSON body;
	// header:<Name> or query:<name>; header:* or query:* for all of them
	// as one object; body:raw; request:method, request:remote_ip or
	// request:path. Empty: the variable is a constant, its Default.
	Path string
	// Type the value is converted to; empty means String (JSON for
	// header:* and query:*).
	Type Type
	// Required variables that are absent (and have no default) reject the hook.
	Required bool
	// Default is used when the value is absent; nil means no default.
	Default *string
}

// mayBeNull reports whether the variable can be absent from a hook that
// is accepted: optional, with neither a default nor a constant value.
func (v Variable) mayBeNull() bool { return !v.Required && v.Default == nil }

// VariableError names a variable that could not be extracted.
type VariableError struct {
	// Name of the variable.
	Name string `json:"name"`
	// Reason it was rejected: "missing" or "not <type>".
	Reason string `json:"reason"`
}

// Extractor extracts a fixed set of variables. Build it once with
// NewExtractor; it is safe for concurrent use.
type Extractor struct {
	vars     []Variable
	sources  []source
	keys     []string    // header or query names of fromHeader and fromQuery
	paths    []notedPath // the paths of fromBody, split for the notes
	defaults []any       // converted defaults, nil where a variable has none
	fromBody bool
	fromIP   bool // a variable reads request:remote_ip
}

// NewExtractor checks the variables (names, types, paths, defaults) and
// returns an extractor for them.
func NewExtractor(vars []Variable) (*Extractor, error) {
	e := &Extractor{
		vars: make([]Variable, len(vars)), sources: make([]source, len(vars)),
		keys: make([]string, len(vars)), paths: make([]notedPath, len(vars)), defaults: make([]any, len(vars)),
	}
	seen := make(map[string]bool, len(vars))
	for i, v := range vars {
		if !validName(v.Name) {
			return nil, fmt.Errorf("variable %q: a name is letters, digits and underscores, not starting with a digit", v.Name)
		}
		if seen[v.Name] {
			return nil, fmt.Errorf("variable %q: declared twice", v.Name)
		}
		seen[v.Name] = true
		src, key, err := parseSource(v.Path)
		if err != nil {
			return nil, fmt.Errorf("variable %q: %v", v.Name, err)
		}
		if v.Type == "" {
			v.Type = String
			if src == fromHeaders || src == fromQueries {
				v.Type = JSON
			}
		}
		if !validType(v.Type) {
			return nil, fmt.Errorf("variable %q: unknown type %q (want string, int, float, bool, json or array)", v.Name, v.Type)
		}
		if (src == fromHeaders || src == fromQueries) && v.Type != JSON && v.Type != String {
			return nil, fmt.Errorf("variable %q: %s is an object: its type is json or string, not %s", v.Name, v.Path, v.Type)
		}
		if src == fromConstant && v.Default == nil {
			return nil, fmt.Errorf("variable %q: no path and no default: a variable without a path is a constant, and needs a default", v.Name)
		}
		if v.Default != nil {
			val, ok := convertText(*v.Default, v.Type)
			if !ok {
				return nil, fmt.Errorf("variable %q: default %q is not %s", v.Name, *v.Default, v.Type)
			}
			e.defaults[i] = val
		}
		e.fromBody = e.fromBody || src == fromBody
		e.fromIP = e.fromIP || src == fromRemoteIP
		e.vars[i], e.sources[i], e.keys[i], e.paths[i] = v, src, key, splitPath(v.Path)
	}
	return e, nil
}

// parseSource tells where a path reads, and the header or query name.
func parseSource(path string) (source, string, error) {
	switch {
	case path == "":
		return fromConstant, "", nil
	case strings.HasPrefix(path, headerSource):
		name := strings.TrimPrefix(path, headerSource)
		switch name {
		case "":
			return 0, "", fmt.Errorf("%s needs a header name, or * for every header", path)
		case "*":
			return fromHeaders, "", nil
		}
		return fromHeader, http.CanonicalHeaderKey(name), nil
	case strings.HasPrefix(path, querySource):
		name := strings.TrimPrefix(path, querySource)
		switch name {
		case "":
			return 0, "", fmt.Errorf("%s needs a parameter name, or * for every parameter", path)
		case "*":
			return fromQueries, "", nil
		}
		return fromQuery, name, nil
	case strings.HasPrefix(path, bodySource):
		if path != "body:raw" {
			return 0, "", fmt.Errorf("unknown source %q (the body's sources are gjson paths and body:raw)", path)
		}
		return fromRawBody, "", nil
	case strings.HasPrefix(path, requestSource):
		switch path {
		case "request:method":
			return fromMethod, "", nil
		case "request:remote_ip":
			return fromRemoteIP, "", nil
		case "request:path":
			return fromPath, "", nil
		}
		return 0, "", fmt.Errorf("unknown source %q (want request:method, request:remote_ip or request:path)", path)
	}
	return fromBody, "", CheckPath(path)
}

// validType reports whether t is one of the types.
func validType(t Type) bool {
	for _, known := range Types {
		if t == known {
			return true
		}
	}
	return false
}

// Variables returns the declared variables, with their types filled in.
func (e *Extractor) Variables() []Variable { return e.vars }

// NeedsBody reports whether any variable reads the JSON body.
func (e *Extractor) NeedsBody() bool { return e.fromBody }

// NeedsRemoteIP reports whether any variable reads request:remote_ip, so
// that a caller looks the client's address up only then.
func (e *Extractor) NeedsRemoteIP() bool { return e.fromIP }

// Extract reads every variable of a request: from r.Payload (valid JSON,
// or nil when no variable needs it), r.Body, the headers, the query and
// the request's method, path and address. It returns the values by name
// (nil for an absent optional variable without a default), or the list of
// variables that are missing or of the wrong type.
func (e *Extractor) Extract(r *Request) (map[string]any, []VariableError) {
	values := make(map[string]any, len(e.vars))
	var errs []VariableError
	var copies texts
	for i, v := range e.vars {
		val, present, ok := e.lookup(i, r, &copies)
		switch {
		case !present && e.defaults[i] != nil:
			values[v.Name] = e.defaults[i]
		case !present && v.Required:
			errs = append(errs, VariableError{Name: v.Name, Reason: "missing"})
		case !present:
			values[v.Name] = nil
		case !ok:
			errs = append(errs, VariableError{Name: v.Name, Reason: "not " + string(v.Type)})
		default:
			values[v.Name] = val
		}
	}
	return values, errs
}

// lookup finds the value of variable i: present says whether the source
// has it (JSON null counts as absent), ok whether it converts to the type.
// Strings read from the payload are copied into copies.
func (e *Extractor) lookup(i int, r *Request, copies *texts) (val any, present, ok bool) {
	t := e.vars[i].Type
	switch e.sources[i] {
	case fromConstant:
		return nil, false, false
	case fromHeader:
		return text(r.Header[e.keys[i]], t)
	case fromQuery:
		return text(r.Query[e.keys[i]], t)
	case fromHeaders:
		return object(r.Header, t, CredentialHeader)
	case fromQueries:
		return object(r.Query, t, nil)
	case fromRawBody:
		if len(r.Body) == 0 {
			return nil, false, false
		}
		val, ok = convertText(string(r.Body), t)
		return val, true, ok
	case fromMethod:
		val, ok = convertText(r.Method, t)
		return val, true, ok
	case fromRemoteIP:
		val, ok = convertText(r.RemoteIP, t)
		return val, true, ok
	case fromPath:
		val, ok = convertText(r.Path, t)
		return val, true, ok
	}
	res := r.getNoted(e.paths[i])
	if !res.Exists() || res.Type == gjson.Null {
		return nil, false, false
	}
	if t == JSON || t == Array {
		res = owned(res) // decoded into values that outlive the request
	}
	val, ok = convertJSON(res, t, copies)
	return val, true, ok
}

// text is the first of a header's or parameter's values, converted to t.
func text(vals []string, t Type) (val any, present, ok bool) {
	if len(vals) == 0 {
		return nil, false, false
	}
	val, ok = convertText(vals[0], t)
	return val, true, ok
}

// object is every header or parameter, first values, as a JSON object
// (or its text, for a string variable), without those that skip names.
func object[M ~map[string][]string](m M, t Type, skip func(string) bool) (val any, present, ok bool) {
	obj := make(map[string]any, len(m))
	for k, v := range m {
		if len(v) > 0 && (skip == nil || !skip(k)) {
			obj[k] = v[0]
		}
	}
	if t == String {
		b, err := json.Marshal(obj)
		return string(b), true, err == nil
	}
	return obj, true, true
}

// credentialWords mark the headers that carry a credential: Authorization
// (Proxy-Authorization, X-Auth-*), Cookie and Set-Cookie, API keys,
// passwords, and every provider's signature or token header
// (X-Hub-Signature-256, X-Gitlab-Token, X-Shopify-Hmac-Sha256).
var credentialWords = []string{"auth", "cookie", "signature", "token", "secret", "password", "hmac", "api-key", "apikey"}

// CredentialHeader reports whether a header carries a credential, and so
// is never kept or passed on with a hook: header:* leaves it out (its
// value is stored with the action, shown by the API and passed to
// commands), and so does a relayed hook.received event.
func CredentialHeader(name string) bool {
	name = strings.ToLower(name)
	for _, w := range credentialWords {
		if strings.Contains(name, w) {
			return true
		}
	}
	return false
}

// convertJSON converts a JSON value to t. A string variable's value is
// copied into copies; a json or array value shares r's text, which the
// caller makes its own first (see owned).
func convertJSON(r gjson.Result, t Type, copies *texts) (any, bool) {
	switch t {
	case JSON:
		return Decode(r), true
	case Array:
		if r.Type == gjson.String {
			return convertText(r.Str, t)
		}
		return Decode(r), r.IsArray()
	case String:
		switch r.Type {
		case gjson.String:
			return copies.clone(r.Str), true
		case gjson.Number, gjson.True, gjson.False:
			return copies.clone(r.Raw), true
		}
		return nil, false
	case Bool:
		switch r.Type {
		case gjson.True, gjson.False:
			return r.Bool(), true
		case gjson.String:
			return convertText(r.Str, t)
		}
		return nil, false
	}
	// Int and Float: numbers keep their exact text, so a large integer
	// is not rounded through float64.
	switch r.Type {
	case gjson.Number:
		return convertText(r.Raw, t)
	case gjson.String:
		return convertText(r.Str, t)
	}
	return nil, false
}

// convertText converts text (a header, a query value, a string in JSON or
// a default) to t.
func convertText(s string, t Type) (any, bool) {
	switch t {
	case Int:
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		return n, err == nil
	case Float:
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		return f, err == nil
	case Bool:
		b, err := strconv.ParseBool(strings.TrimSpace(s))
		return b, err == nil
	case JSON:
		if !gjson.Valid(s) {
			return s, true
		}
		return Decode(gjson.Parse(s)), true
	case Array:
		r := gjson.Parse(s)
		if !r.IsArray() || !gjson.Valid(s) {
			return nil, false
		}
		return Decode(r), true
	}
	return s, true
}

// Decode is a JSON value as variables hold it: objects as maps, arrays as
// slices, and numbers as float64, except integers too large for a float64
// to hold exactly, which stay their text as a json.Number
// (12345678901234567890 reaches a command unrounded).
func Decode(r gjson.Result) any {
	switch r.Type {
	case gjson.Null:
		return nil
	case gjson.False:
		return false
	case gjson.True:
		return true
	case gjson.String:
		return r.Str
	case gjson.Number:
		return Number(r.Raw, r.Num)
	}
	if r.IsArray() {
		list := []any{}
		r.ForEach(func(_, v gjson.Result) bool {
			list = append(list, Decode(v))
			return true
		})
		return list
	}
	obj := map[string]any{}
	r.ForEach(func(k, v gjson.Result) bool {
		obj[k.Str] = Decode(v)
		return true
	})
	return obj
}

// maxExactInteger is the magnitude from which a float64 no longer holds
// every integer.
const maxExactInteger = 1 << 53

// Number is the JSON number raw (whose float64 value is f) as variables
// hold it: f, or raw as a json.Number when raw is an integer that f does
// not hold exactly.
func Number(raw string, f float64) any {
	if math.Abs(f) >= maxExactInteger && !strings.ContainsAny(raw, ".eE") {
		return json.Number(raw)
	}
	return f
}

// validName reports whether s is an identifier usable in expressions
// and environment variable names.
func validName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		switch {
		case c == '_', 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
