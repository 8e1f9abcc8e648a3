package webhook

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hookgate/hookgate/pipeline/action"
)

func TestCompileErrors(t *testing.T) {
	ok := Definition{Name: "ok", URL: "https://example.com/x"}
	cases := []struct {
		name string
		edit func(d *Definition)
		want string
	}{
		{"scheme", func(d *Definition) { d.URL = "ftp://example.com" }, `url: scheme "ftp" is not http or https`},
		{"no url", func(d *Definition) { d.URL = "" }, "url: missing"},
		{"name", func(d *Definition) { d.Name = "a b" }, "name: invalid"},
		{"event type", func(d *Definition) { d.EventTypes = []EventType{{Type: "action.exploded"}} }, `eventTypes: unknown event type "action.exploded"`},
		{"test type", func(d *Definition) { d.EventTypes = []EventType{{Type: TypeTest}} }, "eventTypes: unknown event type"},
		{"version", func(d *Definition) { d.EventTypes = []EventType{{Type: TypeActionFailed, Version: "2.0.0"}} }, `eventTypes: action.failed: unknown version "2.0.0"`},
		{"when syntax", func(d *Definition) { d.When = `action.status ==` }, "when: "},
		{"when type", func(d *Definition) { d.When = `1 + 2` }, "when: "},
		{"body syntax", func(d *Definition) { d.Body = `{"a": }` }, "body: "},
		{"body type", func(d *Definition) { d.Body = `1 + "a"` }, "body: "},
		{"secret", func(d *Definition) { d.Secrets = []string{"whsec_***"} }, "secrets: secret 1 is not"},
		{"header", func(d *Definition) { d.Headers = map[string]string{"Bad Name": "x"} }, `headers: "Bad Name": invalid name`},
		{"header value", func(d *Definition) { d.Headers = map[string]string{"X": "a\nb"} }, `headers: "X": the value holds a line break`},
		{"scope", func(d *Definition) { d.Pipelines, d.Default = []string{"deploy"}, true }, "default: a webhook is either scoped"},
		{"scope twice", func(d *Definition) { d.Pipelines = []string{"deploy", "deploy"} }, `pipelines: "deploy" named twice`},
	}
	for _, c := range cases {
		d := ok
		c.edit(&d)
		_, err := Compile(d, nil)
		var fe *FieldError
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), `webhook "`) ||
			!errors.As(err, &fe) || !strings.HasPrefix(c.want, fe.Field+": ") {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}

// The 1NCE aliases subscribe to what they stand for and are kept as
// given.
func TestCompileAliases(t *testing.T) {
	w, err := Compile(Definition{Name: "a", URL: "https://example.com", EventTypes: []EventType{{Type: AliasLifecycle}, {Type: AliasTelemetryData}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, typ := range append(ActionTypes, TypeHookReceived) {
		if !w.Subscribes(typ) {
			t.Errorf("%s not subscribed", typ)
		}
	}
	if w.Subscribes(TypeHookRejected) || w.EventTypes[0].Type != AliasLifecycle || w.EventTypes[1].Type != AliasTelemetryData {
		t.Errorf("definition %+v", w.Definition)
	}
	telemetry, _ := Compile(Definition{Name: "t", URL: "https://example.com", EventTypes: []EventType{{Type: AliasTelemetryData}}}, nil)
	if !telemetry.Subscribes(TypeHookReceived) || telemetry.Subscribes(TypeActionQueued) {
		t.Error("TELEMETRY_DATA alone")
	}
}

func TestCompileDefaults(t *testing.T) {
	w, err := Compile(Definition{Name: "d", URL: "www.example.com", EventTypes: []EventType{{Type: TypeHookRejected}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if w.URL != "https://www.example.com" || w.EventTypes[0].Version != Version {
		t.Errorf("definition %+v", w.Definition)
	}
	if !w.Subscribes(TypeHookRejected) || w.Subscribes(TypeActionQueued) {
		t.Error("subscriptions")
	}
	all, _ := Compile(Definition{Name: "all", URL: "http://example.com"}, nil)
	for _, typ := range ActionTypes {
		if !all.Subscribes(typ) {
			t.Errorf("no event types: %s not subscribed", typ)
		}
	}
	if all.Subscribes(TypeHookRejected) || all.Subscribes(TypeTest) {
		t.Error("no event types subscribes to more than action.*")
	}
}

func TestRender(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	a := &action.Action{ID: "act_1", Pipeline: "deploy", Hook: "gh", Status: action.StatusRunning, CreatedAt: now,
		Variables: map[string]any{"ref": "main"}, Payload: []byte(`{"after":"abc"}`)}
	ev := ActionEvent(a, now)

	plain, _ := Compile(Definition{Name: "p", URL: "https://example.com"}, nil)
	body, ok, err := plain.Render(&ev)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	var env map[string]any
	json.Unmarshal(body, &env)
	if env["id"] != ev.ID || env["type"] != "action.running" || env["version"] != "1.0.0" || env["sequence"] != 2.0 ||
		env["timestamp"] != "2026-01-02T03:04:05Z" {
		t.Errorf("envelope %s", body)
	}
	data := env["data"].(map[string]any)
	if _, has := data["payload"]; has || data["action"].(map[string]any)["id"] != "act_1" {
		t.Errorf("data %s", body)
	}

	withPayload, _ := Compile(Definition{Name: "p", URL: "https://example.com", JSONPayload: true}, nil)
	body, _, _ = withPayload.Render(&ev)
	if !strings.Contains(string(body), `"payload":{"after":"abc"}`) {
		t.Errorf("JSON payload: %s", body)
	}
	a.Payload = []byte("a=1&b=2")
	body, _, _ = withPayload.Render(&ev)
	if !strings.Contains(string(body), `"payload":"a=1&b=2"`) {
		t.Errorf("string payload: %s", body)
	}

	shaped, _ := Compile(Definition{Name: "s", URL: "https://example.com", When: `action.pipeline == "deploy"`,
		Body: `{"text": "deploy " + action.status + " of " + action.variables.ref, "seq": event.sequence}`}, nil)
	body, ok, err = shaped.Render(&ev)
	if err != nil || !ok || string(body) != `{"seq":2,"text":"deploy running of main"}` {
		t.Errorf("body %s, %v, %v", body, ok, err)
	}
	text, _ := Compile(Definition{Name: "t", URL: "https://example.com", Body: `"plain " + action.id`}, nil)
	if body, _, _ := text.Render(&ev); string(body) != "plain act_1" {
		t.Errorf("string body %q", body)
	}
	skip, _ := Compile(Definition{Name: "s", URL: "https://example.com", When: `action.pipeline == "other"`}, nil)
	if _, ok, err := skip.Render(&ev); ok || err != nil {
		t.Errorf("when false: %v, %v", ok, err)
	}
	broken, _ := Compile(Definition{Name: "b", URL: "https://example.com", Body: `action.variables.missing.deeper + 1`}, nil)
	if _, _, err := broken.Render(&ev); err == nil || !strings.HasPrefix(err.Error(), "body: ") {
		t.Errorf("runtime error: %v", err)
	}
}

func TestRetry(t *testing.T) {
	p := Policy{}.WithDefaults()
	if p.FailAfter != 5 || p.Timeout != 15*time.Second || len(p.Schedule) != 6 {
		t.Fatalf("defaults %+v", p)
	}
	for i, want := range DefaultSchedule {
		d, ok := p.Retry(i+1, 0)
		if !ok || d < want*9/10 || d > want*11/10 {
			t.Errorf("retry %d: %v, want %v ±10%%", i+1, d, want)
		}
	}
	if _, ok := p.Retry(7, 0); ok {
		t.Error("retry after the schedule")
	}
	if d, _ := p.Retry(1, time.Minute); d != time.Minute {
		t.Errorf("Retry-After 1m: %v", d)
	}
	if d, _ := p.Retry(1, 100*time.Hour); d != 10*time.Hour {
		t.Errorf("Retry-After 100h: %v", d)
	}
}
