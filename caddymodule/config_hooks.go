package caddymodule

import (
	"github.com/hookgate/hookgate/pipeline/hook"
)

// configHook is a Caddyfile hook that triggers a pipeline, as the
// management API shows it (read-only).
type configHook struct {
	name, pipeline, signature, when string
	vars                            []hook.Variable
}

// configHook is the handler's hook for the management API.
func (h *Handler) configHook(vars []hook.Variable) configHook {
	c := configHook{name: h.Name, pipeline: h.Pipeline, when: h.When, vars: vars}
	if h.Signature != nil {
		c.signature = h.Signature.Preset
	}
	return c
}

// declareHook adds a Caddyfile hook of this config.
func (a *App) declareHook(c configHook) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.declaredHooks = append(a.declaredHooks, c)
}

// configHooks lists the Caddyfile hooks of this config that trigger a
// pipeline, in the order they were provisioned.
func (a *App) configHooks() []configHook {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]configHook(nil), a.declaredHooks...)
}

// configHook is the Caddyfile hook named name.
func (a *App) configHook(name string) (configHook, bool) {
	for _, c := range a.configHooks() {
		if c.name == name {
			return c, true
		}
	}
	return configHook{}, false
}
