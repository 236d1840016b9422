package auditlog

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"time"

	"github.com/rs/zerolog"
)

// Options configures a Logger. The zero value is usable: every event written,
// full IPs, the system clock, no alerter, no counter, repeats of threat events
// suppressed for a minute, refusals aggregated beyond 5 a minute per client
// and beyond 100 lines a second in all.
type Options struct {
	// Level is the minimum level written. Threat events (security_threat,
	// refresh_reuse, lockout) and store_unavailable are written at warn,
	// everything else at info. zerolog.Disabled writes nothing (the Alerter
	// and the Counter still see every event). Default (the zero value,
	// zerolog.DebugLevel, or zerolog.NoLevel): every event.
	Level zerolog.Level
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// IP says how the client IP is written. Default IPFull. A value other
	// than IPFull, IPMasked and IPNone is treated as IPNone.
	IP IPMode
	// Alerter receives threat events after repeat suppression. Default
	// none.
	Alerter Alerter
	// SuppressWindow is how long repeats of a threat event with the same
	// event, reason and client are kept out of the log and from the
	// Alerter after one is written. The next one written after the window
	// carries the count in "suppressed"; if none comes, a summary line is
	// written when a later threat event sweeps the window away, or by
	// Flush. Default DefaultSuppressWindow (1m); negative disables
	// suppression.
	SuppressWindow time.Duration
	// SuppressMaxKeys bounds the (event, reason, client) windows tracked;
	// at the cap the oldest is dropped (its pending count written as a
	// summary line first). Default DefaultSuppressMaxKeys (10,000).
	SuppressMaxKeys int
	// Counter, when set, counts every recorded event, suppressed and
	// below-level ones included, with bounded label values (see Counter).
	// Package auditlog/prom provides a Prometheus one. Default none.
	Counter Counter

	// RefusalWindow and RefusalBurst aggregate refusal lines per key:
	// of the refusal events (token_rejected, rate_limited, login_failure,
	// cors_rejected, and token_refresh with a 4xx status) with the same
	// event, reason and client, and of the access lines with the same 4xx
	// status and client, the first RefusalBurst in each RefusalWindow are
	// written and the rest only counted. The first line written in a later
	// window carries the count in "suppressed"; if none comes, a summary
	// line is written when a later refusal sweeps the window away, or by
	// Flush. Defaults DefaultRefusalWindow (1m) and DefaultRefusalBurst
	// (5); a negative value of either turns this aggregation off.
	RefusalWindow time.Duration
	RefusalBurst  int
	// RefusalMaxKeys bounds the refusal windows tracked; at the cap the
	// oldest is dropped, its pending count written as a summary line
	// first. Default DefaultRefusalMaxKeys (10,000).
	RefusalMaxKeys int
	// RefusalCeiling is how many refusal lines (events, access lines and
	// their summaries) are written per second in all, with a burst of as
	// many; it holds whatever the number of clients. The lines beyond it
	// are only counted, by event, and reported on a log_suppressed line at
	// most once a second (written by the first refusal a second after the
	// previous one, or by Flush). Default DefaultRefusalCeiling (100);
	// negative: no ceiling; at most 1e9.
	RefusalCeiling int
}

// Logger records audit events as zerolog JSON lines, one line per event
// (repeated threats and refusals aggregated, see the package doc's Floods),
// each line written with one Write call. A nil *Logger records nothing, so
// packages can hold one unconditionally. Safe for concurrent use: a writer
// other than an *os.File is wrapped so that lines never interleave.
type Logger struct {
	zl      zerolog.Logger
	now     func() time.Time
	ip      IPMode
	alerter Alerter
	counter *boundedCounter // nil: no counter
	sup     *suppressor     // threat events; nil: suppression disabled
	ref     *suppressor     // refusals; nil: no per-key aggregation
	ceil    *ceiling        // refusals; nil: no ceiling
	sl      *slogSink       // non-nil: lines go to slog, not to zl (see NewSlog)
}

// New returns a Logger writing JSON lines to w. Options are described on
// Options; none is an error.
func New(w io.Writer, o Options) *Logger {
	if o.Now == nil {
		o.Now = time.Now
	}
	lvl := o.Level
	if lvl == zerolog.NoLevel {
		lvl = zerolog.InfoLevel
	}
	if _, ok := w.(*os.File); !ok && w != nil {
		w = zerolog.SyncWriter(w)
	}
	if w == nil {
		w = io.Discard
		lvl = zerolog.Disabled
	}
	if o.IP != IPFull && o.IP != IPMasked {
		o.IP = IPNone
	}
	l := &Logger{zl: zerolog.New(w).Level(lvl), now: o.Now, ip: o.IP, alerter: o.Alerter, counter: newBoundedCounter(o.Counter)}
	if o.SuppressWindow >= 0 {
		if o.SuppressWindow == 0 {
			o.SuppressWindow = DefaultSuppressWindow
		}
		if o.SuppressMaxKeys <= 0 {
			o.SuppressMaxKeys = DefaultSuppressMaxKeys
		}
		l.sup = newSuppressor(o.SuppressWindow, o.SuppressMaxKeys, 1)
	}
	if o.RefusalWindow >= 0 && o.RefusalBurst >= 0 {
		if o.RefusalWindow == 0 {
			o.RefusalWindow = DefaultRefusalWindow
		}
		if o.RefusalBurst == 0 {
			o.RefusalBurst = DefaultRefusalBurst
		}
		if o.RefusalMaxKeys <= 0 {
			o.RefusalMaxKeys = DefaultRefusalMaxKeys
		}
		l.ref = newSuppressor(o.RefusalWindow, o.RefusalMaxKeys, o.RefusalBurst)
	}
	if o.RefusalCeiling >= 0 {
		if o.RefusalCeiling == 0 {
			o.RefusalCeiling = DefaultRefusalCeiling
		}
		l.ceil = newCeiling(o.RefusalCeiling)
	}
	return l
}

// infoEnabled reports whether info lines are written, without taking an
// event from zerolog's pool. False for a nil Logger; true for a slog one,
// whose handler decides per record (see slogDrops). Both inline, so the
// zerolog path costs what it did before slog.
func (l *Logger) infoEnabled() bool {
	return l != nil && (l.sl != nil || l.zl.GetLevel() <= zerolog.InfoLevel && zerolog.GlobalLevel() <= zerolog.InfoLevel)
}

// slogDrops reports whether l writes to slog and its handler drops info
// records for ctx.
func (l *Logger) slogDrops(ctx context.Context) bool {
	return l.sl != nil && l.sl.dropsInfo(ctx)
}

// warns reports whether the lines of n are written at warn rather than info.
func (n EventName) warns() bool {
	return n.alerting() || n == StoreUnavailable || n == LogSuppressed
}

// open starts a line at n's level, for ctx's request; false when that level
// is not written.
func (l *Logger) open(ctx context.Context, n EventName) (line, bool) {
	if l.sl != nil {
		return l.sl.open(ctx, n.warns())
	}
	ev := l.zl.Info()
	if n.warns() {
		ev = l.zl.Warn()
	}
	return line{ev: ev}, ev.Enabled()
}

// Record writes e, enriched with what r and its context know (request_id,
// client, ip, method, path; sub and jti when e has none). r may be nil.
//
// Every event is counted in Options.Counter. A threat event (security_threat,
// refresh_reuse, lockout) also goes to Options.Alerter, unless it repeats
// one with the same event, reason and client written less than
// SuppressWindow ago: then it is only counted, and the count is reported
// later (see Options.SuppressWindow). A refusal beyond its budget is only
// counted likewise (see Options.RefusalWindow and RefusalCeiling).
//
// Fields that may come from a client (path, method, sub, reason, ...) are
// JSON-escaped and cut to a bounded length, so they cannot break or forge a
// line. An event below the level costs no allocation.
func (l *Logger) Record(r *http.Request, e Event) {
	if l == nil {
		return
	}
	var info *RequestInfo
	ctx := context.Background()
	if r != nil {
		ctx = r.Context()
		info, _ = RequestInfoFrom(ctx)
	}
	l.record(ctx, r, info, &e)
}

// RecordContext records e for code that holds the request's context but not
// the request itself (a token service, a store): request_id, client and ip
// come from the context's RequestInfo when there is one; method and path are
// left out. A nil Logger records nothing.
func (l *Logger) RecordContext(ctx context.Context, e Event) {
	if l == nil {
		return
	}
	info, _ := RequestInfoFrom(ctx)
	l.record(ctx, nil, info, &e)
}

func (l *Logger) record(ctx context.Context, r *http.Request, info *RequestInfo, e *Event) {
	l.counter.inc(e.Name, e.Reason)
	switch {
	case e.Name.alerting():
		l.recordThreat(ctx, r, info, e)
	case e.refusal():
		// Refusals are info lines; decide before taking an event from
		// zerolog's pool, which a suppressed line would not give back.
		if !l.infoEnabled() || l.slogDrops(ctx) {
			return
		}
		now := l.now()
		reason, _ := clip(e.Reason, maxReason)
		if d, ok := l.admit(r, info, suppressKey{event: e.Name, reason: reason}, now); ok {
			if ln, ok := l.open(ctx, e.Name); ok {
				l.write(ln, r, info, e, now, d)
			}
		}
	default:
		ln, ok := l.open(ctx, e.Name)
		if !ok {
			return
		}
		l.write(ln, r, info, e, l.now(), decision{})
	}
}

func (l *Logger) recordThreat(ctx context.Context, r *http.Request, info *RequestInfo, e *Event) {
	now := l.now()
	d := decision{write: true}
	if l.sup != nil {
		reason, _ := clip(e.Reason, maxReason)
		var buf [4]pending
		var sums []pending
		k := suppressKey{event: e.Name, reason: reason}
		k.client, k.ip = l.client(r, info)
		d, sums = l.sup.observe(k, now, buf[:0])
		for _, p := range sums {
			l.writeSummary(p, now)
		}
	}
	if !d.write {
		return
	}
	if ln, ok := l.open(ctx, e.Name); ok {
		l.write(ln, r, info, e, now, d)
	}
	if l.alerter != nil {
		l.alert(ctx, r, info, e, now, d)
	}
}

// client names the client of a line for suppression, without allocating:
// its client key, else its IP cut to what Options.IP writes.
func (l *Logger) client(r *http.Request, info *RequestInfo) (string, netip.Addr) {
	if info != nil && info.Client != "" {
		c, _ := clip(info.Client, maxClient)
		return c, netip.Addr{}
	}
	if r == nil && info == nil {
		return "", netip.Addr{}
	}
	return "", l.ip.reduce(requestIP(r, info))
}

// clientName is the client of a key as alerts and summaries name it: its
// client key, else its IP as Options.IP writes it, else "".
func (l *Logger) clientName(k suppressKey) string {
	if k.client != "" {
		return k.client
	}
	var buf [64]byte
	b, _ := l.ip.appendIP(buf[:0], k.ip)
	return string(b)
}

// clientKey is clientName for the client of r.
func (l *Logger) clientKey(r *http.Request, info *RequestInfo) string {
	var k suppressKey
	k.client, k.ip = l.client(r, info)
	return l.clientName(k)
}

func (l *Logger) alert(ctx context.Context, r *http.Request, info *RequestInfo, e *Event, now time.Time, d decision) {
	a := Alert{Event: e.Name, Time: now, Suppressed: d.suppressed, First: d.first, Last: d.last}
	a.Reason, _ = clip(e.Reason, maxReason)
	a.Sub, _ = clip(e.Sub, maxSub)
	if r != nil || info != nil {
		a.Client = l.clientKey(r, info)
		var buf [64]byte
		if b, ok := l.ip.appendIP(buf[:0], requestIP(r, info)); ok {
			a.IP = string(b)
		}
		if info != nil {
			a.RequestID, _ = clip(info.RequestID, maxRequestID)
			if a.Sub == "" {
				a.Sub, _ = clip(info.Sub, maxSub)
			}
		}
	}
	l.alerter.Alert(context.WithoutCancel(ctx), a)
}

// Flush writes (and for threats alerts) a summary for every suppressed
// repeat not yet reported, and the pending log_suppressed line, and forgets
// all suppression windows. Call it at shutdown, or periodically if the counts
// are wanted sooner. A nil Logger does nothing.
func (l *Logger) Flush() {
	if l == nil {
		return
	}
	now := l.now()
	if l.sup != nil {
		for _, p := range l.sup.flush(nil) {
			l.writeSummary(p, now)
		}
	}
	if l.ref != nil {
		for _, p := range l.ref.flush(nil) {
			l.refusalSummary(p, now)
		}
	}
	if f, ok := l.ceil.due(now, true); ok {
		l.writeFlood(f, now)
	}
}

// writeSummary writes the line (and for a threat the alert) reporting
// repeats of p.key that were suppressed and that no later line carried.
func (l *Logger) writeSummary(p pending, now time.Time) {
	client := l.clientName(p.key)
	if ln, ok := l.open(context.Background(), p.key.event); ok {
		ln.head(now, p.key.event)
		ln.str("reason", p.key.reason, maxReason)
		ln.str("client", client, maxClient)
		if p.key.status != 0 {
			ln.int("status", p.key.status)
		}
		ln.int("suppressed", p.suppressed)
		ln.flag("summary")
		ln.time2("suppressed_first", p.first)
		ln.time2("suppressed_last", p.last)
		ln.send()
	}
	if l.alerter != nil && p.key.event.alerting() {
		l.alerter.Alert(context.Background(), Alert{
			Event: p.key.event, Reason: p.key.reason, Client: client, Time: now,
			Suppressed: p.suppressed, First: p.first, Last: p.last, Summary: true,
		})
	}
}

// write fills ln with e and the request's fields and sends it.
func (l *Logger) write(ln line, r *http.Request, info *RequestInfo, e *Event, now time.Time, d decision) {
	ln.head(now, e.Name)
	ln.str("reason", e.Reason, maxReason)
	sub, jti := e.Sub, e.JTI
	if info != nil {
		if sub == "" {
			sub = info.Sub
		}
		if jti == "" {
			jti = info.JTI
		}
	}
	ln.str("sub", sub, maxSub)
	ln.str("jti", jti, maxJTI)
	ln.str("kid", e.KID, maxKID)
	ln.str("iss", e.Iss, maxIss)
	if e.Token != "" {
		if isTokenID(e.Token) {
			ln.put("token", e.Token)
		} else {
			// Not a fingerprint: a caller passed the token itself. Never
			// write it; write its fingerprint.
			ln.put("token", TokenID(e.Token))
		}
	}
	if e.Status != 0 {
		ln.int("status", e.Status)
	}
	ln.str("detail", e.Detail, maxDetail)
	ln.suppressed(d)
	if r != nil || info != nil {
		l.requestFields(&ln, r, info)
	}
	ln.send()
}

// requestFields writes request_id, client, ip, method and path.
func (l *Logger) requestFields(ln *line, r *http.Request, info *RequestInfo) {
	if info != nil {
		ln.str("request_id", info.RequestID, maxRequestID)
		ln.str("client", info.Client, maxClient)
	}
	var buf [64]byte
	if b, ok := l.ip.appendIP(buf[:0], requestIP(r, info)); ok {
		ln.bytes("ip", b)
	}
	if r == nil {
		return // recorded from a context: no method or path
	}
	ln.str("method", r.Method, maxMethod)
	if r.URL != nil {
		// Path only: the query string may carry tokens and is never written.
		ln.str("path", r.URL.Path, maxPath)
	}
}

// line is one event being built, for zerolog (ev) or for slog (sl); it
// remembers whether a field was cut. Every field goes through its methods,
// so both sinks get the same fields with the same types.
type line struct {
	ev        *zerolog.Event
	sl        *slogLine // non-nil: the line goes to slog
	truncated bool
}

// head writes the fields every line starts with: time and event.
func (ln *line) head(now time.Time, n EventName) {
	if ln.sl != nil {
		ln.sl.head(now, n)
		return
	}
	ln.time(now)
	ln.ev.Str("event", string(n))
}

func (ln *line) str(key, v string, max int) {
	if v == "" {
		return
	}
	v, cut := clip(v, max)
	ln.truncated = ln.truncated || cut
	// Not through put: one call less on the most frequent field.
	if ln.sl != nil {
		ln.sl.add(slog.String(key, v))
		return
	}
	ln.ev.Str(key, v)
}

// put writes a string field as it is.
func (ln *line) put(key, v string) {
	if ln.sl != nil {
		ln.sl.add(slog.String(key, v))
		return
	}
	ln.ev.Str(key, v)
}

// bytes writes a string field held in b.
func (ln *line) bytes(key string, b []byte) {
	if ln.sl != nil {
		ln.sl.add(slog.String(key, string(b)))
		return
	}
	ln.ev.Bytes(key, b)
}

func (ln *line) int(key string, n int) { ln.int64(key, int64(n)) }

func (ln *line) int64(key string, n int64) {
	if ln.sl != nil {
		ln.sl.add(slog.Int64(key, n))
		return
	}
	ln.ev.Int64(key, n)
}

func (ln *line) float(key string, f float64) {
	if ln.sl != nil {
		ln.sl.add(slog.Float64(key, f))
		return
	}
	ln.ev.Float64(key, f)
}

// flag writes a boolean field that is true (the schema has no false ones).
func (ln *line) flag(key string) {
	if ln.sl != nil {
		ln.sl.add(slog.Bool(key, true))
		return
	}
	ln.ev.Bool(key, true)
}

// timeLayout is the layout of every time field: RFC 3339, UTC, milliseconds.
// It does not depend on zerolog's global TimeFieldFormat.
const timeLayout = "2006-01-02T15:04:05.000Z07:00"

func (ln *line) time(t time.Time) { ln.time2("time", t) }

// suppressed writes the count of earlier lines d reports, if any.
func (ln *line) suppressed(d decision) {
	if d.suppressed > 0 {
		ln.int("suppressed", d.suppressed)
		ln.time2("suppressed_first", d.first)
		ln.time2("suppressed_last", d.last)
	}
}

func (ln *line) time2(key string, t time.Time) {
	if t.IsZero() {
		return
	}
	var buf [48]byte
	if ln.sl != nil {
		ln.sl.add(slog.String(key, string(appendTime(buf[:0], t))))
		return
	}
	b := append(buf[:0], '"')
	b = appendTime(b, t)
	b = append(b, '"')
	ln.ev.RawJSON(key, b)
}

// appendTime appends t in timeLayout. It is written out by hand because
// time.AppendFormat, which reparses the layout on every call, was a tenth of
// the cost of an access line; years outside 0000-9999 take the slow path.
func appendTime(b []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return t.AppendFormat(b, timeLayout)
	}
	hour, min, sec := t.Clock()
	b = appendDigits(b, year, 4)
	b = append(b, '-')
	b = appendDigits(b, int(month), 2)
	b = append(b, '-')
	b = appendDigits(b, day, 2)
	b = append(b, 'T')
	b = appendDigits(b, hour, 2)
	b = append(b, ':')
	b = appendDigits(b, min, 2)
	b = append(b, ':')
	b = appendDigits(b, sec, 2)
	b = append(b, '.')
	b = appendDigits(b, t.Nanosecond()/1e6, 3)
	return append(b, 'Z')
}

// appendDigits appends v, 0 <= v < 10^width, zero-padded to width digits.
func appendDigits(b []byte, v, width int) []byte {
	var d [4]byte
	for i := width - 1; i >= 0; i-- {
		d[i] = byte('0' + v%10)
		v /= 10
	}
	return append(b, d[:width]...)
}

func (ln *line) send() {
	if ln.truncated {
		ln.flag("truncated")
	}
	if ln.sl != nil {
		ln.sl.send()
		return
	}
	ln.ev.Send()
}

// isTokenID reports whether s has the shape of a TokenID: 12 lowercase hex
// digits.
func isTokenID(s string) bool {
	if len(s) != maxToken {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
