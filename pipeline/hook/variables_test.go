package hook

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func ptr(s string) *string { return &s }

func TestExtractTypes(t *testing.T) {
	payload := []byte(`{"s":"text","n":42,"big":9007199254740993,"f":1.5,"b":true,"bs":"false","o":{"k":[1,2]},"nul":null,"ns":"17"}`)
	vars := []Variable{
		{Name: "s", Path: "s"},
		{Name: "n_as_string", Path: "n", Type: String},
		{Name: "n", Path: "n", Type: Int},
		{Name: "big", Path: "big", Type: Int},
		{Name: "ns", Path: "ns", Type: Int},
		{Name: "f", Path: "f", Type: Float},
		{Name: "b", Path: "b", Type: Bool},
		{Name: "bs", Path: "bs", Type: Bool},
		{Name: "o", Path: "o", Type: JSON},
		{Name: "first_k", Path: "o.k.0", Type: Int},
		{Name: "absent", Path: "nope", Default: ptr("main")},
		{Name: "nul", Path: "nul", Type: Int, Default: ptr("7")},
		{Name: "optional", Path: "nope", Type: Int},
		{Name: "ev", Path: "header:X-GitHub-Event"},
		{Name: "q", Path: "query:page", Type: Int},
	}
	e, err := NewExtractor(vars)
	if err != nil {
		t.Fatal(err)
	}
	header := http.Header{"X-Github-Event": {"push"}}
	got, errs := e.Extract(payload, header, url.Values{"page": {"3"}})
	if errs != nil {
		t.Fatalf("errors: %v", errs)
	}
	want := map[string]any{
		"s": "text", "n_as_string": "42", "n": int64(42), "big": int64(9007199254740993), "ns": int64(17),
		"f": 1.5, "b": true, "bs": false, "o": map[string]any{"k": []any{float64(1), float64(2)}},
		"first_k": int64(1), "absent": "main", "nul": int64(7), "optional": int64(0), "ev": "push", "q": int64(3),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %#v\nwant %#v", got, want)
	}
}

func TestExtractErrors(t *testing.T) {
	e, err := NewExtractor([]Variable{
		{Name: "ref", Path: "ref", Required: true},
		{Name: "n", Path: "n", Type: Int},
		{Name: "f", Path: "f", Type: Float},
		{Name: "b", Path: "b", Type: Bool},
		{Name: "obj", Path: "obj"},
		{Name: "h", Path: "header:X-Count", Type: Int, Required: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, errs := e.Extract([]byte(`{"n":1.5,"f":"x","b":3,"obj":{}}`), http.Header{}, nil)
	want := []VariableError{
		{Name: "ref", Reason: "missing"}, {Name: "n", Reason: "not int"}, {Name: "f", Reason: "not float"},
		{Name: "b", Reason: "not bool"}, {Name: "obj", Reason: "not string"}, {Name: "h", Reason: "missing"},
	}
	if !reflect.DeepEqual(errs, want) {
		t.Errorf("got %v, want %v", errs, want)
	}
}

func TestNewExtractorRejects(t *testing.T) {
	for _, c := range []struct {
		v    []Variable
		want string
	}{
		{[]Variable{{Name: "1x", Path: "a"}}, "name"},
		{[]Variable{{Name: "a-b", Path: "a"}}, "name"},
		{[]Variable{{Name: "a", Path: "a"}, {Name: "a", Path: "b"}}, "twice"},
		{[]Variable{{Name: "a", Path: "a", Type: "date"}}, "unknown type"},
		{[]Variable{{Name: "a", Path: "a..b"}}, "empty component"},
		{[]Variable{{Name: "a", Path: "header:"}}, "header name"},
		{[]Variable{{Name: "a", Path: "query:"}}, "parameter name"},
		{[]Variable{{Name: "a", Path: "a", Type: Int, Default: ptr("x")}}, "default"},
		{[]Variable{{Name: "headers", Path: "a"}}, "reserved"},
		{[]Variable{{Name: "len", Path: "a"}}, "reserved"},
	} {
		_, err := NewExtractor(c.v)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: got %v, want an error about %q", c.v, err, c.want)
		}
	}
}

func TestCheckPath(t *testing.T) {
	for _, ok := range []string{"ref", "head_commit.id", "commits.0.id", "commits.#", `commits.#(id=="x").message`,
		"a\\.b", "friends.#(last=\"Murphy\")#.first", "@reverse", "[a,b]", "{a,b}", "a|b", "repository.owner.login"} {
		if err := CheckPath(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", ".a", "a.", "a..b", "a.#(b==1", "a)", "[a", `a.#(b=="x).c`, "a\\", "a||b", `"a"`} {
		if err := CheckPath(bad); err == nil {
			t.Errorf("%q: accepted", bad)
		}
	}
}

func TestPayload(t *testing.T) {
	if got := string(Payload("application/json", []byte(`{"a":1}`))); got != `{"a":1}` {
		t.Errorf("json: %s", got)
	}
	form := "payload=" + url.QueryEscape(`{"ref":"main"}`)
	if got := string(Payload("application/x-www-form-urlencoded", []byte(form))); got != `{"ref":"main"}` {
		t.Errorf("form payload: %s", got)
	}
	if got := string(Payload("application/x-www-form-urlencoded; charset=utf-8", []byte("command=%2Fdeploy&text=now"))); got != `{"command":"/deploy","text":"now"}` {
		t.Errorf("form fields: %s", got)
	}
}

// BenchmarkExtractGitHubPush extracts three variables from the 8.8 KB
// GitHub push payload, with gjson on the raw bytes.
func BenchmarkExtractGitHubPush(b *testing.B) {
	payload, err := os.ReadFile(filepath.Join("..", "..", "..", "shared", "testdata", "payloads", "github-push.json"))
	if err != nil {
		b.Fatal(err)
	}
	e, err := NewExtractor([]Variable{
		{Name: "ref", Path: "ref", Required: true},
		{Name: "commit_hash", Path: "after"},
		{Name: "repo", Path: "repository.full_name"},
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		if _, errs := e.Extract(payload, nil, nil); errs != nil {
			b.Fatal(errs)
		}
	}
}

func FuzzExtract(f *testing.F) {
	f.Add([]byte(`{"ref":"refs/heads/main","n":1,"o":{"a":[1,2]}}`), "ref")
	f.Add([]byte(`{"n":"x"}`), "n")
	f.Add([]byte(`not json`), "a.b")
	f.Add([]byte(`{"a":{"b":[{"c":true}]}}`), `a.b.#(c==true).c`)
	f.Fuzz(func(t *testing.T, payload []byte, path string) {
		if CheckPath(path) != nil {
			return
		}
		for _, typ := range []Type{String, Int, Float, Bool, JSON} {
			e, err := NewExtractor([]Variable{{Name: "v", Path: path, Type: typ}})
			if err != nil {
				t.Fatalf("a checked path was refused: %v", err)
			}
			vals, errs := e.Extract(payload, nil, nil)
			if errs == nil && len(vals) != 1 {
				t.Fatalf("no error and %d values", len(vals))
			}
		}
	})
}
