package caddymodule

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

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
//	hookgate dynamic [{
//		read_timeout <duration>
//	}]
//
//	hookgate [<name>] {
//		signature <preset>
//		signature hmac <sha1|sha256|sha512> <header> [hex|base64] [prefix <p>]
//		signature devopness [<header> [<sha1|sha256|sha512>]]
//		secret <secret...>
//		tolerance <duration>
//		public_url <url>
//		max_body <size>
//		read_timeout <duration>
//		methods <method...>
//		var <name> <path> [string|int|float|bool|json|array] [required] [default <value>]
//		const <name> <value> [string|int|float|bool|json|array]
//		when <expr>
//		skip_status <code>
//		insecure_no_signature
//		pipeline <name>
//		relay
//		wait [output]
//		dedup [<header>]
//
// A const is a variable without a path: the hook's own value, as the
// JSON {"name": <name>, "default": <value>} with no path.
//
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
		for d.NextBlock(0) {
			if d.Val() != "read_timeout" {
				return d.Errf("hookgate dynamic takes no option but read_timeout (%q): each hook created through the management API has its own", d.Val())
			}
			dur, err := parseDuration(d)
			if err != nil {
				return err
			}
			h.ReadTimeout = dur
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
			size, err := parseSize(d)
			if err != nil {
				return err
			}
			h.MaxBody = size
		case "read_timeout":
			dur, err := parseDuration(d)
			if err != nil {
				return err
			}
			h.ReadTimeout = dur
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
		case "const":
			v, err := parseConst(d)
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
		case "skip_status":
			if !d.NextArg() {
				return d.ArgErr()
			}
			code, err := strconv.Atoi(d.Val())
			if err != nil || !validSkipStatus(code) {
				return d.Errf("skip_status %q: want a status code from 200 to 599", d.Val())
			}
			h.SkipStatus = code
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
			if d.NextArg() {
				if d.Val() != "output" {
					return d.Errf("wait %q: want wait, or wait output", d.Val())
				}
				h.WaitOutput = true
			}
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

// typeNames lists the variable types for messages.
var typeNames = func() string {
	names := make([]string, len(hook.Types))
	for i, t := range hook.Types {
		names[i] = string(t)
	}
	return strings.Join(names, ", ")
}()

// parseVar reads `var <name> <path> [type] [required] [default <value>]`.
func parseVar(d *caddyfile.Dispenser) (Var, error) {
	args := d.RemainingArgs()
	if len(args) < 2 {
		return Var{}, d.Errf("var: want <name> <path> [%s] [required] [default <value>]", strings.ReplaceAll(typeNames, ", ", "|"))
	}
	v := Var{Name: args[0], Path: args[1]}
	if v.Path == "" {
		return Var{}, d.Errf("var %s: empty path; a variable without a path is written const <name> <value> [type]", v.Name)
	}
	for rest := args[2:]; len(rest) > 0; rest = rest[1:] {
		switch {
		case slices.Contains(hook.Types, hook.Type(rest[0])):
			v.Type = rest[0]
		case rest[0] == "required":
			v.Required = true
		case rest[0] == "default":
			if len(rest) < 2 {
				return Var{}, d.Errf("var %s: default needs a value", v.Name)
			}
			v.Default = &rest[1]
			rest = rest[1:]
		default:
			return Var{}, d.Errf("var %s: unexpected %q; want a type (%s), required, or default <value>", v.Name, rest[0], typeNames)
		}
	}
	return v, checkVar(d, v)
}

// parseConst reads `const <name> <value> [type]`: a variable without a
// path, whose value is its default.
func parseConst(d *caddyfile.Dispenser) (Var, error) {
	args := d.RemainingArgs()
	if len(args) < 2 || len(args) > 3 {
		return Var{}, d.Errf("const: want <name> <value> [%s]", strings.ReplaceAll(typeNames, ", ", "|"))
	}
	v := Var{Name: args[0], Default: &args[1]}
	if len(args) == 3 {
		if !slices.Contains(hook.Types, hook.Type(args[2])) {
			return Var{}, d.Errf("const %s: unknown type %q; want %s", v.Name, args[2], typeNames)
		}
		v.Type = args[2]
	}
	return v, checkVar(d, v)
}

// checkVar checks one variable as the engine will, at its line.
func checkVar(d *caddyfile.Dispenser, v Var) error {
	if _, err := hook.NewExtractor([]hook.Variable{v.variable()}); err != nil {
		return d.Err(err.Error())
	}
	return nil
}

// validSkipStatus reports whether code can answer a skipped hook.
func validSkipStatus(code int) bool { return code >= 200 && code <= 599 }

// Interface guards.
var _ caddyfile.Unmarshaler = (*Handler)(nil)
