package auditlog

import (
	"context"
	"net/netip"
)

// RequestInfo is what one request has learned about itself so far, for its
// access line and its events: the RequestLogger puts one in the request's
// context (WithRequestInfo) and writes the access line from it after the
// handler returns; later steps fill in what they learn through
// RequestInfoFrom. apiguard's own steps do: ratelimit's Identifier sets
// Client and IP, middleware's Authenticator sets Sub and JTI. Without a
// RequestLogger in front there is no RequestInfo, RequestInfoFrom reports
// false, and those steps behave exactly the same, only unrecorded.
//
// A RequestInfo belongs to one request and is not safe for concurrent use
// across goroutines.
type RequestInfo struct {
	RequestID string     // validated or generated request id
	Client    string     // short hex of the HMAC client key; "" until resolved
	IP        netip.Addr // resolved client IP; zero until resolved
	Sub       string     // authenticated subject; "" when unauthenticated
	JTI       string     // authenticated token id
}

type contextKey struct{ name string }

var requestInfoKey = &contextKey{"apiguard-request-info"}

// WithRequestInfo returns a copy of ctx carrying info. The RequestLogger
// calls it; tests and custom loggers may too.
func WithRequestInfo(ctx context.Context, info *RequestInfo) context.Context {
	return context.WithValue(ctx, requestInfoKey, info)
}

// RequestInfoFrom returns the RequestInfo of ctx, if a RequestLogger (or
// WithRequestInfo) put one there.
func RequestInfoFrom(ctx context.Context) (*RequestInfo, bool) {
	info, ok := ctx.Value(requestInfoKey).(*RequestInfo)
	return info, ok && info != nil
}
