package action

import (
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
)

// template is a string with {vars.<name>}, {action.<field>},
// {env.<NAME>} and (in exec arguments) {file:<what>} placeholders, parsed
// once. Other braces stay as they are.
type template []segment

// segment is literal text or one placeholder.
type segment struct {
	literal string
	// source and key name a placeholder: source is "vars", "action",
	// "env" or "file"; empty for a literal.
	source, key string
	// escape is how a placeholder's value is escaped: by url.PathEscape or
	// url.QueryEscape in URLs, not at all elsewhere.
	escape func(string) string
}

// actionFields are the fields of {action.<field>}.
var actionFields = map[string]bool{"id": true, "pipeline": true, "hook": true, "delivery_id": true, "remote_ip": true}

// parseTemplate parses s. In a URL, placeholder values are path-escaped
// before the first '?' and query-escaped after it.
func parseTemplate(s string, isURL bool) template {
	var t template
	inQuery := false
	for s != "" {
		open := strings.IndexByte(s, '{')
		end := -1
		if open >= 0 {
			end = strings.IndexByte(s[open:], '}')
		}
		if open < 0 || end < 0 {
			t = append(t, segment{literal: s})
			break
		}
		end += open
		source, key, ok := strings.Cut(s[open+1:end], ".")
		if file, isFile := strings.CutPrefix(s[open+1:end], filePrefix); isFile {
			source, key, ok = fileSource, file, true
		}
		if !ok || key == "" || !(source == "vars" || source == "env" || source == fileSource || source == "action" && actionFields[key]) {
			// Not one of ours: keep the brace and look further.
			t = append(t, segment{literal: s[:open+1]})
			inQuery = inQuery || strings.Contains(s[:open+1], "?")
			s = s[open+1:]
			continue
		}
		if open > 0 {
			t = append(t, segment{literal: s[:open]})
			inQuery = inQuery || strings.Contains(s[:open], "?")
		}
		seg := segment{source: source, key: key}
		if isURL {
			seg.escape = url.PathEscape
			if inQuery {
				seg.escape = url.QueryEscape
			}
		}
		t = append(t, seg)
		s = s[end+1:]
	}
	return t
}

// render fills the template's placeholders from sc.
func (t template) render(sc *scope) string {
	if len(t) == 1 && t[0].source == "" {
		return t[0].literal
	}
	var b strings.Builder
	for _, seg := range t {
		if seg.source == "" {
			b.WriteString(seg.literal)
			continue
		}
		v := sc.lookup(seg.source, seg.key)
		if seg.escape != nil {
			v = seg.escape(v)
		}
		b.WriteString(v)
	}
	return b.String()
}

// files reports whether the template holds a {file:...} placeholder.
func (t template) files() bool {
	for _, seg := range t {
		if seg.source == fileSource {
			return true
		}
	}
	return false
}

// vars lists the {vars.<name>} placeholders of the template, for
// messages.
func (t template) vars() []string {
	var names []string
	for _, seg := range t {
		if seg.source == "vars" {
			names = append(names, "{vars."+seg.key+"}")
		}
	}
	return names
}

// FormatValue is a variable's value as text in placeholders and HOOK_VAR_
// environment variables: strings as they are, numbers and booleans as Go
// formats them, JSON values as JSON, nil as the empty string.
func FormatValue(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case int64:
		return strconv.FormatInt(v, 10)
	case int:
		return strconv.Itoa(v)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	case nil:
		return ""
	}
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}
