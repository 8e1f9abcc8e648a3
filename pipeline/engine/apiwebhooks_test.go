package engine

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hookgate/hookgate/pipeline/hook"
	"github.com/hookgate/hookgate/pipeline/store"
	"github.com/hookgate/hookgate/pipeline/webhook"
)

// queuedOnly subscribes to action.queued only.
var queuedOnly = []webhook.EventType{{Type: webhook.TypeActionQueued}}

// openAPI opens an engine with okPipeline and a configured webhook "cfg"
// posting every action.queued to the receiver it returns, polling for
// other instances' changes every 50 ms, started.
func openAPI(t *testing.T, sc StorageConfig, policy webhook.Policy) (*Engine, *receiver) {
	t.Helper()
	e := open(t, sc, false, okPipeline)
	e.pollInterval = 50 * time.Millisecond
	cfg := newReceiver(t, testSecret)
	configureWebhooks(t, e, WebhookConfig{Policy: policy, Webhooks: []webhook.Definition{
		{Name: "cfg", URL: cfg.srv.URL, Secrets: []string{testSecret}, EventTypes: queuedOnly},
	}})
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	return e, cfg
}

// signedBy reports whether one of a request's signatures is by secret.
func signedBy(r received, secret string) bool {
	return (&receiver{secrets: []string{secret}}).verify(r)
}

// A webhook created through the API is listed after the configured ones,
// found by ID or name, delivered to with the secret it was created with
// and the placeholders of the API's hooks' variables; patched, renamed,
// deactivated, re-activated and deleted; a configured one is read-only.
func TestAPIWebhooks(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		e, cfg := openAPI(t, b.config(t), webhook.Policy{})
		ctx := context.Background()
		rc := newReceiver(t)
		if _, err := e.CreateHook(ctx, store.HookRecord{Name: "gh", Pipeline: "deploy", Variables: []hook.Variable{{Name: "ref", Path: "ref"}}}); err != nil {
			t.Fatal(err)
		}
		info, secret, err := e.CreateWebhook(ctx, webhook.Definition{Name: "api", URL: rc.srv.URL + "/first?ref=:ref:", EventTypes: queuedOnly})
		if err != nil {
			t.Fatal(err)
		}
		rc.setSecrets(secret)
		if !regexp.MustCompile(`^[A-Za-z0-9_-]{21}$`).MatchString(info.ID) || info.Source != SourceAPI || info.State != webhook.StateNew ||
			!info.SecretGenerated || !strings.HasPrefix(secret, "whsec_") || len(info.Definition.Secrets) != 1 ||
			strings.Contains(info.Definition.Secrets[0], secret[6:]) || info.Definition.EventTypes[0].Version != webhook.Version {
			t.Errorf("created %+v, secret %q", info, secret)
		}
		for _, def := range []webhook.Definition{{Name: "cfg", URL: rc.srv.URL}, {Name: "api", URL: rc.srv.URL}} {
			if _, _, err := e.CreateWebhook(ctx, def); !errors.Is(err, ErrExists) {
				t.Errorf("a second webhook %s: %v, want ErrExists", def.Name, err)
			}
		}
		var inv *InvalidError
		if _, _, err := e.CreateWebhook(ctx, webhook.Definition{Name: "bad", URL: "ftp://example.com"}); !errors.As(err, &inv) || inv.Field != "url" {
			t.Errorf("an ftp URL: %v, want an invalid url", err)
		}
		if _, err := e.ConfigureWebhooks(ctx, WebhookConfig{AllowTargets: loopback, Webhooks: []webhook.Definition{{Name: "api", URL: rc.srv.URL}}}); !errors.Is(err, ErrExists) ||
			!strings.Contains(err.Error(), `"api"`) || !strings.Contains(err.Error(), info.ID) {
			t.Errorf("configuring a webhook named as an API one: %v", err)
		}
		list, err := e.Webhooks(ctx)
		if err != nil || len(list) != 2 || list[0].ID != "cfg" || list[0].Source != SourceConfig || list[1].ID != info.ID {
			t.Fatalf("webhooks %+v, %v", list, err)
		}
		for _, ref := range []string{info.ID, "api"} {
			if got, err := e.Webhook(ctx, ref); err != nil || got.ID != info.ID {
				t.Errorf("Webhook(%s) = %+v, %v", ref, got, err)
			}
		}

		trigger(t, e, "deploy", map[string]any{"ref": "main"})
		got := rc.waitAccepted(t, 1)
		if !got[0].SignatureOK || got[0].URL != "/first?ref=main" {
			t.Errorf("delivery %+v", got[0])
		}
		waitFor(t, "the webhook to be active", func() bool { return webhookState(t, e, info.ID).State == webhook.StateActive })

		// Renamed and moved: new again, its deliveries kept.
		name, url := "api2", rc.srv.URL+"/second"
		patched, err := e.UpdateWebhook(ctx, "api", WebhookPatch{Name: &name, URL: &url})
		if err != nil || patched.ID != info.ID || patched.Definition.Name != "api2" || patched.State != webhook.StateNew {
			t.Fatalf("patched %+v, %v", patched, err)
		}
		if ds, err := e.Deliveries(ctx, "api2", DeliveryFilter{}); err != nil || len(ds) != 1 {
			t.Errorf("deliveries after the rename: %d, %v", len(ds), err)
		}
		if _, err := e.Webhook(ctx, "api"); !errors.Is(err, ErrUnknownWebhook) {
			t.Errorf("the old name: %v", err)
		}
		trigger(t, e, "deploy", nil)
		if got := rc.waitAccepted(t, 2); got[1].URL != "/second" || !got[1].SignatureOK {
			t.Errorf("after the patch: %+v", got[1])
		}

		// Deactivated: no new deliveries; re-activated: active.
		deactivated, active, failed := webhook.StateDeactivated, webhook.StateActive, webhook.StateFailed
		if w, err := e.UpdateWebhook(ctx, info.ID, WebhookPatch{State: &deactivated}); err != nil || w.State != deactivated {
			t.Fatalf("deactivated %+v, %v", w, err)
		}
		if list, _ := e.Webhooks(ctx); len(list) != 2 {
			t.Errorf("a deactivated webhook not listed: %+v", list)
		}
		trigger(t, e, "deploy", nil)
		cfg.waitAccepted(t, 3)
		if ds, _ := e.Deliveries(ctx, info.ID, DeliveryFilter{}); len(ds) != 2 {
			t.Errorf("a deactivated webhook got %d deliveries, want still 2", len(ds))
		}
		if w, err := e.UpdateWebhook(ctx, info.ID, WebhookPatch{State: &active}); err != nil || w.State != active {
			t.Errorf("re-activated %+v, %v", w, err)
		}
		if _, err := e.UpdateWebhook(ctx, info.ID, WebhookPatch{State: &failed}); !errors.As(err, &inv) || inv.Field != "state" {
			t.Errorf("set failed: %v", err)
		}
		taken := "cfg"
		if _, err := e.UpdateWebhook(ctx, info.ID, WebhookPatch{Name: &taken}); !errors.Is(err, ErrExists) {
			t.Errorf("renamed to a configured webhook's name: %v", err)
		}

		// A configured webhook is read-only.
		if _, err := e.UpdateWebhook(ctx, "cfg", WebhookPatch{URL: &url}); !errors.Is(err, ErrReadOnly) {
			t.Errorf("patch of a configured webhook: %v", err)
		}
		if _, err := e.RotateWebhookSecret(ctx, "cfg", 0); !errors.Is(err, ErrReadOnly) {
			t.Errorf("rotation of a configured webhook: %v", err)
		}
		if err := e.DeleteWebhook(ctx, "cfg"); !errors.Is(err, ErrReadOnly) {
			t.Errorf("delete of a configured webhook: %v", err)
		}

		ds, _ := e.Deliveries(ctx, info.ID, DeliveryFilter{})
		if err := e.DeleteWebhook(ctx, info.ID); err != nil {
			t.Fatal(err)
		}
		for _, ref := range []string{info.ID, "api2"} {
			if _, err := e.Webhook(ctx, ref); !errors.Is(err, ErrUnknownWebhook) {
				t.Errorf("deleted webhook %s: %v", ref, err)
			}
		}
		if err := e.DeleteWebhook(ctx, info.ID); !errors.Is(err, ErrUnknownWebhook) {
			t.Errorf("second delete: %v", err)
		}
		if _, err := e.store.Delivery(ctx, ds[0].ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("delivery of a deleted webhook: %v", err)
		}
		if st, _ := e.Stats(ctx); len(st.Webhooks) != 1 {
			t.Errorf("stats of a deleted webhook: %+v", st.Webhooks)
		}
	})
}

// A rotation signs with the new and the kept old secret, then, once the
// old one expired or was dropped, with the new one only.
func TestWebhookRotation(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		e, _ := openAPI(t, b.config(t), webhook.Policy{})
		ctx := context.Background()
		rc := newReceiver(t)
		info, secret, err := e.CreateWebhook(ctx, webhook.Definition{Name: "rot", URL: rc.srv.URL, EventTypes: queuedOnly, Secrets: []string{testSecret}})
		if err != nil || secret != testSecret || info.SecretGenerated {
			t.Fatalf("created %+v with %q, %v", info, secret, err)
		}
		// deliver triggers an action and returns the request the receiver gets.
		deliver := func() received {
			t.Helper()
			n := len(rc.accepted())
			trigger(t, e, "deploy", nil)
			return rc.waitAccepted(t, n+1)[n]
		}
		if r := deliver(); !signedBy(r, testSecret) || len(strings.Fields(r.Header.Get("webhook-signature"))) != 1 {
			t.Errorf("before the rotation: %v", r.Header)
		}

		keep := 700 * time.Millisecond
		rotated := time.Now()
		newer, err := e.RotateWebhookSecret(ctx, "rot", keep)
		if err != nil || !strings.HasPrefix(newer, "whsec_") || newer == testSecret {
			t.Fatalf("rotated to %q, %v", newer, err)
		}
		if w := webhookState(t, e, "rot"); len(w.Definition.Secrets) != 2 || !w.SecretGenerated {
			t.Errorf("during the rotation: %+v", w)
		}
		if r := deliver(); !signedBy(r, newer) || !signedBy(r, testSecret) || len(strings.Fields(r.Header.Get("webhook-signature"))) != 2 {
			t.Errorf("during the rotation: %v", r.Header)
		}
		time.Sleep(time.Until(rotated.Add(keep + 200*time.Millisecond)))
		if r := deliver(); !signedBy(r, newer) || signedBy(r, testSecret) || len(strings.Fields(r.Header.Get("webhook-signature"))) != 1 {
			t.Errorf("after the old secret expired: %v", r.Header)
		}

		newest, err := e.RotateWebhookSecret(ctx, info.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		if r := deliver(); !signedBy(r, newest) || signedBy(r, newer) {
			t.Errorf("after a rotation without keeping the old secret: %v", r.Header)
		}
	})
}
