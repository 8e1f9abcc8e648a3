package engine

import (
	"cmp"
	"context"
	"slices"
	"time"

	"go.uber.org/zap"

	"github.com/hookgate/hookgate/pipeline/store"
	"github.com/hookgate/hookgate/pipeline/webhook"
)

// revisionPoll is how often an engine checks for changes made through
// the API on other instances.
const revisionPoll = time.Second

// apiDefinitions are the hooks and webhooks created through the API, as
// the store holds them at a revision.
type apiDefinitions struct {
	revision int64
	// varNames are the names of the variables the hooks declare.
	varNames []string
	// webhooks are the webhooks, oldest first.
	webhooks []store.WebhookRecord
}

// apiReader reads the API's definitions: the store, or a transaction.
type apiReader interface {
	Revision(ctx context.Context) (int64, error)
	Hooks(ctx context.Context, pipeline string) ([]store.HookRecord, error)
	Webhooks(ctx context.Context) ([]store.WebhookRecord, error)
}

// loadAPIDefinitions reads the API's hooks and webhooks. The revision is
// read first: a change committed meanwhile is loaded again at the next
// refresh.
func loadAPIDefinitions(ctx context.Context, r apiReader) (apiDefinitions, error) {
	rev, err := r.Revision(ctx)
	if err != nil {
		return apiDefinitions{}, err
	}
	hooks, err := r.Hooks(ctx, "")
	if err != nil {
		return apiDefinitions{}, err
	}
	records, err := r.Webhooks(ctx)
	if err != nil {
		return apiDefinitions{}, err
	}
	api := apiDefinitions{revision: rev, webhooks: apiRecords(records)}
	for _, h := range hooks {
		for _, v := range h.Variables {
			api.varNames = append(api.varNames, v.Name)
		}
	}
	return api, nil
}

// apiRecords are the webhooks of records created through the API, oldest
// first.
func apiRecords(records []store.WebhookRecord) []store.WebhookRecord {
	var list []store.WebhookRecord
	for _, r := range records {
		if r.Source == SourceAPI {
			list = append(list, r)
		}
	}
	slices.SortFunc(list, func(a, b store.WebhookRecord) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	return list
}

// apiDefinition is the definition of an API webhook with the secrets that
// sign at now, and when its kept old secret stops signing (nil: none).
func apiDefinition(rec store.WebhookRecord, now time.Time) (webhook.Definition, *time.Time) {
	def := *rec.Definition
	def.Secrets = []string{rec.Secret}
	if rec.PreviousSecret == "" || rec.PreviousSecretExpiresAt == nil || !now.Before(*rec.PreviousSecretExpiresAt) {
		return def, nil
	}
	def.Secrets = append(def.Secrets, rec.PreviousSecret)
	return def, rec.PreviousSecretExpiresAt
}

// mergeNames are the names of a then those of b not in a.
func mergeNames(a, b []string) []string {
	names := slices.Clone(a)
	for _, n := range b {
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	return names
}

// compileSet compiles base's configured webhooks and the API's, with the
// variable names of both, into a set with base's policy and client. An
// API webhook that no longer compiles is left out, and logged.
func (e *Engine) compileSet(base *webhookSet, api apiDefinitions, now time.Time) (*webhookSet, error) {
	names := mergeNames(base.varNames, api.varNames)
	set := &webhookSet{byName: make(map[string]*webhook.Webhook, len(base.defs)+len(api.webhooks)), configured: len(base.defs),
		defs: base.defs, varNames: base.varNames, policy: base.policy, client: base.client, revision: api.revision}
	set.covered = make(map[string]bool)
	add := func(w *webhook.Webhook) {
		set.list = append(set.list, w)
		set.byName[w.Name] = w
		for _, p := range w.Pipelines {
			set.covered[p] = true
		}
	}
	for _, def := range base.defs {
		w, err := webhook.Compile(def, names)
		if err != nil {
			return nil, err
		}
		add(w)
	}
	for _, rec := range api.webhooks {
		def, expires := apiDefinition(rec, now)
		w, err := webhook.Compile(def, names)
		if err != nil {
			e.logger.Error("webhook left out: its stored definition does not compile", zap.String("webhook", rec.Name), zap.Error(err))
			continue
		}
		if set.byName[w.Name] != nil {
			e.logger.Error("webhook left out: a configured webhook has its name", zap.String("webhook", rec.Name))
			continue
		}
		add(w)
		if expires != nil && (set.expires.IsZero() || expires.Before(set.expires)) {
			set.expires = *expires
		}
	}
	return set, nil
}

// reloadWebhooks compiles the webhook set again with the API definitions
// as stored now.
func (e *Engine) reloadWebhooks(ctx context.Context) error {
	e.reload.Lock()
	defer e.reload.Unlock()
	api, err := loadAPIDefinitions(ctx, e.store)
	if err != nil {
		return err
	}
	set, err := e.compileSet(e.webhooks.Load(), api, time.Now())
	if err != nil {
		return err
	}
	e.webhooks.Store(set)
	return nil
}

// refresh reloads the webhook set when the API definitions changed since
// it was loaded (on any instance), or a kept old secret expired.
func (e *Engine) refresh(ctx context.Context) error {
	set := e.webhooks.Load()
	rev, err := e.store.Revision(ctx)
	if err != nil {
		return err
	}
	if rev == set.revision && (set.expires.IsZero() || time.Now().Before(set.expires)) {
		return nil
	}
	return e.reloadWebhooks(ctx)
}

// changed reloads the webhook set after a change through the API was
// committed. On failure the next poll tries again.
func (e *Engine) changed(ctx context.Context) {
	if err := e.reloadWebhooks(ctx); err != nil {
		e.logger.Warn("reloading webhooks after a change through the API; the next poll tries again", zap.Error(err))
	}
}

// pollRevision refreshes the webhook set every pollInterval until ctx
// ends. A failure is logged once, until a poll succeeds again.
func (e *Engine) pollRevision(ctx context.Context) {
	defer e.polling.Done()
	ticker := time.NewTicker(e.pollInterval)
	defer ticker.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		err := e.refresh(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil && !failing:
			e.logger.Warn("checking for changes made through the API on other instances; retrying every poll", zap.Error(err))
			failing = true
		case err == nil && failing:
			e.logger.Info("checking for changes made through the API works again")
			failing = false
		}
	}
}
