// Command caddy is a Caddy binary with the standard modules and hookgate,
// exactly what `xcaddy build --with github.com/hookgate/hookgate` generates.
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	_ "github.com/caddyserver/caddy/v2/modules/standard"
	_ "github.com/hookgate/hookgate"
)

func main() {
	caddycmd.Main()
}
