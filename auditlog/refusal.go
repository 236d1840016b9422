package auditlog

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
)

// Defaults of the aggregation of refusals (see Options.RefusalWindow).
const (
	DefaultRefusalWindow  = time.Minute
	DefaultRefusalBurst   = 5
	DefaultRefusalMaxKeys = 10000
	DefaultRefusalCeiling = 100 // lines per second
)

// refusal reports whether e refuses a request, and so is aggregated: a
// token_rejected, rate_limited, login_failure or cors_rejected event, or a
// token_refresh answered with a 4xx status (a refresh refused). Successes,
// token_revoked, store_unavailable and the threat events are not refusals.
func (e *Event) refusal() bool {
	switch e.Name {
	case TokenRejected, RateLimited, LoginFailure, CORSRejected:
		return true
	case TokenRefresh:
		return refusedStatus(e.Status)
	}
	return false
}

// refusedStatus reports whether an access line with status is aggregated:
// every 4xx. A 2xx, 3xx or 5xx access line is always written.
func refusedStatus(status int) bool { return status >= 400 && status <= 499 }

// The kinds of refusal lines counted apart on a log_suppressed line.
const (
	kindTokenRejected = iota
	kindRateLimited
	kindLoginFailure
	kindCORSRejected
	kindTokenRefresh
	kindRequest
	numKinds
)

func kindOf(n EventName) int {
	switch n {
	case TokenRejected:
		return kindTokenRejected
	case RateLimited:
		return kindRateLimited
	case LoginFailure:
		return kindLoginFailure
	case CORSRejected:
		return kindCORSRejected
	case TokenRefresh:
		return kindTokenRefresh
	}
	return kindRequest
}

func kindName(k int) EventName {
	switch k {
	case kindTokenRejected:
		return TokenRejected
	case kindRateLimited:
		return RateLimited
	case kindLoginFailure:
		return LoginFailure
	case kindCORSRejected:
		return CORSRejected
	case kindTokenRefresh:
		return TokenRefresh
	}
	return Request
}

// ceiling is the global budget of refusal lines: a token bucket (kept as its
// theoretical arrival time) of perSecond lines a second with a burst of as
// many. What it refuses is counted by kind and reported on a log_suppressed
// line at most once a second. The clock is the caller's. Safe for
// concurrent use.
type ceiling struct {
	interval time.Duration // between two lines at the sustained rate
	burst    time.Duration // how far ahead of now the bucket may run

	pending atomic.Bool // flood holds counts; lets due skip the lock

	mu       sync.Mutex
	tat      time.Time // when the bucket is full again
	flood    flood     // counted since the last log_suppressed line
	reported time.Time // when the last log_suppressed line was written
}

// flood is what the ceiling kept out since its last report.
type flood struct {
	counts      [numKinds]int
	total       int
	first, last time.Time
}

func newCeiling(perSecond int) *ceiling {
	perSecond = min(perSecond, int(time.Second)) // one line a nanosecond
	iv := time.Second / time.Duration(perSecond)
	return &ceiling{interval: iv, burst: iv * time.Duration(perSecond)}
}

// allow takes one line from the bucket at now. If the bucket is empty the
// line is not to be written: the n events it stood for, of the given kind
// and seen between first and last, are counted instead. A nil ceiling
// allows everything.
func (c *ceiling) allow(now time.Time, kind, n int, first, last time.Time) bool {
	if c == nil {
		return true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.tat
	if t.Before(now) {
		t = now
	}
	t = t.Add(c.interval)
	if t.Sub(now) <= c.burst {
		c.tat = t
		return true
	}
	c.pending.Store(true)
	f := &c.flood
	f.counts[kind] += n
	f.total += n
	if f.first.IsZero() || first.Before(f.first) {
		f.first = first
	}
	if last.After(f.last) {
		f.last = last
	}
	return false
}

// due returns, and forgets, what was counted, if anything was and the last
// report is at least a second old (or force is set). A nil ceiling has
// nothing due.
func (c *ceiling) due(now time.Time, force bool) (flood, bool) {
	if c == nil || !c.pending.Load() {
		return flood{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.flood.total == 0 || !force && now.Sub(c.reported) < time.Second {
		return flood{}, false
	}
	f := c.flood
	c.flood = flood{}
	c.pending.Store(false)
	c.reported = now
	return f, true
}

// admit decides whether the refusal line of k (whose client is filled here)
// is written at now: within its key's budget (Options.RefusalBurst per
// RefusalWindow), then within the ceiling. On the way it writes the
// summaries of other keys' ended windows and a log_suppressed line when one
// is due. The decision carries the count this line reports.
func (l *Logger) admit(r *http.Request, info *RequestInfo, k suppressKey, now time.Time) (decision, bool) {
	d := decision{write: true}
	if l.ref != nil {
		k.client, k.ip = l.client(r, info)
		var buf [4]pending
		var sums []pending
		d, sums = l.ref.observe(k, now, buf[:0])
		for _, p := range sums {
			l.refusalSummary(p, now)
		}
	}
	if d.write {
		n, first := 1, now
		if d.suppressed > 0 {
			n, first = 1+d.suppressed, d.first
		}
		d.write = l.ceil.allow(now, kindOf(k.event), n, first, now)
	}
	if f, ok := l.ceil.due(now, false); ok {
		l.writeFlood(f, now)
	}
	return d, d.write
}

// refusalSummary writes the summary line of a refusal key, if the ceiling
// lets it; else its count goes to the next log_suppressed line.
func (l *Logger) refusalSummary(p pending, now time.Time) {
	if l.ceil.allow(now, kindOf(p.key.event), p.suppressed, p.first, p.last) {
		l.writeSummary(p, now)
	}
}

// writeFlood writes a log_suppressed line: the refusal lines the ceiling
// kept out, by event, with the total and when they were seen.
func (l *Logger) writeFlood(f flood, now time.Time) {
	ln, ok := l.open(context.Background(), LogSuppressed)
	if !ok {
		return
	}
	ln.head(now, LogSuppressed)
	ln.int("suppressed", f.total)
	ln.counts("counts", &f.counts)
	ln.flag("summary")
	ln.time2("suppressed_first", f.first)
	ln.time2("suppressed_last", f.last)
	ln.send()
}

// counts writes the lines kept out by kind as an object of the kinds seen.
func (ln *line) counts(key string, counts *[numKinds]int) {
	if ln.sl != nil {
		var attrs []slog.Attr
		for k, n := range counts {
			if n > 0 {
				attrs = append(attrs, slog.Int64(string(kindName(k)), int64(n)))
			}
		}
		ln.sl.add(slog.Attr{Key: key, Value: slog.GroupValue(attrs...)})
		return
	}
	d := zerolog.Dict()
	for k, n := range counts {
		if n > 0 {
			d.Int(string(kindName(k)), n)
		}
	}
	ln.ev.Dict(key, d)
}
