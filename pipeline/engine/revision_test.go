package engine

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/hookgate/hookgate/pipeline/hook"
	"github.com/hookgate/hookgate/pipeline/store"
	"github.com/hookgate/hookgate/pipeline/store/storetest"
	"github.com/hookgate/hookgate/pipeline/webhook"
)

// Two instances on one PostgreSQL database: a webhook created on one is
// loaded by the other within a couple of seconds (its poll) and gets its
// events, and each instance's reads show the other's changes at once.
func TestAPIAcrossInstances(t *testing.T) {
	sc := backends[1].config(t)
	a, b := open(t, sc, true, okPipeline), open(t, sc, true, okPipeline)
	configureWebhooks(t, a, WebhookConfig{})
	configureWebhooks(t, b, WebhookConfig{})
	ctx := context.Background()
	rc := newReceiver(t)
	created := time.Now()
	gh, err := a.CreateHook(ctx, store.HookRecord{Name: "gh", Pipeline: "deploy", Variables: []hook.Variable{{Name: "ref", Path: "ref"}}})
	if err != nil {
		t.Fatal(err)
	}
	info, secret, err := a.CreateWebhook(ctx, webhook.Definition{Name: "shared", URL: rc.srv.URL + "/?ref=:ref:", EventTypes: queuedOnly})
	if err != nil {
		t.Fatal(err)
	}
	rc.setSecrets(secret)
	if got, err := b.Webhook(ctx, "shared"); err != nil || got.ID != info.ID {
		t.Errorf("the other instance's read: %+v, %v", got, err)
	}
	waitFor(t, "the other instance to load the webhook", func() bool { return b.webhooks.Load().byName["shared"] != nil })
	if took := time.Since(created); took > 3*time.Second {
		t.Errorf("the other instance took %v to load the webhook", took)
	}
	id := trigger(t, b, "deploy", map[string]any{"ref": "main"})
	if got := rc.waitAccepted(t, 1); got[0].Envelope.Data.Action.ID != id || got[0].URL != "/?ref=main" || !got[0].SignatureOK {
		t.Errorf("delivery %+v", got[0])
	}

	if _, err := a.UpdateHook(ctx, gh.ID, func(h *store.HookRecord) error { h.Name = "github"; return nil }); err != nil {
		t.Fatal(err)
	}
	if got, err := b.Hook(ctx, gh.ID); err != nil || got.Name != "github" {
		t.Errorf("the other instance's read of the hook: %+v, %v", got, err)
	}
	name := "renamed"
	if _, err := b.UpdateWebhook(ctx, info.ID, WebhookPatch{Name: &name}); err != nil {
		t.Fatal(err)
	}
	if got, err := a.Webhook(ctx, "renamed"); err != nil || got.ID != info.ID {
		t.Errorf("the other instance's read after the rename: %+v, %v", got, err)
	}
	if err := a.DeleteWebhook(ctx, info.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Webhook(ctx, info.ID); !errors.Is(err, ErrUnknownWebhook) {
		t.Errorf("the other instance's read after the delete: %v", err)
	}
	waitFor(t, "the other instance to drop the webhook", func() bool { return len(b.webhooks.Load().list) == 0 })
}

// A webhook created through the API on one instance works at once on
// another that has not loaded it (its poll is an hour away): a delivery
// the creator records is attempted by the other, not held, as its worker
// looks for API changes first; and the other records the events that
// follow for it, as the event's transaction sees the new revision.
func TestAPIWebhookNotYetLoaded(t *testing.T) {
	for _, recordedBy := range []string{"creator", "other"} {
		t.Run("recorded by the "+recordedBy, func(t *testing.T) {
			sc := backends[1].config(t)
			creator := open(t, sc, false, okPipeline)
			other := open(t, sc, false, okPipeline)
			other.pollInterval = time.Hour
			configureWebhooks(t, creator, WebhookConfig{})
			configureWebhooks(t, other, WebhookConfig{})
			if err := other.Start(); err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			rc := newReceiver(t)
			_, secret, err := creator.CreateWebhook(ctx, webhook.Definition{Name: "fresh", URL: rc.srv.URL, EventTypes: queuedOnly})
			if err != nil {
				t.Fatal(err)
			}
			rc.setSecrets(secret)
			recorder := creator
			if recordedBy == "other" {
				recorder = other
			}
			id := trigger(t, recorder, "deploy", nil)
			if got := rc.waitAccepted(t, 1); got[0].Envelope.Data.Action.ID != id || !got[0].SignatureOK {
				t.Errorf("delivery %+v", got[0])
			}
		})
	}
}

// A poll, or a listener, that cannot reach the database is logged once,
// not at every tick.
func TestRevisionPollFailure(t *testing.T) {
	proxied, p := storetest.ProxyDSN(t, backends[1].config(t).DSN)
	core, logs := observer.New(zap.WarnLevel)
	e, err := Open(context.Background(), StorageConfig{Driver: "postgres", DSN: proxied}, zap.New(core))
	if err != nil {
		t.Fatal(err)
	}
	e.pollInterval = 10 * time.Millisecond
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	p.Close()
	time.Sleep(300 * time.Millisecond)
	if n := logs.FilterMessageSnippet("checking for changes made through the API").Len(); n != 1 {
		t.Errorf("%d log lines about the failing poll, want 1", n)
	}
	if n := logs.FilterMessageSnippet("listening for changes made through the API").Len(); n != 1 {
		t.Errorf("%d log lines about the failing listener, want 1", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	e.Stop(ctx)
}

// A webhook's new URL reaches every instance at once: with three
// instances whose polls are an hour away, the events recorded right after
// the change, on any of them, are all delivered to the new URL, whichever
// instance attempts them; and an instance that recorded nothing has the
// change in its set within moments (PostgreSQL's LISTEN/NOTIFY).
func TestAPIChangeReachesEveryInstanceAtOnce(t *testing.T) {
	sc := backends[1].config(t)
	var es []*Engine
	for range 3 {
		e := open(t, sc, false, okPipeline)
		e.pollInterval = time.Hour
		configureWebhooks(t, e, WebhookConfig{})
		if err := e.Start(); err != nil {
			t.Fatal(err)
		}
		es = append(es, e)
	}
	ctx := context.Background()
	before, after := newReceiver(t), newReceiver(t)
	info, secret, err := es[0].CreateWebhook(ctx, webhook.Definition{Name: "moving", URL: before.srv.URL, EventTypes: queuedOnly})
	if err != nil {
		t.Fatal(err)
	}
	before.setSecrets(secret)
	after.setSecrets(secret)
	for _, e := range es {
		trigger(t, e, "deploy", nil)
	}
	before.waitAccepted(t, 3)

	u := after.srv.URL
	changed := time.Now()
	if _, err := es[0].UpdateWebhook(ctx, info.ID, WebhookPatch{URL: &u}); err != nil {
		t.Fatal(err)
	}
	for i := range 6 {
		trigger(t, es[i%3], "deploy", nil)
	}
	after.waitAccepted(t, 6)
	if n := len(before.all()); n != 3 {
		t.Errorf("%d deliveries went to the old URL after the change, want none", n-3)
	}
	waitFor(t, "every instance to load the new URL", func() bool {
		for _, e := range es {
			if w := e.webhooks.Load().byName["moving"]; w == nil || w.URL != u {
				return false
			}
		}
		return true
	})
	if took := time.Since(changed); took > 2*time.Second {
		t.Errorf("the change took %v to reach every instance", took)
	}
}
