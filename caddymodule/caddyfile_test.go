package caddymodule

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

func TestUnmarshalCaddyfileErrors(t *testing.T) {
	for _, c := range []struct {
		input string
		line  int
		want  string
	}{
		{"hookgate {\n signature nosuch\n secret s\n}", 2, `unknown signature preset "nosuch"`},
		{"hookgate {\n signature github\n}", 1, "signature github needs a secret"},
		{"hookgate {\n var a b\n}", 1, "no signature configured"},
		{"hookgate {\n insecure_no_signature\n var ref a..b\n}", 3, `variable "ref": gjson path "a..b": empty component`},
		{"hookgate {\n insecure_no_signature\n var n a int default x\n}", 3, `variable "n": default "x" is not int`},
		{"hookgate {\n insecure_no_signature\n var n a date\n}", 3, `var n: unexpected "date"`},
		{"hookgate {\n insecure_no_signature\n var n\n}", 3, "var: want <name> <path>"},
		{"hookgate {\n insecure_no_signature\n var a \"\"\n}", 3, "var a: empty path; a variable without a path is written const"},
		{"hookgate {\n insecure_no_signature\n var a body:json\n}", 3, `variable "a": unknown source "body:json"`},
		{"hookgate {\n insecure_no_signature\n var a request:host\n}", 3, `variable "a": unknown source "request:host"`},
		{"hookgate {\n insecure_no_signature\n const a\n}", 3, "const: want <name> <value>"},
		{"hookgate {\n insecure_no_signature\n const a 1 date\n}", 3, `const a: unknown type "date"`},
		{"hookgate {\n insecure_no_signature\n const a x int\n}", 3, `variable "a": default "x" is not int`},
		{"hookgate {\n insecure_no_signature\n skip_status 99\n}", 3, `skip_status "99": want a status code from 200 to 599`},
		{"hookgate {\n insecure_no_signature\n skip_status ok\n}", 3, `skip_status "ok"`},
		{"hookgate {\n insecure_no_signature\n wait all\n}", 3, `wait "all": want wait, or wait output`},
		{"hookgate {\n insecure_no_signature\n when `in_cidr(remote_ip, \"10.0.0.0/40\")`\n}", 3, `in_cidr: "10.0.0.0/40" is not a range`},
		{"hookgate {\n insecure_no_signature\n var a a\n var a b\n}", 1, `variable "a": declared twice`},
		{"hookgate {\n insecure_no_signature\n\n when `vars.a ==`\n}", 4, "condition unexpected token EOF (1:9)"},
		{"hookgate {\n insecure_no_signature\n var n a int required\n when `n == \"x\"`\n}", 4, "condition invalid operation: == (mismatched types int64 and string)"},
		{"hookgate {\n signature hmac sha384 X-Sig\n secret s\n}", 2, `signature hmac: unknown algorithm "sha384"`},
		{"hookgate {\n signature hmac sha256\n secret s\n}", 2, "signature hmac: want"},
		{"hookgate {\n signature hmac sha256 X-Sig hex prefix\n secret s\n}", 2, `signature hmac: unexpected "prefix"`},
		{"hookgate {\n signature hmac sha256 X-Sig base32\n secret s\n}", 2, `signature hmac: unknown encoding "base32"`},
		{"hookgate {\n insecure_no_signature\n tolerance soon\n}", 3, `tolerance "soon"`},
		{"hookgate {\n insecure_no_signature\n max_body lots\n}", 3, `max_body "lots"`},
		{"hookgate {\n insecure_no_signature\n public_url ftp://x\n}", 3, `public_url "ftp://x"`},
		{"hookgate {\n insecure_no_signature\n methods\n}", 3, "wrong argument count"},
		{"hookgate {\n insecure_no_signature\n wait\n}", 1, "wait and dedup need a pipeline"},
		{"hookgate {\n insecure_no_signature\n relay\n wait\n}", 1, "wait and dedup need a pipeline"},
		{"hookgate {\n insecure_no_signature\n dedup X-Id\n}", 1, "dedup needs a pipeline or relay"},
		{"hookgate {\n insecure_no_signature\n frobnicate\n}", 3, `unknown hookgate option "frobnicate"`},
		{"hookgate {\n insecure_no_signature extra\n}", 2, "wrong argument count"},
		{"hookgate a b {\n insecure_no_signature\n}", 1, "wrong argument count"},
		{"hookgate dynamic {\n signature github\n}", 2, `hookgate dynamic takes no option but read_timeout ("signature")`},
		{"hookgate dynamic extra", 1, "wrong argument count"},
	} {
		err := new(Handler).UnmarshalCaddyfile(caddyfile.NewTestDispenser(c.input))
		at := fmt.Sprintf(", at Testfile:%d", c.line)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), at) {
			t.Errorf("%q:\n got %v\nwant %s...%s", c.input, err, c.want, at)
		}
	}
}

func TestUnmarshalCaddyfile(t *testing.T) {
	h := new(Handler)
	err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(`hookgate deploy {
		signature hmac sha256 X-Signature hex prefix sha256=
		secret a b
		secret c
		var ref ref string required default main
	}`))
	if err != nil {
		t.Fatal(err)
	}
	if h.Name != "deploy" || h.Signature.Header != "X-Signature" || h.Signature.Prefix != "sha256=" ||
		h.Signature.Encoding != "hex" || len(h.Secrets) != 3 || !h.Vars[0].Required || *h.Vars[0].Default != "main" {
		t.Errorf("parsed %+v", h)
	}
}

// TestAdaptFailsOnBadConfig runs the whole adapter, as `caddy adapt` and
// `caddy validate` do, and checks the error names the file's line.
func TestAdaptFailsOnBadConfig(t *testing.T) {
	_, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(":8080 {\n\thookgate {\n\t\tsignature github\n\t\tsecret s\n\t\tvar a b string required\n\t\twhen `a > 1`\n\t}\n}\n"), nil)
	if err == nil || !strings.Contains(err.Error(), "Caddyfile:6") || !strings.Contains(err.Error(), "mismatched types") {
		t.Fatalf("got %v", err)
	}
}

func TestGlobalOption(t *testing.T) {
	for input, want := range map[string]string{
		"frobnicate":                                           `unknown hookgate option "frobnicate"`,
		"storage mysql x":                                      "storage: want sqlite [<path>] or postgres <dsn>",
		"retention forever":                                    `retention "forever": want a positive duration`,
		"pipeline p {\n}":                                      "pipeline p: no steps",
		"pipeline p {\nconcurrency 0\n}":                       `concurrency "0": want a positive integer`,
		"pipeline p {\nstep s ssh host\n}":                     `step s: unknown kind "ssh"`,
		"pipeline p {\nstep s http GET\n}":                     "step s: want http <method> <url>",
		"pipeline p {\nstep s exec x {\nheader a b\n}\n}":      `step s: unknown option "header"`,
		"pipeline p {\nstep s exec x {\nwhen `vars.a +`\n}\n}": `pipeline "p": step "s"`,
		"pipeline bad.name {\nstep s exec x\n}":                `pipeline "bad.name": invalid name`,
		"webhook w {\n}":                                       "webhook w: no url",
		"webhook w {\nurl ftp://x/y\n}":                        `webhook "w"`,
		"webhook w {\nurl https://x\nevents action.done\n}":    "action.done",
		"webhook w {\nurl https://x\nwhen `action.+`\n}":       `webhook "w"`,
		"webhook w {\nurl https://x\nretries 3\n}":             `webhook w: unknown option "retries"`,
		"webhook w {\nurl https://x\npipelines\n}":             "wrong argument count",
		"webhook w {\nurl https://x\ndefault yes\n}":           "wrong argument count",
		"webhook w {\nurl https://x\npipelines a\ndefault\n}":  "either scoped to pipelines or the default one",
		"webhook w {\nurl https://x\npayload json\n}":          `payload "json": want raw`,
		"webhook w {\nurl https://x\nrecover 0s\n}":            `recover "0s": want a positive duration`,
		"webhook w {\nurl https://x\nforward_headers\n}":       "wrong argument count",
		"webhook w {\nurl https://x\npayload raw\nbody `1`\n}": "body: a raw payload is sent instead of the body",
		"allow_targets 10.0.0.0/33":                            `allow_targets "10.0.0.0/33"`,
		"public_url hooks.example.com":                         `public_url "hooks.example.com": want an http:// or https:// URL`,
		"public_url https://a https://b":                       "wrong argument count",
		"allow_targets":                                        "wrong argument count",
		"delivery {\nretry_schedule 5s soon\n}":                `retry_schedule "soon"`,
		"delivery {\nfail_after 0\n}":                          `fail_after "0": want a positive integer`,
		"request_log -1":                                       `request_log "-1": want a number of requests, or 0 for none`,
		"request_log":                                          `request_log "": want a number`,
	} {
		_, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte("{\n\thookgate {\n"+input+"\n\t}\n}\n:8080\n"), nil)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want %q", input, err, want)
		}
	}
}

// A webhook scoped to a pipeline the app does not define fails the config
// load, as `caddy validate` runs it, naming both.
func TestValidateUnknownScope(t *testing.T) {
	t.Setenv("XDG_DATA_HOME", t.TempDir())
	cfg, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte("{\n\thookgate {\n\t\tpipeline deploy {\n\t\t\tstep s exec true\n\t\t}\n"+
		"\t\twebhook w {\n\t\t\turl https://x.example\n\t\t\tpipelines deploy build\n\t\t}\n\t}\n}\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	var c caddy.Config
	if err := json.Unmarshal(cfg, &c); err != nil {
		t.Fatal(err)
	}
	err = caddy.Validate(&c)
	if err == nil || !strings.Contains(err.Error(), `webhook "w": pipelines: "build" is not defined`) {
		t.Fatalf("got %v", err)
	}
}
