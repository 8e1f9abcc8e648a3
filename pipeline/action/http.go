package action

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// httpClient calls the endpoints of http steps. Redirects are not
// followed: a step expects a 2xx answer from the URL it names.
var httpClient = &http.Client{
	Transport: http.DefaultTransport.(*http.Transport).Clone(),
	CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	},
}

// runHTTP runs an http step. It fills res and returns why the step
// failed, or nil.
func runHTTP(ctx context.Context, s *plannedStep, sc *scope, res *StepResult) *failure {
	var body io.Reader
	contentType := ""
	if s.body != nil {
		v, err := s.body.eval(sc)
		if err != nil {
			return &failure{reason: ReasonExpression, detail: "body: " + err.Error()}
		}
		b, ct, err := encodeBody(v)
		if err != nil {
			return &failure{reason: ReasonExpression, detail: "body: " + err.Error()}
		}
		body, contentType = bytes.NewReader(b), ct
	}
	url := s.url.render(sc)
	req, err := http.NewRequestWithContext(ctx, s.method, url, body)
	if err != nil {
		return &failure{reason: ReasonHTTPError, detail: err.Error()}
	}
	for k, t := range s.headers {
		req.Header.Set(k, stripNewlines(t.render(sc)))
	}
	if contentType != "" && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return &failure{reason: ReasonHTTPError, detail: err.Error()}
	}
	defer resp.Body.Close()
	out := &cappedBuffer{}
	_, err = io.Copy(out, io.LimitReader(resp.Body, outputLimit+1))
	res.Output, res.OutputTruncated = string(out.buf), out.truncated
	res.HTTPStatus = &resp.StatusCode
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return &failure{reason: ReasonHTTPStatus, detail: fmt.Sprintf("%s %s answered %s", s.method, redactURL(req), resp.Status)}
	}
	if err != nil {
		return &failure{reason: ReasonHTTPError, detail: "reading the answer: " + err.Error()}
	}
	return nil
}

// encodeBody turns the value of a body expression into a request body: a
// string as is, nil as no body, anything else as JSON.
func encodeBody(v any) ([]byte, string, error) {
	switch v := v.(type) {
	case nil:
		return nil, "", nil
	case string:
		return []byte(v), "text/plain; charset=utf-8", nil
	case []byte:
		return v, "application/octet-stream", nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, "", err
	}
	return b, "application/json", nil
}

// stripNewlines removes CR and LF, so that a variable cannot add headers.
func stripNewlines(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.NewReplacer("\r", "", "\n", "").Replace(s)
}

// redactURL is the request's URL without its query and user info, which
// may hold secrets, for error messages.
func redactURL(req *http.Request) string {
	u := *req.URL
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	return u.String()
}
