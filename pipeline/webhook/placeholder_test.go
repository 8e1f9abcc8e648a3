package webhook

import (
	"reflect"
	"testing"
	"time"

	"github.com/hookgate/hookgate/pipeline/action"
)

// seedWebhook is the example webhook of the 1NCE seed document, with our
// placeholders: :iccid: and :imsi: are supported because a hook declares
// variables of those names.
var seedWebhook = Definition{
	Name: "webhook-name-1",
	URL:  "https://www.your-endpoint.com/events?iccid=:iccid:&ip=:ip:&imsi=:imsi:",
	Headers: map[string]string{
		"x-api-key":      "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
		"x-device-imsi":  ":imsi:",
		"x-device-iccid": ":iccid:",
		"x-device-ip":    ":ip:",
	},
	Secrets: []string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
}

// seedVariables are the variable names the configured hooks declare.
var seedVariables = []string{"iccid", "imsi"}

// expand compiles def and expands its URL and headers for ev.
func expand(t *testing.T, def Definition, ev Event) (string, map[string]string) {
	t.Helper()
	w, err := Compile(def, seedVariables)
	if err != nil {
		t.Fatal(err)
	}
	r, err := w.Request(ev.ID, []byte(`{}`), ev.Values(), nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	headers := make(map[string]string)
	for name := range def.Headers {
		headers[name] = r.Header.Get(name)
	}
	return r.URL, headers
}

// Scenario - Full Device Metadata Injection.
func TestPlaceholdersFullData(t *testing.T) {
	a := &action.Action{ID: "act_1", Pipeline: "deploy", Hook: "device", Status: action.StatusQueued, RemoteIP: "192.168.1.1",
		Variables: map[string]any{"iccid": "1234567890123456789", "imsi": int64(987654321098765)}}
	u, h := expand(t, seedWebhook, ActionEvent(a, time.Now()))
	if want := "https://www.your-endpoint.com/events?iccid=1234567890123456789&ip=192.168.1.1&imsi=987654321098765"; u != want {
		t.Errorf("URL %s, want %s", u, want)
	}
	want := map[string]string{
		"x-api-key":      "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
		"x-device-imsi":  "987654321098765",
		"x-device-iccid": "1234567890123456789",
		"x-device-ip":    "192.168.1.1",
	}
	if !reflect.DeepEqual(h, want) {
		t.Errorf("headers %v, want %v", h, want)
	}
}

// Scenario - Missing Metadata: an event unrelated to a hook (an action
// run through the API, without variables or source IP).
func TestPlaceholdersMissingData(t *testing.T) {
	a := &action.Action{ID: "act_1", Pipeline: "deploy", Hook: "api", Status: action.StatusQueued}
	u, h := expand(t, seedWebhook, ActionEvent(a, time.Now()))
	if want := "https://www.your-endpoint.com/events?iccid=none&ip=none&imsi=none"; u != want {
		t.Errorf("URL %s, want %s", u, want)
	}
	want := map[string]string{
		"x-api-key":      "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
		"x-device-imsi":  "none",
		"x-device-iccid": "none",
		"x-device-ip":    "none",
	}
	if !reflect.DeepEqual(h, want) {
		t.Errorf("headers %v, want %v", h, want)
	}
}

// Scenario - Unsupported Placeholders: they remain unchanged.
func TestPlaceholdersUnsupported(t *testing.T) {
	def := Definition{
		Name:    "webhook-name-2",
		URL:     "https://api.example.com/data?destination=:unknown:",
		Headers: map[string]string{"x-tracking": ":tracking_id:"},
	}
	a := &action.Action{ID: "act_1", Pipeline: "deploy", Hook: "h", Status: action.StatusQueued, RemoteIP: "192.0.2.1",
		Variables: map[string]any{"iccid": "1"}}
	u, h := expand(t, def, ActionEvent(a, time.Now()))
	if want := "https://api.example.com/data?destination=:unknown:"; u != want {
		t.Errorf("URL %s, want %s", u, want)
	}
	if want := map[string]string{"x-tracking": ":tracking_id:"}; !reflect.DeepEqual(h, want) {
		t.Errorf("headers %v, want %v", h, want)
	}
}

// A test event puts none for every supported placeholder, built-in or a
// variable, and leaves unsupported ones.
func TestPlaceholdersTestEvent(t *testing.T) {
	def := Definition{
		Name: "all",
		URL:  "https://example.com/:action_id:/:pipeline:/:hook:/:status:/:event:/:ip:/:iccid:/:other:",
		Headers: map[string]string{
			"x-all": ":ip: :action_id: :pipeline: :hook: :status: :event: :imsi: :other:",
		},
	}
	u, h := expand(t, def, Event{ID: "msg_1", Type: TypeTest, Webhook: "all"})
	if want := "https://example.com/none/none/none/none/none/none/none/:other:"; u != want {
		t.Errorf("URL %s, want %s", u, want)
	}
	if want := "none none none none none none none :other:"; h["x-all"] != want {
		t.Errorf("header %q, want %q", h["x-all"], want)
	}
}

// Every built-in placeholder of an action event, and the escaping of
// injected values: URL-escaped in the URL, without line breaks in headers.
func TestPlaceholdersEscaping(t *testing.T) {
	def := Definition{
		Name:    "escape",
		URL:     "http://example.com/:pipeline:/:status:?id=:action_id:&hook=:hook:&e=:event:&ref=:iccid:",
		Headers: map[string]string{"X-Ref": "ref :iccid:", "X-Port": "host:8080:"},
	}
	a := &action.Action{ID: "act_9", Pipeline: "deploy", Hook: "gh", Status: action.StatusSucceeded,
		Variables: map[string]any{"iccid": "a b&c=d/e?\r\nX-Evil: 1"}}
	u, h := expand(t, def, ActionEvent(a, time.Now()))
	if want := "http://example.com/deploy/succeeded?id=act_9&hook=gh&e=action.succeeded&ref=a%20b%26c%3Dd%2Fe%3F%0D%0AX-Evil%3A%201"; u != want {
		t.Errorf("URL %s, want %s", u, want)
	}
	if want := "ref a b&c=d/e?X-Evil: 1"; h["X-Ref"] != want {
		t.Errorf("header %q, want %q", h["X-Ref"], want)
	}
	if h["X-Port"] != "host:8080:" {
		t.Errorf("header %q changed", h["X-Port"])
	}
}

// A variable named as a built-in placeholder does not override it, and a
// rejected hook's event has the IP and hook but no action.
func TestPlaceholdersRejected(t *testing.T) {
	ev := Event{ID: "msg_1", Type: TypeHookRejected, Rejection: &Rejection{Hook: "github", Reason: "signature_invalid", RemoteIP: "203.0.113.9",
		Variables: map[string]any{"hook": "spoofed", "iccid": "42"}}}
	got := ev.Values()
	want := map[string]string{"ip": "203.0.113.9", "hook": "github", "event": "hook.rejected", "iccid": "42"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("values %v, want %v", got, want)
	}
	def := Definition{Name: "r", URL: "https://example.com/?a=:action_id:&s=:status:&ip=:ip:", Headers: map[string]string{}}
	u, _ := expand(t, def, ev)
	if want := "https://example.com/?a=none&s=none&ip=203.0.113.9"; u != want {
		t.Errorf("URL %s, want %s", u, want)
	}
}
