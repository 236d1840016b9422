// Package auditlog records apiguard's security decisions as structured
// zerolog JSON events with a stable schema, and never a secret.
//
// It has four parts:
//
//   - Logger.Record writes one event (login_success, token_rejected,
//     security_threat, ...) per decision. Other apiguard packages hold a
//     *Logger, and a nil one records nothing.
//   - RequestLogger.Handler, the outermost middleware, gives each request an
//     id (an incoming X-Request-ID is kept only if it is 1 to 64 bytes of
//     [A-Za-z0-9._-]), puts a *reqctx.Info in its context for later steps to
//     fill (client key, IP, subject), and writes one access line
//     (event "request") when the handler returns.
//   - Threat events (security_threat, refresh_reuse, lockout) also go to an
//     Alerter. Repeats with the same event, reason and client within
//     Options.SuppressWindow are only counted; the next line written for them
//     reports how many were suppressed, so a flood of attacks is not a flood
//     of lines. The state is bounded (Options.SuppressMaxKeys) and needs no
//     goroutine.
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
//	                          lockout and store_unavailable
//	time              string  RFC 3339, UTC, milliseconds ("2026-01-02T03:04:05.000Z")
//	event             string  one of the EventName constants, "request" for access lines
//	reason            string  the deciding component's reason code (for example the gate's)
//	sub               string  the subject (from the event, else from the request's context)
//	jti               string  the token id
//	kid               string  the key id
//	iss               string  the issuer
//	token             string  TokenID: first 12 hex digits of the token's SHA-256
//	status            number  the HTTP status answered
//	detail            string  a short fixed description
//	suppressed        number  identical events (event, reason, client) not written
//	                          since the previous line for them
//	suppressed_first  string  time of the first of those
//	suppressed_last   string  time of the last of those
//	summary           bool    true on a line that only reports suppressed repeats
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
