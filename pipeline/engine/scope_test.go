package engine

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/hookgate/hookgate/pipeline/action"
	"github.com/hookgate/hookgate/pipeline/webhook"
)

// A global webhook gets every event, a scoped one (configured or made
// through the API) those of its pipelines, the default one those of the
// pipelines no scoped webhook covers and of hooks that trigger none; a
// scope naming an unknown pipeline is refused.
func TestWebhookScope(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		pipelines := []action.Pipeline{okPipeline}
		for _, name := range []string{"build", "lint"} {
			p := okPipeline
			p.Name = name
			pipelines = append(pipelines, p)
		}
		e := open(t, b.config(t), false, pipelines...)
		types := []webhook.EventType{{Type: webhook.TypeActionSucceeded}, {Type: webhook.TypeHookRejected}}
		all, deploys, builds, rest := newReceiver(t, testSecret), newReceiver(t, testSecret), newReceiver(t), newReceiver(t, testSecret)
		ctx := context.Background()
		_, err := e.ConfigureWebhooks(ctx, WebhookConfig{AllowTargets: loopback, Policy: fastPolicy, Webhooks: []webhook.Definition{
			{Name: "x", URL: all.srv.URL, Pipelines: []string{"deploy", "nope"}}}})
		if err == nil {
			t.Fatal("a scope naming an unknown pipeline was configured")
		}
		configureWebhooks(t, e, WebhookConfig{Webhooks: []webhook.Definition{
			{Name: "all", URL: all.srv.URL, EventTypes: types, Secrets: []string{testSecret}},
			{Name: "deploys", URL: deploys.srv.URL, EventTypes: types, Secrets: []string{testSecret}, Pipelines: []string{"deploy"}},
			{Name: "rest", URL: rest.srv.URL, EventTypes: types, Secrets: []string{testSecret}, Default: true},
		}})
		for _, def := range []webhook.Definition{
			{Name: "bad", URL: builds.srv.URL, Pipelines: []string{"nope"}},
			{Name: "bad", URL: builds.srv.URL, Pipelines: []string{"build"}, Default: true},
		} {
			var inv *InvalidError
			if _, _, err := e.CreateWebhook(ctx, def); !errors.As(err, &inv) || (inv.Field != "pipelines" && inv.Field != "default") {
				t.Errorf("CreateWebhook(%+v): %v", def, err)
			}
		}
		info, secret, err := e.CreateWebhook(ctx, webhook.Definition{Name: "builds", URL: builds.srv.URL, EventTypes: types, Pipelines: []string{"build"}})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(info.Definition.Pipelines, []string{"build"}) {
			t.Errorf("created %+v", info.Definition)
		}
		builds.setSecrets(secret)
		if err := e.Start(); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{"deploy", "build", "lint"} {
			wait(t, e, trigger(t, e, p, nil))
		}
		for _, p := range []string{"deploy", ""} {
			if err := e.Reject(ctx, HookRejected{Hook: "h-" + p, Pipeline: p, Reason: "signature_invalid", Status: 401}); err != nil {
				t.Fatal(err)
			}
		}
		count := func(rc *receiver, n int) map[string]int {
			t.Helper()
			got := rc.waitAccepted(t, n)
			time.Sleep(200 * time.Millisecond)
			if got = rc.accepted(); len(got) != n {
				t.Errorf("%d deliveries, want %d", len(got), n)
			}
			m := map[string]int{}
			for _, r := range got {
				if !r.SignatureOK {
					t.Errorf("unsigned %s", r.Body)
				}
				m[r.Envelope.Type]++
			}
			return m
		}
		if m := count(all, 5); m["action.succeeded"] != 3 || m["hook.rejected"] != 2 {
			t.Errorf("global: %v", m)
		}
		if m := count(deploys, 2); m["action.succeeded"] != 1 || m["hook.rejected"] != 1 {
			t.Errorf("scoped: %v", m)
		}
		if m := count(builds, 1); m["action.succeeded"] != 1 {
			t.Errorf("scoped through the API: %v", m)
		}
		if m := count(rest, 2); m["action.succeeded"] != 1 || m["hook.rejected"] != 1 {
			t.Errorf("default: %v", m)
		}
		waitFor(t, "the results to be stored", func() bool { return webhookState(t, e, "rest").Pending == 0 })
		list, err := e.Deliveries(ctx, "rest", DeliveryFilter{})
		if err != nil {
			t.Fatal(err)
		}
		var seen []string
		for _, d := range list {
			seen = append(seen, d.EventType+":"+d.Values[webhook.PlaceholderPipeline])
		}
		slices.Sort(seen)
		if !slices.Equal(seen, []string{"action.succeeded:lint", "hook.rejected:"}) {
			t.Errorf("default webhook's delivery log: %v", seen)
		}
	})
}
