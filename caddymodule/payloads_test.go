package caddymodule

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddytest"
	"github.com/tidwall/gjson"

	"github.com/hookgate/hookgate/caddymodule/internal/hooktest"
	"github.com/hookgate/hookgate/pipeline/signature"
)

// payloadProvider is the sender of payload files named prefix*.
type payloadProvider struct{ prefix, preset, repoPath string }

// payloadProviders maps each real payload of the shared testdata to the
// preset of its sender and a path every payload of that sender has.
var payloadProviders = []payloadProvider{
	{"adnanh-github", "github", "repository.name"},
	{"adnanh-gitlab", "gitlab", "repository.name"},
	{"github", "github", "repository.full_name"},
	{"gitlab", "gitlab", "project.path_with_namespace"},
	{"gitea", "gitea", "repository.full_name"},
	{"bitbucket-cloud", "bitbucket-cloud", "repository.full_name"},
	{"bitbucket-server", "bitbucket-server", "repository.slug"},
	{"dockerhub", "dockerhub", "repository.repo_name"},
}

// TestRealPayloadsThroughCaddy sends every provider payload of the shared
// testdata, signed as its provider signs, through a real Caddy to a real
// upstream: the upstream gets the exact bytes and the variable extracted
// from them, and the same payload with a wrong secret is refused.
func TestRealPayloadsThroughCaddy(t *testing.T) {
	const secret = "s3cr3t-for-tests"
	up := newUpstream(t)
	var sites strings.Builder
	for _, p := range payloadProviders {
		fmt.Fprintf(&sites, `
	handle /%[1]s {
		hookgate %[1]s {
			signature %[2]s
			secret %[3]s
			var repo %[4]s string required
		}
		reverse_proxy %[5]s {
			header_up X-Repo {hookgate.vars.repo}
		}
	}`, p.prefix, p.preset, secret, p.repoPath, up.hostPort())
	}
	tester := caddytest.NewTester(t)
	tester.InitServer(globalOptions+"http://localhost:9080 {"+sites.String()+"\n}\n", "caddyfile")

	files, _ := filepath.Glob(filepath.Join(hooktest.SharedTestdata, "payloads", "*.json"))
	if len(files) < 14 {
		t.Fatalf("found %d payloads in the shared testdata, want at least 14", len(files))
	}
	for _, file := range files {
		name := filepath.Base(file)
		t.Run(name, func(t *testing.T) {
			i := slices.IndexFunc(payloadProviders, func(p payloadProvider) bool { return strings.HasPrefix(name, p.prefix) })
			if i < 0 {
				t.Fatalf("no provider known for %s", name)
			}
			preset, repoPath := payloadProviders[i].preset, payloadProviders[i].repoPath
			body, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			target := "http://localhost:9080/" + payloadProviders[i].prefix
			send := func(secret string) (int, string) {
				header := map[string]string{"Content-Type": "application/json"}
				u := target
				if preset == "dockerhub" {
					u += "?token=" + url.QueryEscape(secret)
				} else {
					signed, err := signature.Sign(signature.Config{Preset: preset, Secrets: []string{secret}},
						&signature.Request{Method: http.MethodPost, URL: u, Body: body}, time.Now())
					if err != nil {
						t.Fatal(err)
					}
					for k := range signed {
						header[k] = signed.Get(k)
					}
				}
				status, _, answer := hooktest.Post(t, tester.Client, "POST", u, body, header)
				return status, answer
			}
			before := up.count()
			if status, answer := send(secret); status != 200 || answer != "upstream" {
				t.Fatalf("signed payload answered %d %q", status, answer)
			}
			got := up.last(t)
			if string(got.body) != string(body) {
				t.Error("the upstream did not get the exact bytes")
			}
			if want := gjson.GetBytes(body, repoPath).String(); want == "" || got.header.Get("X-Repo") != want {
				t.Errorf("X-Repo %q, want %q", got.header.Get("X-Repo"), want)
			}
			if status, _ := send("wrong-secret"); status != 401 {
				t.Errorf("wrong secret answered %d", status)
			}
			if up.count() != before+1 {
				t.Errorf("the upstream got %d requests, want 1", up.count()-before)
			}
		})
	}
}

// TestFormPayloadAndGuardedSibling covers a GitHub hook sent as a form
// (application/x-www-form-urlencoded, JSON in the payload field, signature
// over the raw form) and a sibling handle block that must not answer a
// request before hookgate verified it.
func TestFormPayloadAndGuardedSibling(t *testing.T) {
	tester := caddytest.NewTester(t)
	tester.InitServer(globalOptions+`
http://localhost:9080 {
	hookgate /guarded* {
		signature github
		secret "`+githubSecret+`"
		var ref ref string required
	}
	handle /guarded* {
		respond "the guarded content for {hookgate.vars.ref}" 200
	}
}
`, "caddyfile")
	form := []byte("payload=" + url.QueryEscape(string(hooktest.Payload(t, "github-push.json"))))
	header := map[string]string{
		"Content-Type":        "application/x-www-form-urlencoded",
		"X-Hub-Signature-256": hooktest.GitHubSignature(githubSecret, form),
	}
	status, _, body := hooktest.Post(t, tester.Client, "POST", "http://localhost:9080/guarded", form, header)
	if status != 200 || body != "the guarded content for refs/heads/master" {
		t.Errorf("signed form: %d %q", status, body)
	}
	status, _, body = hooktest.Post(t, tester.Client, "POST", "http://localhost:9080/guarded", form, map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	if status != 401 || strings.Contains(body, "guarded content") {
		t.Errorf("unsigned request reached the sibling: %d %q", status, body)
	}
}
