package webhook

import (
	"net/url"
	"strings"
)

// The built-in placeholders of URLs and header values, as :<name>:.
const (
	// PlaceholderIP is the source IP of the incoming hook.
	PlaceholderIP = "ip"
	// PlaceholderActionID is the action's ID.
	PlaceholderActionID = "action_id"
	// PlaceholderPipeline is the action's pipeline.
	PlaceholderPipeline = "pipeline"
	// PlaceholderHook is the hook that triggered the action, or was rejected.
	PlaceholderHook = "hook"
	// PlaceholderStatus is the action's status.
	PlaceholderStatus = "status"
	// PlaceholderEvent is the event's type.
	PlaceholderEvent = "event"
)

// builtinPlaceholders are the placeholders every webhook supports.
var builtinPlaceholders = []string{PlaceholderIP, PlaceholderActionID, PlaceholderPipeline, PlaceholderHook, PlaceholderStatus, PlaceholderEvent}

// none is what a supported placeholder becomes when the event lacks its data.
const none = "none"

// placeholderNames is the set of supported placeholders: the built-in
// ones and the hooks' variable names.
func placeholderNames(varNames []string) map[string]bool {
	names := make(map[string]bool, len(builtinPlaceholders)+len(varNames))
	for _, n := range varNames {
		names[n] = true
	}
	for _, n := range builtinPlaceholders {
		names[n] = true
	}
	return names
}

// Expand replaces the placeholders :<name>: of s, as 1NCE does: a
// supported name (names) becomes its value in values, or "none" when the
// event lacks it; any other :<name>: stays as it is. Each value is passed
// through escape first.
func Expand(s string, names map[string]bool, values map[string]string, escape func(string) string) string {
	if !strings.Contains(s, ":") {
		return s
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(s, ':')
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		rest := s[i+1:]
		j := strings.IndexByte(rest, ':')
		if j > 0 && names[rest[:j]] {
			v, ok := values[rest[:j]]
			if !ok {
				v = none
			}
			b.WriteString(escape(v))
			s = rest[j+1:]
			continue
		}
		b.WriteByte(':')
		s = rest
	}
}

// escapeURL escapes a value for any part of a URL: reserved characters
// are percent-encoded, a space as %20.
func escapeURL(v string) string {
	return strings.ReplaceAll(url.QueryEscape(v), "+", "%20")
}

// escapeHeader removes line breaks, which would end the header.
func escapeHeader(v string) string {
	return strings.NewReplacer("\r", "", "\n", "").Replace(v)
}
