package api

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/hookgate/hookgate/caddymodule/internal/hooktest"
)

// openAPI is the document, loaded, checked and routed once per test run.
var openAPI = sync.OnceValues(func() (routers.Router, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(openAPIDocument)
	if err != nil {
		return nil, err
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, err
	}
	return gorillamux.NewRouter(doc)
})

// TestOpenAPIDocument: the document is valid OpenAPI 3.1, and has exactly
// the API's routes, method by method.
func TestOpenAPIDocument(t *testing.T) {
	if _, err := openAPI(); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	doc, _ := openapi3.NewLoader().LoadFromData(openAPIDocument)
	if !doc.IsOpenAPI31OrLater() {
		t.Errorf("openapi %q, want 3.1", doc.OpenAPI)
	}
	var documented []string
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			documented = append(documented, method+" "+path)
			if op.Responses.Default() == nil && path != openAPIPath {
				t.Errorf("%s %s: no default (error) answer", method, path)
			}
		}
	}
	h := new(APIHandler)
	served := []string{"GET " + openAPIPath}
	for _, routes := range []map[string]apiFunc{h.nativeRoutes(), h.oneNCERoutes(), h.ricloudRoutes(), h.devopnessRoutes(), h.outgoingRoutes(), h.dashboardRoutes()} {
		for pattern := range routes {
			served = append(served, pattern)
		}
	}
	slices.Sort(documented)
	slices.Sort(served)
	if !slices.Equal(documented, served) {
		t.Errorf("the document's routes differ from the API's:\n documented %q\n served     %q", documented, served)
	}
}

// validatingTransport checks every request to the API and its answer
// against the OpenAPI document: an answer must be documented for its
// route and status, with its schema; a request the API accepted (2xx) must
// be valid for the document too. Every API test's client uses it, so the
// document cannot drift from the code.
type validatingTransport struct {
	t    *testing.T
	base http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (v *validatingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !strings.HasPrefix(req.URL.String(), apiBase+"/") {
		return v.base.RoundTrip(req)
	}
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	resp, err := v.base.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body = io.NopCloser(bytes.NewReader(answer))
	v.check(req, body, resp, answer)
	return resp, nil
}

// check validates one exchange, reporting what the document does not
// allow as a test error.
func (v *validatingTransport) check(req *http.Request, body []byte, resp *http.Response, answer []byte) {
	v.t.Helper()
	router, err := openAPI()
	if err != nil {
		v.t.Errorf("openapi.json: %v", err)
		return
	}
	// The API reads JSON whatever the Content-Type (ricloud-py sends none).
	probe := req.Clone(context.Background())
	probe.Body = io.NopCloser(bytes.NewReader(body))
	if len(body) > 0 && probe.Header.Get("Content-Type") == "" {
		probe.Header.Set("Content-Type", "application/json")
	}
	route, params, err := router.FindRoute(probe)
	if err != nil {
		if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusMethodNotAllowed {
			v.t.Errorf("%s %s answered %d but is not in openapi.json: %v", req.Method, req.URL.Path, resp.StatusCode, err)
		}
		return
	}
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true}
	in := &openapi3filter.RequestValidationInput{Request: probe, PathParams: params, Route: route, Options: opts}
	if resp.StatusCode < 300 {
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			v.t.Errorf("%s %s was accepted (%d), but openapi.json refuses the request %s: %v", req.Method, req.URL.Path, resp.StatusCode, body, err)
		}
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header,
		Body: io.NopCloser(bytes.NewReader(answer)), Options: opts}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		v.t.Errorf("%s %s: the answer %d %s does not match openapi.json: %v", req.Method, req.URL.Path, resp.StatusCode, answer, err)
	}
}

// TestOpenAPIServed: the document is served without a token.
func TestOpenAPIServed(t *testing.T) {
	tester := startAPI(t, hooktest.NewReceiver(t))
	status, header, answer := hooktest.Post(t, tester.Client, "GET", apiBase+openAPIPath, nil, nil)
	doc, err := openapi3.NewLoader().LoadFromData([]byte(answer))
	if status != 200 || header.Get("Content-Type") != "application/json" || err != nil {
		t.Fatalf("GET /openapi.json: %d %v %v %.80s", status, header, err, answer)
	}
	if len(doc.Servers) != 1 || doc.Servers[0].URL != apiBase || len(doc.Paths.Map()) == 0 {
		t.Errorf("served document: servers %+v, %d paths", doc.Servers, len(doc.Paths.Map()))
	}
}

// TestAPIAuthEveryRoute: every documented route of every dialect answers
// 401 without a token or with an unknown one, and 403 to a read token
// when it writes; a read token reads.
func TestAPIAuthEveryRoute(t *testing.T) {
	tester := startAPI(t, hooktest.NewReceiver(t))
	doc, err := openapi3.NewLoader().LoadFromData(openAPIDocument)
	if err != nil {
		t.Fatal(err)
	}
	for path, item := range doc.Paths.Map() {
		if path == openAPIPath {
			continue
		}
		target := apiBase + strings.NewReplacer("{id}", "nope", "{pipeline}", "deploy", "{delivery}", "dlv_nope").Replace(path)
		for method := range item.Operations() {
			for _, c := range []struct {
				auth   string
				status int
			}{{"", 401}, {"Bearer unknown-token", 401}, {"Token unknown-token", 401}} {
				header := map[string]string{}
				if c.auth != "" {
					header["Authorization"] = c.auth
				}
				if status, _, answer := hooktest.Post(t, tester.Client, method, target, nil, header); status != c.status {
					t.Errorf("%s %s with %q: %d %s, want %d", method, path, c.auth, status, answer, c.status)
				}
			}
			status, _, answer := hooktest.Post(t, tester.Client, method, target, nil, map[string]string{"Authorization": "Token " + readToken})
			writes := method != "GET" || writingGETs[method+" "+path]
			if writes && status != 403 || !writes && (status == 401 || status == 403) {
				t.Errorf("%s %s with a read token: %d %s", method, path, status, answer)
			}
		}
	}
}
