// Package cors applies a validated cross-origin policy over rs/cors.
//
// New refuses the setups that make CORS a hole instead of a gate: "*" or a
// wildcard pattern together with credentials, the "null" origin, origins
// carrying a path, query, fragment or user information, and plain-HTTP
// origins other than loopback unless explicitly allowed. Origins are
// normalised (lower-case scheme and host, default port and trailing slash
// removed) in the policy and on every request, then compared exactly, so
// https://app.example.com.evil.test, https://evilapp.example.com and
// https://app.example.com@evil.test are not https://app.example.com.
//
// rs/cors writes the headers; this package's matcher decides which origins
// it writes them for. A preflight is answered here and never reaches the
// next handler (so never reaches authentication): 204 with the CORS headers
// when the origin, the method and the headers are allowed, 403 otherwise,
// reported to the audit log as cors_rejected. Every other response carries
// Vary: Origin, and the CORS headers when its origin is allowed; they are set
// before the next handler runs, so a 401 or 429 from a later middleware can
// still be read by the calling page.
//
// A request from a disallowed origin that needs no preflight (a simple GET
// or form POST) still reaches the handler: CORS only keeps the page from
// reading the answer. It is not protection against cross-site request
// forgery; Bearer authentication is.
package cors
