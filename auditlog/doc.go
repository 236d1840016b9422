// Package auditlog records apiguard's security decisions as structured
// zerolog JSON events with a stable schema, and never a secret. NewSlog
// writes the same events to a *slog.Logger instead (same fields, types and
// rules; see NewSlog for how they map onto slog records).
//
// It has five parts, and a hook for tracing: Observer, the interface the
// deciding packages (middleware, middleware/jose, ratelimit) call at each
// decision when one is configured. Package auditlog/otel is the
// OpenTelemetry Observer; this package, like the deciding ones, imports no
// tracing library.
//
//   - Logger.Record writes one event (login_success, token_rejected,
//     security_threat, ...) per decision. Other apiguard packages hold a
//     *Logger, and a nil one records nothing.
//   - RequestLogger.Handler, the outermost middleware, gives each request an
//     id (an incoming X-Request-ID is kept only if it is 1 to 64 bytes of
//     [A-Za-z0-9._-]), puts a *RequestInfo in its context for later steps to
//     fill (client key, IP, subject), and writes one access line
//     (event "request") when the handler returns (those of refused
//     requests aggregated, see Floods).
//   - Threat events (security_threat, refresh_reuse, lockout) also go to an
//     Alerter. Repeats with the same event, reason and client within
//     Options.SuppressWindow are only counted; the next line written for them
//     reports how many were suppressed, so a flood of attacks is not a flood
//     of lines. The state is bounded (Options.SuppressMaxKeys) and needs no
//     goroutine.
//   - Refusals are aggregated too, so that an attacker does not choose the
//     log volume (see Floods below).
//   - A Counter (Options.Counter) counts every event by event and reason,
//     with label values bounded whatever the input. This package imports no
//     metrics library; package auditlog/prom is the Prometheus Counter
//     (apiguard_events_total{event,reason}).
//
// # Schema
//
// Each line is one JSON object. A field with no value is omitted. Names and
// meanings below are stable.
//
//	field             type    meaning
//	level             string  "info"; "warn" for security_threat, refresh_reuse,
//	                          lockout, store_unavailable and log_suppressed
//	time              string  RFC 3339, UTC, milliseconds ("2026-01-02T03:04:05.000Z")
//	event             string  one of the EventName constants, "request" for access lines,
//	                          "log_suppressed" for the lines the refusal ceiling kept out
//	reason            string  the deciding component's reason code (for example the gate's)
//	sub               string  the subject (from the event, else from the request's context)
//	jti               string  the token id
//	kid               string  the key id
//	iss               string  the issuer
//	token             string  TokenID: first 12 hex digits of the token's SHA-256
//	status            number  the HTTP status answered
//	detail            string  a short fixed description
//	suppressed        number  identical lines not written since the previous line
//	                          for them: events with the same event, reason and
//	                          client; access lines with the same client and status;
//	                          on log_suppressed, all the refusal lines kept out
//	suppressed_first  string  time of the first of those
//	suppressed_last   string  time of the last of those
//	summary           bool    true on a line that only reports suppressed repeats
//	counts            object  on log_suppressed: the lines kept out, by event
//	                          ({"token_rejected":950,"request":950})
//	request_id        string  the request id (see RequestLogger)
//	client            string  the client key (short HMAC, never an IP)
//	ip                string  the client IP: full, masked ("203.0.113.0/24",
//	                          "2001:db8:1::/48") or absent, per Options.IP
//	method            string  the request method
//	path              string  the URL path, never the query string
//	bytes             number  response body bytes (access lines)
//	duration          number  milliseconds from request to handler return (access lines)
//	user_agent        string  the User-Agent (access lines, with LogUserAgent)
//	hijacked          bool    the connection was hijacked (access lines)
//	panic             bool    the handler panicked (access lines)
//	truncated         bool    a field was cut to its length cap
//
// # Floods
//
// Refusals are what an attacker can make as many of as it likes: the
// refusal events token_rejected, rate_limited, login_failure,
// cors_rejected and token_refresh with a 4xx status, and the access lines
// of requests answered with a 4xx. Two rules bound their lines, with counts
// so that nothing goes unreported:
//
//   - Per key: of the refusal events with the same event, reason and
//     client, and of the access lines with the same client and status, the
//     first Options.RefusalBurst (5) in each Options.RefusalWindow (a
//     minute) are written; the rest are counted, and the count is carried
//     ("suppressed", "suppressed_first", "suppressed_last") by the key's
//     next line in a later window, or by a summary line ("summary": true)
//     when a later refusal sweeps the window away, when the key is evicted
//     at Options.RefusalMaxKeys (10,000), or on Flush.
//   - In all: at most Options.RefusalCeiling (100) refusal lines a second,
//     summaries included, with a burst of as many, whatever the number of
//     clients (an attacker rotating User-Agents mints client keys). Beyond
//     it lines are only counted, by event, and reported on a
//     log_suppressed line at most once a second, written by the first
//     refusal at least a second after the previous one, or by Flush.
//
// The bound, with the defaults: a client flooding with one kind of refusal
// (one reason and one status, as forged tokens are) writes at most
// 2 x (5+1) = 12 lines per one-minute window: 5 token_rejected and 5 access
// lines, and a summary of each (in a steady flood the first line of the next
// window carries the count instead). A client that varies the reason across
// R reason codes and S statuses writes at most (R+S) x 6 per window. Any
// number of clients together write at most 100 refusal lines a second
// (100 x (T+1) over T seconds) and 1 log_suppressed line a second.
// Successes, token_revoked, store_unavailable, 2xx, 3xx and 5xx access
// lines, and the access line of a handler that panicked are never held
// back; threat events follow their own rule above. A negative option turns
// its rule off. The state is bounded and needs no
// goroutine, like the threat events'.
//
// # Safety of the lines
//
// No field can hold a token, password, refresh token or key: Event has no
// such field, and a Token value that is not a TokenID is replaced by its
// TokenID. Values that may come from a client (path, method, sub, reason,
// user agent, ...) are JSON-escaped by zerolog, so CR, LF and quotes cannot
// end a line or forge another event, and they are cut to a fixed length
// (path and user agent 256 bytes, reason 64) so a huge request cannot make a
// huge line.
package auditlog
