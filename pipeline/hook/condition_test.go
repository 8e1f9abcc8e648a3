package hook

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestCondition(t *testing.T) {
	vars := []Variable{{Name: "event", Path: "header:X-GitHub-Event"}, {Name: "size", Path: "size", Type: Int, Required: true},
		{Name: "type", Path: "type"}, {Name: "len", Path: "len", Type: Int}, {Name: "meta", Path: "meta", Type: JSON},
		{Name: "tags", Path: "tags", Type: Array}, {Name: "opt", Path: "opt", Type: Int}}
	payload := []byte(`{"ref":"refs/heads/main","commits":[{"id":"abc","author":{"name":"Ada"}}],"a.b":1}`)
	req := Request{
		Vars: map[string]any{"event": "push", "size": int64(3), "type": "charge.succeeded", "len": int64(2),
			"meta": map[string]any{"b": "y", "big": json.Number("12345678901234567890")}, "tags": []any{"a", "b"}, "opt": nil},
		Header:   http.Header{"X-Github-Event": {"push"}},
		Query:    url.Values{"env": {"prod"}},
		Method:   "POST",
		Path:     "/hooks/github",
		RemoteIP: "192.0.2.1",
		Hook:     "deploy",
		Payload:  payload,
	}
	for src, want := range map[string]bool{
		`event == "push"`:                                  true,
		`vars.event == "push" && size > 2`:                 true,
		`size > 3`:                                         false,
		`headers["X-Github-Event"] == "push"`:              true,
		`query.env == "prod"`:                              true,
		`method == "POST" && path endsWith "github"`:       true,
		`remote_ip == "192.0.2.1" && hook == "deploy"`:     true,
		`body("ref") == "refs/heads/main"`:                 true,
		`body.ref == "refs/heads/main"`:                    true,
		`body.commits[0].author.name == "Ada"`:             true,
		`body["a.b"] == 1`:                                 true,
		`body.missing == nil`:                              true,
		`len(body.commits) == 1`:                           true,
		`vars.type == "charge.succeeded" && vars.len == 2`: true,
		`meta.b == "y" && vars.meta.b == "y"`:              true,
		`meta.big == vars.meta.big`:                        true,
		`tags[0] == "a" && len(tags) == 2`:                 true,
		`in_cidr(remote_ip, "10.0.0.0/8", "192.0.2.0/24")`: true,
		`in_cidr(remote_ip, "10.0.0.0/8")`:                 false,
		`in_cidr("::ffff:192.0.2.9", "192.0.2.0/24")`:      true,
		`in_cidr("not an ip", "192.0.2.0/24")`:             false,
		`opt == nil && vars.opt == nil`:                    true,
	} {
		c, err := CompileCondition(src, vars)
		if err != nil {
			t.Errorf("%s: %v", src, err)
			continue
		}
		got, err := c.Eval(&req)
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

func TestConditionUsesRemoteIP(t *testing.T) {
	vars := []Variable{{Name: "ip", Path: "request:remote_ip"}}
	for src, want := range map[string]bool{
		`method == "POST"`:                 false,
		`in_cidr(remote_ip, "10.0.0.0/8")`: true,
		`remote_ip == "::1"`:               true,
		`vars.ip == "::1"`:                 false, // the extractor reads it: see NeedsRemoteIP
	} {
		c, err := CompileCondition(src, vars)
		if err != nil {
			t.Fatal(err)
		}
		if c.UsesRemoteIP() != want {
			t.Errorf("%s: UsesRemoteIP %v", src, !want)
		}
	}
}

func TestConditionCompileErrors(t *testing.T) {
	vars := []Variable{{Name: "size", Path: "size", Type: Int, Required: true}}
	for src, want := range map[string]string{
		`size ==`:                           "(1:7)",
		`size == "big"`:                     "mismatched types",
		`method + 1`:                        "invalid operation",
		`undefined_thing`:                   "unknown name",
		`"a string"`:                        "bool",
		`in_cidr(remote_ip, "10.0.0.0/33")`: "10.0.0.0/33",
		`in_cidr(remote_ip, "nope")`:        "not a range",
		`type == "x"`:                       "",
	} {
		_, err := CompileCondition(src, vars)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want an error containing %q", src, err, want)
		}
	}
}
