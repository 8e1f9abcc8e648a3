package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/hookgate/hookgate/caddymodule"
	"github.com/hookgate/hookgate/pipeline/engine"
)

// maxAPIBody bounds the body of an API request.
const maxAPIBody = 1 << 20

// apiError is an answer that refuses a request, with the field or thing it
// is about in its detail.
type apiError struct {
	status int
	code   string
	detail string
}

// Error implements error.
func (e *apiError) Error() string { return e.code + ": " + e.detail }

// badRequest is a 400 answer.
func badRequest(code, format string, args ...any) *apiError {
	return &apiError{http.StatusBadRequest, code, fmt.Sprintf(format, args...)}
}

// invalidField is a 422 answer naming the field whose value is not valid.
func invalidField(field, format string, args ...any) *apiError {
	return &apiError{http.StatusUnprocessableEntity, "invalid_field", field + ": " + fmt.Sprintf(format, args...)}
}

// apiFunc serves one route with the running engine; an error it returns
// is answered by errorAnswer.
type apiFunc func(w http.ResponseWriter, r *http.Request, e *engine.Engine) error

// handle makes fn a route: it finds the engine (503 while it is not
// running) and answers fn's error.
func (h *APIHandler) handle(fn apiFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		e := h.app.RunningEngine(r.Context())
		if e == nil {
			_ = h.fail(w, r, http.StatusServiceUnavailable, "storage_unavailable", "the hookgate app is not running; retry later")
			return
		}
		if err := fn(w, r, e); err != nil {
			_ = h.failWith(w, r, err)
		}
	}
}

// failWith answers err: an apiError as it says, the engine's errors with
// their status.
func (h *APIHandler) failWith(w http.ResponseWriter, r *http.Request, err error) error {
	var ae *apiError
	var invalid *engine.InvalidError
	switch {
	case errors.As(err, &ae):
		return h.fail(w, r, ae.status, ae.code, ae.detail)
	case errors.As(err, &invalid):
		return h.fail(w, r, http.StatusUnprocessableEntity, "invalid_field", invalid.Error())
	case errors.Is(err, engine.ErrNotFound), errors.Is(err, engine.ErrUnknownWebhook), errors.Is(err, engine.ErrUnknownPipeline):
		return h.fail(w, r, http.StatusNotFound, "not_found", err.Error())
	case errors.Is(err, engine.ErrExists):
		return h.fail(w, r, http.StatusConflict, "already_exists", err.Error())
	case errors.Is(err, engine.ErrReadOnly):
		return h.fail(w, r, http.StatusConflict, "read_only", err.Error()+"; change it there and reload")
	case errors.Is(err, engine.ErrFinished), errors.Is(err, engine.ErrWebhookFailed), errors.Is(err, engine.ErrDeliveryWaiting):
		return h.fail(w, r, http.StatusConflict, "conflict", err.Error())
	case errors.Is(err, engine.ErrQueueFull):
		w.Header().Set("Retry-After", caddymodule.RetryAfterQueueFull)
		return h.fail(w, r, http.StatusTooManyRequests, "queue_full", err.Error())
	case errors.Is(err, engine.ErrUnavailable):
		h.logger.Error("storage unavailable", zap.String("path", r.URL.Path), zap.Error(err))
		return h.fail(w, r, http.StatusServiceUnavailable, "storage_unavailable", "the storage cannot be reached; nothing was changed, retry later")
	}
	h.logger.Error("management API request failed", zap.String("method", r.Method), zap.String("path", r.URL.Path), zap.Error(err))
	return h.fail(w, r, http.StatusInternalServerError, "internal_error", "the request failed on our side; see the server's log")
}

// fail answers an error and logs it once.
func (h *APIHandler) fail(w http.ResponseWriter, r *http.Request, status int, code, detail string) error {
	level := h.logger.Info
	if status >= 500 {
		level = h.logger.Warn
	}
	level("management API request refused", zap.String("method", r.Method), zap.String("path", r.URL.Path),
		zap.Int("status", status), zap.String("reason", code+": "+detail))
	return reply(w, status, errorBody{Error: code, Detail: detail, Message: detail})
}

// errorBody is every error answer of the API.
type errorBody struct {
	// Error is the code of the error, such as invalid_field.
	Error string `json:"error"`
	// Detail names the field or thing at fault and what is wrong with it.
	Detail string `json:"detail"`
	// Message repeats Detail, for clients that read message (ricloud-py).
	Message string `json:"message"`
}

// reply writes a JSON answer.
func reply(w http.ResponseWriter, status int, body any) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if body == nil {
		return nil
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false) // URLs keep their & as it is
	return enc.Encode(body)
}

// decodeBody decodes a request's JSON body into dst strictly: malformed
// JSON, a field dst does not have, a value of the wrong type or trailing
// data is a 400 naming the field. An empty body is one only when optional.
func decodeBody(r *http.Request, dst any, optional bool) error {
	data, err := io.ReadAll(io.LimitReader(r.Body, maxAPIBody+1))
	if err != nil {
		return badRequest("invalid_json", "reading the body: %v", err)
	}
	if len(data) > maxAPIBody {
		return &apiError{http.StatusRequestEntityTooLarge, "payload_too_large", fmt.Sprintf("the body is over %d bytes", maxAPIBody)}
	}
	return decodeJSON(data, dst, optional)
}

// decodeJSON is decodeBody on the body's bytes.
func decodeJSON(data []byte, dst any, optional bool) error {
	if len(bytes.TrimSpace(data)) == 0 {
		if optional {
			return nil
		}
		return badRequest("invalid_json", "the body is empty; send a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	err := dec.Decode(dst)
	if err == nil && dec.More() {
		err = errors.New("trailing data after the JSON object")
	}
	if err == nil {
		return nil
	}
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return badRequest("invalid_json", "malformed JSON at byte %d: %v", syntax.Offset, err)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("invalid_json", "malformed JSON: the body ends before the JSON does")
	case errors.As(err, &typ):
		if typ.Field == "" {
			return badRequest("invalid_type", "want a JSON %s, got %s", jsonKind(typ.Type.Kind().String()), typ.Value)
		}
		return badRequest("invalid_type", "%s: want %s, got %s", typ.Field, jsonKind(typ.Type.Kind().String()), typ.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return badRequest("unknown_field", "unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	}
	var fieldErr *fieldError
	if errors.As(err, &fieldErr) {
		return badRequest("invalid_type", "%s", fieldErr.Error())
	}
	return badRequest("invalid_json", "%v", err)
}

// fieldError is a value a custom decoder refused, naming what it wanted.
type fieldError struct {
	field, want string
}

// Error implements error.
func (e *fieldError) Error() string { return e.field + ": want " + e.want }

// jsonKind names a Go kind as JSON does.
func jsonKind(kind string) string {
	switch kind {
	case "struct", "map":
		return "an object"
	case "slice", "array":
		return "an array"
	case "bool":
		return "a boolean"
	case "string":
		return "a string"
	case "int", "int64", "int32", "uint", "uint64", "float64":
		return "a number"
	}
	return kind
}

// pageDefaults are the page size when none is asked for, and the largest
// one allowed.
const (
	defaultPageSize = 10
	maxPageSize     = 100
)

// pageRequest is the page a list asks for.
type pageRequest struct {
	page, size int
}

// parsePage reads ?page=&pageSize=: pages count from 1, sizes go up to
// 100, default 10.
func parsePage(r *http.Request) (pageRequest, error) { return parsePageAs(r, "pageSize") }

// parsePageAs is parsePage with the page size in the parameter sizeName
// (Devopness's is per_page).
func parsePageAs(r *http.Request, sizeName string) (pageRequest, error) {
	p := pageRequest{page: 1, size: defaultPageSize}
	q := r.URL.Query()
	for _, param := range []struct {
		name string
		dst  *int
		max  int
	}{{"page", &p.page, 0}, {sizeName, &p.size, maxPageSize}} {
		raw := q.Get(param.name)
		if raw == "" {
			continue
		}
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || (param.max > 0 && n > param.max) {
			if param.max > 0 {
				return p, badRequest("invalid_page", "%s %q: want a whole number from 1 to %d", param.name, raw, param.max)
			}
			return p, badRequest("invalid_page", "%s %q: want a whole number from 1", param.name, raw)
		}
		*param.dst = n
	}
	return p, nil
}

// offset is the index of the page's first item.
func (p pageRequest) offset() int { return (p.page - 1) * p.size }

// page is a page of a list, in the 1NCE shape.
type page[T any] struct {
	// Page is the page's number, from 1.
	Page int `json:"page"`
	// PageAmount is how many pages the list has (at least 1).
	PageAmount int `json:"pageAmount"`
	// Items are the page's items.
	Items []T `json:"items"`
}

// newPage is the page p of a list of total items whose page holds items;
// a page beyond the last is a 400.
func newPage[T any](p pageRequest, total int, items []T) (page[T], error) {
	amount := max(1, (total+p.size-1)/p.size)
	if p.page > amount {
		return page[T]{}, badRequest("invalid_page", "page %d is beyond the last page, %d", p.page, amount)
	}
	if items == nil {
		items = []T{}
	}
	return page[T]{Page: p.page, PageAmount: amount, Items: items}, nil
}

// pageOf is page p of a whole list.
func pageOf[T any](p pageRequest, all []T) (page[T], error) {
	start := min(p.offset(), len(all))
	end := min(start+p.size, len(all))
	return newPage(p, len(all), all[start:end])
}

// timestamp formats a time as the API shows it: UTC, RFC 3339 with
// milliseconds, as 1NCE does.
func timestamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// timestampPtr is timestamp of a time that may be unset (null).
func timestampPtr(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := timestamp(*t)
	return &s
}
