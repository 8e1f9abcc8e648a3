package hook

import (
	"strings"
	"unsafe"

	"github.com/tidwall/gjson"
)

// maxRootVars bounds the variables read in one pass, so that their
// results fit on the stack.
const maxRootVars = 16

// rootPath splits a gjson path whose first component is a plain key
// (letters, digits, _ and -) into that key and the rest of the path ("" for
// the key itself). ok is false for any other path (wildcards, escapes,
// queries, modifiers, pipes), which is read on its own.
func rootPath(path string) (root, rest string, ok bool) {
	root, rest, _ = strings.Cut(path, ".")
	if root == "" {
		return "", "", false
	}
	for _, c := range root {
		switch {
		case c == '_', c == '-', 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		default:
			return "", "", false
		}
	}
	return root, rest, true
}

// scanRoots finds, in one pass over the top level of a JSON object, the
// value of every variable whose path starts with a plain key, instead of
// one gjson lookup per variable from the start of the body (GitHub's push
// puts the large commits array before head_commit and repository). The
// results borrow the payload's memory: convert them with borrowed set.
// It reports false when the payload is not an object; then every
// variable is read on its own.
func (e *Extractor) scanRoots(payload []byte, found []gjson.Result) bool {
	if len(payload) == 0 {
		return false
	}
	doc := gjson.Parse(unsafe.String(unsafe.SliceData(payload), len(payload)))
	if !doc.IsObject() {
		return false
	}
	left := e.rootVars
	doc.ForEach(func(key, value gjson.Result) bool {
		for i, root := range e.roots {
			if root != "" && root == key.Str && found[i].Index == 0 && found[i].Raw == "" {
				found[i] = value
				left--
			}
		}
		return left > 0
	})
	for i, rest := range e.rests {
		if rest != "" && found[i].Exists() {
			found[i] = found[i].Get(rest)
		}
	}
	return true
}

// detach makes a result that borrows the payload's memory own its text,
// for the types whose values keep text from it.
func detach(r gjson.Result, t Type) gjson.Result {
	switch t {
	case JSON, Array:
		return gjson.Parse(strings.Clone(r.Raw))
	case String:
		if r.Type == gjson.String {
			r.Str = strings.Clone(r.Str)
		}
	}
	return r
}
