package auditlog

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/rs/zerolog"
)

// NewSlog returns a Logger that writes its lines to sl instead of to
// zerolog: the same events, with the same fields, the same types and the
// same rules (never a secret, values cut to their caps, threat suppression,
// refusal aggregation, IP modes, the Alerter and the Counter), as
// slog records. A nil sl writes nothing (the Alerter and the Counter still
// see every event).
//
// Each line is one slog.Record:
//
//   - its Time is the line's time (the schema's "time"), in UTC;
//   - its Level is slog.LevelWarn for the events the schema writes at warn
//     and slog.LevelInfo for the others (the schema's "level");
//   - its Message is the event name, which is also the "event" attribute;
//   - every other field of the schema is one attribute with the same key:
//     strings as slog.KindString (times such as suppressed_first in the
//     schema's layout), numbers as KindInt64 (duration: KindFloat64),
//     booleans as KindBool, and counts (on log_suppressed) as a group.
//
// With slog.NewJSONHandler a line therefore carries the zerolog line's keys
// and values, plus "msg", with "level" spelled INFO or WARN and "time" with
// slog's precision. The handler decides what is written: Options.Level is not
// used (use the handler's level), and records carry the request's context
// (Handler.Handle's ctx), so a handler can add the trace of the request.
func NewSlog(sl *slog.Logger, o Options) *Logger {
	l := New(io.Discard, o)
	l.zl = zerolog.Nop()
	l.sl = &slogSink{}
	if sl != nil {
		l.sl.h = sl.Handler()
	}
	return l
}

// slogSink is where a Logger made by NewSlog writes.
type slogSink struct {
	h slog.Handler // nil: nothing is written
}

func slogLevel(warn bool) slog.Level {
	if warn {
		return slog.LevelWarn
	}
	return slog.LevelInfo
}

// enabled reports whether the handler writes records at that level.
func (s *slogSink) enabled(ctx context.Context, warn bool) bool {
	return s.h != nil && s.h.Enabled(ctx, slogLevel(warn))
}

// dropsInfo reports whether the handler drops info records. Not inlined, so
// that Logger.slogDrops, its nil check, inlines into the zerolog path.
//
//go:noinline
func (s *slogSink) dropsInfo(ctx context.Context) bool { return !s.enabled(ctx, false) }

// open starts a line at that level; false when the handler would drop it.
func (s *slogSink) open(ctx context.Context, warn bool) (line, bool) {
	if !s.enabled(ctx, warn) {
		return line{}, false
	}
	return line{sl: &slogLine{h: s.h, ctx: ctx, level: slogLevel(warn)}}, true
}

// slogLine is one record being built: its attributes collected in order, so
// that they are added to the record at once.
type slogLine struct {
	h     slog.Handler
	ctx   context.Context
	level slog.Level
	rec   slog.Record
	buf   [24]slog.Attr // more than a line has
	attrs []slog.Attr
}

func (sl *slogLine) head(now time.Time, n EventName) {
	sl.rec = slog.NewRecord(now.UTC(), sl.level, string(n), 0)
	sl.attrs = sl.buf[:0]
	sl.add(slog.String("event", string(n)))
}

func (sl *slogLine) add(a slog.Attr) { sl.attrs = append(sl.attrs, a) }

func (sl *slogLine) send() {
	sl.rec.AddAttrs(sl.attrs...)
	// A handler's error is dropped, as zerolog drops a write error: the
	// decision was made and counted whatever the log does.
	_ = sl.h.Handle(sl.ctx, sl.rec)
}
