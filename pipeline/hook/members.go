package hook

import (
	"github.com/tidwall/gjson"
)

// maxMembers is how many top-level members of a body members notes. Hook
// bodies have a few dozen at most (GitHub's push: 13, GitLab's: 19).
const maxMembers = 32

// members are where the members of a body's top-level object are, as
// checkJSON found them while checking the body, so that a variable such
// as head_commit.id goes straight to head_commit's value instead of gjson
// searching for it through the whole body a second time. complete is false
// when the notes cannot stand in for gjson's search: the body is not an
// object of at most maxMembers members, or one of its keys has an escape.
type members struct {
	n        int
	complete bool
	at       [maxMembers]member
}

// member is where one member is in the body: the key between its quotes
// at [key, keyEnd), and its value at [start, end).
type member struct {
	key, keyEnd, start, end int32
}

// add notes a member.
func (t *members) add(m member) {
	if t.n == maxMembers {
		t.complete = false
		return
	}
	t.at[t.n] = m
	t.n++
}

// notedPath is a gjson path split as the notes read it: name is its first
// component, and rest what follows the first dot. The notes can answer
// only when plain is set: the name has only letters, digits, _ and -, and
// the rest no gjson syntax but components and #.
type notedPath struct {
	path, name, rest string
	plain            bool
}

// splitPath splits a path for the notes, once per variable.
func splitPath(path string) notedPath {
	p := notedPath{path: path, name: path}
	for i := 0; i < len(path); i++ {
		c := path[i]
		if c == '.' {
			p.name, p.rest = path[:i], path[i+1:]
			break
		}
		if !nameByte(c) {
			return p
		}
	}
	p.plain = p.name != "" && (len(p.name) == len(path) || plainRest(p.rest))
	return p
}

// get is gjson.Get(body, p.path) for the body t was noted from, found
// through the notes where that gives the same result: p is plain, and its
// name is the key of exactly one member. The second result is false when
// the notes cannot answer, and gjson must search.
func (t *members) get(body string, p notedPath) (gjson.Result, bool) {
	if !p.plain || !t.complete || t.n == 0 {
		return gjson.Result{}, false
	}
	name, rest := p.name, p.rest
	found := -1
	for i := range t.n {
		m := &t.at[i]
		if int(m.keyEnd-m.key) != len(name) || body[m.key] != name[0] || body[m.key:m.keyEnd] != name {
			continue // most keys differ in length or first byte: no call to compare them
		}
		if found >= 0 {
			return gjson.Result{}, false // gjson would try each in turn
		}
		found = i
	}
	if found < 0 {
		return gjson.Result{}, true // no such member: nothing to find
	}
	start := int(t.at[found].start)
	value := body[start:t.at[found].end]
	if rest == "" {
		res := gjson.Parse(value)
		res.Index = start
		return res, true
	}
	res := gjson.Get(value, rest)
	if res.Index > 0 { // where gjson tells it, in the body
		res.Index += start
	}
	return res, true
}

// plainRest reports whether the rest of a path, after its first
// component, is components of name bytes and # only, none empty.
func plainRest(rest string) bool {
	prev := byte('.')
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		if c == '.' && prev == '.' || c != '.' && c != '#' && !nameByte(c) {
			return false
		}
		prev = c
	}
	return prev != '.'
}

// nameByte reports whether c may be in a plain member name of a path.
func nameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}
