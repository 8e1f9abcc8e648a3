// Package caddymodule is the Caddy glue of hookgate: the app, the handlers,
// Caddyfile parsing, metrics and the CLI.
package caddymodule
