package caddymodule

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/dustin/go-humanize"

	"github.com/hookgate/hookgate/pipeline/hook"
	"github.com/hookgate/hookgate/pipeline/signature"
)

func init() {
	httpcaddyfile.RegisterGlobalOption("hookgate", parseGlobalOption)
	httpcaddyfile.RegisterHandlerDirective("hookgate", parseHandler)
	// Before basic_auth, so that no sibling handle, route, respond or
	// reverse_proxy answers a request that was not verified.
	httpcaddyfile.RegisterDirectiveOrder("hookgate", httpcaddyfile.Before, "basic_auth")
}

// parseHandler sets up the hookgate handler from Caddyfile tokens:
//
//	hookgate dynamic
//
//	hookgate [<name>] {
//		signature <preset>
//		signature hmac <sha1|sha256|sha512> <header> [hex|base64] [prefix <p>]
//		signature devopness [<header> [<sha1|sha256|sha512>]]
//		secret <secret...>
//		tolerance <duration>
//		public_url <url>
//		max_body <size>
//		methods <method...>
//		var <name> <path> [string|int|float|bool|json] [required] [default <value>]
//		when <expr>
//		insecure_no_signature
//		pipeline <name>
//		relay
//		wait
//		dedup [<header>]
//	}
func parseHandler(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	handler := new(Handler)
	err := handler.UnmarshalCaddyfile(h.Dispenser)
	return handler, err
}

// UnmarshalCaddyfile implements caddyfile.Unmarshaler; the syntax is in
// parseHandler's documentation. Everything that can be checked without
// the secrets is checked here, so `caddy adapt` names the bad line.
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the directive's name
	directiveLine := d.Line()
	if d.NextArg() {
		h.Name = d.Val()
	}
	if d.NextArg() {
		return d.ArgErr()
	}
	if h.Name == "dynamic" {
		h.Name, h.Dynamic = "", true
		if d.NextBlock(0) {
			return d.Errf("hookgate dynamic takes no options (%q): each hook created through the management API has its own", d.Val())
		}
		return nil
	}
	whenLine := 0
	for d.NextBlock(0) {
		switch d.Val() {
		case "signature":
			if err := h.parseSignature(d); err != nil {
				return err
			}
		case "secret":
			args := d.RemainingArgs()
			if len(args) == 0 {
				return d.ArgErr()
			}
			h.Secrets = append(h.Secrets, args...)
		case "tolerance":
			dur, err := parseDuration(d)
			if err != nil {
				return err
			}
			h.Tolerance = dur
		case "public_url":
			if !d.NextArg() {
				return d.ArgErr()
			}
			if !strings.HasPrefix(d.Val(), "http://") && !strings.HasPrefix(d.Val(), "https://") {
				return d.Errf("public_url %q: want an http:// or https:// URL", d.Val())
			}
			h.PublicURL = d.Val()
		case "max_body":
			if !d.NextArg() {
				return d.ArgErr()
			}
			size, err := humanize.ParseBytes(d.Val())
			if err != nil || size == 0 {
				return d.Errf("max_body %q: want a size such as 1MB", d.Val())
			}
			h.MaxBody = int64(size)
		case "methods":
			h.Methods = d.RemainingArgs()
			if len(h.Methods) == 0 {
				return d.ArgErr()
			}
		case "var":
			v, err := parseVar(d)
			if err != nil {
				return err
			}
			h.Vars = append(h.Vars, v)
		case "when":
			if !d.NextArg() {
				return d.ArgErr()
			}
			h.When = d.Val()
			whenLine = d.Line()
		case "insecure_no_signature":
			h.InsecureNoSignature = true
		case "pipeline":
			if !d.NextArg() {
				return d.ArgErr()
			}
			h.Pipeline = d.Val()
		case "relay":
			h.Relay = true
		case "wait":
			h.Wait = true
		case "dedup":
			h.Dedup = &Dedup{}
			if d.NextArg() {
				h.Dedup.Header = d.Val()
			}
		default:
			return d.Errf("unknown hookgate option %q", d.Val())
		}
		if d.NextArg() {
			return d.ArgErr()
		}
	}

	if _, _, err := h.compile(); err != nil {
		line := directiveLine
		if whenLine > 0 && strings.Contains(err.Error(), "condition") {
			line = whenLine
		}
		return errorAt(d, line, err)
	}
	if h.Signature == nil && !h.InsecureNoSignature {
		return errorAt(d, directiveLine, errors.New("no signature configured: set a signature preset and secret, or insecure_no_signature to accept unauthenticated hooks"))
	}
	if err := h.checkActs(); err != nil {
		return errorAt(d, directiveLine, err)
	}
	if h.Signature != nil && len(h.Secrets) == 0 {
		return errorAt(d, directiveLine, fmt.Errorf("signature %s needs a secret", h.Signature.Preset))
	}
	return nil
}

// errorAt reports err at an earlier line of the block, as the dispenser
// reports errors at the current one.
func errorAt(d *caddyfile.Dispenser, line int, err error) error {
	return fmt.Errorf("hookgate: %v, at %s:%d", err, d.File(), line)
}

// parseSignature reads the arguments of a signature line.
func (h *Handler) parseSignature(d *caddyfile.Dispenser) error {
	if !d.NextArg() {
		return d.ArgErr()
	}
	sig := &Signature{Preset: d.Val()}
	switch sig.Preset {
	case "hmac":
		args := d.RemainingArgs()
		if len(args) < 2 {
			return d.Err("signature hmac: want <sha1|sha256|sha512> <header> [hex|base64] [prefix <p>]")
		}
		sig.Algorithm, sig.Header, args = args[0], args[1], args[2:]
		if len(args) > 0 && args[0] != "prefix" {
			sig.Encoding, args = args[0], args[1:]
		}
		if len(args) > 0 {
			if args[0] != "prefix" || len(args) != 2 {
				return d.Errf("signature hmac: unexpected %q; want [hex|base64] [prefix <p>]", strings.Join(args, " "))
			}
			sig.Prefix = args[1]
		}
	case "devopness":
		args := d.RemainingArgs()
		if len(args) > 2 {
			return d.ArgErr()
		}
		if len(args) > 0 {
			sig.Header = args[0]
		}
		if len(args) > 1 {
			sig.Algorithm = args[1]
		}
	default:
		if !slices.Contains(signature.Presets(), sig.Preset) {
			return d.Errf("unknown signature preset %q; known: hmac, %s", sig.Preset, strings.Join(signature.Presets(), ", "))
		}
	}
	if err := checkSignatureShape(sig); err != nil {
		return d.Errf("signature %s: %v", sig.Preset, err)
	}
	h.Signature = sig
	return nil
}

// parseVar reads `var <name> <path> [type] [required] [default <value>]`.
func parseVar(d *caddyfile.Dispenser) (Var, error) {
	args := d.RemainingArgs()
	if len(args) < 2 {
		return Var{}, d.Err("var: want <name> <path> [string|int|float|bool|json] [required] [default <value>]")
	}
	v := Var{Name: args[0], Path: args[1]}
	for rest := args[2:]; len(rest) > 0; rest = rest[1:] {
		switch rest[0] {
		case string(hook.String), string(hook.Int), string(hook.Float), string(hook.Bool), string(hook.JSON):
			v.Type = rest[0]
		case "required":
			v.Required = true
		case "default":
			if len(rest) < 2 {
				return Var{}, d.Errf("var %s: default needs a value", v.Name)
			}
			v.Default = &rest[1]
			rest = rest[1:]
		default:
			return Var{}, d.Errf("var %s: unexpected %q; want a type (string, int, float, bool, json), required, or default <value>", v.Name, rest[0])
		}
	}
	if _, err := hook.NewExtractor([]hook.Variable{v.variable()}); err != nil {
		return Var{}, d.Err(err.Error())
	}
	return v, nil
}

// Interface guards.
var _ caddyfile.Unmarshaler = (*Handler)(nil)
