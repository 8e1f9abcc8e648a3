// Package hookgate plugs hookgate into Caddy: importing it registers the
// hookgate app, the hookgate handler and the hookgate_api handler, which
// is what `xcaddy build --with github.com/hookgate/hookgate` and
// cmd/caddy do.
package hookgate

import (
	_ "github.com/hookgate/hookgate/caddymodule"
	_ "github.com/hookgate/hookgate/caddymodule/api"
)
