package auditlog

import (
	"io"
	"net/http"
	"time"

	"github.com/apiguard/apiguard/internal/reqctx"
	"github.com/rs/zerolog"
)

// Options configures a Logger. The zero value is usable.
type Options struct {
	// Level is the minimum level written. Default zerolog.InfoLevel.
	Level zerolog.Level
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Logger records audit events as zerolog JSON lines. A nil *Logger records
// nothing, so packages can hold one unconditionally. Safe for concurrent use.
type Logger struct {
	zl  zerolog.Logger
	now func() time.Time
}

// New returns a Logger writing JSON lines to w.
func New(w io.Writer, o Options) *Logger {
	if o.Now == nil {
		o.Now = time.Now
	}
	lvl := o.Level
	if lvl == zerolog.NoLevel {
		lvl = zerolog.InfoLevel
	}
	return &Logger{zl: zerolog.New(w).Level(lvl), now: o.Now}
}

// Record writes e, enriched with what r's context knows. r may be nil.
func (l *Logger) Record(r *http.Request, e Event) {
	if l == nil {
		return
	}
	ev := l.zl.Info()
	if e.Name == SecurityThreat || e.Name == RefreshReuse {
		ev = l.zl.Warn()
	}
	if !ev.Enabled() {
		return
	}
	ev = ev.Str("event", string(e.Name))
	if e.Reason != "" {
		ev = ev.Str("reason", e.Reason)
	}
	str := func(k, v string) {
		if v != "" {
			ev = ev.Str(k, v)
		}
	}
	str("sub", e.Sub)
	str("jti", e.JTI)
	str("kid", e.KID)
	str("iss", e.Iss)
	str("token", e.Token)
	str("detail", e.Detail)
	if e.Status != 0 {
		ev = ev.Int("status", e.Status)
	}
	if r != nil {
		if info, ok := reqctx.From(r.Context()); ok {
			str("request_id", info.RequestID)
			str("client", info.Client)
			if info.IP.IsValid() {
				ev = ev.Str("ip", info.IP.String())
			}
		}
		ev = ev.Str("method", r.Method).Str("path", r.URL.Path)
	}
	ev.Time("time", l.now()).Send()
}
