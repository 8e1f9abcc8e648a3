// Package caddymodule is the Caddy glue of hookgate: the hookgate app, the
// hookgate handler, Caddyfile parsing and the CLI. The engine, which knows
// nothing of Caddy, is in the pipeline packages.
package caddymodule

import (
	"github.com/caddyserver/caddy/v2"
)

func init() {
	caddy.RegisterModule(App{})
}

// App is the hookgate app, configured by the global option
// `hookgate { ... }`. It is the home of what outlives a single request:
// storage, pipelines, outgoing webhooks and their workers. It has no
// options yet; the global option parses so that configurations can name it.
type App struct{}

// CaddyModule returns the Caddy module information.
func (App) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "hookgate",
		New: func() caddy.Module { return new(App) },
	}
}

// Start implements caddy.App.
func (*App) Start() error { return nil }

// Stop implements caddy.App.
func (*App) Stop() error { return nil }

// Interface guards.
var _ caddy.App = (*App)(nil)
