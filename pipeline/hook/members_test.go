package hook

import (
	"testing"

	"github.com/tidwall/gjson"
)

// sameResult fails t unless got is what gjson.GetBytes found.
func sameResult(t *testing.T, payload []byte, path string, got gjson.Result) {
	t.Helper()
	want := gjson.GetBytes(payload, path)
	if got.Type != want.Type || got.Raw != want.Raw || got.Str != want.Str || got.Num != want.Num || got.Exists() != want.Exists() {
		t.Fatalf("%q in %.60q: got %s %q, gjson finds %s %q", path, payload, got.Type, got.Raw, want.Type, want.Raw)
	}
}

// TestMembersGet: on every real payload, a lookup through the notes of
// checkJSON finds what gjson finds, for every top-level member, every
// member of those, array counts and queries, and names that are absent.
func TestMembersGet(t *testing.T) {
	answered := 0
	for _, f := range providerPayloads(t) {
		payload := f.body
		r := &Request{Payload: payload}
		if err := checkJSON(r.Payload, &r.top); err != nil {
			t.Fatalf("%s: %v", f.name, err)
		}
		paths := []string{"nope", "nope.x", "@this", "a..b", "ref.", "*", "0"}
		gjson.ParseBytes(payload).ForEach(func(k, v gjson.Result) bool {
			paths = append(paths, k.Str, k.Str+".#", k.Str+".0", k.Str+".#.id", k.Str+".nope", k.Str+"|@reverse")
			v.ForEach(func(k2, _ gjson.Result) bool {
				paths = append(paths, k.Str+"."+k2.Str)
				return true
			})
			return true
		})
		for _, p := range paths {
			if _, ok := r.top.get(string(payload), splitPath(p)); ok {
				answered++
			}
			sameResult(t, payload, p, r.get(p))
		}
	}
	if answered == 0 {
		t.Fatal("the notes never answered")
	}
}

// TestMembersFallBack: where the notes could differ from gjson (a key
// twice, an escaped key, too many members, not an object), gjson answers.
func TestMembersFallBack(t *testing.T) {
	many := `{`
	for i := range maxMembers + 1 {
		many += `"k` + string(rune('a'+i%26)) + string(rune('a'+i/26)) + `":1,`
	}
	many += `"last":{"x":2}}`
	for _, c := range []struct{ body, path string }{
		{`{"a":{"b":1},"a":{"c":2}}`, "a.c"}, {`{"a":1,"a":2}`, "a"},
		{`{"\u0061":1,"a":2}`, "a"}, {many, "last.x"}, {`[{"a":1}]`, "0.a"}, {`"a"`, "a"},
	} {
		r := &Request{Payload: []byte(c.body)}
		if err := checkJSON(r.Payload, &r.top); err != nil {
			t.Fatal(err)
		}
		if _, ok := r.top.get(string(r.Payload), splitPath(c.path)); ok {
			t.Errorf("%s in %.40s: the notes answered", c.path, c.body)
		}
		sameResult(t, r.Payload, c.path, r.get(c.path))
	}
}

// FuzzMembersGet: for any valid body and any path, the lookup through
// the notes finds what gjson finds.
func FuzzMembersGet(f *testing.F) {
	f.Add([]byte(`{"ref":"refs/heads/main","n":1.5,"o":{"a":[1,{"id":2}]}}`), "o.a.#.id")
	f.Add([]byte(`{"a":{"b":1},"a":{"c":2}}`), "a.c")
	f.Add([]byte(`{"a" : "x\"y" , "b":[true,null]}`), "b.1")
	f.Fuzz(func(t *testing.T, payload []byte, path string) {
		r := &Request{Payload: payload}
		if checkJSON(r.Payload, &r.top) != nil {
			return
		}
		sameResult(t, payload, path, r.get(path))
	})
}
