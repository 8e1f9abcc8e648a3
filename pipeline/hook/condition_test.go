package hook

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestCondition(t *testing.T) {
	vars := []Variable{{Name: "event", Path: "header:X-GitHub-Event"}, {Name: "size", Path: "size", Type: Int}}
	payload := []byte(`{"ref":"refs/heads/main","commits":[{"id":"abc","author":{"name":"Ada"}}],"a.b":1}`)
	req := Request{
		Vars:     map[string]any{"event": "push", "size": int64(3)},
		Header:   http.Header{"X-Github-Event": {"push"}},
		Query:    url.Values{"env": {"prod"}},
		Method:   "POST",
		Path:     "/hooks/github",
		RemoteIP: "192.0.2.1",
		Hook:     "deploy",
		Payload:  payload,
	}
	for src, want := range map[string]bool{
		`event == "push"`:                              true,
		`vars.event == "push" && size > 2`:             true,
		`size > 3`:                                     false,
		`headers["X-Github-Event"] == "push"`:          true,
		`query.env == "prod"`:                          true,
		`method == "POST" && path endsWith "github"`:   true,
		`remote_ip == "192.0.2.1" && hook == "deploy"`: true,
		`body("ref") == "refs/heads/main"`:             true,
		`body.ref == "refs/heads/main"`:                true,
		`body.commits[0].author.name == "Ada"`:         true,
		`body["a.b"] == 1`:                             true,
		`body.missing == nil`:                          true,
		`len(body.commits) == 1`:                       true,
	} {
		c, err := CompileCondition(src, vars)
		if err != nil {
			t.Errorf("%s: %v", src, err)
			continue
		}
		got, err := c.Eval(req)
		if err != nil || got != want {
			t.Errorf("%s = %v (%v), want %v", src, got, err, want)
		}
	}
}

func TestConditionUsesBody(t *testing.T) {
	for src, want := range map[string]bool{`method == "POST"`: false, `body.ref == "x"`: true, `body("x") == 1`: true} {
		c, err := CompileCondition(src, nil)
		if err != nil {
			t.Fatal(err)
		}
		if c.UsesBody() != want {
			t.Errorf("%s: UsesBody %v", src, !want)
		}
	}
}

func TestConditionCompileErrors(t *testing.T) {
	vars := []Variable{{Name: "size", Path: "size", Type: Int}}
	for src, want := range map[string]string{
		`size ==`:         "(1:7)",
		`size == "big"`:   "mismatched types",
		`method + 1`:      "invalid operation",
		`undefined_thing`: "unknown name",
		`"a string"`:      "bool",
	} {
		_, err := CompileCondition(src, vars)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want an error containing %q", src, err, want)
		}
	}
}
