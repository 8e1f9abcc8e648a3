package caddymodule

import (
	"math"
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/dustin/go-humanize"

	"github.com/hookgate/hookgate/pipeline/action"
	"github.com/hookgate/hookgate/pipeline/webhook"
)

// parseGlobalOption sets up the hookgate app from the global option:
//
//	{
//		hookgate {
//			storage sqlite [<path>]
//			storage postgres <dsn>
//			retention <duration>
//			lease <duration>
//			public_url <url>
//			request_log <n>
//			pipeline <name> {
//				concurrency <n>
//				queue_limit <n>
//				timeout <duration>
//				env <NAME> <value>
//				step <name> exec <command> [<args...>] [{
//					dir <path>
//					env <NAME> <value>
//					timeout <duration>
//					when <expr>
//				}]
//				step <name> http <method> <url> [{
//					header <name> <value>
//					body <expr>
//					timeout <duration>
//					when <expr>
//				}]
//			}
//			webhook <name> {
//				url <url>
//				header <name> <value>
//				events <type...>
//				secret <whsec_...>...
//				json_payload
//				when <expr>
//				body <expr>
//				pipelines <name>...
//				default
//				payload raw
//				forward_headers <name>...
//				recover <interval>
//			}
//			allow_targets <cidr...>
//			max_buffered <size>
//			delivery {
//				retry_schedule <duration...>
//				fail_after <n>
//				timeout <duration>
//			}
//		}
//	}
//
// Placeholders in the global options are not rewritten by the Caddyfile
// adapter, so {vars.x} in steps stays hookgate's own.
func parseGlobalOption(d *caddyfile.Dispenser, _ any) (any, error) {
	app := new(App)
	d.Next() // the option's name
	if d.NextArg() {
		return nil, d.ArgErr()
	}
	for d.NextBlock(0) {
		switch d.Val() {
		case "storage":
			s, err := parseStorage(d)
			if err != nil {
				return nil, err
			}
			app.Storage = s
		case "retention":
			dur, err := parseDuration(d)
			if err != nil {
				return nil, err
			}
			app.Retention = dur
		case "lease":
			dur, err := parseDuration(d)
			if err != nil {
				return nil, err
			}
			app.Lease = dur
		case "pipeline":
			p, err := parsePipeline(d)
			if err != nil {
				return nil, err
			}
			app.Pipelines = append(app.Pipelines, p)
		case "webhook":
			w, err := parseWebhook(d)
			if err != nil {
				return nil, err
			}
			app.Webhooks = append(app.Webhooks, w)
		case "public_url":
			if !d.NextArg() {
				return nil, d.ArgErr()
			}
			if err := checkPublicURL(d.Val()); err != nil {
				return nil, d.Err(err.Error())
			}
			app.PublicURL = d.Val()
			if d.NextArg() {
				return nil, d.ArgErr()
			}
		case "request_log":
			args := d.RemainingArgs()
			n, err := strconv.Atoi(strings.Join(args, " "))
			if len(args) != 1 || err != nil || n < 0 {
				return nil, d.Errf("request_log %q: want a number of requests, or 0 for none", strings.Join(args, " "))
			}
			app.RequestLog = &n
		case "allow_targets":
			args := d.RemainingArgs()
			if len(args) == 0 {
				return nil, d.ArgErr()
			}
			if _, err := parsePrefixes(args); err != nil {
				return nil, d.Err(err.Error())
			}
			app.AllowTargets = append(app.AllowTargets, args...)
		case "max_buffered":
			size, err := parseSize(d)
			if err != nil {
				return nil, err
			}
			app.MaxBuffered = size
		case "delivery":
			dl, err := parseDelivery(d)
			if err != nil {
				return nil, err
			}
			app.Delivery = dl
		default:
			return nil, d.Errf("unknown hookgate option %q", d.Val())
		}
	}
	return httpcaddyfile.App{Name: "hookgate", Value: caddyconfig.JSON(app, nil)}, nil
}

// parseStorage reads `storage sqlite [<path>]` or `storage postgres <dsn>`.
func parseStorage(d *caddyfile.Dispenser) (*Storage, error) {
	args := d.RemainingArgs()
	switch {
	case len(args) == 1 && args[0] == "sqlite":
		return &Storage{Driver: "sqlite"}, nil
	case len(args) == 2 && args[0] == "sqlite":
		return &Storage{Driver: "sqlite", Path: args[1]}, nil
	case len(args) == 2 && args[0] == "postgres":
		return &Storage{Driver: "postgres", DSN: args[1]}, nil
	}
	return nil, d.Err("storage: want sqlite [<path>] or postgres <dsn>")
}

// parsePipeline reads a pipeline block.
func parsePipeline(d *caddyfile.Dispenser) (Pipeline, error) {
	if !d.NextArg() {
		return Pipeline{}, d.ArgErr()
	}
	p := Pipeline{Name: d.Val()}
	if d.NextArg() {
		return p, d.ArgErr()
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		var err error
		switch d.Val() {
		case "concurrency":
			p.Concurrency, err = parsePositive(d)
		case "queue_limit":
			p.QueueLimit, err = parsePositive(d)
		case "timeout":
			p.Timeout, err = parseDuration(d)
		case "env":
			err = parseEnv(d, &p.Env)
		case "step":
			var s Step
			s, err = parseStep(d)
			p.Steps = append(p.Steps, s)
		default:
			err = d.Errf("pipeline %s: unknown option %q", p.Name, d.Val())
		}
		if err != nil {
			return p, err
		}
	}
	if len(p.Steps) == 0 {
		return p, d.Errf("pipeline %s: no steps", p.Name)
	}
	if _, err := action.Compile(p.pipeline()); err != nil {
		return p, d.Err(err.Error())
	}
	return p, nil
}

// parseWebhook reads a webhook block.
func parseWebhook(d *caddyfile.Dispenser) (Webhook, error) {
	if !d.NextArg() {
		return Webhook{}, d.ArgErr()
	}
	w := Webhook{Name: d.Val()}
	if d.NextArg() {
		return w, d.ArgErr()
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		var err error
		switch d.Val() {
		case "url":
			err = parseOneArg(d, &w.URL)
		case "header":
			err = parseEnv(d, &w.Headers)
		case "events":
			err = parseList(d, &w.Events)
		case "secret":
			err = parseList(d, &w.Secrets)
		case "json_payload":
			if d.NextArg() {
				err = d.ArgErr()
			}
			w.JSONPayload = true
		case "when":
			err = parseOneArg(d, &w.When)
		case "body":
			err = parseOneArg(d, &w.Body)
		case "pipelines":
			err = parseList(d, &w.Pipelines)
		case "default":
			if d.NextArg() {
				err = d.ArgErr()
			}
			w.Default = true
		case "payload":
			if err = parseOneArg(d, &w.Payload); err == nil && w.Payload != "raw" {
				err = d.Errf("webhook %s: payload %q: want raw", w.Name, w.Payload)
			}
		case "forward_headers":
			err = parseList(d, &w.ForwardHeaders)
		case "recover":
			w.Recover, err = parseDuration(d)
		default:
			err = d.Errf("webhook %s: unknown option %q", w.Name, d.Val())
		}
		if err != nil {
			return w, err
		}
	}
	if w.URL == "" {
		return w, d.Errf("webhook %s: no url", w.Name)
	}
	def := w.definition()
	if len(def.Secrets) > 0 && hasPlaceholder(def.Secrets) {
		def.Secrets = nil // {env.X} is only known when the config loads
	}
	if _, err := webhook.Compile(def, nil); err != nil {
		return w, d.Err(err.Error())
	}
	return w, nil
}

// hasPlaceholder tells whether any of the values holds a {placeholder}.
func hasPlaceholder(values []string) bool {
	for _, v := range values {
		if strings.Contains(v, "{") {
			return true
		}
	}
	return false
}

// parseDelivery reads the delivery block: how outgoing webhooks are
// attempted.
func parseDelivery(d *caddyfile.Dispenser) (*Delivery, error) {
	if d.NextArg() {
		return nil, d.ArgErr()
	}
	dl := new(Delivery)
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		var err error
		switch d.Val() {
		case "retry_schedule":
			args := d.RemainingArgs()
			if len(args) == 0 {
				return nil, d.ArgErr()
			}
			for _, a := range args {
				dur, perr := caddy.ParseDuration(a)
				if perr != nil || dur <= 0 {
					return nil, d.Errf("retry_schedule %q: want positive durations such as 5s 5m 30m", a)
				}
				dl.RetrySchedule = append(dl.RetrySchedule, caddy.Duration(dur))
			}
		case "fail_after":
			dl.FailAfter, err = parsePositive(d)
		case "timeout":
			dl.Timeout, err = parseDuration(d)
		default:
			err = d.Errf("delivery: unknown option %q", d.Val())
		}
		if err != nil {
			return nil, err
		}
	}
	return dl, nil
}

// parseStep reads `step <name> exec ...` or `step <name> http ...` and
// its optional block.
func parseStep(d *caddyfile.Dispenser) (Step, error) {
	args := d.RemainingArgs()
	if len(args) < 3 {
		return Step{}, d.Err("step: want <name> exec <command> [<args...>] or <name> http <method> <url>")
	}
	s := Step{Name: args[0]}
	switch args[1] {
	case "exec":
		s.Exec = &ExecStep{Argv: args[2:]}
	case "http":
		if len(args) != 4 {
			return s, d.Errf("step %s: want http <method> <url>", s.Name)
		}
		s.HTTP = &HTTPStep{Method: strings.ToUpper(args[2]), URL: args[3]}
	default:
		return s, d.Errf("step %s: unknown kind %q (want exec or http)", s.Name, args[1])
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		var err error
		switch opt := d.Val(); {
		case opt == "when":
			err = parseOneArg(d, &s.When)
		case opt == "timeout":
			s.Timeout, err = parseDuration(d)
		case opt == "dir" && s.Exec != nil:
			err = parseOneArg(d, &s.Exec.Dir)
		case opt == "env" && s.Exec != nil:
			err = parseEnv(d, &s.Exec.Env)
		case opt == "header" && s.HTTP != nil:
			err = parseEnv(d, &s.HTTP.Headers)
		case opt == "body" && s.HTTP != nil:
			err = parseOneArg(d, &s.HTTP.Body)
		default:
			err = d.Errf("step %s: unknown option %q", s.Name, opt)
		}
		if err != nil {
			return s, err
		}
	}
	return s, nil
}

// parseOneArg reads the one argument of the current line into dst.
func parseOneArg(d *caddyfile.Dispenser, dst *string) error {
	args := d.RemainingArgs()
	if len(args) != 1 {
		return d.ArgErr()
	}
	*dst = args[0]
	return nil
}

// parseList appends the arguments of the current line, at least one, to
// dst.
func parseList(d *caddyfile.Dispenser, dst *[]string) error {
	args := d.RemainingArgs()
	if len(args) == 0 {
		return d.ArgErr()
	}
	*dst = append(*dst, args...)
	return nil
}

// parseEnv reads `<name> <value>` into a map.
func parseEnv(d *caddyfile.Dispenser, m *map[string]string) error {
	args := d.RemainingArgs()
	if len(args) != 2 {
		return d.Errf("%s: want <name> <value>", d.Val())
	}
	if *m == nil {
		*m = make(map[string]string)
	}
	(*m)[args[0]] = args[1]
	return nil
}

// parsePositive reads a positive integer argument.
func parsePositive(d *caddyfile.Dispenser) (int, error) {
	opt := d.Val()
	if !d.NextArg() {
		return 0, d.ArgErr()
	}
	n, err := strconv.Atoi(d.Val())
	if err != nil || n <= 0 {
		return 0, d.Errf("%s %q: want a positive integer", opt, d.Val())
	}
	if d.NextArg() {
		return 0, d.ArgErr()
	}
	return n, nil
}

// parseSize reads a positive size argument, such as 25MB or 256MiB.
func parseSize(d *caddyfile.Dispenser) (int64, error) {
	opt := d.Val()
	if !d.NextArg() {
		return 0, d.ArgErr()
	}
	size, err := humanize.ParseBytes(d.Val())
	if err != nil || size == 0 || size > math.MaxInt64 {
		return 0, d.Errf("%s %q: want a size such as 1MB", opt, d.Val())
	}
	if d.NextArg() {
		return 0, d.ArgErr()
	}
	return int64(size), nil
}

// parseDuration reads a positive duration argument.
func parseDuration(d *caddyfile.Dispenser) (caddy.Duration, error) {
	opt := d.Val()
	if !d.NextArg() {
		return 0, d.ArgErr()
	}
	dur, err := caddy.ParseDuration(d.Val())
	if err != nil || dur <= 0 {
		return 0, d.Errf("%s %q: want a positive duration such as 5m", opt, d.Val())
	}
	if d.NextArg() {
		return 0, d.ArgErr()
	}
	return caddy.Duration(dur), nil
}
