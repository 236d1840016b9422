// Package headers sets the browser security headers of an API or a web page on
// every response, errors included.
//
// Two presets cover the common cases: API for JSON endpoints, which locks the
// response down completely (nothing may be loaded, framed, cached or sniffed),
// and Web for HTML pages, whose Content-Security-Policy carries a fresh
// 128-bit nonce on every response (read it in templates with Nonce). Both
// return an Options value whose fields may be changed before calling New:
//
//	o := headers.API()
//	o.TrustedProxy = ident.TrustedProxy // believe X-Forwarded-Proto only from it
//	h, err := headers.New(o)
//	...
//	srv.Handler = h.Handler(mux)
//
// The headers are written into the response before the next handler runs, so
// a 400, 401, 403 or 429 written by a later middleware carries them too.
// Cache-Control is the exception: the default (no-store) is added when the
// response is written and only if the handler set no Cache-Control of its
// own, so a handler that wants its answer cached (a JWKS document, a static
// asset) keeps its own value.
//
// Strict-Transport-Security is sent only over HTTPS: when the request arrived
// on a TLS connection, or when a proxy that TrustedProxy vouches for says so
// with X-Forwarded-Proto. unrolled/secure renders the header values once, in
// New, for each case (HTTPS or not, development host or not); the request
// path only assigns precomputed values, so a request through the API preset
// costs one small allocation.
package headers
