package hook

import (
	"fmt"
	"net/http"
	"net/url"
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
)

// Source prefixes of a variable's path that read outside the JSON body.
const (
	headerSource = "header:"
	querySource  = "query:"
)

// Variable declares one value extracted from an incoming hook.
type Variable struct {
	// Name of the variable, as used in conditions ({vars.<name>}).
	Name string
	// Path is a gjson path into the JSON body, or header:<Name> or
	// query:<name>.
	Path string
	// Type the value is converted to; empty means String.
	Type Type
	// Required variables that are absent (and have no default) reject the hook.
	Required bool
	// Default is used when the value is absent; nil means no default.
	Default *string
}

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
	defaults []any // converted defaults, nil where a variable has none
	fromBody bool
}

// NewExtractor checks the variables (names, types, paths, defaults) and
// returns an extractor for them.
func NewExtractor(vars []Variable) (*Extractor, error) {
	e := &Extractor{vars: make([]Variable, len(vars)), defaults: make([]any, len(vars))}
	seen := make(map[string]bool, len(vars))
	for i, v := range vars {
		if !validName(v.Name) {
			return nil, fmt.Errorf("variable %q: a name is letters, digits and underscores, not starting with a digit", v.Name)
		}
		if Reserved(v.Name) {
			return nil, fmt.Errorf("variable %q: the name is reserved in conditions; choose another", v.Name)
		}
		if seen[v.Name] {
			return nil, fmt.Errorf("variable %q: declared twice", v.Name)
		}
		seen[v.Name] = true
		if v.Type == "" {
			v.Type = String
		}
		switch v.Type {
		case String, Int, Float, Bool, JSON:
		default:
			return nil, fmt.Errorf("variable %q: unknown type %q (want string, int, float, bool or json)", v.Name, v.Type)
		}
		switch {
		case strings.HasPrefix(v.Path, headerSource):
			if strings.TrimPrefix(v.Path, headerSource) == "" {
				return nil, fmt.Errorf("variable %q: header: needs a header name", v.Name)
			}
		case strings.HasPrefix(v.Path, querySource):
			if strings.TrimPrefix(v.Path, querySource) == "" {
				return nil, fmt.Errorf("variable %q: query: needs a parameter name", v.Name)
			}
		default:
			if err := CheckPath(v.Path); err != nil {
				return nil, fmt.Errorf("variable %q: %v", v.Name, err)
			}
			e.fromBody = true
		}
		if v.Default != nil {
			val, ok := convertText(*v.Default, v.Type)
			if !ok {
				return nil, fmt.Errorf("variable %q: default %q is not %s", v.Name, *v.Default, v.Type)
			}
			e.defaults[i] = val
		}
		e.vars[i] = v
	}
	return e, nil
}

// Variables returns the declared variables, with their types filled in.
func (e *Extractor) Variables() []Variable { return e.vars }

// NeedsBody reports whether any variable reads the JSON body.
func (e *Extractor) NeedsBody() bool { return e.fromBody }

// Extract reads every variable from the payload (valid JSON, or nil when
// no variable needs it), the request headers and the query. It returns the
// values by name, or the list of variables that are missing or of the
// wrong type.
func (e *Extractor) Extract(payload []byte, header http.Header, query url.Values) (map[string]any, []VariableError) {
	values := make(map[string]any, len(e.vars))
	var errs []VariableError
	for i, v := range e.vars {
		val, present, ok := e.lookup(v, payload, header, query)
		switch {
		case !present && e.defaults[i] != nil:
			values[v.Name] = e.defaults[i]
		case !present && v.Required:
			errs = append(errs, VariableError{Name: v.Name, Reason: "missing"})
		case !present:
			values[v.Name] = zero(v.Type)
		case !ok:
			errs = append(errs, VariableError{Name: v.Name, Reason: "not " + string(v.Type)})
		default:
			values[v.Name] = val
		}
	}
	return values, errs
}

// lookup finds one variable's value: present says whether the source has
// it (JSON null counts as absent), ok whether it converts to the type.
func (e *Extractor) lookup(v Variable, payload []byte, header http.Header, query url.Values) (val any, present, ok bool) {
	switch {
	case strings.HasPrefix(v.Path, headerSource):
		vals := header.Values(strings.TrimPrefix(v.Path, headerSource))
		if len(vals) == 0 {
			return nil, false, false
		}
		val, ok = convertText(vals[0], v.Type)
		return val, true, ok
	case strings.HasPrefix(v.Path, querySource):
		vals, found := query[strings.TrimPrefix(v.Path, querySource)]
		if !found || len(vals) == 0 {
			return nil, false, false
		}
		val, ok = convertText(vals[0], v.Type)
		return val, true, ok
	}
	r := gjson.GetBytes(payload, v.Path)
	if !r.Exists() || r.Type == gjson.Null {
		return nil, false, false
	}
	val, ok = convertJSON(r, v.Type)
	return val, true, ok
}

// convertJSON converts a JSON value to t.
func convertJSON(r gjson.Result, t Type) (any, bool) {
	switch t {
	case JSON:
		return r.Value(), true
	case String:
		switch r.Type {
		case gjson.String:
			return r.Str, true
		case gjson.Number, gjson.True, gjson.False:
			return r.Raw, true
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
		return gjson.Parse(s).Value(), true
	}
	return s, true
}

// zero is the value of an absent, optional variable without a default.
func zero(t Type) any {
	switch t {
	case Int:
		return int64(0)
	case Float:
		return float64(0)
	case Bool:
		return false
	case JSON:
		return nil
	}
	return ""
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
