package api

import (
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func init() {
	httpcaddyfile.RegisterHandlerDirective("hookgate_api", parseAPIHandler)
	httpcaddyfile.RegisterDirectiveOrder("hookgate_api", httpcaddyfile.Before, "respond")
}

// parseAPIHandler sets up the management API from Caddyfile tokens:
//
//	hookgate_api {
//		token <value> read|write
//		organisation <name>
//		ui off
//	}
//
// token may be repeated; at least one is required. organisation names
// the organisation of the ricloud dialect's webhook configs. ui off
// turns the dashboard (<mount>/ui/) off.
func parseAPIHandler(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	handler := new(APIHandler)
	err := handler.UnmarshalCaddyfile(h.Dispenser)
	return handler, err
}

// UnmarshalCaddyfile implements caddyfile.Unmarshaler; the syntax is in
// parseAPIHandler's documentation.
func (h *APIHandler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the directive's name
	if d.NextArg() {
		return d.ArgErr()
	}
	for d.NextBlock(0) {
		switch d.Val() {
		case "token":
			args := d.RemainingArgs()
			if len(args) != 2 {
				return d.Err("token: want <value> read|write")
			}
			if args[1] != "read" && args[1] != "write" {
				return d.Errf("token: access %q: want read or write", args[1])
			}
			h.Tokens = append(h.Tokens, APIToken{Value: args[0], Access: args[1]})
		case "organisation":
			if !d.NextArg() || d.CountRemainingArgs() > 0 {
				return d.Err("organisation: want <name>")
			}
			h.Organisation = d.Val()
		case "ui":
			if !d.NextArg() || d.Val() != "off" || d.NextArg() {
				return d.Err("ui: want `ui off` (the dashboard is on by default)")
			}
			h.UIOff = true
		default:
			return d.Errf("unknown hookgate_api option %q", d.Val())
		}
	}
	if len(h.Tokens) == 0 {
		return d.Err("hookgate_api needs at least one `token <value> read|write`; the API is never open")
	}
	return nil
}

// Interface guard.
var _ caddyfile.Unmarshaler = (*APIHandler)(nil)
