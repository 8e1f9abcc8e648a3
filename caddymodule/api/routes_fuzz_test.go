package api

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// apiServer is a real Caddy, loaded in this process with the admin
// endpoint off and its HTTP server on a free port, serving hookgate_api
// at /: requests go straight into its caddyhttp.Server, so a panic in any
// handler reaches the test (net/http would only log it).
type apiServer struct {
	srv *caddyhttp.Server
	// ids are objects created at start: "{webhook}", "{hook}",
	// "{action}" and "{delivery}" in a path are replaced with them.
	ids *strings.Replacer
}

// startAPIServer loads the config. It binds no fixed port, so it needs
// no port lock and runs in every fuzz worker.
func startAPIServer(tb testing.TB) *apiServer {
	tb.Helper()
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	tb.Cleanup(receiver.Close)
	config := fmt.Sprintf(`{
		"admin": {"disabled": true, "config": {"persist": false}},
		"apps": {
			"hookgate": {
				"storage": {"driver": "sqlite", "path": %q},
				"allow_targets": ["127.0.0.0/8"],
				"pipelines": [{"name": "deploy", "steps": [{"name": "ok", "exec": {"argv": ["/bin/echo", "{vars.ref}"]}}]}]
			},
			"http": {"servers": {"api": {
				"listen": ["127.0.0.1:0"],
				"routes": [{"handle": [{"handler": "hookgate_api", "tokens": [{"access": "write", "value": %q}]}]}],
				"automatic_https": {"disable": true}
			}}}
		}
	}`, tb.TempDir()+"/hookgate.db", writeToken)
	if err := caddy.Load([]byte(config), true); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		// Leave what caddytest expects (the tests of this package hold
		// the port lock), except in fuzz workers, which run side by side.
		after := `{"admin":{"listen":"localhost:2999","config":{"persist":false}}}`
		if f := flag.Lookup("test.fuzz"); f != nil && f.Value.String() != "" {
			after = `{"admin":{"disabled":true,"config":{"persist":false}}}`
		}
		_ = caddy.Load([]byte(after), true)
	})
	app, err := caddy.ActiveContext().App("http")
	if err != nil {
		tb.Fatal(err)
	}
	s := &apiServer{srv: app.(*caddyhttp.App).Servers["api"]}

	var webhook, hook, run struct {
		ID       string `json:"id"`
		ActionID string `json:"action_id"`
	}
	for _, c := range []struct {
		path, body string
		out        any
	}{
		{"/webhooks", `{"name": "w", "url": "` + receiver.URL + `/w"}`, &webhook},
		{"/pipelines/deploy/hooks/incoming", `{"name": "h", "settings": {"variables": [{"name": "ref", "path": "ref"}]}}`, &hook},
		{"/pipelines/deploy/run", `{"variables": {"ref": "main"}}`, &run},
	} {
		status, answer := s.do("POST", c.path, c.body)
		if status >= 300 || json.Unmarshal([]byte(answer), c.out) != nil {
			tb.Fatalf("POST %s: %d %s", c.path, status, answer)
		}
	}
	s.ids = strings.NewReplacer("{webhook}", webhook.ID, "{hook}", hook.ID, "{action}", run.ActionID, "{delivery}", "dlv_0")
	return s
}

// do serves one request with the write token; target is a path with
// its query. It answers the status and the body.
func (s *apiServer) do(method, target, body string) (int, string) {
	r := httptest.NewRequest(method, "http://127.0.0.1"+target, strings.NewReader(body))
	r.Header.Set("Authorization", "Bearer "+writeToken)
	w := httptest.NewRecorder()
	s.srv.ServeHTTP(w, r)
	return w.Code, w.Body.String()
}

// apiRoutes are a request to every route of the API, with their ids
// to be replaced.
var apiRoutes = []string{
	"GET /pipelines", "POST /pipelines/deploy/run", "POST /pipelines/deploy/hooks/incoming",
	"GET /pipelines/deploy/hooks", "GET /hooks/{hook}", "PATCH /hooks/{hook}", "DELETE /hooks/{hook}",
	"GET /actions", "GET /actions/{action}", "POST /actions/{action}/cancel",
	"POST /webhooks", "GET /webhooks", "GET /webhooks/{webhook}", "PATCH /webhooks/{webhook}",
	"DELETE /webhooks/{webhook}", "POST /webhooks/{webhook}/test", "POST /webhooks/{webhook}/restart",
	"POST /webhooks/{webhook}/rotate-secret", "GET /webhooks/{webhook}/deliveries",
	"POST /webhooks/{webhook}/deliveries/{delivery}/retry",
}

// FuzzAPIRoutes sends any method, path and query string to every route
// of a running API: whatever the input, the answer is JSON with a status
// below 500 (503 aside, the storage's own answer), never a panic. The
// seeds are every route with the query strings that once broke it.
func FuzzAPIRoutes(f *testing.F) {
	queries := []string{"", "page=9223372036854775807&pageSize=100", "page=-1", "pageSize=0", "page=2&pageSize=1",
		"status=failed", "state=INTEGRATION_FAILED", "pipeline=%00", "page=1e3", "page=%ff", "pageSize=99999999999999999999"}
	for i, route := range apiRoutes {
		method, path, _ := strings.Cut(route, " ")
		f.Add(method, path, queries[i%len(queries)], `{}`)
	}
	for _, q := range queries {
		f.Add("GET", "/webhooks", q, ``)
		f.Add("GET", "/actions", q, ``)
	}
	f.Add("GET", "/pipelines/deploy/hooks/../../webhooks", "", ``)
	f.Add("PUT", "/webhooks/%2e%2e", "x=%zz", `[`)
	s := startAPIServer(f)
	f.Fuzz(func(t *testing.T, method, path, query, body string) {
		target := s.ids.Replace(path)
		if query != "" {
			target += "?" + query
		}
		if !validRequestLine(method, target) {
			return
		}
		status, answer := s.do(method, target, body)
		if status >= 500 && status != http.StatusServiceUnavailable {
			t.Fatalf("%s %s: %d %s", method, target, status, answer)
		}
		if !json.Valid([]byte(answer)) && status != http.StatusNoContent {
			t.Fatalf("%s %s: %d, answer not JSON: %q", method, target, status, answer)
		}
	})
}

// validRequestLine tells whether a request line could come off the wire
// (httptest.NewRequest panics on others).
func validRequestLine(method, target string) bool {
	if method == "" || strings.ContainsAny(method, " \t\r\n/") || !strings.HasPrefix(target, "/") ||
		strings.ContainsAny(target, " \t\r\n\x00#") {
		return false
	}
	_, err := http.ReadRequest(bufio.NewReader(strings.NewReader(method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")))
	return err == nil
}

// TestAPIOverflowingPage sends the page number that once panicked in
// pageOf to every list route: each answers 400 invalid_page.
func TestAPIOverflowingPage(t *testing.T) {
	s := startAPIServer(t)
	for _, path := range []string{"/webhooks", "/pipelines", "/pipelines/deploy/hooks", "/actions", "/webhooks/{webhook}/deliveries"} {
		target := s.ids.Replace(path) + "?page=9223372036854775807&pageSize=100"
		status, answer := s.do("GET", target, "")
		var e apiErrorJSON
		if json.Unmarshal([]byte(answer), &e) != nil || status != http.StatusBadRequest || e.Error != "invalid_page" {
			t.Errorf("GET %s: %d %s, want 400 invalid_page", target, status, bytes.TrimSpace([]byte(answer)))
		}
	}
}
