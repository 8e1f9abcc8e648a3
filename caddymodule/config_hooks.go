package caddymodule

import (
	"github.com/hookgate/hookgate/pipeline/hook"
)

// ConfigHook is a Caddyfile hook that triggers a pipeline, as the
// management API shows it (read-only).
type ConfigHook struct {
	// Name, Pipeline and When are the hook's, as in the Caddyfile.
	Name, Pipeline, When string
	// Signature is the hook's signature preset, or "" without one.
	Signature string
	// Vars are the hook's variables.
	Vars []hook.Variable
}

// configHook is the handler's hook for the management API.
func (h *Handler) configHook(vars []hook.Variable) ConfigHook {
	c := ConfigHook{Name: h.Name, Pipeline: h.Pipeline, When: h.When, Vars: vars}
	if h.Signature != nil {
		c.Signature = h.Signature.Preset
	}
	return c
}

// declareHook adds a Caddyfile hook of this config.
func (a *App) declareHook(c ConfigHook) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.declaredHooks = append(a.declaredHooks, c)
}

// ConfigHooks lists the Caddyfile hooks of this config that trigger a
// pipeline, in the order they were provisioned.
func (a *App) ConfigHooks() []ConfigHook {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]ConfigHook(nil), a.declaredHooks...)
}

// ConfigHook is the Caddyfile hook named name.
func (a *App) ConfigHook(name string) (ConfigHook, bool) {
	for _, c := range a.ConfigHooks() {
		if c.Name == name {
			return c, true
		}
	}
	return ConfigHook{}, false
}
