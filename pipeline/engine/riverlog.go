package engine

import (
	"context"
	"log/slog"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// zapHandler is a slog.Handler writing to a zap logger, so that River's
// logs go where Caddy's go.
type zapHandler struct {
	logger *zap.Logger
	group  string
}

// level is the zap level of a River log level. River's info (client
// started, periodic job counts, maintenance runs) is debug here: Caddy logs
// at info by default, and hookgate logs what happens to actions itself.
func level(l slog.Level) zapcore.Level {
	switch {
	case l >= slog.LevelError:
		return zapcore.ErrorLevel
	case l >= slog.LevelWarn:
		return zapcore.WarnLevel
	}
	return zapcore.DebugLevel
}

// Enabled implements slog.Handler.
func (h *zapHandler) Enabled(_ context.Context, l slog.Level) bool {
	return h.logger.Core().Enabled(level(l))
}

// Handle implements slog.Handler.
func (h *zapHandler) Handle(_ context.Context, r slog.Record) error {
	ce := h.logger.Check(level(r.Level), r.Message)
	if ce == nil {
		return nil
	}
	fields := make([]zap.Field, 0, r.NumAttrs())
	r.Attrs(func(a slog.Attr) bool {
		fields = append(fields, h.field(a))
		return true
	})
	ce.Write(fields...)
	return nil
}

// WithAttrs implements slog.Handler.
func (h *zapHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	fields := make([]zap.Field, len(attrs))
	for i, a := range attrs {
		fields[i] = h.field(a)
	}
	return &zapHandler{logger: h.logger.With(fields...), group: h.group}
}

// WithGroup implements slog.Handler: the group prefixes later keys.
func (h *zapHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return &zapHandler{logger: h.logger, group: h.group + name + "."}
}

// field is a slog attribute as a zap field.
func (h *zapHandler) field(a slog.Attr) zap.Field {
	return zap.Any(h.group+a.Key, a.Value.Resolve().Any())
}
